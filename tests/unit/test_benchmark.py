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
    TestAccumulator,
    evaluate,
    failure_summary,
    latency_gates,
    normalise_test,
    percentile,
    run_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.histogram import bucket_count_for_range
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline, poll


def test_defaults_follow_the_workflow_schema():
    test = normalise_test({"name": "basic", "payload": "x"}, 0)
    assert test == {"name": "basic", "payload": "x", "timeout": 300, "calls": 1, "concurrency": 1,
                    "has_expected_output": False, "expected_output": None, "expected_subset": None,
                    "expected_pattern": None, "max_latency_ms": {}, "max_error_rate": 0.0,
                    "gates": ["error_rate <= 0"]}


@pytest.mark.parametrize("field, value, words", [
    ("timeout", 3001, "timeout must be a whole number from 1 to 3000"),
    ("timeout", 0, "timeout must be"),
    ("calls", 0, "calls must be"),
    ("concurrency", 1001, "concurrency must be"),
    ("max_error_rate", 1.5, "max_error_rate must be a fraction"),
    ("max_latency_ms", {"p42": 1}, "max_latency_ms.p42 is not one of"),
    ("max_latency_ms", -1, "must be a positive number"),
    ("max_latency_ms", "fast", "max_latency_ms must be milliseconds"),
    ("gates", ["p95 < 300"], "write a percentile with parentheses, like p(95)"),
    ("gates", "p(95) < 300ms", "bare number"),
    ("expected_subset", [1], "expected_subset must be a JSON object"),
    ("expected_pattern", "(", "expected_pattern '(' is not a regular expression"),
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
    # from the histogram: within 0.4% of the nearest-rank value; max and mean are exact
    assert result["p50_ms"] == pytest.approx(20, rel=0.01) and result["p95_ms"] == 40
    assert result["latency_ms"]["mean"] == 25 and result["status"] == "passed"
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
    assert result["status"] == "failed"
    assert result["failures"] == ["gate error_rate <= 0.25: error_rate 0.5 is not <= 0.25; last error: second"]
    assert failure_summary([result]) == ["test 't': " + result["failures"][0]]


def test_an_error_rate_gate_replaces_the_default_of_no_error():
    test = normalise_test({"name": "t", "payload": 1, "gates": ["error_rate < 0.5"]}, 0)
    assert test["gates"] == ["error_rate < 0.5"] and test["max_error_rate"] is None
    assert evaluate(test, [ok(1), ok(1), failed(1)], 0.1)["status"] == "passed"


def test_latency_gates_on_successful_calls_only():
    test = normalise_test({"name": "t", "payload": 1, "max_latency_ms": {"p50": 5, "max": 100},
                           "max_error_rate": 0.5}, 0)
    result = evaluate(test, [ok(10), ok(20), failed(5000)], 0.1)
    assert result["status"] == "failed"
    assert result["failures"] == ["gate p(50) <= 5: p(50) 10 ms is not <= 5 ms"]


def test_five_calls_and_a_p99_gate_are_inconclusive():
    test = normalise_test({"name": "t", "payload": 1, "calls": 5, "gates": ["p(99) < 200"]}, 0)
    result = run_test(test, lambda payload, timeout: ok(10))
    assert result["status"] == "inconclusive" and result["passed"] is False
    assert result["failures"] == ["gate p(99) < 200: unknown: p(99) needs at least 100 successful calls "
                                  "with a latency duration, 5 have"]
    assert [gate["status"] for gate in result["gates"]] == ["unknown", "pass"]
    assert failure_summary([result]) == []
    assert failure_summary([result], strict=True) == ["test 't': inconclusive: " + result["failures"][0]]


def test_enough_samples_judge_a_p99_gate():
    test = normalise_test({"name": "t", "payload": 1, "calls": 100, "concurrency": 4, "gates": ["p(99) < 200"]}, 0)
    assert run_test(test, lambda payload, timeout: ok(10))["status"] == "passed"


@pytest.mark.parametrize("spec", [
    {"max_latency_ms": 500, "max_error_rate": 1},
    {"gates": ["p(50) < 1000", "max < 5000"], "max_error_rate": 1},
    {"gates": ["p(99) < 1"], "max_error_rate": 1},
    {"max_error_rate": 1},
])
def test_all_calls_failing_is_failed_whatever_the_gates(spec):
    test = normalise_test(dict(spec, name="t", payload=1, calls=4), 0)
    result = run_test(test, lambda payload, timeout: CallOutcome(False, 3.0, error="down", error_type="ServerError"))
    assert result["status"] == "failed" and result["passed"] is False
    assert result["failures"][0] == "4 of 4 calls failed, all of them (4 http_5xx); last error: down"
    assert result["errors_by_kind"] == {"http_5xx": 4}


def test_no_call_is_inconclusive_never_passed():
    test = normalise_test({"name": "t", "payload": 1}, 0)
    result = evaluate(test, [], 0.0)
    assert result["status"] == "inconclusive" and result["failures"][0] == "no call was made"


def test_errors_by_kind_with_the_last_messages():
    test = normalise_test({"name": "t", "payload": 1, "max_error_rate": 1, "expected_output": "hello"}, 0)
    outcomes = [ok(1), ok(1, "bye"), CallOutcome(False, 1, error="503", error_type="ServerError"),
                CallOutcome(False, 1, error="reset", error_type="ClusterConnectionError"),
                CallOutcome(False, 1, error="slow", error_type="ClusterTimeout"),
                CallOutcome(False, 1, error="tls", error_type="TLSError"),
                CallOutcome(False, 1, error="404", error_type="NotFound"),
                CallOutcome(False, 1, error="raised", error_type="ValueError")]
    result = evaluate(test, outcomes, 1.0)
    assert result["errors_by_kind"] == {"algorithm_error": 1, "check_failed": 1, "connect": 1, "http_4xx": 1,
                                        "http_5xx": 1, "timeout": 1, "tls": 1}
    assert result["errors"] == 7 and result["status"] == "passed"
    assert [e["kind"] for e in result["last_errors"]] == ["http_5xx", "connect", "timeout", "tls", "http_4xx",
                                                          "algorithm_error"][-5:]
    assert result["last_error"] == "raised"


@pytest.mark.parametrize("field, expected, result, good", [
    ("expected_subset", {"a": {"b": 1}}, {"a": {"b": 1, "c": 2}, "d": 3}, True),
    ("expected_subset", {"a": {"b": 1}}, {"a": {"b": 2}}, False),
    ("expected_subset", {"a": [1]}, {"a": [1, 2]}, False),  # lists are compared whole
    ("expected_subset", {"a": 1}, "a string", False),
    ("expected_pattern", "^hello \\w+$", "hello world", True),
    ("expected_pattern", "^hello", "bye", False),
    ("expected_pattern", '"status": "ok"', {"status": "ok", "n": 1}, True),  # JSON text of a non-string
    ("expected_pattern", "^42$", 42, True),
    ("expected_pattern", "^null$", None, True),
])
def test_subset_and_pattern_checks(field, expected, result, good):
    test = normalise_test({"name": "t", "payload": 1, field: expected}, 0)
    measured = evaluate(test, [ok(1, result)], 0.1)
    assert measured["passed"] is good
    if not good:
        assert measured["errors_by_kind"] == {"check_failed": 1}
        assert "does not " + ("contain" if field == "expected_subset" else "match") in measured["last_error"]


def test_server_duration_and_overhead():
    test = normalise_test({"name": "t", "payload": 1, "calls": 3,
                           "gates": ["server max < 100", "overhead max < 10"]}, 0)
    outcomes = [CallOutcome(True, 50.0, result=1, metadata={"duration": 0.045}),
                CallOutcome(True, 20.0, result=1, metadata={"duration": 0.025}),  # clocks differ: clamped to 0
                CallOutcome(True, 30.0, result=1)]  # no server duration: latency only
    result = evaluate(test, outcomes, 0.2)
    assert result["histograms"]["latency"]["count"] == 3 and result["histograms"]["server"]["count"] == 2
    assert result["server_ms"]["max"] == pytest.approx(45, rel=0.01)
    assert result["overhead_ms"]["max"] == pytest.approx(5, rel=0.01) and result["histograms"]["overhead"]["min"] == 0
    assert result["status"] == "passed"


def test_memory_is_bounded_by_the_range_not_the_number_of_calls():
    test = normalise_test({"name": "t", "payload": 1, "max_error_rate": 1}, 0)
    accumulator = TestAccumulator(test)
    for number in range(100000):
        latency = 10.0 + (number % 997) * 0.1  # 10 .. 110 ms
        outcome = ok(latency) if number % 50 else failed(latency, "boom {0}".format(number))
        accumulator.add(outcome, number / 1000.0)
    assert accumulator.calls == 100000 and accumulator.errors == {"algorithm_error": 2000}
    assert len(accumulator.latency) <= bucket_count_for_range(10, 110) and len(accumulator.messages) == 5
    assert len(accumulator.reservoir.kept) == 1000 and len(accumulator.timeseries.points) <= 101
    result = accumulator.result(100.0)
    assert len(result["durations_ms"]) <= 1000 and len(result["reservoir"]["samples"]) == 1000
    assert result["latency_ms"]["p50"] == pytest.approx(59.8, rel=0.01)


def test_run_test_makes_every_call_with_the_timeout():
    seen = []

    def call(payload, timeout):
        seen.append((payload, timeout))
        return ok(1)

    test = normalise_test({"name": "t", "payload": {"x": 1}, "calls": 7, "concurrency": 3, "timeout": 9}, 0)
    result = run_test(test, call)
    assert result["calls"] == 7 and seen == [({"x": 1}, 9)] * 7
    assert sum(point["completed"] for point in result["timeseries"]["points"]) == 7


def test_the_closed_loop_never_has_more_than_concurrency_calls_in_flight():
    import threading
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def call(payload, timeout):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        with lock:
            state["now"] -= 1
        return ok(1)

    test = normalise_test({"name": "t", "payload": 1, "calls": 200, "concurrency": 4}, 0)
    assert run_test(test, call)["calls"] == 200 and state["most"] <= 4


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


def test_junit_shows_an_inconclusive_test_as_skipped():
    inconclusive = evaluate(normalise_test({"name": "few", "payload": 1, "gates": ["p(99) < 5"]}, 2), [ok(1)], 0.01)
    report = dict(REPORT, tests=REPORT["tests"] + [inconclusive])
    root = ElementTree.fromstring(render_junit(report).encode("utf-8"))
    assert root.get("failures") == "1" and root.get("skipped") == "1"
    case = root.findall("./testsuite/testcase")[2]
    assert case.find("failure") is None and "inconclusive" in case.find("skipped").get("message")
    page = render_html(report)
    assert "inconclusive" in page and "Some tests failed" in page
    page = render_html(dict(report, tests=[inconclusive]))
    assert "Some tests are inconclusive (not a pass)" in page and "All tests passed" not in page


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
