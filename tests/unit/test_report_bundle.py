"""The run bundle and its pages from fixtures: keys masked, the cluster's files and the index,
check mode, the history used, results with and without the load and ratchet fields."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import pages
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import render_html, write_reports
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import (
    MASK,
    BundleError,
    mask_secrets,
    safe_dir_name,
    workflow_reports_dir,
    write_cluster,
    write_index,
)
from tests.unit import report_fixtures

PLANTED = "planted-KEY-value-0042"


def test_every_secret_is_masked_wherever_it_appears():
    effective = {
        "settings": {"testbench_api_key": PLANTED, "testbench_source_api_key": None, "testbench_vault_password": "hunter22",
                     "testbench_api_address": "https://api.example.com", "testbench_extra": {"bearer_token": "t0ken-123"},
                     "testbench_timeout": 60, "testbench_strict": False},
        "workflows": [{"name": "w", "tests": [{"payload": {"note": "the key is " + PLANTED}, "calls": 3}]}],
    }
    masked = mask_secrets(effective)
    settings = masked["settings"]
    assert settings["testbench_api_key"] == settings["testbench_vault_password"] == MASK
    assert settings["testbench_extra"] == {"bearer_token": MASK}
    assert settings["testbench_source_api_key"] is None  # not set stays visibly not set
    assert settings["testbench_api_address"] == "https://api.example.com" and settings["testbench_timeout"] == 60
    assert masked["workflows"][0]["tests"][0]["payload"]["note"] == "the key is " + MASK
    text = json.dumps(masked)
    assert PLANTED not in text and "hunter22" not in text and "t0ken-123" not in text
    assert effective["settings"]["testbench_api_key"] == PLANTED  # the input itself is left alone


@pytest.mark.parametrize("name, safe", [("hello_world", "hello_world"), ("echo & load", "echo_load"),
                                        ("..", "_"), ("a/b", "a_b"), ("ünï", "_n_")])
def test_names_become_safe_directory_names(name, safe):
    assert safe_dir_name(name) == safe


@pytest.mark.parametrize("cluster", ["", "..", "a/b", None])
def test_a_cluster_name_that_is_not_a_directory_name_is_refused(tmp_path, cluster):
    with pytest.raises(BundleError, match="Fix: give the inventory host name"):
        write_cluster(str(tmp_path), {"cluster": cluster, "workflows": []}, "run1")


def make_bundle(tmp_path, check_mode=False, tests=None):
    """A bundle with cluster ``dest``: workflow ``hello world`` benchmarked (``tests``), and
    workflow ``pipeline`` failed at its build; its reports where the role has algo_benchmark write them."""
    history = tmp_path / "history-file.json"
    history.write_text('{"runs": [{"run": "from-the-file"}]}\n')
    tests = report_fixtures.mixed_tests(history_file=str(history)) if tests is None else tests
    bundle = tmp_path / "runs" / "run1"
    write_reports(report_fixtures.benchmark_report("dest", "alice/hello_world", tests),
                  workflow_reports_dir(str(bundle), "dest", "hello world"), "benchmark-dest-hello_world")
    verdict = {"cluster": "dest", "api_address": "https://dest.example.com", "passed": False, "status": "failed",
               "workflows": [{"workflow": "hello world", "passed": False, "step": "benchmark hello_world",
                              "message": "test 'flaky <entrypoint>': ...", "summary": "failed at step benchmark"},
                             {"workflow": "pipeline", "passed": False, "step": "build and publish Resize",
                              "message": "SyntaxError", "summary": "failed at step build and publish Resize: SyntaxError"}]}
    paths, document = write_cluster(str(bundle), verdict, "run1", {"settings": {"testbench_api_key": PLANTED}},
                                    check_mode=check_mode)
    return bundle, paths, document


def test_a_cluster_gets_its_page_results_junit_input_and_history(tmp_path):
    bundle, paths, document = make_bundle(tmp_path)
    dest = bundle / "dest"
    assert paths["html"] == str(dest / "report.html") and paths["history"] == [
        str(dest / "history" / "hello_world" / "open_40_s.json")]
    results = json.loads((dest / "results.json").read_text())
    assert results == json.loads(json.dumps(document))
    assert [w["workflow"] for w in results["workflows"]] == ["hello world", "pipeline"]
    assert [t["status"] for t in results["workflows"][0]["benchmark"]["tests"]] == ["passed", "failed", "inconclusive", "failed"]
    assert results["workflows"][1]["benchmark"] is None and results["status"] == "failed"
    # the history the regressed test was compared with: the ratchet's own list of runs
    history = json.loads((dest / "history" / "hello_world" / "open_40_s.json").read_text())
    assert len(history["runs"]) == 6 and history["history_file"].endswith("history-file.json")
    junit = ElementTree.parse(dest / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("5", "3", "1")
    step = [c for c in junit.iter("testcase") if c.get("name") == "pipeline"]
    assert step and "build and publish Resize" in step[0].find("failure").get("message")
    assert json.loads((dest / "input.json").read_text()) == {"settings": {"testbench_api_key": MASK}}
    for path in bundle.rglob("*"):
        assert not path.is_file() or PLANTED not in path.read_text()


def test_the_history_file_is_copied_when_the_results_do_not_carry_the_runs(tmp_path):
    tests = report_fixtures.mixed_tests()
    history = tmp_path / "kept.json"
    history.write_text('{"runs": [{"run": "r1"}]}\n')
    del tests[3]["ratchet"]["history"]
    tests[3]["ratchet"]["history_file"] = str(history)
    bundle, paths, _document = make_bundle(tmp_path, tests=tests)
    assert open(paths["history"][0]).read() == '{"runs": [{"run": "r1"}]}\n'


def test_check_mode_writes_nothing(tmp_path):
    bundle, paths, document = make_bundle(tmp_path, check_mode=True)
    assert document["status"] == "failed" and paths["html"].endswith("report.html")
    assert sorted(p.name for p in (bundle / "dest").iterdir()) == ["workflows"]
    index_paths, _statuses = write_index(str(bundle), "run1", ["dest"], check_mode=True)
    assert not (bundle / "index.html").exists() and index_paths["html"] == str(bundle / "index.html")


def test_the_index_is_a_matrix_of_clusters_and_tests(tmp_path):
    bundle, _paths, _document = make_bundle(tmp_path)
    _paths, statuses = write_index(str(bundle), "run1", ["dest", "gone"])
    assert statuses == {"dest": "failed", "gone": "failed"}
    page = (bundle / "index.html").read_text()
    header = re.findall(r"<th>([^<]*)</th>", page)
    assert header[:5] == ["steady echo", "flaky &lt;entrypoint&gt;", "cold start", "open 40/s", "(workflow)"]
    assert 'href="dest/report.html#w0-t3"' in page and 'href="dest/report.html#w0-t0"' in page
    assert "<td>gone<br><span class=\"muted\">no results: failed before its workflows ran</span></td>" in page
    assert page.count("not run") >= 5  # the cluster that never reported
    assert '<span class="badge regressed">regressed</span>' in page
    effective = json.loads((bundle / "input.json").read_text())
    assert effective == {"run_id": "run1", "clusters": {"dest": {"settings": {"testbench_api_key": MASK}}, "gone": None}}


def test_the_index_writes_the_summary_too_making_its_directory(tmp_path):
    bundle, _paths, _document = make_bundle(tmp_path)
    target = tmp_path / "reports" / "not-yet" / "summary.json"
    verdicts = {"passed": False, "run_id": "run1", "clusters": [{"cluster": "dest", "passed": False}],
                "lines": ["dest (https://dest): FAILED", "  workflow w: failed at step build: \u00e9"]}
    index_paths, _statuses = write_index(str(bundle), "run1", ["dest"], summary_path=str(target), summary=verdicts)
    assert index_paths["summary"] == str(target) and (bundle / "index.html").is_file()
    assert json.loads(target.read_text(encoding="utf-8")) == verdicts
    assert target.read_text(encoding="utf-8").startswith('{\n    "clusters": [')  # as to_nice_json writes it
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]  # no temporary file left


def test_check_mode_writes_no_summary(tmp_path):
    bundle, _paths, _document = make_bundle(tmp_path)
    target = tmp_path / "reports" / "summary.json"
    index_paths, _statuses = write_index(str(bundle), "run1", ["dest"], check_mode=True,
                                         summary_path=str(target), summary={"passed": True})
    assert index_paths["summary"] == str(target) and not target.parent.exists()


def test_without_a_summary_path_no_summary_is_written(tmp_path):
    bundle, _paths, _document = make_bundle(tmp_path)
    index_paths, _statuses = write_index(str(bundle), "run1", ["dest"])
    assert "summary" not in index_paths and sorted(p.name for p in bundle.iterdir()) == ["dest", "index.html", "input.json"]


def cluster_page_of(tests):
    return pages.cluster_page({"cluster": "c1", "api_address": "https://c1", "run_id": "r",
                               "workflows": [{"workflow": "w", "passed": True,
                                              "benchmark": report_fixtures.benchmark_report("c1", "a/b", tests)}]})


def test_the_page_shows_the_load_and_ratchet_fields_when_present():
    page = cluster_page_of(report_fixtures.mixed_tests())
    assert page.count("<svg") == 20 and page.count("<section class=\"test\"") == 4
    assert "open: 40 calls/s for 7.5 s, at most 8 in flight" in page and "5 dropped" in page
    assert "warmup, not in the figures: 3 calls, 0 errors, first (cold) 812 ms, p50 14.2 ms" in page
    assert "latency from the intended start" in page and "schedule lag" in page
    assert "from the intended start" in page and "baseline (earlier runs)" in page
    assert "regressed: latency p(95) 140 ms -&gt; " in page and "Runs compared" in page
    assert "flaky &lt;entrypoint&gt;" in page and "<entrypoint>" not in page
    assert "<script" not in page and "://" not in page.replace("https://c1", "")


def test_the_page_does_without_the_optional_fields():
    result = report_fixtures.measured("plain", report_fixtures.latencies(50, 10, seed=9))
    for key in ("timeseries", "reservoir"):
        result.pop(key)
    page = re.sub(r"<style>.*</style>", "", cluster_page_of([result]), flags=re.S)
    assert "closed: 50 calls, 1 in flight" in page
    assert not re.search(r"\d+ dropped", page)
    for absent in ("warmup", "Compared with earlier runs", "intended", "baseline", "schedule lag"):
        assert absent not in page, absent
    assert page.count("<svg") == 5 and page.count("no call") == 2


def test_a_check_mode_result_is_shown_as_not_run():
    skipped = {"name": "t", "status": None, "passed": None, "skipped": "check mode: no call made", "calls": 0,
               "errors": 0, "latency_ms": {}, "failures": [], "gates": []}
    page = render_html(report_fixtures.benchmark_report("c1", "a/b", [skipped]))
    assert "Nothing measured (check mode)" in page and "check mode: no call made" in page
