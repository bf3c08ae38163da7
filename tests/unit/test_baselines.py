"""Where the judge finds its baselines (reports/baselines.py) and a cluster's comparisons in a run
bundle (reports/comparisons.py, the benchmark_judge module), on report directories made here."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import baselines, comparisons
from ansible_collections.algorithmia.testbench.plugins.modules import benchmark_judge
from tests.unit.judge_support import sampled

WORKFLOW = "judged"


def results_document(cluster, run_id, tests, status="passed"):
    return {"cluster": cluster, "run_id": run_id, "status": status,
            "workflows": [{"workflow": WORKFLOW, "passed": status != "failed", "benchmark": {"tests": tests}}]}


def write_run(report_dir, run_id, cluster, tests, status="passed"):
    """A cluster's files in a run bundle: results.json, and the benchmark report it was made from."""
    directory = report_dir / "runs" / run_id / cluster
    (directory / "workflows" / WORKFLOW).mkdir(parents=True)
    (directory / "results.json").write_text(json.dumps(results_document(cluster, run_id, tests, status)))
    (directory / "workflows" / WORKFLOW / "benchmark-{0}-sleepy.json".format(cluster)).write_text(json.dumps({"tests": tests}))


def settings_for(_workflow, _name):
    return judge.Settings()


@pytest.fixture
def report_dir(tmp_path):
    """c1's runs: r1 (20 ms), r2 failed (40 ms), r3 of another load; the current run r4 (20 ms, and 30 ms on c2)."""
    write_run(tmp_path, "20261201T000000Z-000001", "c1", [sampled("steady", 300, 20.0, seed=1)])
    write_run(tmp_path, "20261202T000000Z-000002", "c1", [sampled("steady", 300, 40.0, seed=2)], status="failed")
    write_run(tmp_path, "20261203T000000Z-000003", "c1", [sampled("steady", 300, 20.0, seed=3, load={"model": "closed", "calls": 9, "concurrency": 1})])
    write_run(tmp_path, "20261204T000000Z-000004", "c1", [sampled("steady", 300, 20.0, seed=4)])
    write_run(tmp_path, "20261204T000000Z-000004", "c2", [sampled("steady", 300, 30.0, seed=5)])
    write_run(tmp_path, "20261204T000000Z-000004", "c3", [sampled("steady", 300, 21.0, seed=6)])
    return tmp_path


def judging(report_dir, cluster="c1"):
    return comparisons.Judging(str(report_dir / "runs" / "20261204T000000Z-000004"), cluster, "20261204T000000Z-000004",
                               [WORKFLOW], settings_for)


def test_previous_is_the_latest_earlier_run_that_did_not_fail_with_the_same_load(report_dir):
    compared = judging(report_dir).against_run(str(report_dir), "previous")
    assert compared["runs"] == ["20261201T000000Z-000001"]  # not r2 (failed), not r3 (another load), not itself
    assert compared["verdict"] == judge.VERDICT_PASS and compared["tests"][0]["run"] == "20261201T000000Z-000001"


def test_previous_without_an_earlier_run_is_inconclusive(tmp_path):
    write_run(tmp_path, "20261204T000000Z-000004", "c1", [sampled("steady", 300, 20.0, seed=4)])
    compared = judging(tmp_path).against_run(str(tmp_path), "previous")
    assert compared["verdict"] == judge.VERDICT_INCONCLUSIVE and compared["runs"] == []
    assert "no earlier run of c1" in compared["message"]


def test_a_snapshot_is_kept_and_judged_against_by_name(report_dir):
    document = results_document("c1", "20261202T000000Z-000002", [sampled("steady", 300, 15.0, seed=7)])
    path = baselines.keep_snapshot(str(report_dir), "before-upgrade", "c1", dict(document, comparisons=[{"big": 1}]))
    kept = json.loads(open(path, encoding="utf-8").read())
    assert kept["snapshot"] == "before-upgrade" and "comparisons" not in kept and kept["kept_at"].endswith("Z")
    assert baselines.kept_snapshots(str(report_dir), "c1") == ["before-upgrade"]
    compared = judging(report_dir).against_run(str(report_dir), "before-upgrade")
    assert compared["baseline"] == "snapshot before-upgrade (run 20261202T000000Z-000002)"
    assert compared["verdict"] == judge.VERDICT_FAIL and compared["tests"][0]["class"] == judge.REGRESSION


def test_a_run_id_is_a_baseline_too(report_dir):
    compared = judging(report_dir).against_run(str(report_dir), "20261202T000000Z-000002")
    assert compared["baseline"] == "run 20261202T000000Z-000002" and compared["tests"][0]["class"] == judge.IMPROVEMENT


@pytest.mark.parametrize("name, expected", [
    ("previous", None),
    ("20261201T000000Z-000001", None),
    ("20261204T000000Z-000004", "is this run itself"),
    ("before", "names neither a snapshot of c1"),
    ("../runs", "is not a name of"),
])
def test_a_baseline_name_is_checked_before_anything_is_read(report_dir, name, expected):
    problem = baselines.baseline_problem(str(report_dir), name, "c1", "20261204T000000Z-000004")
    assert (problem is None) if expected is None else (expected in problem and "Fix:" in problem), problem


def test_a_canary_is_judged_against_its_peers_pooled(report_dir):
    compared = judging(report_dir, "c2").against_peers(["c1", "c3"])
    assert compared["baseline"] == "its peers c1, c3" and compared["peers"] == ["c1", "c3"]
    (test,) = compared["tests"]
    assert test["peers"] == ["c1", "c3"] and test["class"] == judge.REGRESSION
    assert test["histograms"]["latency"]["count"] == 600


def test_peers_from_a_snapshot_leave_out_a_peer_without_one(report_dir):
    baselines.keep_snapshot(str(report_dir), "before", "c3", results_document("c3", "r0", [sampled("steady", 300, 30.0, seed=8)]))
    compared = judging(report_dir, "c2").against_peers(["c1", "c3"], str(report_dir), "before")
    assert compared["tests"][0]["peers"] == ["c3"] and compared["tests"][0]["class"] == judge.PASS
    assert compared["baseline"] == "its peers c1, c3 (before)"


def test_a_destination_against_its_source_needs_only_the_same_shape(report_dir):
    source = report_dir / "runs" / "20261204T000000Z-000004" / "sources" / "https_api_src" / "workflows" / WORKFLOW
    assert str(source.parent.parent) == comparisons.source_dir(str(report_dir / "runs" / "20261204T000000Z-000004"), "https://api.src")
    source.mkdir(parents=True)
    bounded = sampled("steady", 150, 20.0, seed=9, load={"model": "closed", "calls": 150, "concurrency": 2}, payload="other")
    (source / "benchmark-source-sleepy.json").write_text(json.dumps({"tests": [bounded]}))
    compared = judging(report_dir).against_source({WORKFLOW: "https://api.src"})
    assert compared["source"] == "https://api.src" and compared["baseline"] == "the source cluster https://api.src"
    assert compared["verdict"] == judge.VERDICT_PASS and compared["tests"][0]["source"] == "https://api.src"


def test_the_verdict_of_a_clusters_comparisons():
    verdict = comparisons.verdict_of
    assert verdict([{"verdict": "pass"}, {"verdict": "marginal"}]) == "failed"
    assert verdict([{"verdict": "pass"}, {"verdict": "inconclusive"}]) == "inconclusive"
    assert verdict([{"verdict": "pass"}]) == "passed"


def run_module(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), patch_module_args(args), pytest.raises(SystemExit):
        benchmark_judge.main()
    return json.loads(out.getvalue())


def test_the_module_writes_comparison_json_and_returns_the_verdicts(report_dir):
    bundle = report_dir / "runs" / "20261204T000000Z-000004"
    result = run_module({"bundle_dir": str(bundle), "cluster": "c2", "workflows": [WORKFLOW], "peers": ["c1", "c3", "c2"],
                         "baseline_run": "previous"})
    assert result["status"] == "failed" and result["changed"] is False
    kinds = [c["kind"] for c in result["comparisons"]]
    assert kinds == ["run", "peers"] and "histograms" not in result["comparisons"][1]["tests"][0]
    assert result["verdicts"][1]["tests"][0]["class"] == judge.REGRESSION
    written = json.loads((bundle / "c2" / "comparison.json").read_text())
    assert written["comparisons"][1]["tests"][0]["histograms"]["latency"]["count"] == 600
    assert "fail: 0 of 1 compared test pass against its peers c1, c3 (score 0%; pass needs 100%, marginal 75%)" in result["messages"]


def test_the_module_refuses_bad_input_before_reading_anything(report_dir):
    bundle = report_dir / "runs" / "20261204T000000Z-000004"
    result = run_module({"bundle_dir": str(bundle), "cluster": "c1", "workflows": [WORKFLOW], "baseline_run": "nope",
                         "tolerance": -1, "pass_score": 50, "marginal_score": 60, "peers": ["c1"],
                         "tests": [{"workflow": WORKFLOW, "name": "steady", "floor_ms": -2}]})
    assert result["failed"] and "nothing was compared" in result["msg"]
    for text in ("tolerance -1.0 is out of range", "marginal_score 60 is above pass_score 50", "names neither a snapshot",
                 "peers names no cluster but c1 itself", "floor_ms of test 'steady'"):
        assert text in result["msg"], result["msg"]
    assert not (bundle / "c1" / "comparison.json").exists()
