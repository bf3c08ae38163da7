# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark gates, k6 style: ``"p(95) < 300"``, ``"server p(99) < 200"``, ``"error_rate < 0.01"``.

A gate is ``[series] aggregate operator number`` or ``metric operator number``:

- series: ``latency`` (the default: as the controller measured the call), ``server`` (the
  cluster's ``metadata.duration``) or ``overhead`` (latency minus server duration);
- aggregate: ``p(N)`` with 0 < N < 100 (``p(99.9)``), ``max``, ``min``, ``mean`` or ``avg`` (ms);
- metric: ``error_rate`` (failed calls / calls, a fraction), ``dropped`` (calls due that never
  started), ``throughput`` (successful calls per second), ``calls`` (calls made);
- operator: ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``.

A gate that cannot be judged is ``unknown``, never passed (k6's thresholds over zero samples
silently pass; Sonobuoy reports zero results as unknown): a percentile needs enough successful
calls to exist (``samples_needed``), any latency gate at least one. A test is ``failed`` when a
gate fails or every call failed, whatever its gates; ``inconclusive`` when no call was made or a
gate is unknown; else ``passed``.

The figures gates are evaluated over (``evaluate_gates``), the counts of one test::

    {"calls": 1000,                  # calls made (answered or not); dropped calls are not calls
     "successes": 990,               # answered, no error, the expected output when one was given
     "errors": {"timeout": 7, "http_5xx": 3},  # failed calls by kind (FAILURE_KINDS)
     "dropped": 0,                   # calls due that never started
     "elapsed_s": 12.5,              # the test's wall-clock time
     "latency": Histogram, "server": Histogram, "overhead": Histogram}  # of the successful calls

A missing histogram counts as empty, missing counts as 0.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from operator import eq, ge, gt, le, lt, ne

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
PASSED, FAILED, INCONCLUSIVE = "passed", "failed", "inconclusive"
SERIES = ("latency", "server", "overhead")
AGGREGATES = ("max", "min", "mean", "avg")
COUNTERS = ("error_rate", "dropped", "throughput", "calls")
OPERATORS = {"<": lt, "<=": le, ">": gt, ">=": ge, "==": eq, "!=": ne}
FAILURE_KINDS = ("connect", "tls", "timeout", "http_4xx", "http_5xx", "algorithm_error", "check_failed", "dropped")
# The percentile keys of today's ``max_latency_ms`` (benchmark.PERCENTILES) and the gate each stands for.
SHORTHAND_AGGREGATES = {"p50": "p(50)", "p90": "p(90)", "p95": "p(95)", "p99": "p(99)", "max": "max"}
EXAMPLE = '"p(95) < 300"'
# How a value of each kind of metric reads in a gate's ``why``.
SHOWN = {"latency": "{0:.6g} ms", "error_rate": "{0:.4g}", "dropped": "{0:g}", "throughput": "{0:.6g} calls/s",
         "calls": "{0:g}"}

_OPERATOR = re.compile(r"<=|>=|==|!=|<|>|=")
_PERCENTILE = re.compile(r"^p\((.*)\)$")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


class GateError(ValueError):
    """A gate expression that does not parse; the message names the gate and the fix."""

    def __init__(self, text, problem, fix):
        super().__init__("gate {0!r}: {1}. Fix: {2}".format(text, problem, fix))


class Gate:
    """One parsed gate. ``series`` is None for a counter (``error_rate``...); ``quantile`` is the
    percentile as a ``Fraction`` (exact: the sample rule divides by it) or None."""

    def __init__(self, text, series, aggregate, operator, threshold, quantile=None):
        self.text = text
        self.series = series
        self.aggregate = aggregate
        self.operator = operator
        self.threshold = threshold
        self.quantile = quantile

    @property
    def metric(self):
        """The canonical metric name: ``p(95)``, ``server p(99)``, ``mean``, ``error_rate``."""
        if self.series is None or self.series == "latency":
            return self.aggregate
        return "{0} {1}".format(self.series, self.aggregate)

    def __str__(self):
        return "{0} {1} {2}".format(self.metric, self.operator, number_text(self.threshold))

    def __eq__(self, other):
        return isinstance(other, Gate) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def __repr__(self):
        return "Gate({0!r})".format(str(self))


def _number(text, after, raw):
    if not text:
        raise GateError(raw, "expected a number after {0!r}".format(after),
                        "write it like {0}".format(EXAMPLE))
    if not _NUMBER.match(text):
        if re.match(r"^[-+]?[\d.]+\s*[a-zA-Z%]+$", text):
            fix = "write the threshold as a bare number: milliseconds for latencies (300, not 300ms), a fraction for error_rate (0.01, not 1%)"
        else:
            fix = "write one comparison with one number, like {0}".format(EXAMPLE)
        raise GateError(raw, "expected a number after {0!r}, got {1!r}".format(after, text), fix)
    return float(text)


def _percentile(text, raw):
    quantile = _PERCENTILE.match(text).group(1).strip()
    if not _NUMBER.match(quantile) or not 0 < Fraction(quantile) < 100:
        raise GateError(raw, "{0!r} is not a percentile".format(text),
                        "write p(N) with N above 0 and below 100, like p(95) or p(99.9) (use max for the largest value)")
    return Fraction(quantile)


def _metric(words, raw):
    """``(series, aggregate, quantile)`` of the words before the operator."""
    if not words:
        raise GateError(raw, "expected a metric before the operator",
                        "start with a metric (p(95), max, mean, error_rate, dropped, throughput, calls), like {0}".format(EXAMPLE))
    series = None
    if len(words) == 2 and words[0] in SERIES:
        series = words.pop(0)
    if len(words) != 1:
        raise GateError(raw, "{0!r} is not a metric".format(" ".join(words)),
                        "write one metric, optionally after a series (latency, server, overhead), like \"server p(99) < 200\"")
    word = words[0]
    if word in COUNTERS:
        if series is not None:
            raise GateError(raw, "{0} is a count over the whole test, not of the {1} series".format(word, series),
                            "drop {0!r}: write it like \"{1} < 1\"".format(series, word))
        return None, word, None
    series = series or "latency"
    if word in AGGREGATES:
        return series, "mean" if word == "avg" else word, None
    if _PERCENTILE.match(word):
        quantile = _percentile(word, raw)
        return series, "p({0})".format(number_text(quantile)), quantile
    if re.match(r"^p\d+(\.\d+)?$", word):
        fix = "write a percentile with parentheses, like p({0})".format(word[1:])
    elif word in SERIES:
        fix = "name what to take of the {0} series: p(N), max, min or mean, like \"{0} p(95) < 300\"".format(word)
    else:
        fix = "use one of p(N), max, min, mean, avg (of latency, server or overhead), error_rate, dropped, throughput, calls"
    raise GateError(raw, "unknown metric {0!r}".format(word), fix)


def number_text(value):
    """``300`` for 300.0, ``99.9``, ``0.01``: the shortest text that reads back as the same number."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def parse_gate(text):
    """The ``Gate`` of one expression, or ``GateError`` naming it and saying how to write it."""
    if isinstance(text, Gate):
        return text
    if not isinstance(text, str) or not text.strip():
        raise GateError(text, "a gate is a non-empty string", "write it like {0}".format(EXAMPLE))
    raw = text
    found = _OPERATOR.search(text)
    if found is None:
        raise GateError(raw, "expected a comparison (<, <=, >, >=, ==, !=)", "write it like {0}".format(EXAMPLE))
    operator = found.group(0)
    if operator == "=":
        raise GateError(raw, "'=' is not a comparison", "write == to compare, like \"dropped == 0\"")
    left = re.sub(r"\(\s*", "(", re.sub(r"\s*\)", ")", text[:found.start()])).split()
    series, aggregate, quantile = _metric(left, raw)
    threshold = _number(text[found.end():].strip(), operator, raw)
    if threshold < 0:
        raise GateError(raw, "a negative threshold", "every metric is 0 or more: use a threshold of 0 or more")
    if aggregate == "error_rate" and threshold > 1:
        raise GateError(raw, "error_rate is a fraction from 0 to 1, not {0:g}".format(threshold),
                        "write 1% as 0.01, like \"error_rate < 0.01\"")
    return Gate(raw, series, aggregate, operator, threshold, quantile)


def parse_gates(texts):
    """Every gate of a test's ``gates`` list, parsed (the first bad one raises ``GateError``)."""
    if texts is None:
        return []
    if isinstance(texts, (str, Gate)):
        texts = [texts]
    if not isinstance(texts, (list, tuple)):
        raise GateError(texts, "gates must be a list of expressions", "write gates: [{0}]".format(EXAMPLE))
    return [parse_gate(text) for text in texts]


def shorthand_gates(max_latency_ms=None, max_error_rate=None):
    """The gates today's ``max_latency_ms`` / ``max_error_rate`` stand for.

    They fail when the figure is *above* the limit (``benchmark.evaluate``), so they mean ``<=``:
    ``{"p95": 500, "max": 2000}`` -> ``["max <= 2000", "p(95) <= 500"]``, a number is a p95 limit,
    ``max_error_rate: 0.01`` -> ``"error_rate <= 0.01"``.
    """
    gates = []
    if isinstance(max_latency_ms, (int, float)) and not isinstance(max_latency_ms, bool):
        max_latency_ms = {"p95": max_latency_ms}
    if max_latency_ms:
        if not isinstance(max_latency_ms, dict):
            raise GateError(max_latency_ms, "max_latency_ms must be milliseconds or a dict of percentiles",
                            "write it like {\"p95\": 500, \"max\": 2000}")
        for key, limit in sorted(max_latency_ms.items()):
            where = "max_latency_ms.{0}".format(key)
            if key not in SHORTHAND_AGGREGATES:
                raise GateError(where, "not one of {0}".format(", ".join(SHORTHAND_AGGREGATES)),
                                "use a gate instead, like \"p(99.9) <= 800\"")
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit < math.inf:
                raise GateError(where, "{0!r} is not a positive number of milliseconds".format(limit),
                                "write milliseconds, like 500")
            gates.append(parse_gate("{0} <= {1}".format(SHORTHAND_AGGREGATES[key], number_text(limit))))
    if max_error_rate is not None:
        if isinstance(max_error_rate, bool) or not isinstance(max_error_rate, (int, float)) or not 0 <= max_error_rate <= 1:
            raise GateError("max_error_rate", "{0!r} is not a fraction from 0 to 1".format(max_error_rate),
                            "write 1% as 0.01")
        gates.append(parse_gate("error_rate <= {0}".format(number_text(max_error_rate))))
    return gates


def samples_needed(quantile):
    """How many successful calls make ``p(quantile)`` mean something: ``ceil(100 / min(q, 100 - q))``.

    With fewer, p(99) is just the largest value seen: p(99) needs 100, p(99.9) 1,000, p(95) 20,
    p(50) 2; the low tail alike (p(1) needs 100). Exact for decimals: ``quantile`` is a Fraction.
    """
    quantile = Fraction(quantile)
    return int(math.ceil(100 / min(quantile, 100 - quantile)))


def _histogram_value(histogram, gate):
    if gate.quantile is not None:
        return histogram.percentile(float(gate.quantile))
    return {"max": histogram.max, "min": histogram.min, "mean": histogram.mean}[gate.aggregate]


def _measure(gate, figures):
    """``(value, None)`` or ``(None, why it is unknown)``."""
    calls = figures.get("calls") or 0
    if gate.aggregate == "calls":
        return calls, None
    if gate.aggregate == "dropped":
        return figures.get("dropped") or 0, None
    if gate.aggregate in ("error_rate", "throughput"):
        if not calls:
            return None, "no call was made"
        if gate.aggregate == "error_rate":
            return (calls - (figures.get("successes") or 0)) / float(calls), None
        elapsed = figures.get("elapsed_s") or 0
        if elapsed <= 0:
            return None, "the test took no measurable time"
        return (figures.get("successes") or 0) / float(elapsed), None
    histogram = figures.get(gate.series)
    count = histogram.count if histogram is not None else 0
    needed = samples_needed(gate.quantile) if gate.quantile is not None else 1
    if count < needed:
        return None, "{0} needs at least {1} successful call{2} with a {3} duration, {4} {5}".format(
            gate.metric, needed, "" if needed == 1 else "s", gate.series, count, "has" if count == 1 else "have")
    return _histogram_value(histogram, gate), None


def _shown(gate, value):
    return SHOWN["latency" if gate.series else gate.aggregate].format(value)


def evaluate_gate(gate, figures):
    """``{"gate", "metric", "value", "threshold", "status", "why"}`` of one gate over a test's figures."""
    gate = parse_gate(gate)
    value, unknown = _measure(gate, figures)
    result = {"gate": str(gate), "metric": gate.metric, "value": value, "threshold": gate.threshold}
    if unknown is not None:
        result.update(status=UNKNOWN, why="unknown: {0}".format(unknown))
    elif OPERATORS[gate.operator](value, gate.threshold):
        result.update(status=PASS, why="{0} {1} {2} {3}".format(
            gate.metric, _shown(gate, value), gate.operator, _shown(gate, gate.threshold)))
    else:
        result.update(status=FAIL, why="{0} {1} is not {2} {3}".format(
            gate.metric, _shown(gate, value), gate.operator, _shown(gate, gate.threshold)))
    return result


def evaluate_gates(gates, figures):
    """Every gate's result (see ``evaluate_gate``), in the order given."""
    return [evaluate_gate(gate, figures) for gate in parse_gates(gates)]


def decide_status(gate_results, figures):
    """``(status, why)`` of a test: ``failed``, ``inconclusive`` or ``passed``.

    Every call failing fails the test whatever its gates (a test with latency gates only, or
    none, would otherwise be unknown or passed with nothing working); no call at all is
    inconclusive, never passed.
    """
    calls = figures.get("calls") or 0
    failed = [result for result in gate_results if result["status"] == FAIL]
    unknown = [result for result in gate_results if result["status"] == UNKNOWN]
    if calls and not figures.get("successes"):
        return FAILED, "all {0} calls failed ({1})".format(calls, _kinds(figures.get("errors")))
    if failed:
        return FAILED, "; ".join(result["why"] for result in failed)
    if not calls:
        return INCONCLUSIVE, "no call was made{0}".format(
            " ({0} dropped)".format(figures["dropped"]) if figures.get("dropped") else "")
    if unknown:
        return INCONCLUSIVE, "; ".join("{0} is {1}".format(result["gate"], result["why"]) for result in unknown)
    return PASSED, "{0} gate{1} passed".format(len(gate_results), "" if len(gate_results) == 1 else "s")


def _kinds(errors):
    if not errors:
        return "no failure kind recorded"
    return ", ".join("{0} {1}".format(count, kind) for kind, count in sorted(errors.items()) if count)


def strict_status(status, strict=False):
    """A test's status as the cluster verdict counts it: with ``testbench_strict`` an inconclusive
    test fails the cluster; without it, it stays inconclusive (still never a pass)."""
    return FAILED if strict and status == INCONCLUSIVE else status


def cluster_status(statuses, strict=False):
    """The cluster's verdict over its tests' statuses: ``failed`` if one failed, ``inconclusive`` if
    one is (or there is no test at all: zero results are unknown, never passed), else ``passed``."""
    statuses = [strict_status(status, strict) for status in statuses]
    if FAILED in statuses:
        return FAILED
    if INCONCLUSIVE in statuses or not statuses:
        return strict_status(INCONCLUSIVE, strict)
    return PASSED


# ---- failure kinds -------------------------------------------------------------------------

_KIND_BY_ERROR = {
    "TLSError": "tls",
    "ClusterTimeout": "timeout",
    # The cluster's own answer when a call outlives its timeout (an error envelope, not an exception).
    "TimeoutError": "timeout",
    "ClusterConnectionError": "connect",
    "ClientConfigError": "connect",
    "ServerError": "http_5xx",
    "BadRequest": "http_4xx",
    "AuthError": "http_4xx",
    "NotFound": "http_4xx",
    "Conflict": "http_4xx",
    "TooManyRequests": "http_4xx",
    # An answer the API does not document (not JSON, not an object): the cluster's fault.
    "InvalidResponse": "http_5xx",
}


def failure_kind(error_type=None, status=None):
    """The kind (``FAILURE_KINDS``) of a failed call from its ``CallOutcome.error_type`` and, when
    known, its HTTP status: the client's exception class names map to connect, tls, timeout,
    http_4xx, http_5xx; anything else is the algorithm's own error type (``algorithm_error``)."""
    if error_type in FAILURE_KINDS:
        return error_type
    if error_type in _KIND_BY_ERROR:
        kind = _KIND_BY_ERROR[error_type]
        if kind.startswith("http_") and isinstance(status, int) and 400 <= status < 600:
            return "http_4xx" if status < 500 else "http_5xx"
        return kind
    if error_type is None and isinstance(status, int) and 400 <= status < 600:
        return "http_4xx" if status < 500 else "http_5xx"
    return "algorithm_error"


def outcome_kind(outcome, check_failed=False):
    """``"ok"``, or the failure kind of a ``CallOutcome``; ``check_failed`` when the call succeeded
    but its result is not the expected output (``benchmark.check_outcome``)."""
    if outcome.ok:
        return "check_failed" if check_failed else "ok"
    return failure_kind(outcome.error_type, getattr(outcome, "status", None))
