# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark tests: normalising a test, running its calls, statistics and pass/fail gates.

No HTTP here: a test runs through a ``call(payload, timeout)`` function that returns an
``algorithms.CallOutcome``, so the logic is tested without a cluster.

Load model: closed loop, ``calls`` calls with ``concurrency`` in flight; each call is made exactly
once (no retry: a benchmark counts every failure). Outcomes stream into a ``TestAccumulator``
(histograms, a sample reservoir, a per-second series, errors by kind with the last few messages):
a test's memory does not grow with its number of calls. Its status (``passed``, ``failed``,
``inconclusive``) comes from ``gates.evaluate_gates`` and ``gates.decide_status``.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible_collections.algorithmia.testbench.plugins.module_utils.gates import (
    INCONCLUSIVE,
    PASS,
    PASSED,
    GateError,
    decide_status,
    evaluate_gates,
    outcome_kind,
    parse_gates,
    shorthand_gates,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.histogram import Histogram, Reservoir, TimeSeries

DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3000
MAX_CONCURRENCY = 1000
PERCENTILES = ("p50", "p90", "p95", "p99", "max")
# Enough to plot a run; a million calls must not end up in the task result.
MAX_DURATIONS_KEPT = 1000
RESULT_PREVIEW_CHARS = 300
# The last failure messages kept per test (with their kind); the counts by kind are exact.
MAX_ERROR_MESSAGES = 5
SUMMARY_KEYS = ("p50", "p95", "p99", "max", "mean")


class BenchmarkSpecError(ValueError):
    """A test is malformed; raised before any call is made."""


def normalise_test(test, index):
    """A test with every field set, or ``BenchmarkSpecError`` naming the test and the field."""
    label = "tests[{0}]".format(index)
    if not isinstance(test, dict):
        raise BenchmarkSpecError("{0} must be a dict with name and payload".format(label))
    name = test.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BenchmarkSpecError("{0}.name must be a non-empty string".format(label))
    label = "test {0!r}".format(name)

    def integer(field, default, low, high):
        value = test.get(field)
        value = default if value is None else value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BenchmarkSpecError("{0}: {1} must be a whole number from {2} to {3} (got {4!r})".format(
                label, field, low, high, value))
        return value

    max_error_rate = test.get("max_error_rate")
    if max_error_rate is not None and (isinstance(max_error_rate, bool) or not isinstance(max_error_rate, (int, float))
                                       or not 0 <= max_error_rate <= 1):
        raise BenchmarkSpecError("{0}: max_error_rate must be a fraction from 0 to 1 (got {1!r})".format(
            label, max_error_rate))
    has_expected = test.get("has_expected_output")
    if has_expected is None:
        has_expected = test.get("expected_output") is not None
    max_latency_ms = latency_gates(test.get("max_latency_ms"), label)
    try:
        gates = parse_gates(test.get("gates"))
        # No max_error_rate and no error_rate gate: any failed call fails the test (as before gates).
        if max_error_rate is None and not any(gate.aggregate == "error_rate" for gate in gates):
            max_error_rate = 0
        gates += shorthand_gates(max_latency_ms, max_error_rate)
    except GateError as exc:
        raise BenchmarkSpecError("{0}: {1}".format(label, exc)) from None
    subset = test.get("expected_subset")
    if subset is not None and not isinstance(subset, dict):
        raise BenchmarkSpecError("{0}: expected_subset must be a JSON object (got {1})".format(label, show(subset)))
    pattern = test.get("expected_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (TypeError, re.error) as exc:
            raise BenchmarkSpecError("{0}: expected_pattern {1!r} is not a regular expression: {2}".format(
                label, pattern, exc)) from None
    return {
        "name": name,
        "payload": test.get("payload"),
        "timeout": integer("timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        "calls": integer("calls", 1, 1, 10 ** 6),
        "concurrency": integer("concurrency", 1, 1, MAX_CONCURRENCY),
        "has_expected_output": bool(has_expected),
        "expected_output": test.get("expected_output"),
        "expected_subset": subset,
        "expected_pattern": pattern,
        "max_latency_ms": max_latency_ms,
        "max_error_rate": None if max_error_rate is None else float(max_error_rate),
        "gates": [str(gate) for gate in gates],
    }


def latency_gates(value, label="test"):
    """``{"p95": 500}`` from a number (a gate on p95) or a dict of percentile gates; ``{}`` for none."""
    if value is None or value == {}:
        return {}
    if isinstance(value, bool):
        raise BenchmarkSpecError("{0}: max_latency_ms must be milliseconds or a dict of percentiles".format(label))
    if isinstance(value, (int, float)):
        value = {"p95": value}
    if not isinstance(value, dict):
        raise BenchmarkSpecError("{0}: max_latency_ms must be milliseconds (a gate on p95) or a dict such as "
                                 "{{\"p95\": 500, \"max\": 2000}} (got {1!r})".format(label, value))
    gates = {}
    for key, limit in value.items():
        if key not in PERCENTILES:
            raise BenchmarkSpecError("{0}: max_latency_ms.{1} is not one of {2}".format(label, key, ", ".join(PERCENTILES)))
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
            raise BenchmarkSpecError("{0}: max_latency_ms.{1} must be a positive number of milliseconds".format(label, key))
        gates[key] = float(limit)
    return gates


def show(value, limit=RESULT_PREVIEW_CHARS):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def contains(result, subset):
    """Whether ``result`` holds ``subset``: for an object, each of its keys with a value that holds
    the subset's value (recursively); anything else (lists included) must be equal."""
    if isinstance(subset, dict):
        return isinstance(result, dict) and all(key in result and contains(result[key], value)
                                                for key, value in subset.items())
    return result == subset


def pattern_text(result):
    """The text ``expected_pattern`` is searched in: a string result as it is, anything else as its
    JSON text (``{"a": 1}``, ``42``, ``true``, ``null``), the same text the reports show."""
    return result if isinstance(result, str) else json.dumps(result, sort_keys=True, default=str)


def check_outcome(test, outcome):
    """The error message of one call, or ``None`` when it succeeded and passed the test's checks
    (``expected_output``, ``expected_subset``, ``expected_pattern``)."""
    if not outcome.ok:
        return outcome.error or "the call failed"
    if test.get("has_expected_output") and outcome.result != test.get("expected_output"):
        return "the result {0} differs from expected_output {1}".format(show(outcome.result),
                                                                        show(test["expected_output"]))
    if test.get("expected_subset") is not None and not contains(outcome.result, test["expected_subset"]):
        return "the result {0} does not contain expected_subset {1}".format(
            show(outcome.result), show(test["expected_subset"]))
    if test.get("expected_pattern") is not None and not re.search(test["expected_pattern"], pattern_text(outcome.result)):
        return "the result {0} does not match expected_pattern {1}".format(
            show(outcome.result), json.dumps(test["expected_pattern"]))
    return None


def percentile(sorted_values, percent):
    """Nearest-rank percentile of an ascending list (``None`` for an empty list)."""
    if not sorted_values:
        return None
    rank = max(1, int(math.ceil(percent / 100.0 * len(sorted_values))))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _rounded(value):
    return None if value is None else round(value, 1)


def histogram_summary(histogram, keys=SUMMARY_KEYS):
    """``{"p50": ms, ...}`` of a histogram, rounded to 0.1 ms; ``None`` values when it is empty."""
    figures = {"min": histogram.min, "max": histogram.max, "mean": histogram.mean}
    summary = {}
    for key in keys:
        if key in figures:
            summary[key] = _rounded(figures[key])
        else:
            summary[key] = _rounded(histogram.percentile(float(key[1:])))
    return summary


def latency_summary(durations_ms):
    """min, mean, p50, p90, p95, p99 and max of a list of durations (ms)."""
    histogram = Histogram()
    for duration in durations_ms:
        histogram.record(duration)
    return histogram_summary(histogram, ("min", "mean", "p50", "p90", "p95", "p99", "max"))


def server_ms(outcome):
    """The cluster's own duration of a call in ms (``metadata.duration`` is in seconds), or None."""
    duration = (outcome.metadata or {}).get("duration")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 <= duration < math.inf:
        return None
    return duration * 1000.0


class TestAccumulator:
    """The running figures of one test, fed one outcome at a time (from one thread).

    Memory is bounded whatever the number of calls: histograms by the range of the values, the
    reservoir by its capacity, the time series by the test's duration, the messages by
    ``MAX_ERROR_MESSAGES``; the first successful result is the only result kept.
    """

    __test__ = False  # not a pytest class

    def __init__(self, test, rng=None):
        self.test = test
        self.latency = Histogram()
        self.server = Histogram()
        self.overhead = Histogram()
        self.reservoir = Reservoir(rng=rng)
        self.timeseries = TimeSeries()
        self.errors = {}
        self.messages = deque(maxlen=MAX_ERROR_MESSAGES)
        self.calls = 0
        self.successes = 0
        self.first_result = None

    def add(self, outcome, started_s=0.0, ended_s=None):
        """Count one call that started ``started_s`` and ended ``ended_s`` seconds into the test."""
        ended_s = started_s + outcome.duration_ms / 1000.0 if ended_s is None else ended_s
        message = check_outcome(self.test, outcome)
        kind = outcome_kind(outcome, check_failed=message is not None)
        self.calls += 1
        self.timeseries.started(started_s)
        self.timeseries.completed(ended_s, kind)
        self.reservoir.add(round(started_s, 3), round(outcome.duration_ms, 1), kind)
        if message is not None:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.messages.append({"kind": kind, "message": message})
            return
        if self.successes == 0:
            self.first_result = outcome.result
        self.successes += 1
        self.latency.record(outcome.duration_ms)
        server = server_ms(outcome)
        if server is not None:
            self.server.record(server)
            # overhead = client latency - the cluster's own duration: the network, the API and the
            # queueing in front of the algorithm. The two clocks differ (and the server rounds), so a
            # server duration above the latency is clamped to 0 rather than recorded as negative.
            self.overhead.record(max(outcome.duration_ms - server, 0.0))

    def figures(self, elapsed_s):
        """The figures ``gates.evaluate_gates`` takes."""
        return {"calls": self.calls, "successes": self.successes, "errors": dict(self.errors), "dropped": 0,
                "elapsed_s": elapsed_s, "latency": self.latency, "server": self.server, "overhead": self.overhead}

    def result(self, elapsed_s):
        """The test's result (see ``evaluate``)."""
        test = self.test
        figures = self.figures(elapsed_s)
        gate_results = evaluate_gates(test["gates"], figures)
        status, why = decide_status(gate_results, figures)
        last_error = self.messages[-1]["message"] if self.messages else None
        failures = []
        if self.calls and not self.successes:
            # failed whatever the gates (decide_status)
            kinds = ", ".join("{0} {1}".format(count, kind) for kind, count in sorted(self.errors.items()))
            failures.append("{0} of {0} calls failed, all of them ({1}); last error: {2}".format(
                self.calls, kinds, last_error))
        elif not self.calls:
            failures.append(why)
        for gate in gate_results:
            if gate["status"] != PASS:
                line = "gate {0}: {1}".format(gate["gate"], gate["why"])
                if gate["metric"] == "error_rate" and last_error:
                    line += "; last error: {0}".format(last_error)
                failures.append(line)
        if status == INCONCLUSIVE and not failures:
            failures.append(why)
        errors = self.calls - self.successes
        latency = histogram_summary(self.latency, ("min", "mean", "p50", "p90", "p95", "p99", "max"))
        return {
            "name": test["name"],
            "status": status,
            "passed": status == PASSED,
            "failures": failures,
            "calls": self.calls,
            "errors": errors,
            "errors_by_kind": dict(sorted(self.errors.items())),
            "error_rate": round(errors / self.calls, 4) if self.calls else 1.0,
            "timeout": test["timeout"],
            "concurrency": test["concurrency"],
            "gates": gate_results,
            "latency_ms": latency,
            "p50_ms": latency["p50"],
            "p95_ms": latency["p95"],
            "server_ms": histogram_summary(self.server),
            "overhead_ms": histogram_summary(self.overhead),
            "durations_ms": [sample[1] for sample in self.reservoir.samples() if sample[2] == "ok"],
            "histograms": {"latency": self.latency.to_dict(), "server": self.server.to_dict(),
                           "overhead": self.overhead.to_dict()},
            "reservoir": self.reservoir.to_dict(),
            "timeseries": self.timeseries.to_dict(),
            "elapsed_s": round(elapsed_s, 3),
            "last_error": last_error,
            "last_errors": list(self.messages),
            "result": self.first_result,
        }


def evaluate(test, outcomes, elapsed_s):
    """The test's result from its outcomes: counts, statistics, gate results, ``status``, and
    ``passed`` (true only for status ``passed``)."""
    accumulator = TestAccumulator(test)
    offset = 0.0
    for outcome in outcomes:
        accumulator.add(outcome, offset)
        offset += outcome.duration_ms / 1000.0
    return accumulator.result(elapsed_s)


def run_test(test, call, clock=time.monotonic, rng=None):
    """Make the test's calls, ``concurrency`` at once (a closed loop: a new call starts when one
    ends), each exactly once, and evaluate them as they complete.

    At most ``concurrency`` calls are submitted at a time, so that nothing (futures included)
    grows with the number of calls. The client should pool at least ``concurrency`` connections.
    """
    accumulator = TestAccumulator(test, rng=rng)
    started = clock()

    def timed():
        began = clock()
        outcome = call(test["payload"], test["timeout"])
        return began - started, clock() - started, outcome

    workers = min(test["concurrency"], test["calls"])
    if workers == 1:
        for _call in range(test["calls"]):
            began, ended, outcome = timed()
            accumulator.add(outcome, began, ended)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            submitted, pending = 0, set()
            while submitted < test["calls"] or pending:
                while submitted < test["calls"] and len(pending) < workers:
                    pending.add(pool.submit(timed))
                    submitted += 1
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    began, ended, outcome = future.result()
                    accumulator.add(outcome, began, ended)
    return accumulator.result(clock() - started)


def failure_summary(results, strict=False):
    """One line per failed test (and inconclusive one when ``strict``): ``test "<name>": <why>``."""
    return ["test {0!r}: {1}{2}".format(result["name"], "inconclusive: " if result.get("status") == INCONCLUSIVE else "",
                                        "; ".join(result["failures"]))
            for result in results
            if result.get("status") != PASSED and (strict or result.get("status") != INCONCLUSIVE)]
