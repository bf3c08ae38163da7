"""Benchmark results for the report tests, measured by the real ``TestAccumulator`` from made-up
calls (fixed seeds), with and without the optional fields of the load models and the ratchet.

``measured`` gives what ``algo_benchmark`` returns for a test; ``with_open_load`` and
``with_ratchet`` add the fields the open load model and the ratchet put into a result;
``mixed_comparisons`` gives what the judge writes into ``comparison.json`` for ``mixed_tests``.
"""

from __future__ import annotations

import math
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


# The judge's comparisons (comparison.json), made the way the judge makes them from the same kind of
# samples: the baseline's calls go into a real Histogram, the shift of the medians is taken on the log
# scale with the interval and p-value a rank test on that many calls would give (the large-sample
# standard error of the Hodges-Lehmann shift, sqrt(pi/2) * spread * sqrt(1/n1 + 1/n2)).

MIN_CALLS = 20
Z_95 = 1.959964
SERVER_SHARE = 0.7  # as ``measured`` reports the server's duration


def histogram_of(values):
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram


def percent(value):
    text = "{0:+.0f}%".format(100 * value)
    return "+0%" if text == "-0%" else text


def p_words(p_value):
    return "p < 0.001" if p_value < 0.001 else "p = {0:.2g}".format(p_value)


def shift_metric(metric, current, baseline, spread=0.25, tolerance=0.10, floor_ms=2.0):
    """A latency (or server) metric of a comparison from two Histograms: the relative shift of the
    medians, its 95% interval and p-value, classified: a regression needs the whole interval past the
    tolerance (and the shift past ``floor_ms``), an improvement the whole interval below it."""
    median, baseline_median = current.percentile(50), baseline.percentile(50)
    entry = {"metric": metric, "n": current.count, "baseline_n": baseline.count, "median_ms": round(median, 3),
             "baseline_median_ms": round(baseline_median, 3), "shift_ms": round(median - baseline_median, 3),
             "tolerance": tolerance, "floor_ms": floor_ms}
    shift = math.log(median / baseline_median)
    if min(current.count, baseline.count) < MIN_CALLS:
        entry.update({"class": "unknown", "shift": round(math.exp(shift) - 1, 4), "lower": None, "upper": None, "p_value": None,
                      "method": "exact", "message": "{0}: {1} calls against {2}, fewer than {3} -> unknown".format(
                          metric, current.count, baseline.count, MIN_CALLS)})
        return entry
    error = math.sqrt(math.pi / 2) * spread * math.sqrt(1.0 / current.count + 1.0 / baseline.count)
    lower, upper = math.exp(shift - Z_95 * error) - 1, math.exp(shift + Z_95 * error) - 1
    p_value = math.erfc(abs(shift) / error / math.sqrt(2))
    if lower > tolerance and median - baseline_median > floor_ms:
        verdict = "regression"
    elif upper < -tolerance and baseline_median - median > floor_ms:
        verdict = "improvement"
    else:
        verdict = "pass"
    entry.update({"class": verdict, "shift": round(math.exp(shift) - 1, 4), "lower": round(lower, 4), "upper": round(upper, 4),
                  "p_value": p_value, "method": "asymptotic",
                  "message": "{0}: {1} (95% CI {2}..{3}), {4} -> {5} (tolerance +{6:.0f}%, +{7:g} ms)".format(
                      metric, percent(math.exp(shift) - 1), percent(lower), percent(upper), p_words(p_value), verdict,
                      100 * tolerance, floor_ms)})
    return entry


def rate_metric(metric, count, n, baseline_count, baseline_n, tolerance=0.0):
    """An error (or dropped) rate of a comparison: the difference in points with a Wald interval
    widened by a continuity step, and its two-proportion p-value."""
    rate, baseline_rate = count / n, baseline_count / baseline_n
    difference = rate - baseline_rate
    error = math.sqrt(rate * (1 - rate) / n + baseline_rate * (1 - baseline_rate) / baseline_n)
    half = Z_95 * error + 0.5 * (1.0 / n + 1.0 / baseline_n)
    lower, upper = difference - half, difference + half
    p_value = math.erfc(abs(difference) / error / math.sqrt(2)) if error else 1.0
    verdict = "regression" if lower > tolerance else "improvement" if upper < -tolerance else "pass"
    words = metric.replace("_", " ")
    return {"metric": metric, "class": verdict, "count": count, "n": n, "baseline_count": baseline_count, "baseline_n": baseline_n,
            "rate": rate, "baseline_rate": baseline_rate, "difference": difference, "lower": lower, "upper": upper,
            "p_value": p_value, "method": "fisher" if n + baseline_n <= 20000 else "z", "tolerance": tolerance,
            "message": "{0}: {1:.2g}% vs {2:.2g}% ({3:+.1f} points, 95% CI {4:+.1f}..{5:+.1f}), {6} -> {7}".format(
                words, 100 * rate, 100 * baseline_rate, 100 * difference, 100 * lower, 100 * upper, p_words(p_value), verdict)}


def test_class_of(metrics):
    classes = [metric["class"] for metric in metrics]
    for verdict in ("regression", "unknown", "improvement"):
        if verdict in classes:
            return verdict
    return "pass"


def compared_test(workflow, result, baseline_latencies, baseline_errors=0, baseline_dropped=0, run=None, spread=0.25):
    """A test of a comparison: this run's ``result`` (a ``measured`` one) against a baseline whose
    successful calls took ``baseline_latencies`` (ms; the server took ``SERVER_SHARE`` of each)."""
    baseline = histogram_of(baseline_latencies)
    baseline_server = histogram_of([value * SERVER_SHARE for value in baseline_latencies])
    baseline_calls = len(baseline_latencies) + baseline_errors
    metrics = [shift_metric("latency", Histogram.from_dict(result["histograms"]["latency"]), baseline, spread),
               shift_metric("server", Histogram.from_dict(result["histograms"]["server"]), baseline_server, spread),
               rate_metric("error_rate", result["errors"], result["calls"], baseline_errors, baseline_calls)]
    if (result.get("load") or {}).get("model") == "open":
        due = result["calls"] + (result.get("dropped") or 0)
        metrics.append(rate_metric("dropped", result.get("dropped") or 0, due, baseline_dropped, baseline_calls + baseline_dropped))
    verdict = test_class_of(metrics)
    deciding = next((m for m in metrics if m["class"] == verdict), metrics[0]) if verdict != "pass" else metrics[0]
    test = {"workflow": workflow, "test": result["name"], "class": verdict,
            "status": {"regression": "failed", "unknown": "inconclusive"}.get(verdict, "passed"),
            "reason": deciding["message"], "metrics": metrics,
            "histograms": {"latency": baseline.to_dict(), "server": baseline_server.to_dict()}}
    if run:
        test["run"] = run
    return test


def comparison(kind, baseline, tests, pass_score=1.0, marginal_score=0.75, **whom):
    """A comparison with one baseline (``whom``: ``runs``, ``peers`` or ``source``), scored as the judge
    scores: passed tests over compared tests; pass, marginal or fail; no test at all is a fail."""
    passed = sum(1 for test in tests if test["class"] in ("pass", "improvement"))
    score = passed / len(tests) if tests else 0.0
    verdict = "fail" if not tests else "pass" if score >= pass_score else "marginal" if score >= marginal_score else "fail"
    message = ("{0}: {1} of {2} tests pass (score {3:.0f}%; pass needs {4:.0f}%, marginal {5:.0f}%) against {6}".format(
        verdict, passed, len(tests), 100 * score, 100 * pass_score, 100 * marginal_score, baseline) if tests
        else "fail: no test was compared against {0} (no data is never a pass)".format(baseline))
    return dict({"kind": kind, "baseline": baseline, "verdict": verdict, "score": score, "passed_tests": passed,
                 "compared_tests": len(tests), "pass_score": pass_score, "marginal_score": marginal_score,
                 "message": message, "tests": tests}, **whom)


BEFORE_UPGRADE = "20250306T101500Z-000042"


def mixed_comparisons(tests, workflow="hello world"):
    """The comparisons of ``mixed_tests()`` (of ``workflow``): against the snapshot before the upgrade a
    regression (steady echo +38%), a pass, an unknown (too few calls) and an improvement: a fail; against
    the peers prod-us and prod-ap 3 of 4 (cold start unknown): marginal; against the source: a pass."""
    steady, flaky, cold, opened = tests
    run = comparison("run", "snapshot before-upgrade", [
        compared_test(workflow, steady, latencies(400, 12 / 1.38, seed=11, slow_every=50, slow_ms=30 / 1.38), run=BEFORE_UPGRADE),
        compared_test(workflow, flaky, latencies(108, 20, seed=12), baseline_errors=12, run=BEFORE_UPGRADE),
        compared_test(workflow, cold, latencies(5, 85, seed=13), run=BEFORE_UPGRADE),
        compared_test(workflow, opened, latencies(300, 140, seed=14, spread=0.3), baseline_dropped=4, run=BEFORE_UPGRADE, spread=0.3),
    ], runs=[BEFORE_UPGRADE])
    peers = comparison("peers", "peers prod-us, prod-ap", [
        compared_test(workflow, steady, latencies(800, 12.2, seed=21, slow_every=50, slow_ms=30)),
        compared_test(workflow, flaky, latencies(216, 19, seed=22), baseline_errors=24),
        compared_test(workflow, cold, latencies(10, 88, seed=23)),
        compared_test(workflow, opened, latencies(600, 108, seed=24, spread=0.3), baseline_dropped=9, spread=0.3),
    ], peers=["prod-us", "prod-ap"])
    source = comparison("source", "source cluster", [
        compared_test(workflow, steady, latencies(400, 11.8, seed=31, slow_every=50, slow_ms=30)),
        compared_test(workflow, flaky, latencies(110, 21, seed=32), baseline_errors=10),
    ], source="https://api.src.example")
    return [run, peers, source]


def comparison_document(cluster, comparisons):
    """``comparison.json`` of a cluster, as the judge writes it."""
    return {"cluster": cluster, "comparisons": comparisons}
