"""The ratchet: Student's t, the prediction interval, the verdicts, the history files, and the
false-alarm and detection rates measured on simulated noisy histories (printed, with a fixed seed).
"""

from __future__ import annotations

import json
import math
import os
import random

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import ratchet
from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import CallOutcome
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import evaluate, normalise_test
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.ratchet import (
    History,
    HistoryError,
    compare,
    history_path,
    prediction_interval,
    read_history,
    record,
    safe_name,
    spec_hash,
    t_quantile,
    write_json_atomically,
)

P95 = "latency p(95)"
P50 = "server p(50)"
SPEC = {"payload": {"image": "data://.my/in/cat.png"}, "calls": 20, "concurrency": 1}


def runs_of(*values, metric=P95):
    return [{"run": "r{0}".format(index), "metrics": {metric: value}, "baseline": index == 0}
            for index, value in enumerate(values)]


# ---- Student's t and the interval ----------------------------------------------------------------

@pytest.mark.parametrize("df, expected", [(1, 63.657), (4, 4.604), (9, 3.250), (29, 2.756), (120, 2.617)])
def test_t_quantiles_match_the_table(df, expected):
    assert t_quantile(0.995, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantiles_other_levels_symmetry_and_the_normal_limit():
    assert t_quantile(0.975, 4) == pytest.approx(2.776, abs=5e-4)
    assert t_quantile(0.95, 2) == pytest.approx(2.920, abs=5e-4)
    assert t_quantile(0.005, 9) == pytest.approx(-3.250, abs=5e-4)
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.995, 10 ** 6) == pytest.approx(2.576, abs=5e-4)
    assert t_quantile(0.995, 10 ** 9) == pytest.approx(2.5758, abs=1e-4)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_prediction_interval_is_mean_plus_minus_t_s_sqrt_one_plus_one_over_n():
    values = [10.0, 12.0, 11.0, 13.0, 9.0]
    mean, lower, upper = prediction_interval(values, 0.99)
    half = 4.604 * math.sqrt(2.5) * math.sqrt(1 + 1 / 5.0)
    assert mean == 11.0
    assert lower == pytest.approx(11.0 - half, rel=1e-3)
    assert upper == pytest.approx(11.0 + half, rel=1e-3)
    with pytest.raises(ValueError):
        prediction_interval([1.0])


# ---- verdicts --------------------------------------------------------------------------------------

def test_the_first_run_is_the_baseline():
    result = compare([], {P95: 12.0, P50: 4.0})
    assert result["status"] == "baseline" and not result["failed"]
    assert result["metrics"][P95]["message"] == "baseline: latency p(95) 12 ms (the first accepted run)"


def test_fewer_than_five_runs_is_warming_and_never_fails_but_warns():
    result = compare(runs_of(12.0, 12.2, 11.9, 12.1), {P95: 113.0})
    assert result["status"] == "warming" and not result["failed"]
    metric = result["metrics"][P95]
    assert metric["status"] == "warming" and metric["level"] == pytest.approx(12.05, abs=0.01)
    assert metric["message"] == "warming: latency p(95) 12 ms -> 113 ms (+838% vs the mean of 4 runs; a verdict needs 5)"
    assert result["warnings"] == [metric["message"]]
    quiet = compare(runs_of(12.0), {P95: 12.5})
    assert quiet["status"] == "warming" and quiet["warnings"] == []
    assert "vs the mean of 1 run;" in quiet["metrics"][P95]["message"]


def test_an_improvement_never_fails():
    result = compare(runs_of(100, 102, 98, 101, 99, 100), {P95: 40.0})
    assert result["status"] == "improved" and not result["failed"]
    assert result["metrics"][P95]["message"].startswith("improved: latency p(95) 100 ms -> 40 ms (-60%, below the 99%")


def test_noise_within_the_interval_is_ok():
    result = compare(runs_of(100, 104, 97, 101, 99, 103), {P95: 106.0})
    assert result["status"] == "ok" and result["messages"] == []
    assert result["metrics"][P95]["message"].startswith("ok: latency p(95) 101 ms -> 106 ms (+5%, within the 99% prediction")


def test_a_regression_needs_the_tolerance_the_floor_and_the_interval():
    steady = runs_of(20, 20.2, 19.8, 20.1, 19.9, 20)
    # +20 %: outside the interval and above the tolerance, but 4 ms is under the 5 ms floor.
    assert compare(steady, {P95: 24.0})["status"] == "ok"
    assert compare(steady, {P95: 24.0})["metrics"][P95]["message"].endswith(
        " ms of the last 6 runs, but under the 15% tolerance or the 5 ms floor)")
    assert compare(steady, {P95: 24.0}, floor_ms=3.0)["status"] == "regressed"
    # +10 %: outside the interval and above the floor, under the tolerance.
    wide = runs_of(100, 100.5, 99.5, 100.2, 99.8, 100)
    assert compare(wide, {P95: 110.0})["status"] == "ok"
    assert compare(wide, {P95: 110.0}, tolerance=0.05)["status"] == "regressed"
    # +30 % and 30 ms, but inside the interval of a very noisy history.
    noisy = runs_of(60, 140, 80, 120, 100, 70, 130)
    assert compare(noisy, {P95: 130.0})["status"] == "ok"


def test_the_issue_scenario_regresses_with_both_figures_then_accepting_makes_113_the_level(tmp_path):
    history = History(str(tmp_path), "cluster-a", "image-pipeline", "small image", SPEC)
    for index, value in enumerate((11.8, 12.3, 12.1, 11.9, 12.2, 11.7)):
        result = history.compare({P95: value, P50: 4.0})
        assert not result["failed"]
        assert history.record({"run": "run{0}".format(index), "metrics": {P95: value, P50: 4.0}}, accepted=True)
    seventh = history.compare({P95: 113.0, P50: 4.1})
    assert seventh["status"] == "regressed" and seventh["failed"]
    assert seventh["metrics"][P50]["status"] == "ok"
    (message,) = seventh["messages"]
    assert message.startswith("regressed: latency p(95) 12 ms -> 113 ms (+842%, above the 99% prediction interval ")
    assert message.endswith(" ms of the last 6 runs)")
    figures = seventh["metrics"][P95]
    assert figures["lower"] < 12 < figures["upper"] < 13.5 and figures["current"] == 113.0
    # The gates failed: nothing is recorded and the next run is judged against the same level.
    assert history.record({"run": "run6", "metrics": {P95: 113.0}}, accepted=False) is None
    assert len(history.runs()) == 6
    # testbench_accept_baseline: the regressed run becomes the baseline, and the new level.
    entry = history.record({"run": "run6", "metrics": {P95: 113.0, P50: 4.1}}, accepted=False, accept_baseline=True)
    assert entry["baseline"] is True
    after = history.compare({P95: 114.0, P50: 4.0})
    assert after["status"] == "warming" and not after["failed"]
    assert after["metrics"][P95]["level"] == 113.0
    assert after["metrics"][P95]["message"].startswith("warming: latency p(95) 113 ms -> 114 ms (+1% vs the mean of 1 run;")


def test_only_runs_since_the_latest_baseline_reset_count_and_only_the_window():
    runs = runs_of(10, 10, 10, 10, 10, 10) + [{"run": "reset", "metrics": {P95: 50.0}, "baseline": True}]
    assert ratchet.since_baseline(runs) == runs[-1:]
    assert compare(runs, {P95: 51.0})["metrics"][P95]["runs"] == 1
    long = runs_of(*([200.0] * 10 + [100.0] * 20))
    assert compare(long, {P95: 100.0})["metrics"][P95]["level"] == pytest.approx(100.0)
    assert compare(long, {P95: 100.0}, window=0)["metrics"][P95]["runs"] == 30


def test_metrics_without_a_number_are_not_compared():
    result = compare(runs_of(10, 11, 10, 11, 10), {P95: None, P50: 3.0})
    assert list(result["metrics"]) == [P50]
    assert result["metrics"][P50]["status"] == "baseline"


def test_zero_milliseconds_has_a_verdict():
    result = compare([{"metrics": {P50: 0.0}}] * 5, {P50: 0.0})
    assert result["status"] == "ok"


# ---- files --------------------------------------------------------------------------------------

def test_names_are_escaped_for_any_filesystem():
    assert safe_name("image-pipeline_v2.1") == "image-pipeline_v2.1"
    assert safe_name("Prod EU:8443") == "%50rod%20%45%55%3A8443"
    assert safe_name("a/b\\c") == "a%2Fb%5Cc"
    assert safe_name("100%") == "100%25"
    assert safe_name("..") == "%2E%2E"
    assert safe_name(".hidden") == "%2Ehidden"
    assert safe_name("con") == "%63on" and safe_name("nul.txt") == "%6Eul.txt" and safe_name("console") == "console"
    assert safe_name("café") == "caf%C3%A9"
    long = safe_name("x" * 300)
    assert len(long) == 120 and long.startswith("x" * 103 + "~") and long != safe_name("x" * 301)
    with pytest.raises(ValueError):
        safe_name("")


def test_the_spec_hash_is_stable_and_ignores_key_order():
    assert spec_hash({"calls": 20, "concurrency": 1}) == spec_hash({"concurrency": 1, "calls": 20})
    assert spec_hash({"calls": 20}) != spec_hash({"calls": 21})
    assert len(spec_hash(SPEC)) == 8
    # sha256 of '{"calls":20,"concurrency":1}': pinned, so that a change of canonical form shows up here
    assert spec_hash({"calls": 20, "concurrency": 1}) == "36b7a721"
    assert ratchet.load_spec({"name": "t", "payload": 1, "calls": 2, "concurrency": 3, "timeout": 9}) == {
        "payload": 1, "calls": 2, "concurrency": 3}


def test_the_history_path_has_one_file_per_cluster_workflow_test_and_spec(tmp_path):
    path = history_path(str(tmp_path), "Prod", "image-pipeline", "small image", SPEC)
    assert path == os.path.join(str(tmp_path), "%50rod", "image-pipeline", "small%20image-" + spec_hash(SPEC) + ".json")


def test_files_are_pretty_sorted_with_a_trailing_newline_and_written_atomically(tmp_path, monkeypatch):
    path = str(tmp_path / "a" / "b.json")
    write_json_atomically(path, {"z": 1, "a": [1, 2]})
    with open(path, encoding="utf-8") as stream:
        assert stream.read() == '{\n  "a": [\n    1,\n    2\n  ],\n  "z": 1\n}\n'
    assert os.stat(path).st_mode & 0o777 == 0o644

    def broken_replace(source, target):
        raise OSError("disk gone")

    monkeypatch.setattr(ratchet.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_json_atomically(path, {"new": True})
    monkeypatch.undo()
    assert json.loads((tmp_path / "a" / "b.json").read_text()) == {"z": 1, "a": [1, 2]}
    assert os.listdir(str(tmp_path / "a")) == ["b.json"]  # no temporary file left behind


def test_record_keeps_the_last_runs_marks_baselines_and_skips_failed_runs(tmp_path):
    path = str(tmp_path / "h.json")
    assert record(path, {"run": "failed", "metrics": {P95: 1.0}}, accepted=False) is None
    assert read_history(path) is None
    for index in range(60):
        record(path, {"run": index, "time": "2025-03-01T00:00:00Z", "metrics": {P95: 10.0 + index, P50: None}},
               accepted=True, header={"test": "t"}, keep=50)
    document = read_history(path)
    assert document["test"] == "t" and document["format"] == 1
    assert len(document["runs"]) == 50 and document["runs"][0]["run"] == 10 and document["runs"][-1]["run"] == 59
    assert document["runs"][-1] == {"run": 59, "time": "2025-03-01T00:00:00Z", "metrics": {P95: 69.0}, "baseline": False}
    assert not any(run["baseline"] for run in document["runs"])  # the first run, a baseline, was trimmed away


def test_the_first_recorded_run_is_marked_baseline_and_has_a_time(tmp_path):
    history = History(str(tmp_path), "c", "w", "t", SPEC)
    entry = history.record({"run": "one", "metrics": {P95: 12.0}}, accepted=True)
    assert entry["baseline"] is True and entry["time"].endswith("Z")
    second = history.record({"run": "two", "metrics": {P95: 12.0}}, accepted=True)
    assert second["baseline"] is False
    document = read_history(history.path)
    assert document["spec"] == SPEC and document["spec_hash"] == spec_hash(SPEC) and document["cluster"] == "c"


def test_a_broken_or_foreign_history_file_is_reported_with_a_fix(tmp_path):
    history = History(str(tmp_path), "c", "w", "t", SPEC)
    os.makedirs(os.path.dirname(history.path))
    with open(history.path, "w", encoding="utf-8") as stream:
        stream.write("{not json")
    with pytest.raises(HistoryError, match="not valid JSON.*Fix"):
        history.runs()
    write_json_atomically(history.path, {"spec": {"calls": 1}, "runs": []})
    with pytest.raises(HistoryError, match="another load spec"):
        history.runs()
    write_json_atomically(history.path, {"runs": "none"})
    with pytest.raises(HistoryError, match="no list of runs"):
        history.runs()


# ---- the simulation ------------------------------------------------------------------------------
#
# Each history is one test on one cluster: a true level drawn log-uniformly from 30 to 300 ms (above
# 20 ms, so that +25 % exceeds the 5 ms floor: the floor alone rules out +25 % on 12 ms), a
# coefficient of variation drawn log-uniformly from 2 % to 10 %, log-normal noise, and 5 to 20
# accepted runs. The next run is drawn (a) from the same distribution: a regression verdict is a
# false alarm; (b) the same, 25 % slower: a regression verdict is a detection.

SEED = 20250301
HISTORIES = 2000


def simulate(seed, cv_low=0.02, cv_high=0.10, cv_log_uniform=True, outlier_rate=0.0):
    rng = random.Random(seed)
    false_alarms = detections = 0
    for _history in range(HISTORIES):
        if cv_log_uniform:
            cv = math.exp(rng.uniform(math.log(cv_low), math.log(cv_high)))
        else:
            cv = rng.uniform(cv_low, cv_high)
        sigma = math.sqrt(math.log(1.0 + cv * cv))
        level = math.exp(rng.uniform(math.log(30.0), math.log(300.0)))

        def draw():
            value = level * math.exp(rng.gauss(0.0, sigma))
            if outlier_rate and rng.random() < outlier_rate:
                value *= rng.uniform(1.3, 2.0)  # a run on a disturbed host
            return value

        runs = [{"metrics": {P95: draw()}} for _run in range(rng.randint(5, 20))]
        false_alarms += compare(runs, {P95: draw()})["failed"]
        detections += compare(runs, {P95: draw() * 1.25})["failed"]
    return false_alarms / HISTORIES, detections / HISTORIES


def test_simulated_false_alarm_and_detection_rates(capsys):
    false_alarms, detections = simulate(SEED)
    uniform = simulate(SEED, cv_log_uniform=False)
    outliers = simulate(SEED, outlier_rate=0.005)
    with capsys.disabled():
        print("\nratchet simulation (seed {0}, {1} histories of 5-20 runs, level 30-300 ms, log-normal noise):".format(
            SEED, HISTORIES))
        print("  CV log-uniform 2-10%: false alarms {0:.2%} (at most 1%), detection of +25% {1:.2%} (at least 70%)".format(
            false_alarms, detections))
        print("  for information: CV uniform 2-10%: false alarms {0:.2%}, detection {1:.2%}".format(*uniform))
        print("  for information: 0.5% of runs 1.3-2x slower: false alarms {0:.2%}, detection {1:.2%}".format(*outliers))
    assert false_alarms <= 0.01
    assert detections >= 0.70


# ---- a benchmark test's result against its history (what algo_benchmark does per test) -----------

def benchmark_result(latencies_ms, server_ms=1.0, status="passed", errors=0):
    """A test's result as benchmark.evaluate makes it: calls of these latencies (and server durations),
    ``errors`` failed calls more."""
    outcomes = [CallOutcome(True, value, result="ok", metadata={"duration": server_ms / 1000.0}) for value in latencies_ms]
    outcomes += [CallOutcome(False, 2.0, error="down", error_type="ServerError")] * errors
    test = normalise_test({"name": "steady", "payload": "x", "calls": len(outcomes), "max_error_rate": 1}, 0)
    result = evaluate(test, outcomes, 1.0)
    if status != "passed":  # as if a gate had failed
        result.update(status=status, passed=False, failures=["gate p(95) < 1: p(95) is not < 1 ms"])
    return result


def steady_runs(level=12.0, count=6):
    return [{"run": "r{0}".format(index), "metrics": {P95: level * (1 + 0.01 * (index % 3 - 1)), P50: 1.0},
             "baseline": index == 0, "curve": {"p(50)": level / 2, "p(95)": level}} for index in range(count)]


def test_the_metrics_of_a_result_are_its_server_median_and_latency_p95_when_enough_calls_support_them():
    result = benchmark_result([10.0] * 19 + [30.0], server_ms=4.0)
    metrics, left_out = ratchet.result_metrics(result)
    assert metrics == {P50: result["server_ms"]["p50"], P95: result["latency_ms"]["p95"]}
    assert metrics[P50] == pytest.approx(4.0, rel=0.01) and metrics[P95] == pytest.approx(10.0, rel=0.01)
    assert left_out == []
    # p(95) needs 20 successful calls (gates.samples_needed): 19 and a failed one are not enough.
    metrics, left_out = ratchet.result_metrics(benchmark_result([10.0] * 19, errors=1))
    assert list(metrics) == [P50]
    assert left_out == ["latency p(95) not compared: it needs 20 successful calls, this run has 19"]
    # no successful call at all
    metrics, left_out = ratchet.result_metrics(benchmark_result([], errors=3))
    assert metrics == {} and len(left_out) == 2


def test_the_curve_keeps_the_percentiles_the_calls_support_in_three_figures():
    result = benchmark_result([float(value) for value in range(1, 101)])
    curve = ratchet.latency_curve(result)
    assert list(curve) == ["p(25)", "p(50)", "p(75)", "p(90)", "p(95)", "p(99)"]  # p(99.9) needs 1000
    assert curve["p(50)"] == pytest.approx(50, rel=0.01) and curve["p(99)"] == pytest.approx(99, rel=0.01)
    assert all(len(str(value).replace(".", "").lstrip("0")) <= 3 for value in curve.values())
    assert list(ratchet.latency_curve(benchmark_result([5.0] * 10))) == ["p(25)", "p(50)", "p(75)", "p(90)"]
    assert ratchet.latency_curve({"histograms": {}}) == {}


def test_the_baseline_curve_is_the_geometric_mean_per_percentile_of_the_runs_compared_with():
    runs = [{"curve": {"p(95)": 10.0, "p(50)": 4.0}}, {"curve": {"p(50)": 9.0, "p(95)": 40.0, "p(99)": 80.0}}, {}]
    curve = ratchet.baseline_curve(runs)
    assert curve == {"p(50)": 6.0, "p(95)": 20.0, "p(99)": 80.0}
    assert list(curve) == ["p(50)", "p(95)", "p(99)"]  # in percentile order, for drawing
    assert ratchet.baseline_curve([{"metrics": {P95: 1.0}}]) is None and ratchet.baseline_curve([]) is None


def test_a_first_run_is_the_baseline_and_is_recorded_with_its_curve(tmp_path):
    result = benchmark_result([10.0] * 20)
    outcome = ratchet.assess([], result, run_id="run1")
    field = outcome["ratchet"]
    assert field["status"] == "baseline" and field["history"] == [] and field["baseline_curve"] is None
    assert set(field["metrics"][P95]) == {"verdict", "current", "level", "upper", "runs"}
    assert outcome["failures"] == [] and outcome["entry"]["run"] == "run1"
    history = History(str(tmp_path), "a", "wf", "steady", SPEC)
    history.record(outcome["entry"], accepted=True)
    (stored,) = history.runs()
    assert stored["baseline"] is True and stored["curve"]["p(95)"] == pytest.approx(10.0, rel=0.01)
    assert set(stored) == {"run", "time", "metrics", "baseline", "curve"}


def test_a_regression_fails_the_test_naming_the_metric_and_both_figures_and_is_not_recorded():
    result = benchmark_result([12.0] * 19 + [113.0] * 41)
    outcome = ratchet.assess(steady_runs(12.0), result, run_id="run7")
    field = outcome["ratchet"]
    assert field["status"] == "regressed" and outcome["entry"] is None and field["recorded"] is False
    (failure,) = outcome["failures"]
    assert failure.startswith("regressed: latency p(95) 12 ms -> 113 ms (+8")
    assert field["message"].startswith(failure) and "not recorded" in field["message"]
    figures = field["metrics"][P95]
    assert figures["verdict"] == "regressed" and figures["runs"] == 6 and figures["current"] == pytest.approx(113, rel=0.01)
    assert figures["level"] == pytest.approx(12.0, rel=0.01) and figures["upper"] < 14
    assert field["metrics"][P50]["verdict"] == "ok"
    assert [run["run"] for run in field["history"]] == ["r{0}".format(index) for index in range(6)]
    assert "curve" not in field["history"][0]
    assert field["baseline_curve"] == {"p(50)": 6.0, "p(95)": 12.0}
    ratchet.apply(result, outcome)
    assert result["status"] == "failed" and result["passed"] is False and result["failures"][-1] == failure


def test_accepting_records_a_regressed_run_as_the_new_baseline_with_a_warning():
    result = benchmark_result([113.0] * 20)
    outcome = ratchet.assess(steady_runs(12.0), result, run_id="run8", accept_baseline=True)
    field = outcome["ratchet"]
    assert field["status"] == "accepted" and outcome["failures"] == []
    assert field["message"].startswith("accepted as the new baseline: regressed: latency p(95) 12 ms -> 113 ms")
    assert outcome["entry"]["run"] == "run8" and outcome["entry"]["metrics"][P95] == pytest.approx(113, rel=0.01)
    assert len(outcome["warnings"]) == 1 and "accept_baseline" in outcome["warnings"][0]
    ratchet.apply(result, outcome)
    assert result["status"] == "passed"
    # accepting a run that did not regress is a baseline reset too
    assert ratchet.assess(steady_runs(12.0), benchmark_result([12.0] * 20), accept_baseline=True)["ratchet"]["status"] == "accepted"


@pytest.mark.parametrize("status", ["failed", "inconclusive"])
@pytest.mark.parametrize("accept", [False, True])
def test_a_run_whose_own_gates_did_not_pass_is_never_recorded(status, accept):
    outcome = ratchet.assess(steady_runs(12.0), benchmark_result([12.0] * 20, status=status), accept_baseline=accept)
    assert outcome["entry"] is None and outcome["ratchet"]["status"] == "ok"
    assert "not recorded: the test is {0} by its own gates".format(status) in outcome["ratchet"]["message"]
    assert ("which accept_baseline does not override" in outcome["ratchet"]["message"]) is accept


def test_warming_and_improvements_never_fail_and_are_recorded():
    warming = ratchet.assess(steady_runs(12.0, count=3), benchmark_result([113.0] * 20))
    assert warming["ratchet"]["status"] == "warming" and warming["failures"] == [] and warming["entry"]
    assert warming["warnings"] and warming["warnings"][0].startswith("warming: latency p(95) 12 ms -> 113 ms")
    improved = ratchet.assess(steady_runs(100.0), benchmark_result([40.0] * 20))
    assert improved["ratchet"]["status"] == "improved" and improved["failures"] == [] and improved["entry"]


def test_a_result_with_nothing_to_compare_has_no_status_and_is_not_recorded():
    result = benchmark_result([], errors=4, status="failed")
    outcome = ratchet.assess(steady_runs(12.0), result)
    assert outcome["ratchet"]["status"] is None and outcome["entry"] is None and outcome["failures"] == []
    assert outcome["ratchet"]["message"] == ("server p(50) not compared: no successful call measured it; "
                                             "latency p(95) not compared: no successful call measured it")
    before = list(result["failures"])
    assert ratchet.apply(result, outcome)["failures"] == before and result["ratchet"] is outcome["ratchet"]


def test_the_load_spec_names_other_load_models_only_when_a_test_sets_them():
    closed = {"payload": "x", "calls": 10, "concurrency": 2, "timeout": 5, "gates": ["p(95) < 9"]}
    assert ratchet.load_spec(closed) == {"payload": "x", "calls": 10, "concurrency": 2}
    assert ratchet.load_spec(dict(closed, duration=None)) == ratchet.load_spec(closed)
    assert ratchet.load_spec(dict(closed, rate=50, duration=10))["rate"] == 50
    assert spec_hash(ratchet.load_spec(dict(closed, rate=50))) != spec_hash(ratchet.load_spec(closed))


def test_compared_runs_are_those_since_the_latest_baseline_within_the_window():
    runs = runs_of(*range(1, 30)) + [{"run": "reset", "metrics": {P95: 5.0}, "baseline": True}]
    assert ratchet.compared_runs(runs) == runs[-1:]
    assert len(ratchet.compared_runs(runs[:-1])) == ratchet.WINDOW
