# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark tests: normalising a test, running its calls, statistics and pass/fail gates.

No HTTP here: a test runs through a ``call(payload, timeout)`` function that returns an
``algorithms.CallOutcome``, so the logic is tested without a cluster.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3000
MAX_CONCURRENCY = 1000
PERCENTILES = ("p50", "p90", "p95", "p99", "max")
# Enough to plot a run; a million calls must not end up in the task result.
MAX_DURATIONS_KEPT = 1000
RESULT_PREVIEW_CHARS = 300


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
    max_error_rate = 0 if max_error_rate is None else max_error_rate
    if isinstance(max_error_rate, bool) or not isinstance(max_error_rate, (int, float)) \
            or not 0 <= max_error_rate <= 1:
        raise BenchmarkSpecError("{0}: max_error_rate must be a fraction from 0 to 1 (got {1!r})".format(
            label, max_error_rate))
    has_expected = test.get("has_expected_output")
    if has_expected is None:
        has_expected = test.get("expected_output") is not None
    return {
        "name": name,
        "payload": test.get("payload"),
        "timeout": integer("timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        "calls": integer("calls", 1, 1, 10 ** 6),
        "concurrency": integer("concurrency", 1, 1, MAX_CONCURRENCY),
        "has_expected_output": bool(has_expected),
        "expected_output": test.get("expected_output"),
        "max_latency_ms": latency_gates(test.get("max_latency_ms"), label),
        "max_error_rate": float(max_error_rate),
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


def percentile(sorted_values, percent):
    """Nearest-rank percentile of an ascending list (``None`` for an empty list)."""
    if not sorted_values:
        return None
    rank = max(1, int(math.ceil(percent / 100.0 * len(sorted_values))))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(durations_ms):
    ordered = sorted(durations_ms)
    if not ordered:
        return {key: None for key in ("min", "mean", "p50", "p90", "p95", "p99", "max")}
    return {
        "min": round(ordered[0], 1),
        "mean": round(sum(ordered) / len(ordered), 1),
        "p50": round(percentile(ordered, 50), 1),
        "p90": round(percentile(ordered, 90), 1),
        "p95": round(percentile(ordered, 95), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1),
    }


def show(value, limit=RESULT_PREVIEW_CHARS):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_outcome(test, outcome):
    """The error message of one call, or ``None`` when it succeeded with the expected output."""
    if not outcome.ok:
        return outcome.error or "the call failed"
    if test["has_expected_output"] and outcome.result != test["expected_output"]:
        return "the result {0} differs from expected_output {1}".format(show(outcome.result),
                                                                        show(test["expected_output"]))
    return None


def evaluate(test, outcomes, elapsed_s):
    """The test's result: counts, latency statistics, gate failures and ``passed``."""
    errors = []
    durations = []
    first_result = None
    for outcome in outcomes:
        message = check_outcome(test, outcome)
        if message is None:
            durations.append(outcome.duration_ms)
            if first_result is None:
                first_result = outcome.result
        else:
            errors.append(message)
    calls = len(outcomes)
    error_rate = (len(errors) / calls) if calls else 1.0
    latency = latency_summary(durations)
    failures = []
    if error_rate > test["max_error_rate"]:
        failures.append("{0} of {1} calls failed ({2:.1%}, max_error_rate {3:.1%}); last error: {4}".format(
            len(errors), calls, error_rate, test["max_error_rate"], errors[-1] if errors else "none"))
    for key, limit in sorted(test["max_latency_ms"].items()):
        measured = latency[key]
        if measured is not None and measured > limit:
            failures.append("{0} latency {1:g} ms is above max_latency_ms.{0} {2:g} ms".format(key, measured, limit))
        elif measured is None and not failures:
            failures.append("no successful call to measure {0} latency against {1:g} ms".format(key, limit))
    return {
        "name": test["name"],
        "passed": not failures,
        "failures": failures,
        "calls": calls,
        "errors": len(errors),
        "error_rate": round(error_rate, 4),
        "timeout": test["timeout"],
        "concurrency": test["concurrency"],
        "latency_ms": latency,
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "durations_ms": [round(d, 1) for d in durations[:MAX_DURATIONS_KEPT]],
        "elapsed_s": round(elapsed_s, 3),
        "last_error": errors[-1] if errors else None,
        "result": first_result,
    }


def run_test(test, call, clock=time.monotonic):
    """Make the test's calls (``concurrency`` at once) and evaluate them."""
    started = clock()
    if test["concurrency"] == 1 or test["calls"] == 1:
        outcomes = [call(test["payload"], test["timeout"]) for _call in range(test["calls"])]
    else:
        with ThreadPoolExecutor(max_workers=min(test["concurrency"], test["calls"])) as pool:
            futures = [pool.submit(call, test["payload"], test["timeout"]) for _call in range(test["calls"])]
            outcomes = [future.result() for future in futures]
    return evaluate(test, outcomes, clock() - started)


def failure_summary(results):
    """One line per failed test: ``"<name>": <why>``."""
    return ["test {0!r}: {1}".format(result["name"], "; ".join(result["failures"]))
            for result in results if not result["passed"]]
