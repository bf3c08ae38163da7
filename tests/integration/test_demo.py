"""`make demo`, the README's first command, as a new user runs it on a fresh copy of the checkout.

The demo starts its own localclusters, deploys and benchmarks the image pipeline, then runs again.
What is checked is what the demo is for: the re-run changes nothing and is judged against the
first run, and the report has figures to show, every chart of both tests drawn from 200 calls.
The judge's verdict itself rests on measured latencies, so any verdict is accepted here (timings
never decide a test); what must hold is that both tests were compared and that the demo's exit
status and last line follow the verdict. The page of the re-run is kept in tests/output/
(demo-report-screenshot.png) for people to look at.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.browser import browser_page, check_cluster_page
from tests.integration.fresh_clone import fresh_copy, operator_env
from tests.integration.playbook import ROOT

SCREENSHOT = ROOT / "tests" / "output" / "demo-report-screenshot.png"
CALLS = 200  # each test of workflows/image_benchmark.json
TESTS = ["thumbnail and boxes in parallel", "small thumbnail, several boxes"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``make demo`` in a fresh copy: (the copy, the finished command)."""
    tmp = tmp_path_factory.mktemp("demo")
    clone = tmp / "clone"
    fresh_copy(clone)
    (tmp / "home").mkdir()
    done = subprocess.run(["make", "demo"], cwd=clone, env=operator_env(tmp / "home"), capture_output=True,
                          text=True, timeout=900, check=False)
    return clone, done


def explain(done: subprocess.CompletedProcess) -> str:
    return f"make demo exited {done.returncode}\n--- stdout\n{done.stdout[-20000:]}\n--- stderr\n{done.stderr[-5000:]}"


def reports(clone: Path) -> Path:
    return clone / ".localcluster" / "demo" / "reports"


def run_results(clone: Path) -> list[dict]:
    """The destination's results.json of each run, oldest first."""
    runs = sorted((reports(clone) / "runs").iterdir())
    return [json.loads((run / "local_destination" / "results.json").read_text()) for run in runs]


def test_the_demo_runs_twice_and_the_second_run_changes_nothing(demo):
    clone, done = demo
    assert "second run: local_destination changed=0, localhost changed=0" in done.stdout, explain(done)
    assert len(re.findall(r"^time to verdict, (first run|unchanged re-run): [0-9.]+ s", done.stdout, re.M)) == 2, explain(done)
    assert "pip install" not in done.stdout, "make demo reinstalled the shared venv (see fresh_copy)"
    assert len(run_results(clone)) == 2


def test_the_rerun_is_judged_against_the_first_and_the_exit_status_follows(demo):
    clone, done = demo
    first, second = run_results(clone)
    assert "comparisons" not in first or first["comparisons"] == [], "the first run has nothing to be judged against"
    (comparison,) = json.loads((reports(clone) / "summary.json").read_text())["clusters"][0]["comparisons"]
    assert comparison["kind"] == "run" and comparison["baseline"] == "the previous run", comparison
    assert comparison["compared_tests"] == len(TESTS), comparison
    assert {test["status"] for test in comparison["tests"]} <= {"passed", "failed"}, comparison
    assert comparison["runs"] == [first["run_id"]], comparison
    passed = comparison["verdict"] == "pass"
    assert done.returncode == (0 if passed else 2), explain(done)
    assert re.findall(r"^demo (PASSED|FAILED)$", done.stdout, re.M) == ["PASSED" if passed else "FAILED"], explain(done)
    assert re.search(r"^    judged: " + re.escape(comparison["verdict"]) + r"\b", done.stdout, re.M), explain(done)


def test_the_ratchet_starts_its_history_and_then_warms(demo):
    clone, _done = demo
    statuses = [{test["name"]: test["ratchet"]["status"] for test in results["workflows"][0]["benchmark"]["tests"]}
                for results in run_results(clone)]
    assert statuses == [dict.fromkeys(TESTS, "baseline"), dict.fromkeys(TESTS, "warming")]


def test_every_chart_of_both_tests_is_drawn_from_every_call(demo, tmp_path):
    clone, done = demo
    for results in run_results(clone):
        tests = results["workflows"][0]["benchmark"]["tests"]
        assert [test["name"] for test in tests] == TESTS
        for test in tests:
            assert test["calls"] == CALLS and test["errors"] == 0 and test["warmup"]["calls"] == 4, test["name"]
            assert {name: histogram["count"] for name, histogram in test["histograms"].items()} == dict.fromkeys(
                ("latency", "overhead", "server"), CALLS), test["name"]
            assert sum(point["completed"] for point in test["timeseries"]["points"]) == CALLS, test["name"]
            assert len(test["timeseries"]["points"]) >= 2, "calls per second over a single second"
    # the demo ends with the last run's report (before the clusters stop)
    last = re.search(r"^the report, every call of every test in its charts: file://(\S+/index\.html)\n\ndemo (PASSED|FAILED)$",
                     done.stdout, re.M)
    assert last, explain(done)
    index = Path(last.group(1))
    assert index.is_file() and index.parent.parent == reports(clone) / "runs" and index.parent.name == run_results(clone)[-1]["run_id"]
    with browser_page(tmp_path) as (page, problems, requests):
        page.goto(index.as_uri())
        page.locator("table.matrix a[href^='local_destination/report.html']").first.click()
        page.wait_for_load_state("load")
        check_cluster_page(page, "local_destination/report.html")
        sections = page.locator("section.test")
        texts = [sections.nth(i).inner_text() for i in range(sections.count())]
        assert len(texts) == len(TESTS) and all(f"{CALLS} calls" in text for text in texts), texts
        # every chart of the tests has more than a point or two to show
        marks = page.evaluate("""() => Array.from(document.querySelectorAll('section.test svg.chart'))
            .filter(svg => svg.closest('.compare') === null)
            .map(svg => svg.querySelectorAll('rect, circle, polyline, path').length)""")
        assert len(marks) == 5 * len(TESTS) and min(marks) > 2, marks
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []
    assert [url for url in requests if not url.startswith("file:")] == []


def test_the_clusters_answered_no_request_with_a_500(demo):
    clone, _done = demo
    logs = sorted((clone / ".localcluster" / "demo").glob("*/requests.log"))
    assert len(logs) == 2
    errors = [line for log in logs for line in log.read_text().splitlines() if json.loads(line).get("status") == 500]
    assert errors == []
