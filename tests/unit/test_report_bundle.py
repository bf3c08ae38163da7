"""The run bundle and its pages from fixtures: keys masked, the cluster's files and the index,
check mode, the history used, results with and without the load and ratchet fields, and the
judge's comparisons (results, JUnit, the cluster's page and the index's matrix against peers)."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import pages
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import render_cluster_junit, render_html, write_reports
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


# The judge's comparisons: results.json carries them, one that did not pass fails the cluster, the
# JUnit has a suite per comparison, the pages show each shift with its interval, p and class.

BEFORE = report_fixtures.BEFORE_UPGRADE


def write_comparisons(bundle, cluster, comparisons):
    directory = bundle / cluster
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "comparison.json").write_text(json.dumps(report_fixtures.comparison_document(cluster, comparisons)))


def judged_bundle(tmp_path, comparisons=None, passed=True):
    """Cluster ``dest`` whose workflow ``hello world`` passed (its tests: ``mixed_tests`` without the failed
    and the ratchet-regressed ones), with ``comparisons`` in its comparison.json (default: ``mixed_comparisons``)."""
    tests = report_fixtures.mixed_tests()
    bundle = tmp_path / "runs" / "run1"
    if comparisons is None:
        comparisons = report_fixtures.mixed_comparisons(tests)
    if comparisons is not False:
        write_comparisons(bundle, "dest", comparisons)
    write_reports(report_fixtures.benchmark_report("dest", "alice/hello_world", tests[:1]),
                  workflow_reports_dir(str(bundle), "dest", "hello world"), "benchmark-dest-hello_world")
    verdict = {"cluster": "dest", "api_address": "https://dest.example.com", "passed": passed, "status": "passed" if passed else "failed",
               "workflows": [{"workflow": "hello world", "passed": passed}]}
    paths, document = write_cluster(str(bundle), verdict, "run1", {})
    return bundle, paths, document


def test_the_results_carry_the_comparisons_and_one_that_failed_fails_the_cluster(tmp_path):
    bundle, _paths, document = judged_bundle(tmp_path)
    results = json.loads((bundle / "dest" / "results.json").read_text())
    written = json.loads((bundle / "dest" / "comparison.json").read_text())["comparisons"]
    assert results["comparisons"] == written and [c["verdict"] for c in written] == ["fail", "marginal", "pass"]
    assert results["status"] == document["status"] == "failed" and results["passed"] is False
    page = (bundle / "dest" / "report.html").read_text()
    assert "All tests passed" not in page and "2 comparisons with a baseline did not pass" in page


def test_a_marginal_comparison_fails_the_cluster_and_the_page_says_why(tmp_path):
    marginal = report_fixtures.mixed_comparisons(report_fixtures.mixed_tests())[1]
    _bundle, paths, document = judged_bundle(tmp_path, [marginal])
    assert marginal["verdict"] == "marginal" and document["status"] == "failed"
    page = open(paths["html"]).read()
    assert "1 comparison with a baseline did not pass" in page
    assert "<b>marginal</b> fails the cluster too, as a marginal score in Kayenta's last interval fails the canary" in page
    assert '<span class="badge marginal">marginal</span>' in page


def test_comparisons_that_all_pass_leave_a_passed_cluster_passed(tmp_path):
    source = report_fixtures.mixed_comparisons(report_fixtures.mixed_tests())[2]
    _bundle, paths, document = judged_bundle(tmp_path, [source])
    assert document["status"] == "passed" and document["passed"] is True
    assert "All tests passed, and every comparison with a baseline" in open(paths["html"]).read()


def test_without_a_comparison_file_the_results_have_no_comparisons(tmp_path):
    bundle, _paths, document = judged_bundle(tmp_path, comparisons=False)
    assert "comparisons" not in document and document["status"] == "passed"
    assert "Comparisons" not in (bundle / "dest" / "report.html").read_text()


@pytest.mark.parametrize("text, why", [("{not json", "could not be read (Expecting property name"),
                                       ('{"cluster": "dest"}', 'it holds no list under "comparisons"')])
def test_a_comparison_file_that_cannot_be_read_is_a_failed_comparison(tmp_path, text, why):
    bundle = tmp_path / "runs" / "run1"
    (bundle / "dest").mkdir(parents=True)
    (bundle / "dest" / "comparison.json").write_text(text)
    _paths, document = write_cluster(str(bundle), {"cluster": "dest", "status": "passed", "passed": True, "workflows": []}, "run1")
    assert document["status"] == "failed" and document["comparisons"][0]["verdict"] == "fail"
    assert why in document["comparisons"][0]["message"] and "Fix: run the judge again" in document["comparisons"][0]["message"]


def test_the_junit_has_a_suite_per_comparison(tmp_path):
    bundle, _paths, _document = judged_bundle(tmp_path)
    junit = ElementTree.parse(bundle / "dest" / "junit.xml").getroot()
    suites = {suite.get("name"): suite for suite in junit.iter("testsuite")}
    counts = {name: (s.get("tests"), s.get("failures"), s.get("skipped")) for name, s in suites.items()}
    # run: a regression, a pass, an unknown, an improvement, and the failed verdict (50%)
    assert counts["dest vs snapshot before-upgrade"] == ("5", "2", "1")
    assert counts["dest vs peers prod-us, prod-ap"] == ("5", "1", "1")  # marginal: only the verdict fails
    assert counts["dest vs source cluster"] == ("2", "0", "0")
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("13", "3", "2")
    run = suites["dest vs snapshot before-upgrade"]
    cases = {case.get("name"): case for case in run.iter("testcase")}
    regression = cases["steady echo"].find("failure")
    assert regression.get("type") == "Regression" and regression.get("message").startswith("latency: +37% (95% CI +31%..+43%), p < 0.001")
    assert "server: +37%" in regression.text and "error rate: 0% vs 0%" in regression.text
    skipped = cases["cold start"].find("skipped")
    assert skipped.get("message") == "inconclusive: latency: 5 calls against 5, fewer than 20 -> unknown"
    assert cases["open 40/s"].find("failure") is None and "improvement" in cases["open 40/s"].find("system-out").text
    assert cases["verdict"].find("failure").get("message").startswith("fail: 2 of 4 tests pass (score 50%")
    assert cases["steady echo"].get("classname") == "dest.vs_run.hello_world"
    properties = {p.get("name"): p.get("value") for p in run.iter("property")}
    assert properties["runs"] == BEFORE and properties["verdict"] == "fail" and properties["kind"] == "run"


def comparison_page():
    tests = report_fixtures.mixed_tests()
    document = {"cluster": "c1", "api_address": "https://c1", "run_id": "r",
                "workflows": [{"workflow": "w", "passed": True, "benchmark": report_fixtures.benchmark_report("c1", "a/b", tests)}],
                "comparisons": report_fixtures.mixed_comparisons(tests, workflow="w")}
    return document, pages.cluster_page(document)


def text_of(html):
    """What a reader sees of ``html``: its text without the tags (and their attributes)."""
    return re.sub(r"<[^>]+>", "", html)


def section(page, element_id):
    match = re.search(r'<(section|div) class="[a-z ]+" id="{0}">'.format(re.escape(element_id)), page)
    assert match, element_id
    return page[match.start():page.index("</section>", match.start())]


def test_the_page_shows_each_comparison_after_the_verdicts():
    document, page = comparison_page()
    assert page.index("<h2>Verdicts</h2>") < page.index("<h2>Comparisons</h2>") < page.index("<h2>Gates</h2>")
    run = section(page, "cmp0")
    steady = document["comparisons"][0]["tests"][0]
    latency, server, errors = steady["metrics"][:3]
    assert "<h3>Against snapshot before-upgrade</h3>" in run and '<span class="badge fail">fail</span>' in run
    assert pages.esc(document["comparisons"][0]["message"]) in run
    assert "Compared with earlier run {0}.".format(BEFORE) in run
    assert pages.shift_text(latency) == "+37% (95% CI +31%..+43%)" and pages.shift_text(latency) + "median" in text_of(run)
    assert pages.metric_html(latency) == '<span class="nw">+37%</span> <span class="nw">(95% CI +31%..+43%)</span>'
    assert pages.shift_text(server) + "median" in text_of(run) and "+0.0 points (95% CI -0.2..+0.2)0% → 0%" in text_of(run)
    assert pages.esc(pages.metric_detail(latency)) in run and "median 8.84 ms → 12.1 ms" in run
    assert '<span class="badge regression">regression</span>' in run and '<span class="badge improvement">improvement</span>' in run
    assert '<span class="badge unknown">unknown</span>' in run and "p &lt; 0.001" in run
    assert pages.esc(steady["reason"]) in run
    assert '<a href="#w0-t0-cmp0">steady echo</a>' in run and "<th>Dropped</th>" in run
    assert "Compared with its peers in this run, pooled: prod-us, prod-ap." in section(page, "cmp1")
    assert "Compared with the source cluster https://api.src.example." in section(page, "cmp2")
    assert "p = 0.054" in run  # two significant figures above 0.001


def test_each_test_shows_its_curve_over_each_baseline_with_the_shift_beside_it():
    document, page = comparison_page()
    steady = section(page, "w0-t0")
    assert '<span class="badge regression">vs snapshot before-upgrade: regression</span>' in steady
    assert '<span class="badge pass">vs peers prod-us, prod-ap: pass</span>' in steady
    figure = steady[steady.index('id="w0-t0-cmp0"'):steady.index('id="w0-t0-cmp1"')]
    assert '<polyline class="client line"' in figure and '<polyline class="vs-run line"' in figure
    assert "baseline: snapshot before-upgrade" in figure
    latency = document["comparisons"][0]["tests"][0]["metrics"][0]
    assert "latencyregression{0}median 8.84 ms → 12.1 msp &lt; 0.001".format(pages.shift_text(latency)) in text_of(figure)
    assert '<polyline class="vs-peers line"' in steady and '<polyline class="vs-source line"' in steady
    opened = section(page, "w0-t3")
    assert opened.count('class="compare"') == 2 and ">dropped</td>" in opened  # not compared with the source
    assert page.count('<div class="compare"') == 10 and page.count("<svg") == 30
    for css in ("vs-run", "vs-peers", "vs-source"):
        assert "svg .{0}{{".format(css) in pages.STYLE
    assert "<script" not in page


def index_entries():
    tests = report_fixtures.mixed_tests()
    run, peers, source = report_fixtures.mixed_comparisons(tests)
    report = report_fixtures.benchmark_report("c1", "a/b", tests)
    us_peers = report_fixtures.comparison("peers", "peers c1, prod-ap", [
        report_fixtures.compared_test("hello world", tests[0], report_fixtures.latencies(400, 12, seed=41))], peers=["c1", "prod-ap"])
    return [("c1", "c1/report.html", {"cluster": "c1", "workflows": [{"workflow": "hello world", "passed": True, "benchmark": report}],
                                      "comparisons": [run, peers, source]}),
            ("prod-us", "prod-us/report.html", {"cluster": "prod-us", "workflows": [], "comparisons": [us_peers]}),
            ("plain", "plain/report.html", {"cluster": "plain", "workflows": []}),
            ("gone", None, None)]


def test_the_index_shows_the_clusters_against_their_peers_as_a_matrix():
    entries = index_entries()
    page = pages.index_page("run1", entries)
    matrix = page[page.index('<table class="matrix peers">'):]
    matrix = matrix[:matrix.index("</table>")]
    rows = re.findall(r"<tr><td>(.*?)</tr>", matrix)
    assert [re.sub(r"<[^>]+>", "", row.split("</td>")[0]) for row in rows] == ["c1", "prod-us"]
    assert re.findall(r"<th>([^<]*)</th>", matrix) == ["steady echo", "flaky &lt;entrypoint&gt;", "cold start", "open 40/s"]
    c1, us = rows
    assert "prod-us, prod-ap" in c1 and '<span class="badge marginal">marginal</span>' in c1 and "c1, prod-ap" in us
    steady = entries[0][2]["comparisons"][1]["tests"][0]
    assert 'href="c1/report.html#w0-t0-cmp1"><span class="badge pass">pass</span><span class="sub">{0}</span>'.format(
        pages.metric_html(steady["metrics"][0])) in c1
    assert "pass-3% (95% CI -6%..+1%)" in text_of(c1) and "unknown-12% (no 95% CI)" in text_of(c1)
    assert us.count("not compared") == 3 and 'href="prod-us/report.html#cmp0"' in us  # no page section of that test
    lines = re.findall(r"<li>(.*?)</li>", page[page.index("Against earlier runs and the source cluster"):])
    assert len(lines) == 1 and lines[0].startswith("<b>c1</b>: ")
    assert '<span class="badge fail">fail</span> <a href="c1/report.html#cmp0">against snapshot before-upgrade (2 of 4 tests pass)</a>' in lines[0]
    assert '<span class="badge pass">pass</span> <a href="c1/report.html#cmp2">against source cluster (2 of 2 tests pass)</a>' in lines[0]
    assert "4 clusters: 2 passed, 2 failed" in page  # c1 and gone failed; prod-us passed against its peers


def test_an_index_without_comparisons_has_no_comparison_sections():
    page = pages.index_page("run1", index_entries()[2:])
    assert "matrix peers" not in page and "Against their peers" not in page and "Against earlier runs" not in page


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_names_in_comparisons_are_escaped_everywhere(tmp_path):
    tests = report_fixtures.mixed_tests()
    tests[0]["name"] = "t " + HOSTILE
    hostile = report_fixtures.comparison("peers", "peers " + HOSTILE, [
        report_fixtures.compared_test("w " + HOSTILE, tests[0], report_fixtures.latencies(400, 9, seed=51))], peers=[HOSTILE, "<b>p</b>"])
    hostile["tests"][0]["reason"] += " <i>" + HOSTILE
    hostile["tests"][0]["metrics"][0]["message"] += HOSTILE
    document = {"cluster": "c1", "comparisons": [hostile, dict(hostile, kind="run", runs=[HOSTILE])],
                "workflows": [{"workflow": "w " + HOSTILE, "passed": True, "benchmark": report_fixtures.benchmark_report("c1", "a/b", tests)}]}
    for page in (pages.cluster_page(document), pages.index_page(HOSTILE, [("c1", "c1/report.html", document)])):
        assert "<script" not in page and "<img" not in page and "<b>p</b>" not in page and "<i>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;p&lt;/b&gt;" in page
    page = pages.cluster_page(document)
    assert 'id="w0-t0-cmp0"' in page and "baseline: peers &quot;&gt;&lt;script&gt;" in page
    bundle = tmp_path / "b"
    write_comparisons(bundle, "c1", document["comparisons"])
    write_cluster(str(bundle), {"cluster": "c1", "workflows": [], "status": "passed"}, "r")
    junit = ElementTree.parse(bundle / "c1" / "junit.xml").getroot()
    assert [s.get("name") for s in junit.iter("testsuite")] == ["c1 vs peers " + HOSTILE] * 2
    assert [c.get("name") for c in junit.iter("testcase")] == ["t " + HOSTILE, "verdict"] * 2


@pytest.mark.parametrize("metric, text", [
    ({"shift": 0.38, "lower": 0.30, "upper": 0.46}, "+38% (95% CI +30%..+46%)"),
    ({"shift": -0.12, "lower": -0.2, "upper": -0.05}, "-12% (95% CI -20%..-5%)"),
    ({"shift": 0.02, "lower": -0.01, "upper": 0.05}, "+2% (95% CI -1%..+5%)"),
    ({"shift": 0.001, "lower": -0.004, "upper": 0.006}, "+0.1% (95% CI -0.4%..+0.6%)"),
    ({"shift": -0.00004, "lower": -0.00002, "upper": 0.0}, "+0.00% (95% CI +0.00%..+0.00%)"),
    ({"shift": 0.38, "lower": None, "upper": None}, "+38% (no 95% CI)"),
    ({"shift": 0.38, "lower": 0.3, "upper": 0.46, "confidence": 0.9}, "+38% (90% CI +30%..+46%)"),
    ({"shift": None}, "n/a"),
    ({"shift": float("nan")}, "n/a"),
    ({"difference": 0.0, "lower": -0.0188, "upper": 0.0188, "rate": 0.0}, "+0.0 points (95% CI -1.9..+1.9)"),
    ({"difference": 0.054, "lower": 0.02, "upper": 0.09, "rate": 0.06}, "+5.4 points (95% CI +2.0..+9.0)"),
])
def test_a_shift_reads_with_its_interval(metric, text):
    assert pages.metric_text(metric) == text


@pytest.mark.parametrize("value, text", [(0.00001, "p < 0.001"), (0.0009999, "p < 0.001"), (0.001, "p = 0.001"),
                                         (0.0543, "p = 0.054"), (0.5, "p = 0.5"), (1.0, "p = 1"), (None, ""), (True, "")])
def test_a_p_value_reads_with_two_significant_figures(value, text):
    assert pages.p_text(value) == text


def judged_by_the_judge():
    """A comparison made by measure.judge itself (its shapes, messages and scoring): a regression, and a test
    the baseline does not have (unknown, no metrics and no histograms)."""
    steady = report_fixtures.measured("steady", report_fixtures.latencies(300, 12, seed=1))
    cold = report_fixtures.measured("cold", report_fixtures.latencies(30, 40, seed=3))
    baseline = report_fixtures.measured("steady", report_fixtures.latencies(300, 9, seed=2))
    tests = [judge.judge_test("w", steady, baseline, judge.Settings(), label="snapshot x"),
             judge.judge_test("w", cold, None, judge.Settings(), label="snapshot x")]
    comparison = dict({"kind": "run", "baseline": "snapshot x", "runs": [BEFORE]}, **judge.score(tests, baseline="snapshot x"))
    comparison["tests"] = tests
    document = {"cluster": "c1", "status": "passed", "comparisons": [comparison],
                "workflows": [{"workflow": "w", "passed": True, "benchmark": report_fixtures.benchmark_report("c1", "a/b", [steady, cold])}]}
    return document, comparison


def test_the_pages_render_what_the_judge_writes():
    document, comparison = judged_by_the_judge()
    assert comparison["verdict"] == "fail" and comparison["unknown_tests"] == 1
    page = pages.cluster_page(document)
    assert pages.cluster_status(document) == "failed" and "1 comparison with a baseline did not pass" in page
    run = section(page, "cmp0")
    for metric in comparison["tests"][0]["metrics"]:
        assert pages.esc(metric["message"]) in run and pages.metric_text(metric) in text_of(run)
    assert pages.esc(comparison["tests"][1]["reason"]) in run and text_of(run).count("–") >= 3
    cold = section(page, "w0-t1")
    assert "the comparison carries no latency histogram of the baseline" in cold and '<polyline class="client line"' in cold
    assert "vs-run line" not in cold
    index = pages.index_page("r", [("c1", "c1/report.html", document)])
    assert "against snapshot x (0 of 1 tests pass, 1 not compared)" in index
    junit = ElementTree.fromstring(render_cluster_junit(document).split("\n", 1)[1])
    suite = [s for s in junit.iter("testsuite") if s.get("name") == "c1 vs snapshot x"][0]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "2", "1")


def test_a_comparison_that_could_compare_no_test_makes_a_passed_cluster_inconclusive(tmp_path):
    document, _comparison = judged_by_the_judge()
    tests = [document["comparisons"][0]["tests"][1]]
    nothing = dict({"kind": "peers", "baseline": "peers p1", "peers": ["p1"]}, **judge.score(tests, baseline="peers p1"), tests=tests)
    assert nothing["verdict"] == "inconclusive" and nothing["score"] is None
    bundle = tmp_path / "b"
    write_comparisons(bundle, "c1", [nothing])
    _paths, written = write_cluster(str(bundle), {"cluster": "c1", "status": "passed", "passed": True, "workflows": []}, "r")
    assert written["status"] == "inconclusive" and written["passed"] is False
    page = (bundle / "c1" / "report.html").read_text()
    assert "1 comparison with a baseline could compare no test (not a pass)" in page
    assert '<span class="badge inconclusive">inconclusive</span>' in page
    junit = ElementTree.parse(bundle / "c1" / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("skipped")) == ("2", "0", "2")
    verdict = [c for c in junit.iter("testcase") if c.get("name") == "verdict"][0].find("skipped")
    assert verdict.get("message").startswith("inconclusive: inconclusive: no test could be compared with peers p1")
    document["comparisons"].append(nothing)
    assert pages.cluster_status(document) == "failed"  # a failed comparison beside it still fails the cluster
