"""The merge of several run bundles (the slices of a sliced job) into one verdict, on bundles
written by report_bundle: a report directory stands for its last run, a cluster without results
failed, check mode writes nothing, the merges that could hide a verdict are refused, and a
comparison with a baseline that did not pass fails its cluster here too."""

from __future__ import annotations

import json

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import write_cluster, write_index
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.summary import SummaryError, write_summary
from tests.unit import report_fixtures


def run_bundle(report_dir, run_id, verdicts, missing=()):
    """``<report_dir>/runs/<run_id>`` as the role writes it: each cluster's files, then the index of
    the run over those clusters and ``missing`` ones (failed before their workflows ran)."""
    bundle = report_dir / "runs" / run_id
    for cluster, passed in verdicts.items():
        outcome = {"workflow": "hello_world", "passed": passed}
        if not passed:
            outcome.update(step="build and publish hello_world", summary="failed at step build and publish hello_world")
        write_cluster(str(bundle), {"cluster": cluster, "api_address": "https://" + cluster, "workflows": [outcome],
                                    "status": "passed" if passed else "failed"}, run_id, {"settings": {"testbench_api_key": "k" * 20}})
    write_index(str(bundle), run_id, list(verdicts) + list(missing))
    (report_dir / "summary.json").write_text(json.dumps({"run_id": run_id, "passed": all(verdicts.values())}))
    return bundle


def test_two_slices_make_one_verdict_with_a_line_per_cluster(tmp_path):
    east = run_bundle(tmp_path / "reports", "r1", {"east": True})
    west = run_bundle(tmp_path / "reports", "r2", {"west": False}, missing=["north"])
    paths, summary = write_summary([str(east), str(west)], str(tmp_path / "merged"))
    assert summary["status"] == "failed" and summary["passed"] is False
    assert [(c["cluster"], c["status"], c["run_id"]) for c in summary["clusters"]] == [
        ("east", "passed", "r1"), ("north", "failed", "r2"), ("west", "failed", "r2")]
    assert summary["lines"] == [
        "east: passed (hello_world; run r1)",
        "north: failed before its workflows ran (run r2; no results.json in {0})".format(west),
        "west: failed (run r2): failed at step build and publish hello_world"]
    index = (tmp_path / "merged" / "index.html").read_text()
    assert 'href="../reports/runs/r1/east/report.html"' in index and "3 clusters: 1 passed, 2 failed" in index
    assert "k" * 20 not in (tmp_path / "merged" / "input.json").read_text()
    assert json.loads((tmp_path / "merged" / "summary.json").read_text()) == summary
    assert paths["summary"] == str(tmp_path / "merged" / "summary.json")


def test_a_report_directory_stands_for_its_last_run(tmp_path):
    run_bundle(tmp_path / "a", "old", {"east": False})
    run_bundle(tmp_path / "a", "new", {"east": True})
    run_bundle(tmp_path / "b", "other", {"west": True})
    _paths, summary = write_summary([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "merged"))
    assert [(c["cluster"], c["run_id"]) for c in summary["clusters"]] == [("east", "new"), ("west", "other")]
    assert summary["status"] == "passed"


def test_check_mode_writes_nothing(tmp_path):
    bundle = run_bundle(tmp_path / "reports", "r1", {"east": True})
    paths, summary = write_summary([str(bundle)], str(tmp_path / "merged"), check_mode=True)
    assert summary["status"] == "passed" and paths["html"].endswith("index.html")
    assert not (tmp_path / "merged").exists()


def test_the_same_verdict_in_two_slices_is_one_cluster(tmp_path):
    first = run_bundle(tmp_path / "reports", "r1", {"east": True})
    again = run_bundle(tmp_path / "reports", "r2", {"east": True})
    _paths, summary = write_summary([str(first), str(again)], str(tmp_path / "merged"))
    assert [(c["cluster"], c["run_id"]) for c in summary["clusters"]] == [("east", "r2")]


@pytest.mark.parametrize("case, expected", [
    ("conflict", "cluster east is passed in "),
    ("missing", "bundles[1] ({missing}) is not a directory"),
    ("empty", "bundles[1] ({empty}) holds no cluster"),
    ("report dir without summary", "bundles[1] ({bare}) is a report directory whose summary.json names no run bundle"),
    ("none", "no bundle was given"),
])
def test_merges_that_could_hide_a_verdict_are_refused_before_writing(tmp_path, case, expected):
    passed = run_bundle(tmp_path / "one", "r1", {"east": True})
    failed = run_bundle(tmp_path / "two", "r2", {"east": False})
    (tmp_path / "empty").mkdir()
    (tmp_path / "bare" / "runs").mkdir(parents=True)
    places = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "bare": tmp_path / "bare"}
    second = {"conflict": failed, "missing": places["missing"], "empty": places["empty"],
              "report dir without summary": places["bare"]}.get(case)
    paths = [] if case == "none" else [str(passed), str(second)]
    with pytest.raises(SummaryError, match="Fix: ") as raised:
        write_summary(paths, str(tmp_path / "merged"))
    assert expected.format(**places) in str(raised.value)
    assert not (tmp_path / "merged").exists()


def judged(report_dir, run_id, cluster, comparisons):
    """A run bundle of ``cluster``, whose workflow passed, with the judge's ``comparisons``."""
    directory = report_dir / "runs" / run_id / cluster
    directory.mkdir(parents=True)
    (directory / "comparison.json").write_text(json.dumps(report_fixtures.comparison_document(cluster, comparisons)))
    return run_bundle(report_dir, run_id, {cluster: True})


def test_a_comparison_that_did_not_pass_fails_its_cluster_in_the_merge(tmp_path):
    run, _peers, source = report_fixtures.mixed_comparisons(report_fixtures.mixed_tests())
    east = judged(tmp_path / "a", "r1", "east", [run, source])
    west = judged(tmp_path / "b", "r2", "west", [source])
    _paths, summary = write_summary([str(east), str(west)], str(tmp_path / "merged"))
    assert summary["status"] == "failed" and [c["status"] for c in summary["clusters"]] == ["failed", "passed"]
    assert summary["lines"] == [
        "east: failed (run r1): against snapshot before-upgrade: " + run["message"],
        "west: passed (hello_world; run r2)"]
    kept = summary["clusters"][0]["comparisons"]
    assert [(c["kind"], c["verdict"], c["passed_tests"], c["compared_tests"]) for c in kept] == [("run", "fail", 2, 4), ("source", "pass", 2, 2)]
    assert "tests" not in kept[0]  # the shifts stay in the cluster's results.json
    index = (tmp_path / "merged" / "index.html").read_text()
    assert "Against earlier runs and the source cluster" in index and 'href="../a/runs/r1/east/report.html#cmp0"' in index


def test_a_marginal_comparison_in_one_slice_disagrees_with_a_pass_in_another(tmp_path):
    marginal = report_fixtures.mixed_comparisons(report_fixtures.mixed_tests())[1]
    judged_slice = judged(tmp_path / "a", "r1", "east", [marginal])
    plain = run_bundle(tmp_path / "b", "r2", {"east": True})
    with pytest.raises(SummaryError, match="cluster east is failed in .* but passed in "):
        write_summary([str(judged_slice), str(plain)], str(tmp_path / "merged"))
