"""The ratchet: Student's t, the prediction interval, the verdicts, the history files, and the
false-alarm and detection rates measured on simulated noisy histories (printed, with a fixed seed).
"""

from __future__ import annotations

import json
import math
import os
import random

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils import ratchet
from ansible_collections.algorithmia.testbench.plugins.module_utils.ratchet import (
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
