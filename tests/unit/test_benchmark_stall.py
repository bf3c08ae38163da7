"""The stall rule of a benchmark test (measure/engine.py): on a cluster that takes calls and answers
nothing, a test ends within its timeout plus the read margin, with "stuck: no answer in N s", whatever
its load model and number of calls. The calls here never answer (they wait on an event the test sets
at its end), or end unanswered on a virtual clock; the rule's own seconds are made small."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import READ_TIMEOUT_MARGIN, CallOutcome
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import READ_TIMEOUT
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import (
    StallWatch,
    normalise_test,
    run_test,
)

STALL = 0.3
# Generous: the rule fires at STALL s; a busy machine may be late by far less than this.
ENDS_WITHIN = 5.0


class VirtualClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def ok(ms=1.0):
    return CallOutcome(True, ms, result="hello")


def unanswered(ms):
    return CallOutcome(False, ms, error="no answer within 35 s", error_type="ClusterTimeout", failure=READ_TIMEOUT)


@pytest.fixture
def never_answers():
    """A call that never returns while the test runs (released at its end, so no thread outlives it)."""
    release = threading.Event()
    started = []

    def call(payload, timeout):
        started.append(timeout)
        release.wait(60)
        return ok()

    call.started = started
    yield call
    release.set()


def timed_run(test, call, **options):
    began = time.monotonic()
    result = run_test(normalise_test(test, 0), call, **options)
    return result, time.monotonic() - began


def test_a_closed_test_on_a_stuck_cluster_ends_after_the_stall_not_after_its_calls(never_answers):
    result, seconds = timed_run({"name": "t", "payload": 1, "calls": 1000, "concurrency": 4, "timeout": 5},
                                never_answers, stall_after=STALL)
    assert seconds < ENDS_WITHIN
    assert len(never_answers.started) == 4  # no call started after the four that hang
    assert result["status"] == "failed" and result["passed"] is False
    assert result["calls"] == 4 and result["errors_by_kind"] == {"timeout": 4}
    assert result["failures"][0] == ("stuck: no answer in 0.3 s: no call was answered for 0.3 s in the test; "
                                     "4 calls without an answer counted as timeouts; 996 calls not started")
    assert result["stuck"]["not_started"] == 996 and result["stuck"]["in"] == "the test"
    assert "stuck: no answer in 0.3 s" in result["last_error"]


def test_a_test_for_a_duration_on_a_stuck_cluster_ends_too(never_answers):
    result, seconds = timed_run({"name": "t", "payload": 1, "duration": 600, "concurrency": 2, "timeout": 5},
                                never_answers, stall_after=STALL)
    assert seconds < ENDS_WITHIN and result["calls"] == 2 and result["status"] == "failed"
    assert result["failures"][0].startswith("stuck: no answer in 0.3 s")


def test_one_call_at_a_time_on_a_stuck_cluster(never_answers):
    result, seconds = timed_run({"name": "t", "payload": 1, "calls": 50, "timeout": 5}, never_answers, stall_after=STALL)
    assert seconds < ENDS_WITHIN and result["calls"] == 1 and result["stuck"]["not_started"] == 49


def test_an_open_test_on_a_stuck_cluster_drops_starts_then_stops_its_schedule(never_answers):
    """The honest statuses stay: calls due while max_in_flight calls hang are dropped; once stuck, the
    rest of the schedule (10 minutes of it) is not started, and the test ends."""
    result, seconds = timed_run({"name": "t", "payload": 1, "rate": 50, "duration": 600, "max_in_flight": 3, "timeout": 5},
                                never_answers, stall_after=STALL)
    assert seconds < ENDS_WITHIN
    assert result["calls"] == 3 and result["errors_by_kind"] == {"timeout": 3} and result["dropped"] >= 1
    assert result["status"] == "failed" and result["failures"][0].startswith("stuck: no answer in 0.3 s")
    assert result["calls"] + result["dropped"] + result["stuck"]["not_started"] == 50 * 600
    assert any(line.startswith("gate dropped == 0") for line in result["failures"])


def test_a_stuck_warmup_makes_none_of_the_test_calls(never_answers):
    result, seconds = timed_run({"name": "t", "payload": 1, "calls": 20, "warmup": 2, "timeout": 5},
                                never_answers, stall_after=STALL)
    assert seconds < ENDS_WITHIN and len(never_answers.started) == 1
    assert result["calls"] == 0 and result["warmup"]["errors_by_kind"] == {"timeout": 1}
    assert result["status"] == "failed"
    assert result["failures"][0] == ("stuck: no answer in 0.3 s: no call was answered for 0.3 s in its warmup; "
                                     "20 calls not started")


def test_the_rule_waits_the_test_timeout_plus_the_read_margin_by_default():
    """Calls that each end unanswered after their whole wait (a read timeout, on a virtual clock): the
    first one is the stall; nothing else is started."""
    clock = VirtualClock()
    made = []

    def call(payload, timeout):
        made.append(timeout)
        clock.now += timeout + READ_TIMEOUT_MARGIN
        return unanswered((timeout + READ_TIMEOUT_MARGIN) * 1000.0)

    result = run_test(normalise_test({"name": "t", "payload": 1, "calls": 10, "timeout": 5}, 0), call, clock=clock)
    assert made == [5] and result["calls"] == 1 and result["stuck"]["seconds"] == 35
    assert result["failures"][0].startswith("stuck: no answer in 35 s: no call was answered for 35 s "
                                            "(the test's timeout 5 s plus 30 s) in the test")
    assert result["elapsed_s"] == 35


def test_errors_the_cluster_answers_are_answers_not_a_stall():
    """A cluster answering 503 (or its own "timed out") at once is failing, not stuck: every call is made."""
    clock = VirtualClock()

    def call(payload, timeout):
        clock.now += 40
        return CallOutcome(False, 40000.0, error="timed out after 5 seconds", error_type="TimeoutError")

    result = run_test(normalise_test({"name": "t", "payload": 1, "calls": 5, "timeout": 5}, 0), call, clock=clock)
    assert result["calls"] == 5 and result["stuck"] is None and result["status"] == "failed"
    assert not any("stuck" in line for line in result["failures"])


def test_a_healthy_test_is_not_stuck():
    result = run_test(normalise_test({"name": "t", "payload": 1, "calls": 20, "concurrency": 2}, 0),
                      lambda payload, timeout: ok(), stall_after=STALL)
    assert result["status"] == "passed" and result["stuck"] is None and result["calls"] == 20


def test_silence_counts_while_calls_wait_only():
    """The quiet time runs from the last answer; a slow schedule's idle time (no call waiting, none
    unanswered) is not silence, and one unanswered call among answered ones is not a stall."""
    clock = VirtualClock()
    watch = StallWatch(35, clock, 0.0)
    watch.begin("a")
    clock.now = 1.0
    assert not watch.end("a", ok())
    clock.now = 100.0  # idle for 99 s: the next call is due
    watch.begin("b")
    watch.begin("c")
    clock.now = 134.0
    assert not watch.expired() and watch.due() == pytest.approx(1.0)
    clock.now = 120.0
    assert not watch.end("b", ok())  # an answer while c waits
    clock.now = 136.0
    assert not watch.end("c", unanswered(36000.0))  # unanswered, but b was answered 16 s ago
    watch.begin("d")
    clock.now = 155.0
    assert watch.expired()  # nothing answered since 120 s, d still waiting
    (began, outcome), = watch.stuck()
    assert began == 136.0 and outcome.failure == READ_TIMEOUT and outcome.duration_ms == pytest.approx(19000.0)
    assert outcome.error.startswith("stuck: no answer in 35 s: ")
