"""algo_benchmark against a real localcluster: tests, gates, failures named, reports written.

One algorithm (``Bench``) is built and published once for the module, by algo_build_publish.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
import requests

from tests.integration.test_algo_build_publish import create_algorithm, playbook, template_copy

BENCH_SOURCE = '''import time


def apply(input):
    if isinstance(input, dict) and "sleep" in input:
        time.sleep(input["sleep"])
        return "slept"
    if input == "fail":
        raise ValueError("asked to fail")
    return "hello {}".format(input)
'''


def bench_task(title, tests, **options):
    options = dict({"algorithm": "Bench", "tests": tests}, **options)
    return {"name": title, "algorithmia.testbench.algo_benchmark": options, "ignore_errors": True}


@pytest.fixture(scope="module")
def published(cluster, tmp_path_factory):
    from tests.integration.playbook import run_playbook

    create_algorithm(cluster, "Bench")
    template = template_copy(tmp_path_factory.mktemp("template"), "Bench", BENCH_SOURCE)
    connection = {"api_address": cluster.url, "api_key": cluster.key}
    run = run_playbook(playbook({"name": "Publish", "algorithmia.testbench.algo_build_publish": {
        "name": "Bench", "template_dir": str(template), "test_payload": "x"}}),
        tmp_path_factory.mktemp("publish"), extra_vars=connection)
    result = run.task("Publish")
    assert not result.get("failed"), result.get("msg")
    return dict(connection, git_hash=result["git_hash"])


GOOD_TESTS = [
    {"name": "basic test", "payload": "Algorithmia", "timeout": 10, "expected_output": "hello Algorithmia"},
    {"name": "json payload", "payload": {"n": 1}, "calls": 6, "concurrency": 3},
    {"name": "checked", "payload": {"n": 1}, "calls": 2, "expected_pattern": "^hello \\{'n': 1\\}$"},
]


def test_passing_tests_report_statistics_and_write_reports(cluster, published, run_playbook, tmp_path):
    report_dir = tmp_path / "reports"
    run = run_playbook(playbook(bench_task("Benchmark", GOOD_TESTS, cluster_name="dest1",
                                           report_dir=str(report_dir))), extra_vars=published)
    result = run.task("Benchmark")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["passed"] is True
    assert result["version"] == "0.1.0" and result["git_hash"] == published["git_hash"]
    basic, payload, checked = result["tests"]
    assert basic["name"] == "basic test" and basic["passed"] and basic["calls"] == 1 and basic["errors"] == 0
    assert basic["result"] == "hello Algorithmia" and basic["timeout"] == 10
    assert basic["p50_ms"] > 0 and basic["p95_ms"] >= basic["p50_ms"] and len(basic["durations_ms"]) == 1
    assert payload["calls"] == 6 and payload["concurrency"] == 3 and payload["errors"] == 0
    assert payload["result"] == "hello {'n': 1}" and len(payload["durations_ms"]) == 6
    assert checked["status"] == "passed" and checked["errors"] == 0 and result["inconclusive"] == []
    assert basic["status"] == "passed" and basic["server_ms"]["max"] is not None
    assert basic["histograms"]["latency"]["count"] == 1 and basic["errors_by_kind"] == {}

    paths = result["reports"]
    assert sorted(paths) == ["html", "json", "junit"]
    document = json.loads(report_dir.joinpath("benchmark-dest1-Bench.json").read_text())
    assert document["cluster"] == "dest1" and document["algorithm"] == f"{cluster.user}/Bench"
    assert [t["name"] for t in document["tests"]] == ["basic test", "json payload", "checked"]
    junit = ElementTree.parse(paths["junit"]).getroot()
    assert junit.get("tests") == "3" and junit.get("failures") == "0"
    assert [c.get("name") for c in junit.iter("testcase")] == ["basic test", "json payload", "checked"]
    html = report_dir.joinpath("benchmark-dest1-Bench.html").read_text()
    assert "All tests passed" in html and "basic test" in html
    for path in paths.values():
        assert cluster.key not in open(path, encoding="utf-8").read()
    assert cluster.key not in run.stdout + run.stderr


def test_failures_name_the_test_and_the_error(published, run_playbook, tmp_path):
    tests = [
        {"name": "greets", "payload": "x", "expected_output": "hello x"},
        {"name": "wrong greeting", "payload": "x", "expected_output": "bonjour x"},
        {"name": "too slow", "payload": {"sleep": 10}, "timeout": 1},
        {"name": "latency gate", "payload": "x", "gates": ["max < 0.001"]},
        {"name": "all fail", "payload": "fail", "calls": 2, "max_error_rate": 1},
        {"name": "subset", "payload": "x", "expected_subset": {"a": 1}},
    ]
    report_dir = tmp_path / "reports"
    run = run_playbook(playbook(bench_task("Benchmark", tests, report_dir=str(report_dir))),
                       extra_vars=published)
    result = run.task("Benchmark")
    assert result["failed"]
    assert [t["status"] for t in result["tests"]] == ["passed"] + ["failed"] * 5
    message = result["msg"]
    assert "greets" not in message
    assert "test 'wrong greeting'" in message and 'differs from expected_output "bonjour x"' in message
    assert "test 'too slow'" in message and "time" in result["tests"][2]["last_error"].lower()
    assert "test 'latency gate'" in message and "gate max < 0.001: max" in message
    assert "test 'all fail'" in message and "2 of 2 calls failed, all of them (2 algorithm_error)" in message
    assert "asked to fail" in message and result["tests"][4]["errors_by_kind"] == {"algorithm_error": 2}
    assert "test 'subset'" in message and result["tests"][5]["errors_by_kind"] == {"check_failed": 1}
    assert result["tests"][2]["errors_by_kind"] == {"timeout": 1}
    junit = ElementTree.parse(result["reports"]["junit"]).getroot()
    assert junit.get("failures") == "5"
    failed = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failed == ["wrong greeting", "too slow", "latency gate", "all fail", "subset"]


@pytest.mark.parametrize("strict", [False, True])
def test_too_few_calls_for_a_percentile_are_inconclusive(published, run_playbook, tmp_path, strict):
    tests = [{"name": "few calls", "payload": "x", "calls": 5, "concurrency": 2, "gates": ["p(99) < 60000"]}]
    report_dir = tmp_path / "reports"
    run = run_playbook(playbook(bench_task("Benchmark", tests, strict=strict, report_dir=str(report_dir))),
                       extra_vars=published)
    result = run.task("Benchmark")
    (test,) = result["tests"]
    assert test["status"] == "inconclusive" and test["passed"] is False and test["calls"] == 5
    assert test["failures"] == ["gate p(99) < 60000: unknown: p(99) needs at least 100 successful calls "
                                "with a latency duration, 5 have"]
    assert result["passed"] is False and result["inconclusive"] == ["few calls"]
    if strict:
        assert result["failed"] and "test 'few calls': inconclusive: gate p(99) < 60000" in result["msg"]
    else:
        assert not result.get("failed"), result.get("msg")
        assert any("few calls" in warning for warning in result["warnings"])
    junit = ElementTree.parse(result["reports"]["junit"]).getroot()
    assert junit.get("failures") == "0" and junit.get("skipped") == "1"


def test_injected_faults_are_counted_once_each_with_their_kind(cluster, published, run_playbook):
    """5% 503s and 5% connection resets on the entrypoint: the module's counts by kind are what the
    cluster's request log says it injected, and every call is exactly one request (no retry)."""
    admin = {"Authorization": f"Simple {cluster.admin_key}"}
    prefix = f"/v1/algo/{cluster.user}/Bench"
    rules = [{"kind": "error", "status": 503, "rate": 0.05, "path_prefix": prefix},
             {"kind": "drop", "rate": 0.05, "path_prefix": prefix}]
    start = len(cluster.request_log())
    answer = requests.put(f"{cluster.url}/localcluster/faults", json={"rules": rules, "seed": 3}, headers=admin,
                          timeout=30, verify=cluster.ca_cert)
    assert answer.status_code == 200, answer.text
    try:
        tests = [{"name": "under faults", "payload": "x", "calls": 200, "concurrency": 4,
                  "expected_output": "hello x", "gates": ["error_rate < 0.5"]}]
        run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
    finally:
        requests.delete(f"{cluster.url}/localcluster/faults", headers=admin, timeout=30, verify=cluster.ca_cert)
    result = run.task("Benchmark")
    assert not result.get("failed"), result.get("msg")
    (test,) = result["tests"]
    calls = [e for e in cluster.request_log()[start:] if e["method"] == "POST" and e["path"].startswith(prefix)]
    injected = {}
    for entry in calls:
        if entry.get("fault"):
            injected[entry["fault"]] = injected.get(entry["fault"], 0) + 1
    assert len(calls) == test["calls"] == 200  # one request per call: nothing repeated
    assert injected.get("error", 0) > 0 and injected.get("drop", 0) > 0, injected
    assert test["errors_by_kind"] == {"http_5xx": injected["error"], "connect": injected["drop"]}
    assert test["errors"] == injected["error"] + injected["drop"] and test["status"] == "passed"
    print("injected", injected, "reported", test["errors_by_kind"])


def test_check_mode_calls_nothing_and_writes_no_report(cluster, published, run_playbook, tmp_path):
    """An algorithm may write data when it is called, so check mode makes no call at all."""
    report_dir = tmp_path / "reports"
    calls_before = len([e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")])
    run = run_playbook(playbook(bench_task("Benchmark", GOOD_TESTS[:1], version=published["git_hash"],
                                           report_dir=str(report_dir)), check=True), extra_vars=published)
    result = run.task("Benchmark")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["version"] == published["git_hash"]
    assert result["passed"] is None
    assert result["tests"][0]["skipped"] == "check mode: no call made" and result["tests"][0]["calls"] == 0
    assert "reports" not in result and not report_dir.exists()
    assert len([e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")]) == calls_before


def test_bad_tests_are_refused_before_any_call(cluster, published, run_playbook):
    calls_before = [e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")]
    run = run_playbook(playbook(bench_task("Benchmark", [{"name": "t", "payload": 1, "timeout": 3001}])),
                       extra_vars=published)
    result = run.task("Benchmark")
    assert result["failed"] and "nothing was called" in result["msg"] and "timeout" in result["msg"]
    assert [e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")] == calls_before


def test_an_unpublished_algorithm_is_a_clear_error(cluster, published, run_playbook):
    create_algorithm(cluster, "NeverPublished")
    run = run_playbook(playbook(bench_task("Benchmark", GOOD_TESTS[:1], algorithm="NeverPublished")),
                       extra_vars=published)
    result = run.task("Benchmark")
    assert result["failed"] and "has no published version" in result["msg"]
