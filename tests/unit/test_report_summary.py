"""The merge of several run bundles (the slices of a sliced job) into one verdict, on bundles
written by report_bundle: a report directory stands for its last run, a cluster without results
failed, check mode writes nothing, and the merges that could hide a verdict are refused."""

from __future__ import annotations

import json

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import write_cluster, write_index
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.summary import SummaryError, write_summary


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
