"""Benchmark results for the report tests, measured by the real ``TestAccumulator`` from made-up
calls (fixed seeds), with and without the optional fields of the load models and the ratchet.

``measured`` gives what ``algo_benchmark`` returns for a test; ``with_open_load`` and
``with_ratchet`` add the fields the open load model and the ratchet put into a result.
"""

from __future__ import annotations

import random

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import CallOutcome
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import TestAccumulator, normalise_test
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram


def latencies(count, median_ms, seed, spread=0.25, slow_every=0, slow_ms=0.0):
    """``count`` latencies around ``median_ms`` (log-normal noise), every ``slow_every``-th slower."""
    rng = random.Random(seed)
    values = []
    for index in range(count):
        value = median_ms * rng.lognormvariate(0, spread)
        if slow_every and index % slow_every == slow_every - 1:
            value += slow_ms
        values.append(round(value, 3))
    return values


def measured(name, durations, gates=None, failing=(), error_type="ServerError", error="HTTP 503: busy <b>",
             started_per_s=20.0, server_share=0.7, seed=7, dropped_at=()):
    """The result of a test whose calls took ``durations`` (ms), started ``started_per_s`` a second;
    calls whose index is in ``failing`` fail with ``error_type``; ``dropped_at``: seconds at which
    a call was due and never started (an open model's dropped calls)."""
    test = normalise_test({"name": name, "payload": {"n": 1}, "calls": max(len(durations), 1),
                           "gates": gates if gates is not None else ["error_rate <= 0.2"]}, 0)
    accumulator = TestAccumulator(test, rng=random.Random(seed))
    offset = 0.0
    for index, duration in enumerate(durations):
        if index in failing:
            outcome = CallOutcome(False, duration, error=error, error_type=error_type)
        else:
            outcome = CallOutcome(True, duration, result="hello", metadata={"duration": duration * server_share / 1000.0})
        accumulator.add(outcome, offset)
        offset += 1.0 / started_per_s
    for moment in dropped_at:
        accumulator.timeseries.dropped(moment)
    return accumulator.result(offset)


def with_open_load(result, rate, duration, max_in_flight, dropped, lag_ms=3.0):
    """``result`` as the open load model reports it: the load, dropped calls, throughput, warmup,
    latency from the intended start (a little above the measured one) and the schedule lag."""
    intended = Histogram()
    for lower, upper, count in Histogram.from_dict(result["histograms"]["latency"]).buckets():
        intended.record((lower + upper) / 2.0 + lag_ms, count)
    result = dict(result, load={"model": "open", "rate": rate, "duration": duration, "max_in_flight": max_in_flight},
                  dropped=dropped, throughput=round(result["calls"] / duration, 2),
                  warmup={"calls": 3, "errors": 0, "latency_ms": {"p50": 14.2}, "first_ms": 812.5},
                  intended_latency_ms={key: (value + lag_ms if value is not None else None)
                                       for key, value in result["latency_ms"].items()},
                  schedule_lag_ms={"p50": lag_ms, "p95": lag_ms * 3, "p99": lag_ms * 5, "max": lag_ms * 9})
    result["histograms"] = dict(result["histograms"], intended=intended.to_dict())
    return result


def with_ratchet(result, status, baseline_p50, baseline_p95, history_file=None, recorded=False):
    """``result`` compared with earlier runs: the ratchet's verdict, per metric, and the baseline curve."""
    current = result["latency_ms"]["p95"]
    server = result["server_ms"]["p50"]
    regressed = status == "regressed"
    message = ("regressed: latency p(95) {0:g} ms -> {1:g} ms".format(baseline_p95, current) if regressed
               else "within the usual range of the last 6 runs")
    history = [{"run": "2025030{0}T101500Z".format(i), "baseline": i == 1,
                "metrics": {"latency p(95)": baseline_p95 * (1 + 0.02 * i), "server p(50)": baseline_p50 * 0.7}}
               for i in range(1, 7)]
    failures = result["failures"] + ([message] if regressed else [])
    return dict(result, status="failed" if regressed else result["status"], passed=result["passed"] and not regressed,
                failures=failures, ratchet={
        "status": status, "message": message, "recorded": recorded, "history_file": history_file,
        "history": history,
        "metrics": {
            "latency p(95)": {"verdict": "regressed" if regressed else "ok", "current": current,
                              "level": baseline_p95, "upper": baseline_p95 * 1.3, "runs": 6},
            "server p(50)": {"verdict": "ok", "current": server, "level": baseline_p50 * 0.7,
                             "upper": baseline_p50 * 0.9, "runs": 6}},
        "baseline_curve": {"p(0)": baseline_p50 * 0.6, "p(50)": baseline_p50, "p(90)": baseline_p95 * 0.85,
                           "p(95)": baseline_p95, "p(99)": baseline_p95 * 1.4}})


def benchmark_report(cluster, algorithm, tests, api_address="http://127.0.0.1:1"):
    """An ``algo_benchmark`` report (what it writes as JSON) holding ``tests``."""
    statuses = [test["status"] for test in tests]
    return {"cluster": cluster, "api_address": api_address, "algorithm": algorithm, "version": "0.1.0",
            "git_hash": "0123abcd", "started_at": "2025-03-07T10:15:00Z", "passed": all(s == "passed" for s in statuses),
            "tests": tests}


def mixed_tests(history_file=None):
    """A passed closed test, a failed one (errors), an inconclusive one (too few calls for p(99)),
    and an open-model test that regressed against its baseline and dropped calls."""
    passed = measured("steady echo", latencies(400, 12, seed=1, slow_every=50, slow_ms=30),
                      gates=["p(95) < 300", "server p(99) < 200", "error_rate < 0.01"])
    failed = measured("flaky <entrypoint>", latencies(120, 20, seed=2), failing=set(range(5, 120, 9)),
                      gates=["error_rate < 0.01", "p(95) < 300"])
    inconclusive = measured("cold start", latencies(5, 90, seed=3), gates=["p(99) < 500"])
    regressed = with_ratchet(
        with_open_load(measured("open 40/s", latencies(300, 110, seed=4, spread=0.3), gates=["dropped == 0"],
                                started_per_s=40, dropped_at=[2.1, 2.2, 2.3, 5.5, 6.0]),
                       rate=40, duration=7.5, max_in_flight=8, dropped=5),
        "regressed", baseline_p50=80.0, baseline_p95=140.0, history_file=history_file)
    return [passed, failed, inconclusive, regressed]
