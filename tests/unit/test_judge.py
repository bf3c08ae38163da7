"""The judge's classification of one metric, one test and one comparison (measure/judge.py)."""

from __future__ import annotations

import math
import re

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram
from tests.unit.judge_support import histogram, result, sampled

SETTINGS = judge.Settings()
MESSAGE = re.compile(r"^latency: [+-]\d+% \(95% CI [+-]\d+%\.\.[+-]\d+%\), p (<|=) [\d.e-]+ -> (regression|improvement|pass) "
                     r"\(tolerance \+10%, \+2 ms\)$")


def latency_of(current, baseline, settings=SETTINGS):
    return judge.classify_durations("latency", Histogram.from_dict(current["histograms"]["latency"]),
                                    Histogram.from_dict(baseline["histograms"]["latency"]), settings)


def test_the_same_distribution_passes_with_its_interval_around_zero():
    entry = latency_of(sampled("t", 400, 20.0, seed=1), sampled("t", 400, 20.0, seed=2))
    assert entry["class"] == judge.PASS
    assert entry["lower"] < 0 < entry["upper"]
    assert MESSAGE.match(entry["message"]), entry["message"]


def test_a_slower_run_is_a_regression_with_the_shift_and_its_interval_in_the_message():
    entry = latency_of(sampled("t", 400, 27.6, seed=1), sampled("t", 400, 20.0, seed=2))
    assert entry["class"] == judge.REGRESSION
    assert 0.30 < entry["shift"] < 0.46 and entry["lower"] > 0.10 and entry["upper"] > entry["shift"]
    assert entry["p_value"] < 0.001 and entry["method"] == "asymptotic"
    assert MESSAGE.match(entry["message"]) and "p < 0.001 -> regression" in entry["message"], entry["message"]
    assert entry["shift_ms"] == pytest.approx(entry["baseline_median_ms"] * entry["shift"])


def test_a_faster_run_is_an_improvement():
    entry = latency_of(sampled("t", 400, 12.0, seed=1), sampled("t", 400, 20.0, seed=2))
    assert entry["class"] == judge.IMPROVEMENT and entry["upper"] < -0.0909


def test_a_shift_smaller_than_the_tolerance_passes_however_many_samples():
    # +5%, proven beyond doubt by 5,000 calls a side: under the 10% tolerance, a pass.
    entry = latency_of(sampled("t", 5000, 21.0, seed=1), sampled("t", 5000, 20.0, seed=2))
    assert entry["class"] == judge.PASS and entry["p_value"] < 0.001


def test_a_shift_under_the_floor_in_milliseconds_passes():
    # +60% of 1 ms is 0.6 ms: under the 2 ms floor.
    entry = latency_of(sampled("t", 400, 1.6, seed=1), sampled("t", 400, 1.0, seed=2))
    assert entry["class"] == judge.PASS and entry["lower"] > 0.4
    looser = judge.Settings(floor_ms=0.1)
    assert latency_of(sampled("t", 400, 1.6, seed=1), sampled("t", 400, 1.0, seed=2), looser)["class"] == judge.REGRESSION


def test_run_noise_widens_the_interval_on_each_side():
    current, baseline = sampled("t", 2000, 22.0, seed=1), sampled("t", 2000, 20.0, seed=2)
    narrow = latency_of(current, baseline, judge.Settings(run_noise=0))
    wide = latency_of(current, baseline, judge.Settings(run_noise=0.05))
    assert wide["lower"] < narrow["lower"] < narrow["shift"] == wide["shift"] < narrow["upper"] < wide["upper"]
    half = math.log1p(wide["shift"]) - math.log1p(wide["lower"])
    narrow_half = math.log1p(narrow["shift"]) - math.log1p(narrow["lower"])
    assert half == pytest.approx(math.hypot(narrow_half, 1.959964 * 0.05), rel=1e-6)


def test_too_few_samples_is_unknown_never_a_pass():
    entry = latency_of(sampled("t", 19, 20.0, seed=1), sampled("t", 400, 20.0, seed=2))
    assert entry["class"] == judge.UNKNOWN
    assert "too few samples (19 in this run, 400 in the baseline; a comparison needs 20 on each side)" in entry["message"]


def test_no_server_time_is_unknown():
    current = result("t", [10.0] * 50, server=[])
    entry = judge.classify_durations("server", Histogram.from_dict(current["histograms"]["server"]),
                                     histogram([7.0] * 50), SETTINGS)
    assert entry["class"] == judge.UNKNOWN and "no server time (metadata.duration)" in entry["message"]


@pytest.mark.parametrize("errors, baseline_errors, expected", [
    (0, 0, judge.PASS), (1, 0, judge.PASS), (20, 0, judge.REGRESSION), (0, 20, judge.IMPROVEMENT)])
def test_error_rates_by_their_difference_interval(errors, baseline_errors, expected):
    entry = judge.classify_counts("error_rate", errors, 200, baseline_errors, 200, SETTINGS)
    assert entry["class"] == expected
    assert entry["lower"] <= entry["difference"] <= entry["upper"]
    assert entry["message"].startswith("error rate: ") and "95% CI" in entry["message"] and entry["message"].endswith(
        "-> {0} (tolerance +0.0 points)".format(expected))


def test_an_error_tolerance_lets_a_small_increase_pass():
    assert judge.classify_counts("error_rate", 20, 200, 0, 200, judge.Settings(error_tolerance=0.2))["class"] == judge.PASS


def test_no_call_is_an_unknown_error_rate():
    assert judge.classify_counts("error_rate", 0, 0, 0, 200, SETTINGS)["class"] == judge.UNKNOWN


def test_a_test_is_as_bad_as_its_worst_metric():
    slower_with_errors = sampled("t", 300, 30.0, seed=1, errors=30)
    entry = judge.judge_test("w", slower_with_errors, sampled("t", 300, 20.0, seed=2), SETTINGS)
    assert entry["class"] == judge.REGRESSION and entry["status"] == "failed"
    assert [metric["metric"] for metric in entry["metrics"]] == ["latency", "server", "error_rate"]
    assert "latency: +" in entry["reason"] and "error rate: " in entry["reason"]
    assert entry["histograms"]["latency"]["count"] == 300


def test_a_baseline_with_another_load_or_payload_is_unknown():
    current = sampled("t", 300, 20.0, seed=1)
    other_load = sampled("t", 300, 20.0, seed=2, load={"model": "closed", "calls": 300, "concurrency": 2})
    entry = judge.judge_test("w", current, other_load, SETTINGS)
    assert entry["class"] == judge.UNKNOWN and entry["status"] == "inconclusive"
    assert "ran another load (calls 300 -> 200)" in entry["reason"]
    other_payload = sampled("t", 300, 20.0, seed=2, payload="p2")
    assert "another payload" in judge.judge_test("w", current, other_payload, SETTINGS)["reason"]
    # the source's calls are bounded: only the load's shape must match there
    assert judge.judge_test("w", current, other_load, SETTINGS, load_keys=judge.SHAPE_KEYS)["class"] == judge.PASS


def test_a_missing_baseline_test_is_unknown():
    entry = judge.judge_test("w", sampled("t", 300, 20.0, seed=1), None, SETTINGS, label="snapshot x")
    assert entry["class"] == judge.UNKNOWN and "snapshot x has no test 't' in workflow 'w'" in entry["reason"]


def test_an_open_model_test_also_compares_its_dropped_starts():
    load = {"model": "open", "rate": 50, "duration": 10, "max_in_flight": 20}
    current = sampled("t", 400, 20.0, seed=1, load=load, dropped=100)
    entry = judge.judge_test("w", current, sampled("t", 480, 20.0, seed=2, load=load, dropped=20), SETTINGS)
    dropped = entry["metrics"][-1]
    assert dropped["metric"] == "dropped" and dropped["class"] == judge.REGRESSION and dropped["n"] == 500
    assert entry["class"] == judge.REGRESSION


def test_pooled_peers_merge_histograms_and_add_counts():
    peers = [sampled("t", 100, 20.0, seed=seed, errors=seed) for seed in (1, 2, 3)]
    pooled = judge.pool(peers)
    assert pooled["calls"] == 306 and pooled["errors"] == 6
    assert Histogram.from_dict(pooled["histograms"]["latency"]).count == 300


@pytest.mark.parametrize("classes, verdict, score", [
    ([judge.PASS, judge.IMPROVEMENT], judge.VERDICT_PASS, 1.0),
    ([judge.PASS, judge.PASS, judge.PASS, judge.REGRESSION], judge.VERDICT_MARGINAL, 0.75),
    ([judge.PASS, judge.REGRESSION], judge.VERDICT_FAIL, 0.5),
    ([judge.PASS, judge.UNKNOWN], judge.VERDICT_PASS, 1.0),
    ([judge.UNKNOWN], judge.VERDICT_INCONCLUSIVE, None),
    ([], judge.VERDICT_INCONCLUSIVE, None),
])
def test_the_score_of_a_comparison_against_the_pass_and_marginal_thresholds(classes, verdict, score):
    figures = judge.score([{"class": name} for name in classes], baseline="snapshot x")
    assert figures["verdict"] == verdict and figures["score"] == score
    assert figures["message"].startswith(verdict + ":") and "snapshot x" in figures["message"]
    if judge.UNKNOWN in classes:
        assert "not compared" in figures["message"]


def test_a_comparison_scores_every_test_and_says_whom_it_compared_with():
    tests = [("w", sampled("fast", 300, 20.0, seed=1)), ("w", sampled("slow", 300, 40.0, seed=2))]
    baselines = {"fast": sampled("fast", 300, 20.0, seed=3), "slow": sampled("slow", 300, 20.0, seed=4)}
    comparison = judge.compare(judge.RUN, "snapshot before", tests, lambda w, r: (baselines[r["name"]], {"run": "r1"}),
                               lambda w, n: SETTINGS)
    assert comparison["verdict"] == judge.VERDICT_FAIL and comparison["score"] == 0.5
    assert [t["class"] for t in comparison["tests"]] == [judge.PASS, judge.REGRESSION]
    assert comparison["tests"][0]["run"] == "r1"
    assert comparison["message"] == ("fail: 1 of 2 compared tests pass against snapshot before (score 50%; pass needs 100%, "
                                     "marginal 75%)")


def test_a_tests_own_tolerance_overrides_the_runs():
    settings = judge.Settings().with_overrides({"tolerance": 1.5, "floor_ms": None, "unknown": 3})
    assert settings.tolerance == 1.5 and settings.floor_ms == judge.FLOOR_MS
    entry = latency_of(sampled("t", 400, 40.0, seed=1), sampled("t", 400, 20.0, seed=2), settings)
    assert entry["class"] == judge.PASS and "(tolerance +150%, +2 ms)" in entry["message"]


def test_figures_read_as_people_write_them():
    assert [judge.percent(v) for v in (0.38, -0.0901, -0.0004, 0.0)] == ["+38%", "-9%", "+0%", "+0%"]
    assert [judge.p_text(v) for v in (0.0000001, 0.0431, 1.0, None)] == ["p < 0.001", "p = 0.043", "p = 1", "p n/a"]
