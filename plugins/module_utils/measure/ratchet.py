# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ratchet: a run's latencies compared with the accepted runs before it, per cluster and test.

History. One plain JSON file per cluster x workflow x test x load spec, under the history directory
(``testbench_history_dir``), meant to be reviewed and committed next to the workflows:

    <history_dir>/<cluster>/<workflow>/<test>-<spec hash>.json

    {
      "cluster": "prod", "format": 1, "spec": {"calls": 20, "concurrency": 1, "payload": "..."},
      "spec_hash": "3f2a9c1e", "test": "small image", "workflow": "image-pipeline",
      "runs": [
        {"baseline": true, "metrics": {"latency p(95)": 12.3, "server p(50)": 4.1},
         "curve": {"p(25)": 8.1, "p(50)": 9.4, "p(75)": 10.9, "p(90)": 11.8, "p(95)": 12.3},
         "run": "20250301T101500Z-4f1c", "time": "2025-03-01T10:15:00Z"},
        ...
      ]
    }

``curve`` (optional, added after format 1 first shipped: readers ignore what they do not know)
is the run's latency percentile curve, three significant figures, only the percentiles its
successful calls support; the baseline curve a report draws is their geometric mean per
percentile over the runs compared with. Keys sorted, two-space indent, one trailing newline: a
new run is a small diff. The last
``KEEP_RUNS`` runs are kept. Files are replaced atomically (a temporary file in the same
directory, then a rename), so a crash leaves the old file or the new one, never half of one.
Each name part is escaped by ``safe_name`` so that it is a valid file name on any filesystem.
The load spec is part of the name (``spec_hash``): a test whose payload, calls or concurrency
changed is a new test with a history of its own, never compared with figures of another load.

Verdict. ``compare`` takes the accepted runs since the latest baseline reset (the last
``WINDOW`` of them) and, per metric (lower is better), says ``baseline`` (no history),
``warming`` (fewer than ``min_runs``: reported, never a failure), ``ok``, ``improved`` or
``regressed``. A regression needs all three: worse than the level by more than the relative
tolerance (15 %), by more than the absolute floor (5 ms), and above the upper bound of the 99 %
prediction interval of the history. The tolerance and the floor keep differences nobody acts on
from failing a run; the interval keeps a noisy test from failing on its usual noise.

Why log space. Latencies are skewed and their run-to-run noise is multiplicative (a slower host
makes every call a few per cent slower), so the statistics are computed on ``ln(ms)``: the level
is the geometric mean, and the interval ``mean +- t(0.995, n-1) * s * sqrt(1 + 1/n)`` is
symmetric in log space, asymmetric in ms (wider upwards), as the measurements are. In ms, one
slow run in the history would drag a symmetric interval below zero and its mean upwards.

Student's t quantile without scipy: the t distribution function through the regularized
incomplete beta function (continued fraction, as in Numerical Recipes), inverted by bisection;
correct to about 1e-10, far below what matters here. Standard library only.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
import os
import re
import statistics

from ansible_collections.algorithmia.testbench.plugins.module_utils.atomic_file import write_text_atomically
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import FAILED, PASSED, samples_needed
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram

FORMAT = 1
METRICS = ("server p(50)", "latency p(95)")
KEEP_RUNS = 50
WINDOW = 20
TOLERANCE = 0.15
FLOOR_MS = 5.0
MIN_RUNS = 5
INTERVAL = 0.99
# A reported 0.0 ms (rounded to 0.1 ms) would have no logarithm: half the resolution stands in.
SMALLEST_MS = 0.05
# The fields of a normalised benchmark test that decide the load; gates are not part of it.
LOAD_SPEC_KEYS = ("payload", "calls", "concurrency")
# Load fields of the other load models (duration, open-model rate, warm-up calls): part of the spec
# only when a test sets them, so that the hash (the file name) of a test without them stays the same.
OPTIONAL_LOAD_SPEC_KEYS = ("duration", "rate", "max_in_flight", "warmup")

BASELINE, WARMING, OK, IMPROVED, REGRESSED = "baseline", "warming", "ok", "improved", "regressed"


class HistoryError(ValueError):
    """A history file that cannot be read as one (hand-edited into invalid JSON, another spec)."""


# ---- Student's t --------------------------------------------------------------------------------

def _beta_continued_fraction(a, b, x):
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 20000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            step = c * d
            result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result


def regularized_beta(a, b, x):
    """``I_x(a, b)``, the regularized incomplete beta function, for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(value, df):
    """P(T <= value) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + value * value))
    return 1.0 - tail if value > 0 else tail


@functools.lru_cache(maxsize=256)
def t_quantile(probability, df):
    """The ``probability`` quantile of Student's t with ``df`` (> 0) degrees of freedom.

    Bisection on ``t_cdf``; beyond 1e7 degrees of freedom t is the normal distribution.
    """
    if not 0.0 < probability < 1.0 or df <= 0:
        raise ValueError("t_quantile needs 0 < probability < 1 and df > 0")
    if probability < 0.5:
        return -t_quantile(1.0 - probability, df)
    if probability == 0.5:
        return 0.0
    if df > 1e7:
        return statistics.NormalDist().inv_cdf(probability)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < probability:
        low, high = high, high * 2.0
    for _step in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * high:
            break
    return (low + high) / 2.0


def prediction_interval(values, interval=INTERVAL):
    """``(mean, lower, upper)`` of the ``interval`` prediction interval for one more observation.

    ``mean +- t((1 + interval) / 2, n - 1) * s * sqrt(1 + 1/n)``; needs at least two values.
    """
    count = len(values)
    if count < 2:
        raise ValueError("a prediction interval needs at least two values")
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) * math.sqrt(1.0 + 1.0 / count)
    half = t_quantile((1.0 + interval) / 2.0, count - 1) * spread
    return mean, mean - half, mean + half


# ---- the verdict -------------------------------------------------------------------------------

def since_baseline(runs):
    """The runs that count as history: from the latest baseline reset on (all of them if none)."""
    start = 0
    for index, run in enumerate(runs):
        if run.get("baseline"):
            start = index
    return runs[start:]


def compared_runs(history_runs, window=WINDOW):
    """The runs a new run is compared with: since the latest baseline reset, the last ``window``."""
    runs = since_baseline(list(history_runs))
    return runs[-window:] if window else runs


def _log(value_ms):
    return math.log(max(float(value_ms), SMALLEST_MS))


def ms(value):
    """Milliseconds as people write them: three significant figures, no exponent (12, 10.8, 113)."""
    if value >= 100:
        return "{0:.0f}".format(value)
    return "{0:.3g}".format(value)


def _percent(change):
    return "{0:+.0f}%".format(change * 100.0)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def compare_metric(name, past_ms, current_ms, tolerance=TOLERANCE, floor_ms=FLOOR_MS, min_runs=MIN_RUNS,
                   interval=INTERVAL):
    """The verdict on one metric: ``past_ms`` (accepted history, oldest first) against ``current_ms``."""
    result = {"metric": name, "current": current_ms, "runs": len(past_ms), "level": None, "change": None,
              "lower": None, "upper": None, "interval": interval}
    if not past_ms:
        result.update(status=BASELINE, message="baseline: {0} {1} ms (the first accepted run)".format(name, ms(current_ms)))
        return result
    logs = [_log(value) for value in past_ms]
    level = math.exp(statistics.fmean(logs))
    change = current_ms / level - 1.0
    result.update(level=round(level, 3), change=round(change, 4))
    worse = change > tolerance and current_ms - level > floor_ms
    better = -change > tolerance / (1.0 + tolerance) and level - current_ms > floor_ms
    figures = "{0} {1} ms -> {2} ms ({3}".format(name, ms(level), ms(current_ms), _percent(change))
    if len(past_ms) < min_runs:
        text = "{0} vs the mean of {1} run{2}; a verdict needs {3})".format(
            figures, len(past_ms), "" if len(past_ms) == 1 else "s", min_runs)
        result.update(status=WARMING, message="warming: " + text, would_regress=worse)
        return result
    _mean, lower, upper = prediction_interval(logs, interval)
    result.update(lower=round(math.exp(lower), 3), upper=round(math.exp(upper), 3))
    bounds = "the {0:g}% prediction interval {1}-{2} ms of the last {3} runs".format(
        interval * 100, ms(math.exp(lower)), ms(math.exp(upper)), len(past_ms))
    if worse and _log(current_ms) > upper:
        result.update(status=REGRESSED, message="regressed: {0}, above {1})".format(figures, bounds))
    elif better and _log(current_ms) < lower:
        result.update(status=IMPROVED, message="improved: {0}, below {1})".format(figures, bounds))
    elif lower <= _log(current_ms) <= upper:
        result.update(status=OK, message="ok: {0}, within {1})".format(figures, bounds))
    else:
        side = "above" if _log(current_ms) > upper else "below"
        result.update(status=OK, message="ok: {0}, {1} {2}, but under the {3:g}% tolerance or the {4:g} ms floor)".format(
            figures, side, bounds, tolerance * 100, floor_ms))
    return result


def compare(history_runs, current_metrics, tolerance=TOLERANCE, floor_ms=FLOOR_MS, min_runs=MIN_RUNS,
            interval=INTERVAL, window=WINDOW):
    """A run's metrics (``{"latency p(95)": 113.0, ...}``) against the accepted runs of its history.

    Only runs since the latest baseline reset count, the last ``window`` of them. Metrics without
    a number in the current run are not compared. The overall ``status`` is ``regressed`` when
    any metric regressed (``failed`` is then true), else ``warming`` when any metric is still
    warming up, else ``improved`` when any improved, else ``ok``; ``baseline`` when no metric
    has a history. ``messages`` are the regressions, ``warnings`` the warming metrics that would
    have regressed with enough history.
    """
    runs = compared_runs(history_runs, window)
    metrics = {}
    for name in sorted(current_metrics):
        current = current_metrics[name]
        if not _is_number(current):
            continue
        past = [run["metrics"][name] for run in runs if _is_number((run.get("metrics") or {}).get(name))]
        metrics[name] = compare_metric(name, past, float(current), tolerance, floor_ms, min_runs, interval)
    statuses = [result["status"] for result in metrics.values()]
    if REGRESSED in statuses:
        status = REGRESSED
    elif WARMING in statuses:
        status = WARMING
    elif IMPROVED in statuses:
        status = IMPROVED
    elif OK in statuses:
        status = OK
    else:
        status = BASELINE
    return {
        "status": status,
        "failed": status == REGRESSED,
        "metrics": metrics,
        "messages": [result["message"] for result in metrics.values() if result["status"] == REGRESSED],
        "warnings": [result["message"] for result in metrics.values() if result.get("would_regress")],
    }


# ---- history files -----------------------------------------------------------------------------

_PLAIN = re.compile(r"[a-z0-9_.-]")
_DEVICE_NAMES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)")
MAX_NAME = 120


def safe_name(text):
    """``text`` as one file name valid on any filesystem, readable and (short names) reversible.

    Lower-case ASCII letters, digits, ``-``, ``_`` and ``.`` stay; every other character,
    upper-case letters included (two names differing in case only must not meet on a
    case-insensitive filesystem), is percent-encoded byte by byte from UTF-8 (``%`` itself
    too): ``"Prod EU:8443"`` is ``%50rod%20%45%55%3A8443``. A leading or trailing ``.`` and the
    first letter of a Windows device name (``con``, ``nul``, ``com1``...) are encoded as well.
    A name longer than 120 characters keeps its first 103 and ends with ``~`` and 16 hex digits
    of the sha256 of ``text``.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("a history name part must be a non-empty string (got {0!r})".format(text))
    encoded = [char if _PLAIN.match(char) else "".join("%{0:02X}".format(byte) for byte in char.encode("utf-8"))
               for char in text]
    if _DEVICE_NAMES.match(text) or encoded[0] == ".":
        encoded[0] = "%{0:02X}".format(ord(text[0]))
    if len(encoded) > 1 and encoded[-1] == ".":
        encoded[-1] = "%2E"
    name = "".join(encoded)
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 17] + "~" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return name


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec, length=8):
    """A stable short hash of a load spec: sha256 of its canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()[:length]


def load_spec(test):
    """The part of a normalised benchmark test that decides its load: payload, calls, concurrency,
    and duration, rate, max_in_flight and warmup when set."""
    spec = {key: test.get(key) for key in LOAD_SPEC_KEYS}
    # warmup 0 is no warmup: the same load as a test that does not mention it.
    spec.update((key, test[key]) for key in OPTIONAL_LOAD_SPEC_KEYS if test.get(key) not in (None, 0))
    return spec


def history_path(history_dir, cluster, workflow, test, spec):
    """``<history_dir>/<cluster>/<workflow>/<test>-<spec hash>.json``, every part made safe."""
    return os.path.join(history_dir, safe_name(cluster), safe_name(workflow),
                        "{0}-{1}.json".format(safe_name(test), spec_hash(spec)))


def write_json_atomically(path, document):
    """Pretty JSON (sorted keys, trailing newline), in place of ``path`` in one rename; 0644: it
    holds no secret and is meant to be committed."""
    write_text_atomically(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_history(path):
    """The history document at ``path``, or ``None`` when there is none yet."""
    try:
        with open(path, "r", encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise HistoryError("the history file {0} is not valid JSON ({1}). Fix: repair it from version control, "
                           "or delete it to start a new baseline.".format(path, error)) from error
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise HistoryError("the history file {0} has no list of runs. Fix: repair it from version control, "
                           "or delete it to start a new baseline.".format(path))
    return document


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(path, run, accepted, accept_baseline=False, header=None, keep=KEEP_RUNS):
    """Add ``run`` (``{"run": id, "metrics": {...}}``, ``"time"`` and ``"curve"`` optional) to the history at ``path``.

    Written only when ``accepted`` (the run's gates passed, the ratchet's included) or when
    ``accept_baseline`` (then marked as a baseline reset: later verdicts start from it). The
    first run of a history is a baseline by definition. ``header`` (cluster, workflow, test,
    spec, spec_hash) names a new file's subject. Returns the entry written, or ``None``.
    """
    if not (accepted or accept_baseline):
        return None
    document = read_history(path)
    if document is None:
        document = dict(header or {}, format=FORMAT, runs=[])
    metrics = {name: float(value) for name, value in (run.get("metrics") or {}).items() if _is_number(value)}
    entry = {"run": run.get("run"), "time": run.get("time") or _utc_now(), "metrics": metrics,
             "baseline": bool(accept_baseline or not document["runs"])}
    curve = {key: float(value) for key, value in (run.get("curve") or {}).items() if _is_number(value)}
    if curve:
        entry["curve"] = curve
    document["runs"] = (document["runs"] + [entry])[-keep:]
    write_json_atomically(path, document)
    return entry


class History:
    """The history of one test (cluster x workflow x test x load spec) under ``history_dir``."""

    def __init__(self, history_dir, cluster, workflow, test, spec):
        self.spec = spec
        self.header = {"cluster": cluster, "workflow": workflow, "test": test, "spec": spec,
                       "spec_hash": spec_hash(spec)}
        self.path = history_path(history_dir, cluster, workflow, test, spec)

    def runs(self):
        """The accepted runs, oldest first (``[]`` before the first one)."""
        document = read_history(self.path)
        if document is None:
            return []
        if "spec" in document and canonical_json(document["spec"]) != canonical_json(self.spec):
            raise HistoryError("the history file {0} belongs to another load spec (a hash collision or an edit). "
                               "Fix: move it away to start a new baseline.".format(self.path))
        return document["runs"]

    def compare(self, current_metrics, **options):
        return compare(self.runs(), current_metrics, **options)

    def record(self, run, accepted, accept_baseline=False, keep=KEEP_RUNS):
        return record(self.path, run, accepted, accept_baseline, self.header, keep)


# ---- a benchmark test's result against its history ---------------------------------------------

ACCEPTED = "accepted"
# Where each compared metric is in a benchmark test's result: (summary, key, histogram, percentile).
METRIC_SOURCES = {"server p(50)": ("server_ms", "p50", "server", 50), "latency p(95)": ("latency_ms", "p95", "latency", 95)}
# The latency percentile curve kept with each recorded run: seven numbers, enough to draw the
# baseline's curve beside a run's; a percentile is kept only when the run had enough successful
# calls for it to mean something (``gates.samples_needed``: p(99) needs 100).
CURVE_PERCENTILES = (25, 50, 75, 90, 95, 99, 99.9)


def _successes(result, histogram):
    """How many values the result's ``histogram`` (latency, server) holds: the successful calls it measured."""
    count = ((result.get("histograms") or {}).get(histogram) or {}).get("count")
    if _is_number(count):
        return int(count)
    return max((result.get("calls") or 0) - (result.get("errors") or 0), 0)


def result_metrics(result):
    """``(metrics, left_out)``: the ratchet's figures of one benchmark test's result, in ms, and why any is missing.

    A percentile over fewer successful calls than ``gates.samples_needed`` says (p(95) of 3 calls
    is their maximum) is left out, as a gate on it would be unknown: such a figure would only
    teach the history noise.
    """
    metrics, left_out = {}, []
    for name in METRICS:
        summary, key, histogram, quantile = METRIC_SOURCES[name]
        value = (result.get(summary) or {}).get(key)
        count, needed = _successes(result, histogram), samples_needed(quantile)
        if not _is_number(value) or not count:
            left_out.append("{0} not compared: no successful call measured it".format(name))
        elif count < needed:
            left_out.append("{0} not compared: it needs {1} successful calls, this run has {2}".format(name, needed, count))
        else:
            metrics[name] = float(value)
    return metrics, left_out


def _figure(value):
    """Three significant figures: the histograms' resolution (1%), and a small history file."""
    return float("{0:.3g}".format(value))


def _percentile_key(quantile):
    return "p({0:g})".format(quantile)


def _quantile_of(key):
    try:
        return float(key[2:-1])
    except ValueError:
        return math.inf


def latency_curve(result):
    """``{"p(50)": ms, ...}``: the latency percentiles of a test's result that its successful calls support."""
    data = (result.get("histograms") or {}).get("latency")
    try:
        histogram = Histogram.from_dict(data)
    except (TypeError, ValueError):
        return {}
    return {_percentile_key(quantile): _figure(histogram.percentile(quantile)) for quantile in CURVE_PERCENTILES
            if histogram.count >= samples_needed(quantile)}


def baseline_curve(runs):
    """The curve a run is drawn beside: per percentile, the geometric mean over ``runs`` that kept
    it (the same level the verdict compares with); ``None`` when no run kept a curve."""
    values = {}
    for run in runs:
        for key, value in (run.get("curve") or {}).items():
            if _is_number(value):
                values.setdefault(key, []).append(value)
    if not values:
        return None
    return {key: _figure(math.exp(statistics.fmean(_log(value) for value in values[key])))
            for key in sorted(values, key=_quantile_of)}


def compact_runs(runs):
    """The runs compared with, as the result shows them: no curve, nothing else."""
    return [{"run": run.get("run"), "time": run.get("time"), "baseline": bool(run.get("baseline")),
             "metrics": dict(run.get("metrics") or {})} for run in runs]


def assess(history_runs, result, run_id=None, accept_baseline=False, tolerance=TOLERANCE, floor_ms=FLOOR_MS,
           min_runs=MIN_RUNS, window=WINDOW):
    """The ratchet on one benchmark test: its ``result`` against the accepted runs of its history.

    Pure: reads and writes no file. Returns ``{"ratchet": ..., "entry": ..., "failures": [...],
    "warnings": [...]}``: ``ratchet`` is the test's ``ratchet`` field (``recorded`` false and no
    ``history_file`` yet: the caller writes), ``entry`` the run to record or ``None``.

    Recording rules: only a run whose own gates passed is ever recorded (a failed or
    inconclusive test never becomes part of the level, ``accept_baseline`` or not: accepting
    says "this speed is the new normal", never "these errors are"); a regressed run is recorded
    only with ``accept_baseline``, which also marks the run as a baseline reset (the verdicts
    start again from it, warming up). Status ``accepted`` then replaces the verdict's. A run
    with no comparable metric is neither compared nor recorded (status ``None``).
    """
    runs = compared_runs(history_runs, window)
    metrics, left_out = result_metrics(result)
    ratchet = {"status": None, "message": "", "metrics": {}, "recorded": False, "history_file": None,
               "history": compact_runs(runs), "baseline_curve": baseline_curve(runs)}
    outcome = {"ratchet": ratchet, "entry": None, "failures": [], "warnings": []}
    if not metrics:
        ratchet["message"] = "; ".join(left_out)
        return outcome
    verdict = compare(runs, metrics, tolerance, floor_ms, min_runs, window=window)
    ratchet["metrics"] = {name: {"verdict": figures["status"], "current": figures["current"], "level": figures["level"],
                                 "upper": figures["upper"], "runs": figures["runs"]}
                          for name, figures in verdict["metrics"].items()}
    status = verdict["status"]
    notes = []
    if result.get("status") != PASSED:
        notes.append("not recorded: the test is {0} by its own gates{1}".format(
            result.get("status"), ", which accept_baseline does not override" if accept_baseline else ""))
    elif status == REGRESSED and not accept_baseline:
        notes.append("not recorded: a regressed run does not become part of the level (accept_baseline accepts it)")
    else:
        outcome["entry"] = {"run": run_id, "metrics": metrics, "curve": latency_curve(result)}
        if accept_baseline:
            status = ACCEPTED
    if verdict["status"] == REGRESSED and status != ACCEPTED:
        outcome["failures"] = list(verdict["messages"])
        text = "; ".join(verdict["messages"])
    else:
        text = "; ".join(figures["message"] for figures in verdict["metrics"].values())
    if status == ACCEPTED:
        text = "accepted as the new baseline: " + text
        outcome["warnings"] = ["accepted as the new baseline on purpose (accept_baseline): " + message
                               for message in verdict["messages"]]
    outcome["warnings"] += verdict["warnings"]
    notes += left_out
    ratchet.update(status=status, message="; ".join([text] + notes))
    return outcome


def apply(result, outcome):
    """Put an ``assess`` outcome into the test's ``result``: its ``ratchet`` field, and a regression
    fails the test (one failure line per regressed metric, naming it and both figures)."""
    result["ratchet"] = outcome["ratchet"]
    if outcome["failures"]:
        result["status"] = FAILED
        result["passed"] = False
        result["failures"] = list(result.get("failures") or []) + outcome["failures"]
    return result
