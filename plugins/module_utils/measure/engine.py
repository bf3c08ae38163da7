# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark tests: normalising a test, running its calls, statistics and pass/fail gates.

No HTTP here: a test runs through a ``call(payload, timeout)`` function that returns an
``algorithms.CallOutcome``, so the logic is tested without a cluster.

Load models (``load_model``), each call made exactly once (no retry: a benchmark counts every failure):

- closed, ``calls`` + ``concurrency``: ``calls`` calls, ``concurrency`` in flight (a new call
  starts when one ends);
- closed, ``duration`` + ``concurrency``: the same loop, starting calls until ``duration`` seconds
  have passed; the calls started by then complete;
- open, ``rate`` + ``duration`` + ``max_in_flight``: call ``i`` is due at ``t0 + i / rate`` (an
  absolute schedule: a late start never shifts the later ones). A call due while ``max_in_flight``
  calls are running is not started: it is counted in ``dropped``, never queued behind them (which
  would turn the test into a closed loop that passes slowly). For the calls that start, the
  schedule lag (actual start - due time) and the latency from the due time (wrk2's answer to
  coordinated omission) are kept beside the latency.

Dropped calls were never made: they are not in ``calls``, ``errors``, ``errors_by_kind`` or the
``error_rate`` (errors over calls made, which the server's request log can confirm), only in
``dropped`` and in the per-second series at their due second. An open test gets the gate
``dropped == 0`` unless it has a gate on ``dropped`` of its own.

A stuck cluster (it takes the calls, then answers nothing, or a byte now and then) ends a test within
its timeout plus the read margin (``READ_TIMEOUT_MARGIN``, the time a call waits for its answer): when
no call of the test has been answered for that long while calls wait (a call that ended unanswered,
by a timeout, is no answer), the test is stuck (``StallWatch``). It starts no new call (an open
test's schedule stops, the calls due after it neither made nor dropped), counts the calls still
waiting as timeouts without waiting for them (its worker threads are daemons), and fails with
``stuck: no answer in N s``. So a benchmark of N calls on a hanging route takes the test's timeout
plus 30 s, not N / concurrency times that. Nothing is repeated to find this out.

``warmup`` calls are made first (at the test's ``concurrency``, one at a time for an open test) and
reported apart (``warmup``: their count, errors by kind, latency and the first, cold, call); they
are in no figure and no gate.

Outcomes stream into a ``TestAccumulator`` (histograms, a sample reservoir, a per-second series,
errors by kind with the last few messages): a test's memory does not grow with its number of
calls. Its status (``passed``, ``failed``, ``inconclusive``) comes from ``gates.evaluate_gates``
and ``gates.decide_status``.
"""

from __future__ import annotations

import hashlib
import json
import math
import queue
import re
import threading
import time
from collections import deque

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import READ_TIMEOUT_MARGIN, CallOutcome
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import CONNECT_TIMEOUT, READ_TIMEOUT, ClusterTimeout

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import (
    FAILED,
    INCONCLUSIVE,
    PASS,
    PASSED,
    GateError,
    decide_status,
    evaluate_gates,
    outcome_kind,
    parse_gate,
    parse_gates,
    shorthand_gates,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram, Reservoir, TimeSeries

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
LATENCY_KEYS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
MAX_CALLS = 10 ** 6
MAX_WARMUP = 10000
# A day: longer runs are soak tests, not benchmarks, and the per-second series stays small.
MAX_DURATION = 86400
# Calls started per second; one dispatcher thread starts them, so far beyond this it cannot keep time.
MAX_RATE = 10000
# max_in_flight of an open test without one: room for calls of up to this many seconds on average
# at the test's rate (Little's law: calls in flight = rate x latency), and at least MIN_IN_FLIGHT.
IN_FLIGHT_SECONDS = 2
MIN_IN_FLIGHT = 10
CLOSED, OPEN = "closed", "open"
# The load fields that do not go together, as (fields given together, the field to name, problem,
# fix), and those that need another one, as (field, the field it needs, problem, fix).
# algo_benchmark and the workflow check use these; workflows/schema.json states the same rules.
LOAD_RULES = (
    (("calls", "duration"), "duration", "calls and duration are two ends for one closed test",
     "keep calls (a number of calls) or duration (seconds), not both"),
    (("calls", "rate"), "calls", "an open test (rate) makes rate x duration calls, calls does not apply",
     "remove calls and give duration: the test starts rate calls per second for duration seconds"),
    (("concurrency", "rate"), "concurrency", "concurrency is for closed tests; an open test (rate) limits its "
     "calls in flight with max_in_flight", "use max_in_flight instead of concurrency"),
)
LOAD_NEEDS = (
    ("rate", "duration", "an open test (rate) needs duration",
     "add duration: the seconds during which rate calls per second are started"),
    ("max_in_flight", "rate", "max_in_flight is for open tests (rate)",
     "use concurrency for a closed test, or add rate and duration for an open one"),
)


class BenchmarkSpecError(ValueError):
    """A test is malformed; raised before any call is made."""


def load_problems(test):
    """``[(field, problem, fix), ...]`` for the load fields of a test that do not go together
    (``calls`` with ``duration``, ``rate`` without ``duration``...); a field is given when set
    and not null. Empty when the combination is one of the three load models."""
    given = {field for field in ("calls", "concurrency", "duration", "rate", "max_in_flight")
             if test.get(field) is not None}
    problems = [(field, problem, fix) for fields, field, problem, fix in LOAD_RULES if given.issuperset(fields)]
    problems += [(field, problem, fix) for field, needed, problem, fix in LOAD_NEEDS
                 if field in given and needed not in given]
    return problems


def load_model(test):
    """``open`` for a test with a rate, else ``closed``."""
    return OPEN if test.get("rate") is not None else CLOSED


def load_spec(test):
    """The ``load`` of a normalised test's result: ``{"model": "closed", "calls" or "duration",
    "concurrency"}`` or ``{"model": "open", "rate", "duration", "max_in_flight"}``."""
    if load_model(test) == OPEN:
        return {"model": OPEN, "rate": test["rate"], "duration": test["duration"], "max_in_flight": test["max_in_flight"]}
    spec = {"model": CLOSED}
    if test.get("duration") is not None:
        spec["duration"] = test["duration"]
    else:
        spec["calls"] = test["calls"]
    spec["concurrency"] = test["concurrency"]
    return spec


def payload_digest(payload):
    """The first 16 hex digits of the sha256 of the payload's canonical JSON: two tests called with
    the same payload have the same digest."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pool_size(test):
    """How many calls of a normalised test can be in flight at once: the connections to keep alive."""
    return test["max_in_flight"] if load_model(test) == OPEN else test["concurrency"]


def default_max_in_flight(rate):
    """``max_in_flight`` of an open test that gives none (see ``IN_FLIGHT_SECONDS``)."""
    return min(MAX_CONCURRENCY, max(MIN_IN_FLIGHT, int(math.ceil(rate * IN_FLIGHT_SECONDS))))


def due_calls(rate, duration):
    """How many calls an open test starts or drops: those due at ``i / rate`` < ``duration``."""
    # round(): 0.1 * 30 is 3.0000000000000004 in floating point, and a 4th call is not due.
    return max(1, int(math.ceil(round(rate * duration, 9))))


def bounded_test(test, max_calls):
    """A normalised test that makes at most ``max_calls`` calls, its load's shape kept (a source
    cluster is loaded no more than that): a closed test of more calls, or of a duration, makes
    ``max_calls``; an open test lasts at most ``max_calls`` calls' worth of its schedule."""
    if max_calls is None:
        return test
    if load_model(test) == OPEN:
        if due_calls(test["rate"], test["duration"]) <= max_calls:
            return test
        return dict(test, duration=max_calls / float(test["rate"]))
    if test.get("duration") is not None or test["calls"] > max_calls:
        return dict(test, calls=max_calls, duration=None)
    return test


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

    def positive(field, high, unit):
        value = test.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= high:
            raise BenchmarkSpecError("{0}: {1} must be a number of {2} above 0 and at most {3} (got {4!r})".format(
                label, field, unit, high, value))
        return int(value) if float(value).is_integer() else float(value)

    problems = load_problems(test)
    if problems:
        raise BenchmarkSpecError("{0}: {1}".format(label, "; ".join(
            "{0}. Fix: {1}".format(problem, fix) for _field, problem, fix in problems)))
    duration = positive("duration", MAX_DURATION, "seconds")
    rate = positive("rate", MAX_RATE, "calls per second")
    if rate is None:
        load = {"calls": None if duration is not None else integer("calls", 1, 1, MAX_CALLS),
                "concurrency": integer("concurrency", 1, 1, MAX_CONCURRENCY),
                "duration": duration, "rate": None, "max_in_flight": None}
    else:
        load = {"calls": None, "concurrency": None, "duration": duration, "rate": rate,
                "max_in_flight": integer("max_in_flight", default_max_in_flight(rate), 1, MAX_CONCURRENCY)}
    load["warmup"] = integer("warmup", 0, 0, MAX_WARMUP)

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
        # An open test at a rate the cluster cannot sustain drops calls: it fails, never passes slowly.
        if rate is not None and not any(gate.aggregate == "dropped" for gate in gates):
            gates.append(parse_gate("dropped == 0"))
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
    return dict(load, **{
        "name": name,
        "payload": test.get("payload"),
        "timeout": integer("timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        "has_expected_output": bool(has_expected),
        "expected_output": test.get("expected_output"),
        "expected_subset": subset,
        "expected_pattern": pattern,
        "max_latency_ms": max_latency_ms,
        "max_error_rate": None if max_error_rate is None else float(max_error_rate),
        "gates": [str(gate) for gate in gates],
    })


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
        self.dropped = 0
        self.first_result = None
        # the stall rule: whether the cluster was found stuck (a dict, see stuck_in), and the calls of the
        # test not started because of it (or for its warmup)
        self.stuck = None
        self.not_started = None
        # open model only: latency from the due time (successful calls), and how late each call started
        self.open = load_model(test) == OPEN
        self.intended = Histogram() if self.open else None
        self.schedule_lag = Histogram() if self.open else None

    def add(self, outcome, started_s=0.0, ended_s=None, intended_s=None):
        """Count one call that started ``started_s`` and ended ``ended_s`` seconds into the test; in
        the open model it was due at ``intended_s``."""
        ended_s = started_s + outcome.duration_ms / 1000.0 if ended_s is None else ended_s
        message = check_outcome(self.test, outcome)
        kind = outcome_kind(outcome, check_failed=message is not None)
        self.calls += 1
        self.timeseries.started(started_s)
        self.timeseries.completed(ended_s, kind)
        self.reservoir.add(round(started_s, 3), round(outcome.duration_ms, 1), kind)
        lag_ms = None
        if intended_s is not None and self.open:
            # of every call started, failed or not: it measures the dispatcher and the client, not the call
            lag_ms = max(started_s - intended_s, 0.0) * 1000.0
            self.schedule_lag.record(lag_ms)
        if message is not None:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.messages.append({"kind": kind, "message": message})
            return
        if self.successes == 0:
            self.first_result = outcome.result
        self.successes += 1
        self.latency.record(outcome.duration_ms)
        if lag_ms is not None:
            # wrk2: what a user arriving on schedule would have waited, queueing included
            self.intended.record(lag_ms + outcome.duration_ms)
        server = server_ms(outcome)
        if server is not None:
            self.server.record(server)
            # overhead = client latency - the cluster's own duration: the network, the API and the
            # queueing in front of the algorithm. The two clocks differ (and the server rounds), so a
            # server duration above the latency is clamped to 0 rather than recorded as negative.
            self.overhead.record(max(outcome.duration_ms - server, 0.0))

    def drop(self, intended_s):
        """A call due ``intended_s`` seconds into the test that did not start (open model)."""
        self.dropped += 1
        self.timeseries.dropped(intended_s)

    def stuck_in(self, watch, where):
        """The ``StallWatch`` ``watch`` found the cluster stuck in ``where`` ("the test", "its warmup")."""
        self.stuck = {"seconds": round(watch.seconds, 3), "at_s": round(watch.stuck_at, 3), "in": where,
                      "not_started": self.not_started or 0}

    def _stuck_line(self):
        test, stuck = self.test, self.stuck
        seconds = stuck["seconds"]
        margin = seconds - test["timeout"]
        line = "{0}: no call was answered for {1:g} s (the test's timeout {2} s plus {3:g} s) in {4}".format(
            stuck_words(seconds), seconds, test["timeout"], margin, stuck["in"]) if margin >= 0 else \
            "{0}: no call was answered for {1:g} s in {2}".format(stuck_words(seconds), seconds, stuck["in"])
        waiting = self.errors.get("timeout", 0) if stuck["in"] == "the test" else None
        if waiting:
            line += "; {0} call{1} without an answer counted as timeouts".format(waiting, "" if waiting == 1 else "s")
        if stuck["not_started"]:
            line += "; {0} call{1} not started".format(stuck["not_started"], "" if stuck["not_started"] == 1 else "s")
        return line

    def figures(self, elapsed_s):
        """The figures ``gates.evaluate_gates`` takes."""
        return {"calls": self.calls, "successes": self.successes, "errors": dict(self.errors), "dropped": self.dropped,
                "elapsed_s": elapsed_s, "latency": self.latency, "server": self.server, "overhead": self.overhead}

    def _dropped_line(self):
        test = self.test
        return ("{0} of {1} calls due at {2:g}/s could not start on time: max_in_flight ({3}) calls were still "
                "running (the cluster did not keep up with the rate; lower rate, or raise max_in_flight if the "
                "cluster has room)".format(self.dropped, self.dropped + self.calls, test["rate"], test["max_in_flight"]))

    def result(self, elapsed_s, warmup=None):
        """The test's result (see ``evaluate``); ``warmup`` is the ``WarmupAccumulator.result`` or None."""
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
                if gate["metric"] == "dropped" and self.dropped and self.open:
                    line += "; " + self._dropped_line()
                failures.append(line)
        if status == INCONCLUSIVE and not failures:
            failures.append(why)
        if self.stuck is not None:
            # failed whatever the gates: the cluster stopped answering (a failure, never unknown)
            status = FAILED
            failures.insert(0, self._stuck_line())
        errors = self.calls - self.successes
        latency = histogram_summary(self.latency, LATENCY_KEYS)
        histograms = {"latency": self.latency.to_dict(), "server": self.server.to_dict(),
                      "overhead": self.overhead.to_dict()}
        if self.open:
            histograms.update(intended=self.intended.to_dict(), schedule_lag=self.schedule_lag.to_dict())
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
            "concurrency": test.get("concurrency"),
            "load": load_spec(test),
            # what the judge checks a baseline's test called with (the payload itself may be large)
            "payload_sha256": payload_digest(test.get("payload")),
            "dropped": self.dropped,
            # the figure the throughput gate judges: successful calls per second of the test (warmup apart)
            "throughput": round(self.successes / elapsed_s, 3) if elapsed_s > 0 else None,
            "warmup": warmup,
            "gates": gate_results,
            "latency_ms": latency,
            "p50_ms": latency["p50"],
            "p95_ms": latency["p95"],
            "server_ms": histogram_summary(self.server),
            "overhead_ms": histogram_summary(self.overhead),
            "intended_latency_ms": histogram_summary(self.intended, LATENCY_KEYS) if self.open else None,
            "schedule_lag_ms": histogram_summary(self.schedule_lag, LATENCY_KEYS) if self.open else None,
            "durations_ms": [sample[1] for sample in self.reservoir.samples() if sample[2] == "ok"],
            "histograms": histograms,
            "reservoir": self.reservoir.to_dict(),
            "timeseries": self.timeseries.to_dict(),
            "elapsed_s": round(elapsed_s, 3),
            "stuck": self.stuck,
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


class WarmupAccumulator:
    """The warmup calls of a test, reported apart: count, errors by kind, latency of the successful
    ones, and ``first_ms``, the latency of the first call started (the cold one), failed or not."""

    def __init__(self, test):
        self.test = test
        self.latency = Histogram()
        self.errors = {}
        self.calls = 0
        self.first = None  # (started s, latency ms)
        self.last_error = None

    def add(self, outcome, started_s=0.0, ended_s=None):
        message = check_outcome(self.test, outcome)
        self.calls += 1
        if self.first is None or started_s < self.first[0]:
            self.first = (started_s, outcome.duration_ms)
        if message is None:
            self.latency.record(outcome.duration_ms)
            return
        kind = outcome_kind(outcome, check_failed=True)
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.last_error = message

    def result(self):
        return {"calls": self.calls, "errors": sum(self.errors.values()), "errors_by_kind": dict(sorted(self.errors.items())),
                "latency_ms": histogram_summary(self.latency, LATENCY_KEYS),
                "first_ms": _rounded(self.first[1]) if self.first else None, "last_error": self.last_error}


def _timed(test, call, clock, started):
    """A function making one call: ``(start s, end s, outcome)``, in seconds since ``started``."""
    def timed():
        began = clock()
        outcome = call(test["payload"], test["timeout"])
        return began - started, clock() - started, outcome
    return timed


def unanswered(outcome):
    """Whether a call ended with nothing from the cluster in the time it had (no connection, or no
    answer): the silence the stall rule measures. The cluster's own "timed out" answer is an answer."""
    return getattr(outcome, "failure", None) in (READ_TIMEOUT, CONNECT_TIMEOUT)


class StallWatch:
    """The stall rule of one test (or its warmup): when no call has been answered for ``seconds`` (the
    test's timeout plus the read margin) while its calls wait, the cluster is stuck. The loop then
    starts no new call and counts the calls still waiting as timeouts (``stuck()``).

    Times are seconds since the test's ``started`` on its clock. The loop that runs the calls calls
    ``begin``, ``end`` and ``expired`` under its own lock (or from its one dispatcher thread). The quiet
    time runs from the last answer, or from the start of a call when none was waiting and no call had
    gone unanswered since the last answer (a slow schedule's idle time is not silence).
    """

    def __init__(self, seconds, clock, started):
        self.seconds = seconds
        self._clock = clock
        self._started = started
        self.quiet_since = 0.0
        self.silent = False  # a call went unanswered since the last answer
        self.waiting = {}  # token -> its start (s)
        self.stuck_at = None

    def now(self):
        return self._clock() - self._started

    def begin(self, token, at=None):
        at = self.now() if at is None else at
        if not self.waiting and not self.silent:
            self.quiet_since = at
        self.waiting[token] = at

    def end(self, token, outcome):
        """The call ``token`` ended with ``outcome``; whether the test is stuck now."""
        self.waiting.pop(token, None)
        if unanswered(outcome):
            self.silent = True
        else:
            self.silent = False
            self.quiet_since = self.now()
        return self.expired()

    def due(self):
        """Seconds until the rule could fire, at the soonest."""
        return max(0.0, self.quiet_since + self.seconds - self.now())

    def expired(self):
        return self.stuck_at is not None or ((self.waiting or self.silent) and self.now() - self.quiet_since >= self.seconds)

    def stuck(self):
        """Declare the test stuck: ``[(start s, outcome), ...]`` of the calls still waiting, each a timeout
        (nothing waits for them any more; whatever they return later is not counted)."""
        self.stuck_at = self.now()
        waiting, self.waiting = self.waiting, {}
        message = "{0}: nothing answered for {1:.1f} s while this call waited".format(
            stuck_words(self.seconds), self.stuck_at - self.quiet_since)
        return [(began, CallOutcome(False, (self.stuck_at - began) * 1000.0, error=message,
                                    error_type=ClusterTimeout.__name__, failure=READ_TIMEOUT))
                for began in waiting.values()]


def stuck_words(seconds):
    """What a stuck test, task and verdict say: ``stuck: no answer in 35 s``."""
    return "stuck: no answer in {0:g} s".format(round(seconds, 1))


def closed_loop(timed, workers, take, sink, watch=None):
    """Calls ``timed`` while ``take()`` says another call may start, ``workers`` at once (a new call
    starts when one ends), and calls ``sink(outcome, start, end)`` for each, one at a time.

    ``workers`` threads each loop over take-call-sink, with ``take`` and ``sink`` under one lock:
    nothing (futures included) grows with the number of calls, and no thread is woken between a
    call's end and the next call's start, which a controller sharing its cores with the cluster
    would measure as the cluster's throughput. The client should keep one connection per worker.

    With a ``StallWatch``, this thread watches the silence meanwhile (it wakes when the rule could
    fire, not per call); once stuck, it sinks the calls still waiting as timeouts and returns without
    waiting for them (the workers are daemon threads; what they return later is dropped). Without one,
    a single worker runs in this thread.
    """
    if workers == 1 and watch is None:
        while take():
            began, ended, outcome = timed()
            sink(outcome, began, ended)
        return
    lock = threading.Lock()
    finished = threading.Condition(lock)
    state = {"running": workers, "stopped": False, "failures": []}

    def give_up():
        state["stopped"] = True
        for began, outcome in watch.stuck():
            sink(outcome, began, watch.stuck_at)

    def work():
        try:
            while True:
                with lock:
                    if state["failures"] or state["stopped"] or not take():
                        return
                    token = object()
                    if watch is not None:
                        watch.begin(token)
                began, ended, outcome = timed()
                with lock:
                    if state["stopped"]:
                        return  # counted as a timeout when the test was found stuck
                    sink(outcome, began, ended)
                    if watch is not None and watch.end(token, outcome):
                        give_up()
        except BaseException as exc:  # raised again in the caller's thread; the other workers stop
            with lock:
                state["failures"].append(exc)
        finally:
            with lock:
                state["running"] -= 1
                finished.notify_all()

    for index in range(workers):
        threading.Thread(target=work, name="benchmark-worker-{0}".format(index), daemon=True).start()
    with lock:
        while state["running"] and not state["stopped"] and not state["failures"]:
            finished.wait(None if watch is None else watch.due() + 0.01)
            if watch is not None and not state["stopped"] and not state["failures"] and watch.expired():
                give_up()
    if state["failures"]:
        raise state["failures"][0]


def counter(limit):
    """A ``take`` for ``closed_loop``: true ``limit`` times (``left()``: how many it has not given)."""
    state = {"left": limit}

    def take():
        state["left"] -= 1
        return state["left"] >= 0

    take.left = lambda: max(state["left"], 0)
    return take


class DaemonWorkers:
    """At most ``limit`` daemon threads running submitted calls, a new one started only when none is
    idle (as ``ThreadPoolExecutor`` does). Unlike an executor's, nothing joins them at the interpreter's
    exit: a call a stuck cluster never answers cannot keep the module's process alive."""

    def __init__(self, limit, name):
        self._limit = limit
        self._name = name
        self._jobs = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads = 0

    def submit(self, function, *args):
        self._jobs.put((function, args))
        if self._idle.acquire(blocking=False):
            return
        if self._threads < self._limit:
            self._threads += 1
            threading.Thread(target=self._work, name="{0}-{1}".format(self._name, self._threads), daemon=True).start()

    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            function, args = job
            try:
                function(*args)
            except BaseException:  # pylint: disable=broad-exception-caught
                pass  # the function hands its own failure back
            self._idle.release()

    def close(self):
        """Let the idle threads end (busy ones end after their call)."""
        for _index in range(self._threads):
            self._jobs.put(None)


def open_loop(test, call, clock, started, accumulator, sleep=time.sleep, watch=None):
    """Start call ``i`` at ``started + i / rate`` until ``duration``, on at most ``max_in_flight``
    workers; a call due while they are all busy is dropped (``accumulator.drop``), never delayed.

    One dispatcher (this thread) starts the calls and records their outcomes, which the workers
    hand back through a queue; it submits a call only to a free worker, so the queue, the pool
    and the calls in flight are at most ``max_in_flight``, however long the test.

    With a ``StallWatch``: once stuck, the schedule stops (the calls due after it are neither made
    nor dropped: ``accumulator.stuck`` counts them as not started) and the calls in flight are
    recorded as timeouts, without waiting for them.
    """
    rate, duration, limit = test["rate"], test["duration"], test["max_in_flight"]
    finished = queue.Queue()
    state = {"in_flight": 0, "stuck": False}

    def timed(intended_s, token):
        began = clock() - started
        try:
            outcome = call(test["payload"], test["timeout"])
        except BaseException as exc:
            # handed to the dispatcher, which raises it; the worker's slot is freed either way
            finished.put((intended_s, token, began, clock() - started, None, exc))
            raise
        finished.put((intended_s, token, began, clock() - started, outcome, None))

    def record(item):
        intended_s, token, began, ended, outcome, error = item
        if error is not None:
            raise error
        if watch is not None and token not in watch.waiting:
            return  # a call counted as a timeout when the test was found stuck
        state["in_flight"] -= 1
        accumulator.add(outcome, began, ended, intended_s)
        if watch is not None and watch.end(token, outcome):
            give_up()

    def give_up():
        state["stuck"] = True
        for began, outcome in watch.stuck():
            accumulator.add(outcome, began, watch.stuck_at, began)
        state["in_flight"] = 0

    def settle(moment=None):
        """Record the calls that end before ``moment`` (clock time), returning at that moment;
        without one, wait for every call in flight. Then record those already ended. Returns
        early once the test is stuck."""
        while not state["stuck"]:
            remaining = None if moment is None else moment - clock()
            if remaining is not None and remaining <= 0:
                break
            if not state["in_flight"]:
                if remaining is None:
                    return
                sleep(remaining)
                continue
            wait = remaining
            if watch is not None:
                wait = watch.due() + 0.01 if wait is None else min(wait, watch.due() + 0.01)
            try:
                record(finished.get(timeout=wait))
            except queue.Empty:
                if watch is not None and watch.expired():
                    give_up()
        while state["in_flight"] and not state["stuck"]:
            try:
                record(finished.get_nowait())
            except queue.Empty:
                return

    workers = DaemonWorkers(limit, "benchmark-open")
    due = due_calls(rate, duration)
    try:
        for index in range(due):
            intended_s = index / float(rate)
            settle(started + intended_s)
            if state["stuck"]:
                accumulator.not_started = due - index
                return
            if state["in_flight"] >= limit:
                accumulator.drop(intended_s)
                continue
            state["in_flight"] += 1
            token = index
            if watch is not None:
                watch.begin(token, intended_s)
            workers.submit(timed, intended_s, token)
        settle(started + duration)  # the test lasts its duration, even when the last call was dropped
        settle()
    finally:
        workers.close()


def run_test(test, call, clock=time.monotonic, rng=None, stall_after=None):
    """Make the test's warmup calls, then its calls in its load model (see the module's doc), each
    exactly once, and evaluate them as they complete. ``call(payload, timeout)`` returns a
    ``CallOutcome``; the client should pool ``pool_size(test)`` connections.

    ``stall_after``: the seconds of the stall rule (see the module's doc), by default the test's
    timeout plus ``READ_TIMEOUT_MARGIN``, the time a call waits for its answer.
    """
    stall_after = test["timeout"] + READ_TIMEOUT_MARGIN if stall_after is None else stall_after
    warmup = None
    accumulator = TestAccumulator(test, rng=rng)
    if test.get("warmup"):
        warmup_calls = WarmupAccumulator(test)
        began = clock()
        watch = StallWatch(stall_after, clock, began)
        take = counter(test["warmup"])
        closed_loop(_timed(test, call, clock, began), min(test.get("concurrency") or 1, test["warmup"]),
                    take, warmup_calls.add, watch)
        warmup = warmup_calls.result()
        if watch.stuck_at is not None:
            # the test's own calls are not made: a stuck cluster would hold each of them as long
            accumulator.not_started = due_calls(test["rate"], test["duration"]) if load_model(test) == OPEN else test["calls"]
            accumulator.stuck_in(watch, "its warmup")
            return accumulator.result(0.0, warmup=warmup)
    started = clock()
    watch = StallWatch(stall_after, clock, started)
    if load_model(test) == OPEN:
        open_loop(test, call, clock, started, accumulator, watch=watch)
    elif test.get("duration") is not None:
        closed_loop(_timed(test, call, clock, started), test["concurrency"],
                    lambda: clock() - started < test["duration"], accumulator.add, watch)
    else:
        take = counter(test["calls"])
        closed_loop(_timed(test, call, clock, started), min(test["concurrency"], test["calls"]), take,
                    accumulator.add, watch)
        accumulator.not_started = take.left()
    if watch.stuck_at is not None:
        accumulator.stuck_in(watch, "the test")
    return accumulator.result(clock() - started, warmup=warmup)


def failure_summary(results, strict=False):
    """One line per failed test (and inconclusive one when ``strict``): ``test "<name>": <why>``."""
    return ["test {0!r}: {1}{2}".format(result["name"], "inconclusive: " if result.get("status") == INCONCLUSIVE else "",
                                        "; ".join(result["failures"]))
            for result in results
            if result.get("status") != PASSED and (strict or result.get("status") != INCONCLUSIVE)]
