"""The run bundle end to end: playbooks/testbench.yml against a localcluster writes the bundle
(pages, results, JUnit, masked input), and the pages render in headless Chromium (Debian's
package, driven by playwright) with no console error and no request other than file:.

The browser pages are the bundle of that real run and a bundle made from fixtures with a failed,
an inconclusive and a ratchet-regressed test (tests/unit/report_fixtures.py), and the judge's
comparisons of its clusters with an earlier run, their peers and the source cluster. The
screenshots are kept in tests/output/ for people to look at: report-screenshot.png (a cluster's
page), comparison-screenshot.png (its comparisons and a test's curves over its baselines) and
comparison-index-screenshot.png (the run's index with the clusters against their peers).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.collection import ensure_importable
from tests.integration.browser import browser_page, check_cluster_page
from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, key_material_in, write_inventory

ensure_importable()

SCREENSHOT = ROOT / "tests" / "output" / "report-screenshot.png"
COMPARISON_SCREENSHOT = ROOT / "tests" / "output" / "comparison-screenshot.png"
COMPARISON_INDEX_SCREENSHOT = ROOT / "tests" / "output" / "comparison-index-screenshot.png"
PLANTED = "planted-Secret-4242-do-not-show"
TESTS = [
    {"name": "steady", "payload": "Algorithmia", "calls": 60, "concurrency": 4,
     "gates": ["p(95) < 20000", "error_rate < 0.01"]},
    {"name": "too few for p(99)", "payload": "x", "calls": 3, "gates": ["p(99) < 20000"]},
    {"name": "open 20/s", "payload": "o", "rate": 20, "duration": 1.5, "warmup": 2},
]


@pytest.fixture(scope="module")
def real_run(cluster, tmp_path_factory):
    """The playbook on one workflow (a name with a space and an ampersand) with two tests."""
    tmp = tmp_path_factory.mktemp("bundle")
    workflows = tmp / "project" / "workflows"
    workflows.mkdir(parents=True)
    (tmp / "project" / "algorithms").mkdir()
    (tmp / "project" / "algorithms" / "hello_world").symlink_to(ROOT / "algorithms" / "hello_world")
    path = workflows / "echo & load.json"
    path.write_text(json.dumps({
        "test_info": {"entrypoint": "hello_world", "tests": TESTS},
        "algorithms": [{"name": "hello_world", "language": "python3", "test_payload": "Algorithmia"}]}))
    reports = tmp / "reports"
    inventory = write_inventory(tmp / "inventory.yml", {"dest": destination(
        cluster, testbench_extra_token=PLANTED, testbench_source_api_key=PLANTED + "-source")},
        {"testbench_workflows": [str(path)], "testbench_report_dir": str(reports)})
    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory)
    bundles = sorted((reports / "runs").iterdir()) if (reports / "runs").is_dir() else []
    assert len(bundles) == 1, explain(run)
    return run, bundles[0]


def test_the_run_writes_its_bundle(real_run, cluster):
    run, bundle = real_run
    assert run.rc == 0, explain(run)
    assert f"Reports of this run: {bundle / 'index.html'}" in run.stdout
    dest = bundle / "dest"
    assert sorted(p.name for p in dest.iterdir()) == [
        "history", "input.json", "junit.xml", "record.jsonl", "report.html", "results.json", "workflows"]
    # the ratchet histories the tests were compared with (testbench_history_dir's default is on)
    copied = {p.name: json.loads(p.read_text()) for p in (dest / "history" / "echo_load").iterdir()}
    assert sorted(copied) == ["open_20_s.json", "steady.json", "too_few_for_p_99_.json"]
    # the first run of a history was compared with nothing; the file says where the history is kept
    assert copied["steady.json"]["runs"] == []
    assert "/history/dest/" in copied["steady.json"]["history_file"]
    results = json.loads((dest / "results.json").read_text())
    assert results["cluster"] == "dest" and results["status"] == "inconclusive" and results["run_id"] == bundle.name
    workflow = results["workflows"][0]
    assert workflow["workflow"] == "echo & load" and workflow["passed"] is True
    steady, few, opened = workflow["benchmark"]["tests"]
    assert steady["status"] == "passed" and steady["calls"] == 60 and steady["histograms"]["latency"]["count"] == 60
    assert few["status"] == "inconclusive"
    assert opened["load"]["model"] == "open" and opened["histograms"]["intended"]["count"] == opened["calls"]
    # the benchmark's own reports sit in the workflow's directory, its name made safe as the role makes it
    assert sorted(p.suffix for p in (dest / "workflows" / "echo_load").iterdir()) == [".html", ".json", ".xml"]
    junit = ElementTree.parse(dest / "junit.xml").getroot()
    assert junit.get("tests") == "3" and junit.get("failures") == "0" and junit.get("skipped") == "1"
    page = (dest / "report.html").read_text()
    assert "Some tests are inconclusive (not a pass)" in page and "echo &amp; load" in page
    index = (bundle / "index.html").read_text()
    assert 'href="dest/report.html#w0-t2"' in index and "inconclusive" in index
    assert "open: 20 calls/s for 1.5 s, at most" in page and "latency from the intended start" in page


def test_the_input_is_there_with_every_key_masked(real_run, cluster):
    _run, bundle = real_run
    effective = json.loads((bundle / "input.json").read_text())
    settings = effective["clusters"]["dest"]["settings"]
    assert settings["testbench_api_key"] == settings["testbench_extra_token"] == "********"
    assert settings["testbench_source_api_key"] == "********"
    assert settings["testbench_api_address"] == cluster.url and settings["testbench_strict"] is False
    assert [w["name"] for w in effective["clusters"]["dest"]["workflows"]] == ["echo & load"]
    assert effective["clusters"]["dest"]["workflows"][0]["tests"][0]["calls"] == 60
    places = {str(p.relative_to(bundle)): p.read_text(errors="replace") for p in bundle.rglob("*") if p.is_file()}
    assert key_material_in(places, [cluster.key, PLANTED]) == []


def fixture_bundle(directory: Path) -> Path:
    """A bundle of two clusters from fixtures: one with a passed, a failed, an inconclusive and a
    ratchet-regressed test (and a workflow whose build failed), compared with the snapshot before
    its upgrade (failed), its peers (marginal) and the source (passed); one that passed, also
    against its peers."""
    from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import write_reports
    from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import (
        workflow_reports_dir,
        write_cluster,
        write_index,
    )
    from tests.unit import report_fixtures

    bundle = directory / "runs" / "20250307T101500Z-000001"
    directory.mkdir(parents=True, exist_ok=True)
    history = directory / "history.json"
    history.write_text('{"runs": []}\n')
    mixed = report_fixtures.mixed_tests(history_file=str(history))
    clusters = {"prod-eu": (mixed, "failed"), "prod-us": (mixed[:1], "passed")}
    us_peers = report_fixtures.comparison("peers", "peers prod-eu, prod-ap", [report_fixtures.compared_test(
        "hello world", mixed[0], report_fixtures.latencies(800, 11.9, seed=61, slow_every=50, slow_ms=30))], peers=["prod-eu", "prod-ap"])
    judged = {"prod-eu": report_fixtures.mixed_comparisons(mixed), "prod-us": [us_peers]}
    for cluster, comparisons in judged.items():
        (bundle / cluster).mkdir(parents=True)
        (bundle / cluster / "comparison.json").write_text(json.dumps(report_fixtures.comparison_document(cluster, comparisons)))
    for cluster, (tests, status) in clusters.items():
        write_reports(report_fixtures.benchmark_report(cluster, "alice/hello_world", tests),
                      workflow_reports_dir(str(bundle), cluster, "hello world"), "benchmark-" + cluster)
        workflows = [{"workflow": "hello world", "passed": status == "passed"}]
        if cluster == "prod-eu":
            workflows.append({"workflow": "image pipeline", "passed": False, "step": "build and publish Resize",
                              "message": "build failed: SyntaxError", "summary": "failed at step build and publish "
                              "Resize of workflow image pipeline: build failed: SyntaxError"})
        write_cluster(str(bundle), {"cluster": cluster, "api_address": "https://" + cluster + ".example.com",
                                    "status": status, "workflows": workflows}, bundle.name,
                      {"settings": {"testbench_api_key": PLANTED}})
    write_index(str(bundle), bundle.name, list(clusters) + ["never-ran"])
    return bundle


def test_the_pages_render_in_headless_chromium(real_run, tmp_path):
    bundles = [real_run[1], fixture_bundle(tmp_path / "fixture")]
    with browser_page(tmp_path) as (page, problems, requests):
        for bundle in bundles:
            page.goto((bundle / "index.html").as_uri())
            assert page.locator(".verdict .word").first.is_visible()
            links = page.locator("table.matrix:not(.peers) tbody tr td:first-child a")
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            assert hrefs, f"no cluster linked in {bundle / 'index.html'}"
            for href in hrefs:
                page.goto((bundle / "index.html").as_uri())
                page.locator(f"table.matrix a[href='{href}']").first.click()
                page.wait_for_load_state("load")
                check_cluster_page(page, href)
        prod_eu = bundles[1] / "prod-eu" / "report.html"
        page.goto(prod_eu.as_uri())
        texts = page.locator("table.verdicts").inner_text()
        assert all(word in texts for word in ("passed", "failed", "inconclusive", "regressed")), texts
        assert "regressed: latency p(95) 140 ms -> " in page.locator("section.test").nth(3).inner_text()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []
    assert requests and [url for url in requests if not url.startswith("file:")] == []
    assert SCREENSHOT.stat().st_size > 10000


def test_the_comparisons_render_in_headless_chromium(tmp_path):
    """The index's clusters against their peers link to each test's curves over the peers'; a
    cluster's page shows its comparison with an earlier run and with its peers, each test's shift
    with its interval, p and class, and each test's latency curve over each baseline's."""
    from tests.unit.report_fixtures import BEFORE_UPGRADE
    bundle = fixture_bundle(tmp_path / "fixture")
    with browser_page(tmp_path) as (page, problems, requests):
        page.goto((bundle / "index.html").as_uri())
        peers = page.locator("table.matrix.peers")
        assert peers.is_visible()
        rows = peers.locator("tbody tr")
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == ["prod-eu", "prod-us"]
        assert "prod-us, prod-ap" in rows.nth(0).inner_text() and "marginal" in rows.nth(0).inner_text()
        others = page.locator("ul.comparisons li")
        assert others.count() == 1 and "fail against snapshot before-upgrade (2 of 4 tests pass)" in others.first.inner_text()
        page.set_viewport_size({"width": 1360, "height": 700})
        page.screenshot(path=str(COMPARISON_INDEX_SCREENSHOT), full_page=True)
        # a cell of the matrix leads to that test's curve over its peers' on the cluster's page
        page.locator("table.matrix.peers a[href='prod-eu/report.html#w0-t0-cmp1']").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("prod-eu/report.html#w0-t0-cmp1")
        target = page.locator("#w0-t0-cmp1")
        assert target.is_visible() and "Against peers prod-us, prod-ap" in target.inner_text()
        sections = page.locator("section.comparison")
        assert sections.count() == 3
        run = sections.nth(0).inner_text()
        assert "Against snapshot before-upgrade" in run and "Compared with earlier run " + BEFORE_UPGRADE in run
        assert "+37% (95% CI +31%..+43%)" in run and "p < 0.001" in run and "regression" in run and "unknown" in run
        assert "Compared with its peers in this run, pooled: prod-us, prod-ap." in sections.nth(1).inner_text()
        charts = page.evaluate("""() => Array.from(document.querySelectorAll('.compare svg.chart')).map(svg => {
            const box = svg.getBoundingClientRect();
            return {width: box.width, height: box.height,
                    lines: Array.from(svg.querySelectorAll('polyline')).map(line => line.getAttribute('class')),
                    dash: Array.from(svg.querySelectorAll('polyline')).map(line => getComputedStyle(line).strokeDasharray)};
        })""")
        assert len(charts) == 10, charts
        for chart in charts:
            assert chart["width"] > 300 and chart["height"] > 100, chart
            assert chart["lines"][0] == "client line" and chart["lines"][1] in ("vs-run line", "vs-peers line", "vs-source line")
            assert chart["dash"][0] == "none" and chart["dash"][1] != "none", chart
        COMPARISON_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        # from the Comparisons heading to the end of the first test's section, in page coordinates
        top, bottom = page.evaluate("""() => [
            document.evaluate("//h2[text()='Comparisons']", document, null, 9, null).singleNodeValue.getBoundingClientRect().top,
            document.getElementById('w0-t0').getBoundingClientRect().bottom].map(y => y + window.scrollY)""")
        page.screenshot(path=str(COMPARISON_SCREENSHOT), full_page=True,
                        clip={"x": 0, "y": top - 10, "width": 1360, "height": bottom - top + 20})
    assert problems == []
    assert requests and [url for url in requests if not url.startswith("file:")] == []
    assert COMPARISON_SCREENSHOT.stat().st_size > 10000 and COMPARISON_INDEX_SCREENSHOT.stat().st_size > 10000
