"""Benchmark logic: test normalisation, statistics, gates, polling, and the three report formats."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import CallOutcome, request_body
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import (
    render_html,
    render_junit,
    report_basename,
    write_reports,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import (
    BenchmarkSpecError,
    TestAccumulator,
    due_calls,
    evaluate,
    failure_summary,
    latency_gates,
    load_problems,
    load_spec,
    normalise_test,
    percentile,
    pool_size,
    run_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram, bucket_count_for_range
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline, poll


def test_defaults_follow_the_workflow_schema():
    test = normalise_test({"name": "basic", "payload": "x"}, 0)
    assert test == {"name": "basic", "payload": "x", "timeout": 300, "calls": 1, "concurrency": 1,
                    "duration": None, "rate": None, "max_in_flight": None, "warmup": 0,
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
    ("duration", 0, "duration must be a number of seconds above 0 and at most 86400"),
    ("duration", "10s", "duration must be a number of seconds"),
    ("warmup", -1, "warmup must be a whole number from 0 to 10000"),
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


# ---- load models and warmup ----------------------------------------------------------------

def test_the_three_load_models_and_their_defaults():
    closed = normalise_test({"name": "t", "payload": 1, "calls": 5, "concurrency": 2}, 0)
    assert load_spec(closed) == {"model": "closed", "calls": 5, "concurrency": 2} and pool_size(closed) == 2
    timed = normalise_test({"name": "t", "payload": 1, "duration": 2.5}, 0)
    assert load_spec(timed) == {"model": "closed", "duration": 2.5, "concurrency": 1} and timed["calls"] is None
    opened = normalise_test({"name": "t", "payload": 1, "rate": 20.0, "duration": 10.0, "warmup": 3}, 0)
    # whole numbers read back as whole numbers (Ansible hands floats for type float)
    assert load_spec(opened) == {"model": "open", "rate": 20, "duration": 10, "max_in_flight": 40}
    assert opened["concurrency"] is None and opened["warmup"] == 3 and pool_size(opened) == 40
    # the default max_in_flight: rate x 2 s, at least 10, at most 1000
    assert normalise_test({"name": "t", "payload": 1, "rate": 0.5, "duration": 4}, 0)["max_in_flight"] == 10
    assert normalise_test({"name": "t", "payload": 1, "rate": 9000, "duration": 1}, 0)["max_in_flight"] == 1000


@pytest.mark.parametrize("fields, field, fix", [
    ({"calls": 5, "duration": 10}, "duration", "keep calls (a number of calls) or duration (seconds), not both"),
    ({"rate": 5}, "rate", "add duration"),
    ({"rate": 5, "duration": 10, "concurrency": 4}, "concurrency", "use max_in_flight instead of concurrency"),
    ({"rate": 5, "duration": 10, "calls": 50}, "calls", "remove calls and give duration"),
    ({"max_in_flight": 4, "calls": 50}, "max_in_flight", "use concurrency for a closed test"),
    ({"max_in_flight": 4, "duration": 5}, "max_in_flight", "or add rate and duration for an open one"),
])
def test_contradictory_load_fields_name_the_field_and_the_fix(fields, field, fix):
    with pytest.raises(BenchmarkSpecError) as caught:
        normalise_test(dict(fields, name="t1", payload=1), 0)
    text = str(caught.value)
    assert text.startswith("test 't1': ") and "Fix: " in text and fix in text
    problems = load_problems(fields)
    assert field in [problem[0] for problem in problems]
    for found, problem, _fix in problems:
        assert found in problem  # each problem names its field


@pytest.mark.parametrize("fields, words", [
    ({"rate": 0, "duration": 1}, "rate must be a number of calls per second above 0"),
    ({"rate": 10001, "duration": 1}, "at most 10000"),
    ({"rate": 1, "duration": 1, "max_in_flight": 0}, "max_in_flight must be a whole number from 1 to 1000"),
])
def test_bad_open_fields(fields, words):
    with pytest.raises(BenchmarkSpecError, match=words):
        normalise_test(dict(fields, name="t", payload=1), 0)


def test_an_open_test_gets_the_gate_dropped_0_unless_it_has_its_own():
    opened = normalise_test({"name": "t", "payload": 1, "rate": 5, "duration": 1}, 0)
    assert opened["gates"] == ["error_rate <= 0", "dropped == 0"]
    own = normalise_test({"name": "t", "payload": 1, "rate": 5, "duration": 1, "gates": ["dropped < 3"]}, 0)
    assert own["gates"] == ["dropped < 3", "error_rate <= 0"]
    assert normalise_test({"name": "t", "payload": 1, "duration": 1}, 0)["gates"] == ["error_rate <= 0"]


def test_due_calls_of_an_absolute_schedule():
    assert due_calls(10, 2) == 20 and due_calls(0.1, 30) == 3 and due_calls(3, 0.5) == 2
    assert due_calls(0.1, 1) == 1  # the call due at 0 is always due


class VirtualClock:
    """Time that passes only when a fake call says so: closed loops become exact."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_closed_test_for_a_duration_starts_calls_until_it_ends():
    clock = VirtualClock()

    def call(payload, timeout):
        clock.now += 0.1
        return ok(100)

    test = normalise_test({"name": "t", "payload": 1, "duration": 1, "warmup": 2}, 0)
    result = run_test(test, call, clock=clock)
    # calls start at 0.0 .. 0.9; the one started at 0.9 ends at 1.0, and none starts then
    assert result["calls"] == 10 and result["warmup"]["calls"] == 2 and result["elapsed_s"] == pytest.approx(1.0)
    assert result["load"] == {"model": "closed", "duration": 1, "concurrency": 1} and result["throughput"] == 10
    assert result["dropped"] == 0 and result["intended_latency_ms"] is None and result["schedule_lag_ms"] is None
    assert "intended" not in result["histograms"] and result["status"] == "passed"


def test_warmup_calls_are_reported_apart():
    state = {"n": 0}

    def call(payload, timeout):
        state["n"] += 1
        if state["n"] == 2:
            return CallOutcome(False, 7.0, error="still loading", error_type="ServerError")
        return ok(900.0 if state["n"] == 1 else 10.0)  # the first call is the cold one

    test = normalise_test({"name": "t", "payload": 1, "calls": 4, "warmup": 3}, 0)
    result = run_test(test, call)
    assert state["n"] == 7 and result["calls"] == 4 and result["errors"] == 0 and result["status"] == "passed"
    assert result["latency_ms"]["max"] == 10 and result["histograms"]["latency"]["count"] == 4
    warmup = result["warmup"]
    assert warmup["calls"] == 3 and warmup["errors"] == 1 and warmup["errors_by_kind"] == {"http_5xx": 1}
    assert warmup["first_ms"] == 900 and warmup["latency_ms"]["max"] == 900 and warmup["last_error"] == "still loading"
    assert run_test(normalise_test({"name": "t", "payload": 1}, 0), call)["warmup"] is None


def test_an_open_test_starts_every_due_call_on_a_free_worker():
    import threading
    import time

    lock, state = threading.Lock(), {"now": 0, "most": 0, "calls": 0}

    def call(payload, timeout):
        with lock:
            state["now"] += 1
            state["calls"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.002)
        with lock:
            state["now"] -= 1
        return ok(2.0)

    test = normalise_test({"name": "t", "payload": 1, "rate": 100, "duration": 0.3, "max_in_flight": 3,
                           "warmup": 2}, 0)
    result = run_test(test, call)
    # every due call is started or dropped, never queued: at most max_in_flight at once
    assert result["calls"] + result["dropped"] == 30 and state["calls"] == result["calls"] + 2
    assert state["most"] <= 3 and result["warmup"]["calls"] == 2
    assert result["histograms"]["schedule_lag"]["count"] == result["calls"]
    assert result["histograms"]["intended"]["count"] == result["calls"]
    assert result["schedule_lag_ms"]["min"] >= 0 and result["intended_latency_ms"]["min"] >= 2.0
    assert result["elapsed_s"] >= 0.3
    assert result["load"] == {"model": "open", "rate": 100, "duration": 0.3, "max_in_flight": 3}
    assert sum(point["started"] for point in result["timeseries"]["points"]) == result["calls"]


def test_calls_due_while_max_in_flight_calls_run_are_dropped_not_delayed():
    """Two calls that hold their worker until the schedule has ended: every other due call is
    dropped (none is started late), counted at its due second and failing ``dropped == 0``."""
    import threading
    import time

    release = threading.Event()
    start = {}

    def clock():
        now = time.monotonic()
        start.setdefault("t", now)
        if now - start["t"] >= 0.2:  # the schedule's end: the held calls may finish
            release.set()
        return now

    def call(payload, timeout):
        release.wait(30)
        return ok(1.0)

    test = normalise_test({"name": "t", "payload": 1, "rate": 100, "duration": 0.2, "max_in_flight": 2}, 0)
    result = run_test(test, call, clock=clock)
    assert result["calls"] + result["dropped"] == 20 and result["dropped"] >= 1
    # dropped calls were never made: not calls, not errors, not in the error rate
    assert result["errors"] == 0 and result["errors_by_kind"] == {} and result["error_rate"] == 0
    assert sum(point["dropped"] for point in result["timeseries"]["points"]) == result["dropped"]
    assert result["status"] == "failed"
    dropped_gate = [gate for gate in result["gates"] if gate["metric"] == "dropped"]
    assert dropped_gate[0]["status"] == "fail" and dropped_gate[0]["value"] == result["dropped"]
    assert result["failures"] == [
        "gate dropped == 0: dropped {0} is not == 0; {0} of 20 calls due at 100/s could not start on time: "
        "max_in_flight (2) calls were still running (the cluster did not keep up with the rate; lower rate, "
        "or raise max_in_flight if the cluster has room)".format(result["dropped"])]


def test_the_schedule_is_absolute_a_stall_makes_calls_late_not_fewer():
    """The dispatcher stalls 150 ms (a clock that jumps): the calls due meanwhile start at once,
    late by up to 150 ms, and the later ones keep their schedule; none is lost."""
    import time

    jump = {"reads": 0}

    def clock():
        jump["reads"] += 1
        return time.monotonic() + (0.15 if jump["reads"] > 3 else 0.0)

    test = normalise_test({"name": "t", "payload": 1, "rate": 100, "duration": 0.3, "max_in_flight": 20}, 0)
    result = run_test(test, lambda payload, timeout: ok(1.0), clock=clock)
    assert result["calls"] + result["dropped"] == 30
    assert result["schedule_lag_ms"]["max"] >= 100 and result["intended_latency_ms"]["max"] >= 100
    # the schedule does not move by the stall: the first call and the 14 due after it (0.16 s .. 0.29 s)
    # start on time again, and those due at its end barely late (a generous 100 ms on a busy machine)
    lags = Histogram.from_dict(result["histograms"]["schedule_lag"])
    assert sum(count for _low, high, count in lags.buckets() if high <= 100) >= 10


def test_an_exception_in_an_open_test_call_is_raised_not_lost():
    def call(payload, timeout):
        raise RuntimeError("bug in the client")

    test = normalise_test({"name": "t", "payload": 1, "rate": 50, "duration": 0.1, "max_in_flight": 2}, 0)
    with pytest.raises(RuntimeError, match="bug in the client"):
        run_test(test, call)


def test_an_open_test_keeps_no_per_call_state():
    """Memory is bounded: the accumulator's figures, not lists, grow with the calls."""
    test = normalise_test({"name": "t", "payload": 1, "rate": 1000, "duration": 100, "max_error_rate": 1}, 0)
    accumulator = TestAccumulator(test)
    for number in range(20000):
        due = number / 1000.0
        if number % 100 == 0:
            accumulator.drop(due)
        else:
            accumulator.add(ok(10.0 + number % 50), due + 0.001, due + 0.02, due)
    assert len(accumulator.schedule_lag) <= bucket_count_for_range(0.9, 1.1)
    assert len(accumulator.intended) <= bucket_count_for_range(10, 61)
    assert accumulator.dropped == 200 and len(accumulator.timeseries.points) <= 21
    result = accumulator.result(20.0)
    assert result["dropped"] == 200 and result["calls"] == 19800 and result["throughput"] == 990
