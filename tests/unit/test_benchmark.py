"""Benchmark logic: test normalisation, statistics, gates, polling, and the three report formats."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import CallOutcome, request_body
from ansible_collections.algorithmia.testbench.plugins.module_utils.benchmark_report import (
    render_html,
    render_junit,
    report_basename,
    write_reports,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.benchmark import (
    BenchmarkSpecError,
    evaluate,
    failure_summary,
    latency_gates,
    normalise_test,
    percentile,
    run_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline, poll


def test_defaults_follow_the_workflow_schema():
    test = normalise_test({"name": "basic", "payload": "x"}, 0)
    assert test == {"name": "basic", "payload": "x", "timeout": 300, "calls": 1, "concurrency": 1,
                    "has_expected_output": False, "expected_output": None, "max_latency_ms": {},
                    "max_error_rate": 0.0}


@pytest.mark.parametrize("field, value, words", [
    ("timeout", 3001, "timeout must be a whole number from 1 to 3000"),
    ("timeout", 0, "timeout must be"),
    ("calls", 0, "calls must be"),
    ("concurrency", 1001, "concurrency must be"),
    ("max_error_rate", 1.5, "max_error_rate must be a fraction"),
    ("max_latency_ms", {"p42": 1}, "max_latency_ms.p42 is not one of"),
    ("max_latency_ms", -1, "must be a positive number"),
    ("max_latency_ms", "fast", "max_latency_ms must be milliseconds"),
])
def test_bad_fields_name_the_test_and_the_field(field, value, words):
    with pytest.raises(BenchmarkSpecError) as caught:
        normalise_test({"name": "t1", "payload": 1, field: value}, 3)
    assert "test 't1'" in str(caught.value) and words in str(caught.value)


def test_a_test_without_a_name_is_named_by_position():
    with pytest.raises(BenchmarkSpecError, match=r"tests\[2\]\.name"):
        normalise_test({"payload": 1}, 2)


def test_latency_gate_forms():
    assert latency_gates(500) == {"p95": 500.0}
    assert latency_gates({"p50": 10, "max": 99}) == {"p50": 10.0, "max": 99.0}
    assert latency_gates(None) == {} and latency_gates({}) == {}


def test_nearest_rank_percentiles():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None


def ok(ms, result="hello"):
    return CallOutcome(True, ms, result=result)


def failed(ms, error="boom"):
    return CallOutcome(False, ms, error=error)


def test_all_good_passes_with_statistics():
    test = normalise_test({"name": "t", "payload": 1, "calls": 4, "expected_output": "hello"}, 0)
    result = evaluate(test, [ok(10), ok(20), ok(30), ok(40)], 0.1)
    assert result["passed"] and result["failures"] == []
    assert result["calls"] == 4 and result["errors"] == 0
    assert result["p50_ms"] == 20 and result["p95_ms"] == 40 and result["latency_ms"]["mean"] == 25
    assert result["result"] == "hello" and result["last_error"] is None


def test_an_unexpected_output_counts_as_an_error():
    test = normalise_test({"name": "t", "payload": 1, "expected_output": {"a": 1}}, 0)
    result = evaluate(test, [ok(5, {"a": 2})], 0.1)
    assert not result["passed"]
    assert result["last_error"] == 'the result {"a": 2} differs from expected_output {"a": 1}'


def test_an_expected_null_is_checked_only_when_flagged():
    flagged = normalise_test({"name": "t", "payload": 1, "expected_output": None, "has_expected_output": True}, 0)
    assert not evaluate(flagged, [ok(5, "x")], 0.1)["passed"]
    unflagged = normalise_test({"name": "t", "payload": 1, "expected_output": None}, 0)
    assert evaluate(unflagged, [ok(5, "x")], 0.1)["passed"]


def test_error_rate_gate():
    test = normalise_test({"name": "t", "payload": 1, "max_error_rate": 0.25}, 0)
    assert evaluate(test, [ok(1), ok(1), ok(1), failed(1)], 0.1)["passed"]
    result = evaluate(test, [ok(1), ok(1), failed(1, "first"), failed(1, "second")], 0.1)
    assert not result["passed"] and result["errors"] == 2 and result["error_rate"] == 0.5
    assert result["failures"] == ["2 of 4 calls failed (50.0%, max_error_rate 25.0%); last error: second"]
    assert failure_summary([result]) == ["test 't': " + result["failures"][0]]


def test_latency_gates_on_successful_calls_only():
    test = normalise_test({"name": "t", "payload": 1, "max_latency_ms": {"p50": 5, "max": 100},
                           "max_error_rate": 0.5}, 0)
    result = evaluate(test, [ok(10), ok(20), failed(5000)], 0.1)
    assert result["failures"] == ["p50 latency 10 ms is above max_latency_ms.p50 5 ms"]


def test_run_test_makes_every_call_with_the_timeout():
    seen = []

    def call(payload, timeout):
        seen.append((payload, timeout))
        return ok(1)

    test = normalise_test({"name": "t", "payload": {"x": 1}, "calls": 7, "concurrency": 3, "timeout": 9}, 0)
    result = run_test(test, call)
    assert result["calls"] == 7 and seen == [({"x": 1}, 9)] * 7


def test_request_bodies_as_the_official_client_sends_them():
    assert request_body("Algorithmia") == (b"Algorithmia", "text/plain")
    assert request_body({"a": 1}) == (b'{"a": 1}', "application/json")
    assert request_body(b"\x00") == (b"\x00", "application/octet-stream")


def test_poll_stops_when_done_or_at_the_deadline():
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    values = iter(["in-progress", "in-progress", "succeeded"])
    assert poll(lambda: next(values), lambda v: v != "in-progress", Deadline(60, lambda: now[0], sleep)) == "succeeded"
    assert sleeps == [0.5, 0.75]
    now[0], sleeps[:] = 0.0, []
    assert poll(lambda: "in-progress", lambda v: False, Deadline(3, lambda: now[0], sleep)) == "in-progress"
    assert sum(sleeps) == pytest.approx(3)


REPORT = {
    "cluster": "dest<1>", "api_address": "http://127.0.0.1:1", "algorithm": "alice/hello", "version": "0.1.0",
    "git_hash": "abc", "started_at": "2025-01-01T00:00:00Z", "passed": False,
    "tests": [
        evaluate(normalise_test({"name": "good", "payload": 1}, 0), [ok(10)], 0.01),
        evaluate(normalise_test({"name": "bad <b>", "payload": 1}, 1), [failed(3, "it & broke")], 0.02),
    ],
}


def test_junit_parses_and_marks_the_failed_test():
    root = ElementTree.fromstring(render_junit(REPORT).encode("utf-8"))
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["good", "bad <b>"]
    assert cases[0].find("failure") is None
    assert "it & broke" in cases[1].find("failure").get("message")


def test_html_is_self_contained_and_escaped():
    page = render_html(REPORT)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.replace(
        "http://127.0.0.1:1", "")
    assert "bad &lt;b&gt;" in page and "it &amp; broke" in page and "dest&lt;1&gt;" in page


def test_reports_are_written_with_safe_names(tmp_path):
    assert report_basename("hello", "dest 1/../x") == "benchmark-dest_1_.._x-hello"
    paths = write_reports(REPORT, str(tmp_path / "out"), report_basename("hello", "dest1"))
    assert sorted(paths) == ["html", "json", "junit"]
    assert json.loads(open(paths["json"]).read())["tests"][1]["last_error"] == "it & broke"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "benchmark-dest1-hello.html", "benchmark-dest1-hello.json", "benchmark-dest1-hello.xml"]
