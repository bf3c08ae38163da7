# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The judge: one run's benchmark tests against a baseline's, from what one run measures.

The ratchet (``ratchet``) needs a history of accepted runs and compares one figure (p(95), server
p(50)) with its level. The judge answers the operator's question after an upgrade from a single
baseline run: is this cluster worse than it was before (an earlier run or a named snapshot), than
its peers in the same run, than the source cluster its algorithms came from? It compares whole
distributions, as Kayenta's judge does, and says every figure with its interval.

Per test, per metric (the classification, ``classify_*``):

- ``latency`` and ``server`` (the cluster's ``metadata.duration``) of the successful calls: the
  Hodges-Lehmann shift of log(ms) with its 95% interval (``rank_tests``), reported as a relative
  change, and the Mann-Whitney p-value. A ``regression`` needs the whole interval above the
  tolerance: its lower bound above +``tolerance`` (10%) and, in ms at the baseline's median, above
  ``floor_ms`` (2 ms); an ``improvement`` is the mirror image (upper bound below -9.1%, the inverse
  of +10%, and floor_ms faster). Anything else is ``pass``.
- ``error_rate`` (and ``dropped`` starts of an open-model test): the difference of the two
  proportions with Newcombe's interval and Fisher's exact p-value (``proportions``); a regression
  needs the interval's lower bound above ``error_tolerance`` (0: any increase the data proves).
- ``unknown``: too few successful calls on either side (``min_samples``, 20), no server time, or a
  baseline test with another load: never a pass.

Why the interval is widened by ``run_noise``. The samples of one run say how precisely that run's
distribution is known, not how much two healthy runs of the same cluster differ: the level of a
whole run moves by a few per cent (another host's load, a cache, the time of day), and no number of
calls inside one run shows it. Without an allowance for it, a long test's narrow interval would
call a 12% run-to-run wobble a regression. The interval is therefore widened, in log space, by
``z * run_noise`` combined in quadrature with each half: ``half' = sqrt(half^2 + (z * run_noise)^2)``
(run_noise 0.03: the run-to-run coefficient of variation the judge expects between two healthy
runs). With it, simulated A/A runs with a run-to-run shift of coefficient of variation 2..10% raise
under 1% false regressions while a +25% shift is found >= 95% of the time with 200 calls
(tests/unit/test_judge_simulation.py prints both).

Per test the class is the worst of its metrics: ``regression`` if any regressed, else ``unknown``
if any is unknown, else ``improvement`` if any improved, else ``pass``; its status is ``failed``,
``inconclusive`` or ``passed``. Per comparison (one baseline, every test; ``score``): the share of
the compared tests (a known class) that pass, against the pass and marginal thresholds (100% and
75%, as Kayenta's defaults): ``pass``, ``marginal`` (below pass: fails the gate, as in Kayenta's
last interval) or ``fail``; ``inconclusive`` when no test could be compared.

Samples come from the tests' histograms (every successful call, in log-linear buckets 0.4% wide):
a bucket is a weighted sample at its middle (``weighted_sample``), so a million calls cost a few
hundred weighted values. Standard library only.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import FAILED, INCONCLUSIVE, PASSED
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram, bucket_bounds
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.proportions import compare_proportions, newcombe_interval
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.rank_tests import (
    hodges_lehmann_weighted,
    mann_whitney_u_weighted,
)

REGRESSION, IMPROVEMENT, PASS, UNKNOWN = "regression", "improvement", "pass", "unknown"
VERDICT_PASS, VERDICT_MARGINAL, VERDICT_FAIL, VERDICT_INCONCLUSIVE = "pass", "marginal", "fail", "inconclusive"
RUN, PEERS, SOURCE = "run", "peers", "source"
TEST_STATUS = {REGRESSION: FAILED, UNKNOWN: INCONCLUSIVE, IMPROVEMENT: PASSED, PASS: PASSED}

TOLERANCE = 0.10
FLOOR_MS = 2.0
RUN_NOISE = 0.03
ERROR_TOLERANCE = 0.0
CONFIDENCE = 0.95
MIN_SAMPLES = 20
PASS_SCORE = 1.0
MARGINAL_SCORE = 0.75
# A 0 ms duration (the lowest bucket) has no logarithm: the histogram's lowest value stands in.
SMALLEST_MS = 0.001
# What makes two tests' loads the same. For the source cluster the amount (calls, duration) is
# bounded on purpose, so only the load's shape must match there.
LOAD_KEYS = ("model", "calls", "duration", "concurrency", "rate", "max_in_flight")
SHAPE_KEYS = ("model", "concurrency", "rate", "max_in_flight")


class Settings:
    """The judge's knobs for one test; ``with_overrides`` applies a test's own values."""

    FIELDS = ("tolerance", "floor_ms", "run_noise", "error_tolerance", "confidence", "min_samples")

    def __init__(self, tolerance=TOLERANCE, floor_ms=FLOOR_MS, run_noise=RUN_NOISE, error_tolerance=ERROR_TOLERANCE,
                 confidence=CONFIDENCE, min_samples=MIN_SAMPLES):
        self.tolerance = float(tolerance)
        self.floor_ms = float(floor_ms)
        self.run_noise = float(run_noise)
        self.error_tolerance = float(error_tolerance)
        self.confidence = float(confidence)
        self.min_samples = int(min_samples)

    def with_overrides(self, overrides):
        values = {name: getattr(self, name) for name in self.FIELDS}
        values.update((name, value) for name, value in (overrides or {}).items() if name in self.FIELDS and value is not None)
        return Settings(**values)


# ---- words and numbers as people read them ------------------------------------------------------

def percent(change, digits=0):
    """``+38%``, ``-9%``, ``+0%``: a relative change."""
    text = "{0:+.{1}f}%".format(change * 100.0, digits)
    return "+0%" if text in ("-0%", "+0%") else text


def p_text(value):
    """``p < 0.001`` below a thousandth, else two significant figures (``p = 0.043``, ``p = 1``)."""
    if value is None:
        return "p n/a"
    if value < 0.001:
        return "p < 0.001"
    return "p = {0:.2g}".format(value)


def points(difference):
    """A difference of two rates in percentage points: ``+2.4``."""
    text = "{0:+.1f}".format(difference * 100.0)
    return "+0.0" if text == "-0.0" else text


def rate_text(rate):
    return "{0:.3g}%".format(rate * 100.0)


# ---- samples ------------------------------------------------------------------------------------

def histogram_of(result, series):
    """The ``series`` histogram (latency, server) of a test's result, or an empty one."""
    data = ((result or {}).get("histograms") or {}).get(series)
    if not data:
        return Histogram()
    try:
        return Histogram.from_dict(data)
    except (TypeError, ValueError):
        return Histogram()


def weighted_sample(histogram):
    """``[(ms, count), ...]``: each non-empty bucket at its middle (within 0.4% of its values),
    clamped to the exact min and max as ``Histogram.percentile`` does."""
    sample = []
    for index, count in sorted(histogram.counts.items()):
        lower, upper = bucket_bounds(index)
        sample.append((min(max((lower + upper) / 2.0, histogram.min), histogram.max), count))
    return sample


def log_sample(sample):
    return [(math.log(max(value, SMALLEST_MS)), count) for value, count in sample]


# ---- one metric ---------------------------------------------------------------------------------

def _z(confidence):
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def widened(estimate, lower, upper, run_noise, confidence):
    """The interval ``(lower, upper)`` around ``estimate`` (log space), each half widened in
    quadrature by ``z * run_noise`` (see the module's docstring)."""
    extra = _z(confidence) * run_noise
    return (estimate - math.hypot(estimate - lower, extra), estimate + math.hypot(upper - estimate, extra))


def classify_durations(metric, current, baseline, settings):
    """One duration metric (``latency`` or ``server``): ``current`` and ``baseline`` are Histograms."""
    entry = {"metric": metric, "n": current.count, "baseline_n": baseline.count,
             "median_ms": current.percentile(50), "baseline_median_ms": baseline.percentile(50),
             "shift": None, "lower": None, "upper": None, "shift_ms": None, "p_value": None, "method": None,
             "tolerance": settings.tolerance, "floor_ms": settings.floor_ms, "run_noise": settings.run_noise,
             "confidence": settings.confidence}
    label = "latency" if metric == "latency" else "server time"
    if min(current.count, baseline.count) < settings.min_samples:
        why = ("no server time (metadata.duration) in the answers" if metric == "server" and not (current.count and baseline.count)
               else "too few samples")
        message = "{0}: unknown, {1} ({2} in this run, {3} in the baseline; a comparison needs {4} on each side)".format(
            label, why, current.count, baseline.count, settings.min_samples)
        entry.update(**{"class": UNKNOWN, "message": message})
        return entry
    this, base = weighted_sample(current), weighted_sample(baseline)
    shift = hodges_lehmann_weighted(log_sample(this), log_sample(base), confidence=settings.confidence)
    rank = mann_whitney_u_weighted(this, base)
    entry.update(p_value=rank.pvalue, method=rank.method)
    if shift.lower is None or shift.upper is None:
        entry.update(**{"class": UNKNOWN, "message": "{0}: unknown, no {1:g}% interval exists for {2} and {3} samples".format(
            label, settings.confidence * 100, current.count, baseline.count)})
        return entry
    lower, upper = widened(shift.estimate, shift.lower, shift.upper, settings.run_noise, settings.confidence)
    level = entry["baseline_median_ms"]
    entry.update(shift=math.expm1(shift.estimate), lower=math.expm1(lower), upper=math.expm1(upper),
                 shift_ms=level * math.expm1(shift.estimate))
    threshold = math.log1p(settings.tolerance)
    if lower > threshold and level * math.expm1(lower) > settings.floor_ms:
        verdict = REGRESSION
    elif upper < -threshold and -level * math.expm1(upper) > settings.floor_ms:
        verdict = IMPROVEMENT
    else:
        verdict = PASS
    entry["class"] = verdict
    entry["message"] = "{0}: {1} ({2:g}% CI {3}..{4}), {5} -> {6} (tolerance {7}, {8:+g} ms)".format(
        label, percent(entry["shift"]), settings.confidence * 100, percent(entry["lower"]), percent(entry["upper"]),
        p_text(rank.pvalue), verdict, percent(settings.tolerance), settings.floor_ms)
    return entry


def classify_counts(metric, count, total, baseline_count, baseline_total, settings):
    """A proportion (``error_rate``: failed calls of calls made; ``dropped``: dropped starts of starts due)."""
    label = "error rate" if metric == "error_rate" else "dropped starts"
    entry = {"metric": metric, "count": count, "n": total, "baseline_count": baseline_count, "baseline_n": baseline_total,
             "rate": None, "baseline_rate": None, "difference": None, "lower": None, "upper": None, "p_value": None,
             "method": None, "tolerance": settings.error_tolerance, "confidence": settings.confidence}
    if not total or not baseline_total:
        entry.update(**{"class": UNKNOWN, "message": "{0}: unknown, no call {1}".format(
            label, "in this run" if not total else "in the baseline")})
        return entry
    rate, baseline_rate = count / total, baseline_count / baseline_total
    lower, upper = newcombe_interval(count, total, baseline_count, baseline_total, settings.confidence)
    test = compare_proportions(count, total, baseline_count, baseline_total)
    entry.update(rate=rate, baseline_rate=baseline_rate, difference=rate - baseline_rate, lower=lower, upper=upper,
                 p_value=test.pvalue, method=test.method)
    if lower > settings.error_tolerance:
        verdict = REGRESSION
    elif upper < -settings.error_tolerance:
        verdict = IMPROVEMENT
    else:
        verdict = PASS
    entry["class"] = verdict
    entry["message"] = "{0}: {1} vs {2} ({3} points, {4:g}% CI {5}..{6}), {7} -> {8} (tolerance {9} points)".format(
        label, rate_text(rate), rate_text(baseline_rate), points(rate - baseline_rate), settings.confidence * 100,
        points(lower), points(upper), p_text(test.pvalue), verdict, points(settings.error_tolerance))
    return entry


# ---- one test -----------------------------------------------------------------------------------

def load_difference(current, baseline, keys=LOAD_KEYS):
    """Why two results ran another load (``"calls 100 -> 200"``), or ``""`` when they ran the same."""
    this, base = current.get("load") or {}, baseline.get("load") or {}
    changed = ["{0} {1} -> {2}".format(key, _shown(base.get(key)), _shown(this.get(key)))
               for key in keys if this.get(key) != base.get(key)]
    if keys is LOAD_KEYS and current.get("payload_sha256") != baseline.get("payload_sha256"):
        changed.append("another payload")
    return ", ".join(changed)


def _shown(value):
    return "none" if value is None else "{0:g}".format(value) if isinstance(value, float) else str(value)


def worst(classes):
    """A test's class from its metrics' (see the module's docstring)."""
    for candidate in (REGRESSION, UNKNOWN, IMPROVEMENT):
        if candidate in classes:
            return candidate
    return PASS


def _unknown_test(workflow, name, reason):
    return {"workflow": workflow, "test": name, "status": INCONCLUSIVE, "class": UNKNOWN, "reason": reason,
            "metrics": [], "histograms": {}}


def is_open(result):
    return (result.get("load") or {}).get("model") == "open"


def judge_test(workflow, current, baseline, settings, load_keys=LOAD_KEYS, label="the baseline"):
    """One test's comparison entry: ``current`` and ``baseline`` are benchmark test results
    (``baseline`` may be a pooled one, ``pool``); ``None`` baseline -> unknown."""
    name = current.get("name")
    if baseline is None:
        return _unknown_test(workflow, name, "unknown: {0} has no test {1!r} in workflow {2!r}".format(label, name, workflow))
    if current.get("skipped") or not current.get("calls"):
        return _unknown_test(workflow, name, "unknown: no call was made in this run")
    changed = load_difference(current, baseline, load_keys)
    if changed:
        return _unknown_test(workflow, name, "unknown: {0} ran another load ({1}); compare runs of the same load".format(label, changed))
    metrics = [classify_durations(series, histogram_of(current, series), histogram_of(baseline, series), settings)
               for series in ("latency", "server")]
    metrics.append(classify_counts("error_rate", current.get("errors") or 0, current.get("calls") or 0,
                                   baseline.get("errors") or 0, baseline.get("calls") or 0, settings))
    if is_open(current):
        metrics.append(classify_counts("dropped", current.get("dropped") or 0, (current.get("calls") or 0) + (current.get("dropped") or 0),
                                       baseline.get("dropped") or 0, (baseline.get("calls") or 0) + (baseline.get("dropped") or 0),
                                       settings))
    verdict = worst([metric["class"] for metric in metrics])
    deciding = [m["message"] for m in metrics if m["class"] == verdict] if verdict != PASS else [m["message"] for m in metrics[:1]]
    return {"workflow": workflow, "test": name, "status": TEST_STATUS[verdict], "class": verdict,
            "reason": "; ".join(deciding), "metrics": metrics,
            "histograms": {series: (baseline.get("histograms") or {}).get(series) for series in ("latency", "server")}}


def pool(results):
    """One result standing for several (a canary's peers): histograms merged, counts summed.
    The load is the first's (the caller pools only results of one load)."""
    pooled = {"name": results[0].get("name"), "load": results[0].get("load"), "payload_sha256": results[0].get("payload_sha256"),
              "calls": 0, "errors": 0, "dropped": 0, "histograms": {}}
    for series in ("latency", "server"):
        merged = Histogram()
        for result in results:
            merged.merge(histogram_of(result, series))
        pooled["histograms"][series] = merged.to_dict()
    for result in results:
        for field in ("calls", "errors", "dropped"):
            pooled[field] += result.get(field) or 0
    return pooled


# ---- one comparison (a baseline, every test) ----------------------------------------------------

def score(tests, pass_score=PASS_SCORE, marginal_score=MARGINAL_SCORE, baseline="the baseline"):
    """The verdict of one comparison from its tests' entries (see the module's docstring)."""
    compared = [test for test in tests if test["class"] != UNKNOWN]
    passed = [test for test in compared if test["class"] in (PASS, IMPROVEMENT)]
    unknown = len(tests) - len(compared)
    figures = {"compared_tests": len(compared), "passed_tests": len(passed), "unknown_tests": unknown,
               "pass_score": pass_score, "marginal_score": marginal_score}
    not_compared = "" if not unknown else "; {0} test{1} not compared".format(unknown, "" if unknown == 1 else "s")
    if not compared:
        figures.update(score=None, verdict=VERDICT_INCONCLUSIVE,
                       message="inconclusive: no test could be compared with {0}{1}".format(baseline, not_compared))
        return figures
    value = len(passed) / len(compared)
    verdict = VERDICT_PASS if value >= pass_score else VERDICT_MARGINAL if value >= marginal_score else VERDICT_FAIL
    figures.update(score=value, verdict=verdict, message="{0}: {1} of {2} compared test{3} pass against {4} (score {5:.0f}%; "
                   "pass needs {6:.0f}%, marginal {7:.0f}%){8}".format(
                       verdict, len(passed), len(compared), "" if len(compared) == 1 else "s", baseline, value * 100,
                       pass_score * 100, marginal_score * 100, not_compared))
    return figures


def compare(kind, label, tests, find_baseline, settings_for, pass_score=PASS_SCORE, marginal_score=MARGINAL_SCORE,
            load_keys=LOAD_KEYS):
    """One comparison: every ``(workflow, result)`` of ``tests`` against what ``find_baseline(workflow,
    result)`` returns: ``(baseline result or None, extra fields of the test's entry)``;
    ``settings_for(workflow, name)`` gives each test's ``Settings``."""
    entries = []
    for workflow, result in tests:
        baseline, extra = find_baseline(workflow, result)
        entry = judge_test(workflow, result, baseline, settings_for(workflow, result.get("name")), load_keys, label)
        entry.update(extra or {})
        entries.append(entry)
    comparison = {"kind": kind, "baseline": label}
    comparison.update(score(entries, pass_score, marginal_score, label))
    comparison["tests"] = entries
    return comparison
