"""Benchmark gates: parsing (each bad expression names its fix), evaluation with the sample-count
rule, a test's status, strict mode, today's shorthands and the kinds of failure."""

from __future__ import annotations

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import CallOutcome
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import evaluate, normalise_test
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import (
    FAILURE_KINDS,
    Gate,
    GateError,
    cluster_status,
    decide_status,
    evaluate_gate,
    evaluate_gates,
    failure_kind,
    outcome_kind,
    parse_gate,
    parse_gates,
    samples_needed,
    shorthand_gates,
    strict_status,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram


def histogram(values):
    result = Histogram()
    for value in values:
        result.record(value)
    return result


def figures(latencies=(), failures=0, kind="timeout", dropped=0, elapsed_s=1.0, server=None):
    """A test's figures: a successful call per latency, ``failures`` failed calls of ``kind``."""
    latencies = list(latencies)
    return {"calls": len(latencies) + failures, "successes": len(latencies),
            "errors": {kind: failures} if failures else {}, "dropped": dropped, "elapsed_s": elapsed_s,
            "latency": histogram(latencies), "server": histogram(server if server is not None else latencies),
            "overhead": histogram([])}


def status(gates, test_figures):
    return decide_status(evaluate_gates(gates, test_figures), test_figures)[0]


# ---- parsing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, series, aggregate, operator, threshold", [
    ("p(95) < 300", "latency", "p(95)", "<", 300),
    ("p(95)<300", "latency", "p(95)", "<", 300),
    ("  latency   p( 99.9 )  <=  1.5e3 ", "latency", "p(99.9)", "<=", 1500),
    ("server p(99) < 200", "server", "p(99)", "<", 200),
    ("overhead mean > 0.5", "overhead", "mean", ">", 0.5),
    ("avg >= 10", "latency", "mean", ">=", 10),
    ("server max != 7", "server", "max", "!=", 7),
    ("min == 1", "latency", "min", "==", 1),
    ("p(0.1) < 3", "latency", "p(0.1)", "<", 3),
    ("error_rate < 0.01", None, "error_rate", "<", 0.01),
    ("dropped == 0", None, "dropped", "==", 0),
    ("throughput >= 50", None, "throughput", ">=", 50),
    ("calls >= 1000", None, "calls", ">=", 1000),
])
def test_good_gates_parse(text, series, aggregate, operator, threshold):
    gate = parse_gate(text)
    assert (gate.series, gate.aggregate, gate.operator, gate.threshold) == (series, aggregate, operator, threshold)
    assert parse_gate(str(gate)) == gate  # the canonical text reads back as the same gate


def test_the_canonical_text_names_the_series_only_when_not_latency():
    assert str(parse_gate("latency p(99.90) <= 1500.0")) == "p(99.9) <= 1500"
    assert str(parse_gate("server  p(50)<0.25")) == "server p(50) < 0.25"
    assert parse_gate("p(95) < 300").metric == "p(95)"


@pytest.mark.parametrize("text, problem, fix", [
    ("p(95) <", "expected a number after '<'", 'write it like "p(95) < 300"'),
    ("p(95) < 300ms", "got '300ms'", "300, not 300ms"),
    ("error_rate < 1%", "got '1%'", "0.01, not 1%"),
    ("p(95) < 3 < 4", "got '3 < 4'", "one comparison with one number"),
    ("p(95) 300", "expected a comparison", 'write it like "p(95) < 300"'),
    ("p(95) = 300", "'=' is not a comparison", "write =="),
    ("< 300", "expected a metric", "start with a metric"),
    ("p95 < 300", "unknown metric 'p95'", "like p(95)"),
    ("p(100) < 300", "'p(100)' is not a percentile", "above 0 and below 100"),
    ("p(0) < 300", "'p(0)' is not a percentile", "above 0 and below 100"),
    ("p(abc) < 300", "'p(abc)' is not a percentile", "like p(95) or p(99.9)"),
    ("latency < 300", "unknown metric 'latency'", '"latency p(95) < 300"'),
    ("median < 300", "unknown metric 'median'", "use one of p(N), max"),
    ("server error_rate < 0.1", "not of the server series", "drop 'server'"),
    ("client p(95) < 300", "'client p(95)' is not a metric", "optionally after a series"),
    ("p(95) < -1", "a negative threshold", "0 or more"),
    ("error_rate < 5", "error_rate is a fraction from 0 to 1", "write 1% as 0.01"),
    ("p(95) < nan", "got 'nan'", "one number"),
    ("", "a non-empty string", 'write it like "p(95) < 300"'),
    (None, "a non-empty string", "write it like"),
])
def test_a_bad_gate_names_itself_the_problem_and_the_fix(text, problem, fix):
    with pytest.raises(GateError) as raised:
        parse_gate(text)
    message = str(raised.value)
    assert message.startswith("gate {0!r}: ".format(text))
    assert problem in message and ". Fix: " in message and fix in message.split(". Fix: ", 1)[1]


def test_parse_gates_takes_a_list_a_single_expression_or_nothing():
    assert parse_gates(None) == []
    assert parse_gates("dropped == 0") == [parse_gate("dropped == 0")]
    assert [str(gate) for gate in parse_gates(["p(95) < 300", "error_rate < 0.01"])] == ["p(95) < 300", "error_rate < 0.01"]
    with pytest.raises(GateError, match="gates must be a list"):
        parse_gates({"p95": 300})


# ---- evaluation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, passes", [
    ("<", [True, False, False]), ("<=", [True, True, False]), (">", [False, False, True]),
    (">=", [False, True, True]), ("==", [False, True, False]), ("!=", [True, False, True]),
])
def test_every_operator(operator, passes):
    test_figures = figures([50.0])
    results = [evaluate_gate("max {0} {1}".format(operator, threshold), test_figures)["status"] for threshold in (60, 50, 40)]
    assert results == ["pass" if ok else "fail" for ok in passes]


def test_a_result_says_gate_metric_value_threshold_status_and_why():
    result = evaluate_gate("server p(50) < 10", figures([5.0, 5.0, 30.0], server=[20.0, 20.0, 20.0]))
    assert result == {"gate": "server p(50) < 10", "metric": "server p(50)", "value": 20.0, "threshold": 10.0,
                      "status": "fail", "why": "server p(50) 20 ms is not < 10 ms"}


@pytest.mark.parametrize("quantile, needed", [
    (99, 100), ("99.9", 1000), ("99.99", 10000), (95, 20), (90, 10), (50, 2), (75, 4), (1, 100), ("0.1", 1000),
])
def test_the_sample_count_rule(quantile, needed):
    assert samples_needed(quantile) == needed


def test_five_calls_and_a_p99_gate_is_inconclusive():
    test_figures = figures([10.0, 11.0, 12.0, 13.0, 14.0])
    result = evaluate_gate("p(99) < 300", test_figures)
    assert result["status"] == "unknown" and result["value"] is None
    assert "at least 100 successful calls" in result["why"] and "5 have" in result["why"]
    assert decide_status([result], test_figures) == (
        "inconclusive", "p(99) < 300 is " + result["why"])


def test_a_hundred_successful_calls_make_p99_known_and_failures_do_not_count():
    assert evaluate_gate("p(99) < 300", figures([10.0] * 99, failures=50))["status"] == "unknown"
    assert evaluate_gate("p(99) < 300", figures([10.0] * 100))["status"] == "pass"
    assert evaluate_gate("p(99.9) < 300", figures([10.0] * 999))["status"] == "unknown"
    assert evaluate_gate("p(99.9) < 300", figures([10.0] * 1000))["status"] == "pass"


def test_a_latency_gate_over_no_successful_call_is_unknown_never_passed():
    empty = figures([])
    for text in ("max < 100", "mean < 100", "min > 0", "server p(50) < 100", "overhead max < 5"):
        assert evaluate_gate(text, empty)["status"] == "unknown"
    assert evaluate_gate("overhead max < 5", figures([1.0]))["status"] == "unknown"  # no overhead recorded
    assert evaluate_gate("max < 100", {})["status"] == "unknown"  # nothing at all


def test_counters():
    test_figures = figures([10.0] * 90, failures=10, dropped=3, elapsed_s=2.0)
    values = {result["metric"]: result["value"] for result in evaluate_gates(
        ["error_rate < 0.2", "dropped == 0", "throughput > 1", "calls >= 100"], test_figures)}
    assert values == {"error_rate": 0.1, "dropped": 3, "throughput": 45.0, "calls": 100}
    assert evaluate_gate("dropped == 0", test_figures)["status"] == "fail"


def test_error_rate_and_throughput_need_a_call():
    for text in ("error_rate < 0.01", "throughput > 1"):
        assert evaluate_gate(text, figures([], dropped=5))["status"] == "unknown"
    assert evaluate_gate("throughput > 1", figures([1.0], elapsed_s=0))["status"] == "unknown"
    assert evaluate_gate("dropped == 0", figures([]))["status"] == "pass"
    assert evaluate_gate("calls == 0", figures([]))["status"] == "pass"


# ---- a test's status ---------------------------------------------------------------------------------

def test_a_test_passes_when_every_gate_passes():
    assert decide_status(evaluate_gates(["max < 100", "error_rate <= 0"], figures([10.0] * 3)), figures([10.0] * 3)) == (
        "passed", "2 gates passed")
    assert status([], figures([10.0])) == "passed"


def test_one_failed_gate_fails_the_test_even_with_an_unknown_one():
    assert status(["p(99) < 300", "max < 5"], figures([10.0] * 5)) == "failed"


@pytest.mark.parametrize("gates", [[], ["p(95) < 300"], ["max < 100", "mean < 100"], ["error_rate <= 1"], ["dropped == 0"]])
def test_all_calls_failing_fails_the_test_whatever_the_gates(gates):
    test_figures = figures([], failures=4, kind="http_5xx")
    assert decide_status(evaluate_gates(gates, test_figures), test_figures) == ("failed", "all 4 calls failed (4 http_5xx)")


@pytest.mark.parametrize("gates", [[], ["p(95) < 300"], ["dropped == 0"], ["dropped > 0"]])
def test_no_call_at_all_is_inconclusive(gates):
    test_figures = figures([], dropped=2)
    assert status(gates, test_figures) == ("failed" if gates == ["dropped == 0"] else "inconclusive")


def test_strict_turns_inconclusive_into_failed_for_the_cluster():
    assert strict_status("inconclusive") == "inconclusive"
    assert strict_status("inconclusive", strict=True) == "failed"
    assert strict_status("passed", strict=True) == "passed"
    assert cluster_status(["passed", "inconclusive"]) == "inconclusive"
    assert cluster_status(["passed", "inconclusive"], strict=True) == "failed"
    assert cluster_status(["passed", "failed", "inconclusive"]) == "failed"
    assert cluster_status(["passed", "passed"], strict=True) == "passed"
    assert cluster_status([]) == "inconclusive"  # zero results are unknown, never passed
    assert cluster_status([], strict=True) == "failed"


# ---- today's shorthands --------------------------------------------------------------------------------

def test_shorthands_mean_at_most():
    assert [str(gate) for gate in shorthand_gates({"p95": 500, "max": 2000}, 0.01)] == [
        "max <= 2000", "p(95) <= 500", "error_rate <= 0.01"]
    assert [str(gate) for gate in shorthand_gates(250)] == ["p(95) <= 250"]
    assert [str(gate) for gate in shorthand_gates({"p50": 1.5, "p90": 2, "p99": 3})] == [
        "p(50) <= 1.5", "p(90) <= 2", "p(99) <= 3"]
    assert shorthand_gates() == [] and shorthand_gates({}) == []
    assert [str(gate) for gate in shorthand_gates(max_error_rate=0)] == ["error_rate <= 0"]


@pytest.mark.parametrize("max_latency_ms, max_error_rate, message", [
    ({"p75": 10}, None, "max_latency_ms.p75"),
    ({"p95": 0}, None, "not a positive number"),
    ({"p95": True}, None, "not a positive number"),
    ("fast", None, "max_latency_ms must be"),
    (None, 1.5, "not a fraction from 0 to 1"),
])
def test_bad_shorthands_say_what_to_write(max_latency_ms, max_error_rate, message):
    with pytest.raises(GateError, match=message):
        shorthand_gates(max_latency_ms, max_error_rate)


@pytest.mark.parametrize("latencies, errors, spec", [
    ([100.0] * 19 + [600.0], 0, {"max_latency_ms": {"p95": 500}}),  # p95 is 100: passes
    ([100.0] * 18 + [600.0] * 2, 0, {"max_latency_ms": {"p95": 500}}),  # p95 is 600: fails
    ([100.0] * 20, 0, {"max_latency_ms": {"p95": 100}}),  # exactly at the limit passes
    ([100.0] * 20, 0, {"max_latency_ms": {"max": 99.5}}),
    ([100.0] * 99, 1, {"max_error_rate": 0.01}),  # exactly at the rate passes
    ([100.0] * 98, 2, {"max_error_rate": 0.01}),
    ([100.0] * 20, 1, {}),  # max_error_rate defaults to 0: any error fails
])
def test_shorthands_agree_with_todays_gates(latencies, errors, spec):
    test = normalise_test(dict(spec, name="t", payload="x", calls=len(latencies) + errors), 0)
    outcomes = [CallOutcome(True, latency) for latency in latencies] + [
        CallOutcome(False, 5.0, error="boom", error_type="ServerError") for _call in range(errors)]
    today = evaluate(test, outcomes, 1.0)["passed"]
    gates = shorthand_gates(test["max_latency_ms"], test["max_error_rate"])
    test_figures = figures(latencies, failures=errors, kind="http_5xx")
    assert (status(gates, test_figures) == "passed") == today


# ---- failure kinds --------------------------------------------------------------------------------------

@pytest.mark.parametrize("error_type, status_code, kind", [
    ("ClusterConnectionError", None, "connect"),
    ("ClientConfigError", None, "connect"),
    ("TLSError", None, "tls"),
    ("ClusterTimeout", None, "timeout"),
    ("TimeoutError", None, "timeout"),
    ("ServerError", 503, "http_5xx"),
    ("ServerError", None, "http_5xx"),
    ("BadRequest", 422, "http_4xx"),
    ("AuthError", 401, "http_4xx"),
    ("NotFound", 404, "http_4xx"),
    ("Conflict", None, "http_4xx"),
    ("TooManyRequests", 429, "http_4xx"),
    ("InvalidResponse", None, "http_5xx"),
    ("InvalidResponse", 418, "http_4xx"),
    (None, 502, "http_5xx"),
    ("AlgorithmError", None, "algorithm_error"),
    ("LoadingError", None, "algorithm_error"),
    ("ValueError", None, "algorithm_error"),
    (None, None, "algorithm_error"),
    ("dropped", None, "dropped"),
    ("check_failed", None, "check_failed"),
])
def test_failure_kinds(error_type, status_code, kind):
    assert failure_kind(error_type, status_code) == kind
    assert kind in FAILURE_KINDS


def test_the_kind_of_an_outcome():
    assert outcome_kind(CallOutcome(True, 1.0, result=1)) == "ok"
    assert outcome_kind(CallOutcome(True, 1.0, result=1), check_failed=True) == "check_failed"
    assert outcome_kind(CallOutcome(False, 1.0, error="x", error_type="TLSError")) == "tls"
    assert outcome_kind(CallOutcome(False, 1.0, error="x", error_type="ZeroDivisionError")) == "algorithm_error"


def test_a_gate_is_a_value():
    assert parse_gate("p(95)<300") == parse_gate("latency p(95) < 300.0")
    assert len({parse_gate("p(95)<300"), parse_gate("p(95) < 300")}) == 1
    assert isinstance(parse_gate(parse_gate("max < 1")), Gate)
    assert repr(parse_gate("max<1")) == "Gate('max < 1')"
