"""algo_benchmark against a real localcluster: tests, gates, failures named, reports written.

One algorithm (``Bench``) is built and published once for the module, by algo_build_publish.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
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


@contextmanager
def entrypoint_faults(cluster, seed):
    """5% 503s and 5% connection resets on the Bench entrypoint while the block runs (seeded); yields
    the entrypoint's path prefix, for reading the request log."""
    admin = {"Authorization": f"Simple {cluster.admin_key}"}
    prefix = f"/v1/algo/{cluster.user}/Bench"
    rules = [{"kind": "error", "status": 503, "rate": 0.05, "path_prefix": prefix},
             {"kind": "drop", "rate": 0.05, "path_prefix": prefix}]
    answer = requests.put(f"{cluster.url}/localcluster/faults", json={"rules": rules, "seed": seed}, headers=admin,
                          timeout=30, verify=cluster.ca_cert)
    assert answer.status_code == 200, answer.text
    try:
        yield prefix
    finally:
        requests.delete(f"{cluster.url}/localcluster/faults", headers=admin, timeout=30, verify=cluster.ca_cert)


def test_injected_faults_are_counted_once_each_with_their_kind(cluster, published, run_playbook):
    """5% 503s and 5% connection resets on the entrypoint: the module's counts by kind are what the
    cluster's request log says it injected, and every call is exactly one request (no retry)."""
    start = len(cluster.request_log())
    with entrypoint_faults(cluster, seed=3) as prefix:
        tests = [{"name": "under faults", "payload": "x", "calls": 200, "concurrency": 4,
                  "expected_output": "hello x", "gates": ["error_rate < 0.5"]}]
        run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
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


def algorithm_calls(cluster, start, prefix, expected):
    """The entrypoint calls the cluster logged since ``start``, waiting (bounded) for ``expected``
    of them: a reset request is logged once the server has cleaned it up."""
    for _wait in range(100):
        calls = [entry for entry in cluster.request_log()[start:]
                 if entry["method"] == "POST" and entry["path"].startswith(prefix)]
        if len(calls) >= expected:
            break
        time.sleep(0.02)
    return calls


def test_each_load_model_with_its_warmup(cluster, published, run_playbook):
    tests = [
        {"name": "closed calls", "payload": "x", "calls": 4, "concurrency": 2, "warmup": 2,
         "expected_output": "hello x"},
        {"name": "closed duration", "payload": "x", "duration": 1, "concurrency": 2, "warmup": 2,
         "expected_output": "hello x"},
        # 8 in flight at 10 calls/s: a call would have to take 0.8 s for one to be dropped
        {"name": "open", "payload": "x", "rate": 10, "duration": 1, "max_in_flight": 8, "warmup": 1,
         "expected_output": "hello x", "gates": ["p(50) < 60000"]},
    ]
    start = len(cluster.request_log())
    run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
    result = run.task("Benchmark")
    assert not result.get("failed"), result.get("msg")
    closed, timed, opened = result["tests"]
    assert closed["load"] == {"model": "closed", "calls": 4, "concurrency": 2} and closed["calls"] == 4
    assert timed["load"] == {"model": "closed", "duration": 1, "concurrency": 2}
    assert timed["calls"] >= 2 and timed["elapsed_s"] >= 1 and timed["throughput"] > 0
    assert opened["load"] == {"model": "open", "rate": 10, "duration": 1, "max_in_flight": 8}
    assert opened["calls"] == 10 and opened["dropped"] == 0 and opened["status"] == "passed"
    assert [gate["gate"] for gate in opened["gates"]] == ["p(50) < 60000", "error_rate <= 0", "dropped == 0"]
    assert opened["histograms"]["intended"]["count"] == opened["histograms"]["schedule_lag"]["count"] == 10
    assert opened["intended_latency_ms"]["min"] >= opened["latency_ms"]["min"] >= 0
    assert opened["schedule_lag_ms"]["max"] is not None and opened["elapsed_s"] >= 1
    for test in (closed, timed):
        assert test["dropped"] == 0 and test["intended_latency_ms"] is None and test["schedule_lag_ms"] is None
        assert "intended" not in test["histograms"] and test["status"] == "passed"
    for test, warmup_calls in zip((closed, timed, opened), (2, 2, 1)):
        warmup = test["warmup"]
        assert warmup["calls"] == warmup_calls and warmup["errors"] == 0 and warmup["first_ms"] > 0
        assert test["histograms"]["latency"]["count"] == test["calls"]  # warmup apart
    # one request per call, warmup included: nothing more, nothing repeated
    made = sum(test["calls"] + test["warmup"]["calls"] for test in result["tests"])
    assert len(algorithm_calls(cluster, start, f"/v1/algo/{cluster.user}/Bench", made)) == made


def test_an_open_test_the_algorithm_cannot_sustain_drops_calls_and_fails(cluster, published, run_playbook):
    """20 calls/s of calls that take 0.5 s, at most 2 in flight: the calls due meanwhile are
    dropped (never sent), and the implicit gate ``dropped == 0`` fails the test."""
    tests = [{"name": "overloaded", "payload": {"sleep": 0.5}, "rate": 20, "duration": 1, "max_in_flight": 2,
              "expected_output": "slept"}]
    start = len(cluster.request_log())
    run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
    result = run.task("Benchmark")
    assert result["failed"]
    (test,) = result["tests"]
    assert test["status"] == "failed" and test["dropped"] > 0 and test["calls"] + test["dropped"] == 20
    assert test["errors"] == 0 and test["errors_by_kind"] == {} and test["error_rate"] == 0
    line = ("gate dropped == 0: dropped {0} is not == 0; {0} of 20 calls due at 20/s could not start on time: "
            "max_in_flight (2) calls were still running").format(test["dropped"])
    assert test["failures"][0].startswith(line) and "test 'overloaded': " + line in result["msg"]
    print("overloaded:", test["calls"], "calls made,", test["dropped"], "dropped; schedule lag",
          test["schedule_lag_ms"], "latency from the due time", test["intended_latency_ms"])
    # the dropped calls were never sent
    calls = algorithm_calls(cluster, start, f"/v1/algo/{cluster.user}/Bench", test["calls"])
    assert len(calls) == test["calls"]


def test_injected_faults_in_an_open_test_are_counted_once_each_with_their_kind(cluster, published, run_playbook):
    """5% 503s and 5% resets on the entrypoint during an open test: the errors by kind are what the
    request log says the server injected, and it saw exactly one request per call made."""
    start = len(cluster.request_log())
    with entrypoint_faults(cluster, seed=5) as prefix:
        tests = [{"name": "open under faults", "payload": "x", "rate": 50, "duration": 3, "max_in_flight": 16,
                  "expected_output": "hello x", "gates": ["error_rate < 0.5"]}]
        run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
    result = run.task("Benchmark")
    (test,) = result["tests"]
    assert test["load"]["model"] == "open" and test["calls"] + test["dropped"] == 150
    # a machine too slow for 50 calls/s drops calls (and fails dropped == 0): the counts below hold all the same
    assert [gate["gate"] for gate in test["gates"] if gate["status"] != "pass"] == (
        ["dropped == 0"] if test["dropped"] else []), result.get("msg")
    calls = algorithm_calls(cluster, start, prefix, test["calls"])
    injected = {}
    for entry in calls:
        if entry.get("fault"):
            injected[entry["fault"]] = injected.get(entry["fault"], 0) + 1
    assert len(calls) == test["calls"]  # one request per call made: nothing repeated, nothing dropped sent
    assert injected.get("error", 0) > 0 and injected.get("drop", 0) > 0, injected
    assert test["errors_by_kind"] == {"http_5xx": injected["error"], "connect": injected["drop"]}
    assert test["errors"] == injected["error"] + injected["drop"]
    print("open model: injected", injected, "reported", test["errors_by_kind"], "dropped", test["dropped"])


def test_contradictory_load_fields_are_refused_before_any_call(cluster, published, run_playbook):
    calls_before = len([e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")])
    tests = [{"name": "mixed", "payload": 1, "rate": 5, "duration": 1, "concurrency": 4}]
    run = run_playbook(playbook(bench_task("Benchmark", tests)), extra_vars=published)
    result = run.task("Benchmark")
    assert result["failed"] and "nothing was called" in result["msg"]
    assert "test 'mixed': concurrency is for closed tests" in result["msg"]
    assert "Fix: use max_in_flight instead of concurrency" in result["msg"]
    assert len([e for e in cluster.request_log() if e["path"].startswith("/v1/algo/")]) == calls_before


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
