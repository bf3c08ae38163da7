"""The retry policy's pure parts: which failures are repeated, the backoff, the deadline, the guards,
and the class every resource call states. A fake clock and a recording sleep stand in for time;
the same paths against real servers are in tests/integration/client/.
"""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest
import requests
import urllib3.exceptions

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import connection_failure
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import ClusterEnvironments
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    BadRequest,
    ClusterConnectionError,
    ClusterTimeout,
    Conflict,
    NotFound,
    ServerError,
    TLSError,
    TooManyRequests,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import (
    CALL,
    RETRY_AFTER_MAX,
    RetryPolicy,
    Stall,
    is_transient,
    retry_after_seconds,
)


class FakeTime:
    """A clock that moves only when slept on, or when an attempt says it took time."""

    def __init__(self):
        self.now = 1000.0
        self.pauses = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


def policy(fake_time, **options):
    return RetryPolicy(clock=fake_time.clock, sleep=fake_time.sleep, **options)


def server_error(status=503, **options):
    return (TooManyRequests if status == 429 else ServerError)("list things", "https://c", status=status, **options)


def broken(failure="reset"):
    return ClusterConnectionError("list things", "https://c", failure=failure, detail="the connection was " + failure)


def failing(*outcomes, fake_time=None, takes=0):
    """An attempt that raises each of ``outcomes`` in turn (a value is returned), each taking ``takes`` s."""
    remaining = list(outcomes)
    seen = []

    def attempt(attempts):
        seen.append(attempts.number)
        if fake_time is not None:
            fake_time.now += takes
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    attempt.seen = seen
    return attempt


# ---- what is worth another attempt --------------------------------------------------------------


@pytest.mark.parametrize("error, transient", [
    (server_error(503), True), (server_error(502), True), (server_error(504), True), (server_error(429), True),
    (server_error(500), False), (BadRequest("x", "c", status=400), False), (NotFound("x", "c", status=404), False),
    (Conflict("x", "c", status=409), False),
    (broken("reset"), True), (broken("broken-answer"), True), (broken("refused"), True),
    (broken("unreachable"), True), (ClusterTimeout("x", "c", failure="read-timeout"), True),
    (ClusterTimeout("x", "c", failure="connect-timeout"), True),
    (broken("unresolved"), False), (broken("other"), False), (ClusterConnectionError("x", "c"), False),
    (TLSError("x", "c", certificate=True), False), (TLSError("x", "c", certificate=False), False),
], ids=lambda value: value if isinstance(value, bool) else "{0}-{1}".format(
    type(value).__name__, value.status or value.failure))
def test_which_failures_are_transient(error, transient):
    assert is_transient(error) is transient


# ---- backoff and attempts ---------------------------------------------------------------------------


def test_transient_failures_are_repeated_with_jittered_exponential_backoff(fake_time):
    attempt = failing(server_error(), broken(), server_error(502), "done")
    assert policy(fake_time, backoff_factor=0.5).run(attempt, 60) == "done"
    assert attempt.seen == [1, 2, 3, 4]
    first, second, third = fake_time.pauses
    assert 0 <= first <= 0.5 and 1 <= second <= 1.5 and 2 <= third <= 2.5


def test_the_first_repeat_is_jittered_so_forks_do_not_repeat_together(fake_time):
    for _fork in range(30):
        policy(fake_time, backoff_factor=0.5).run(failing(server_error(), "done"), 60)
    assert len(set(fake_time.pauses)) > 1 and all(0 <= pause <= 0.5 for pause in fake_time.pauses)


def test_the_backoff_is_capped(fake_time):
    attempt = failing(*[server_error()] * 6, "done")
    policy(fake_time, retries=6, backoff_factor=10, backoff_max=15).run(attempt, 1000)
    assert max(fake_time.pauses) == 15


def test_out_of_attempts_the_last_failure_says_how_many(fake_time):
    attempt = failing(*[server_error()] * 5)
    with pytest.raises(ServerError) as caught:
        policy(fake_time).run(attempt, 60)
    assert attempt.seen == [1, 2, 3, 4, 5] and len(fake_time.pauses) == 4
    assert caught.value.attempts == 5 and "after 5 attempts" in str(caught.value)
    assert caught.value.exhausted


def test_an_exhausted_failure_is_not_repeated_again_by_an_enclosing_loop(fake_time):
    inner = failing(*[server_error()] * 3)
    outer = failing(*[None] * 3)

    def enclosing(attempts):
        outer(attempts)
        return policy(fake_time, retries=2).run(inner, 60)

    with pytest.raises(ServerError) as caught:
        policy(fake_time, retries=2).run(enclosing, 60)
    assert outer.seen == [1] and inner.seen == [1, 2, 3] and caught.value.attempts == 3


@pytest.mark.parametrize("error", [server_error(500), NotFound("x", "c", status=404), broken("other"),
                                   TLSError("x", "c", detail="the TLS handshake failed")])
def test_a_failure_that_is_not_transient_ends_the_call_at_once(fake_time, error):
    attempt = failing(error, "never")
    with pytest.raises(type(error)) as caught:
        policy(fake_time).run(attempt, 60)
    assert attempt.seen == [1] and not fake_time.pauses
    assert "attempts" not in str(caught.value).split(". Fix:", maxsplit=1)[0]


def test_retry_after_is_honoured_up_to_a_cap(fake_time):
    policy(fake_time).run(failing(server_error(429, retry_after=7), server_error(503, retry_after=3600), "ok"), 60)
    assert fake_time.pauses == [7, RETRY_AFTER_MAX]


@pytest.mark.parametrize("value, seconds", [("5", 5), (" 12 ", 12), ("0", 0), ("soon", None), ("", None), (None, None),
                                            ("Wed, 21 Oct 2015 07:28:00 GMT", 0)])
def test_retry_after_values(value, seconds):
    assert retry_after_seconds(value) == seconds


# ---- the deadline ---------------------------------------------------------------------------------


def test_no_attempt_starts_after_the_deadline(fake_time):
    attempt = failing(*[broken()] * 5, fake_time=fake_time, takes=60)
    with pytest.raises(ClusterConnectionError) as caught:
        policy(fake_time, deadline=100).run(attempt, 60)
    # The first failure starts the deadline; the second comes 60 s later, the third 120 s later: too late.
    assert len(attempt.seen) == 3
    assert "after 3 attempts (no other attempt within the 100 s retry deadline)" in str(caught.value)


def test_the_default_deadline_is_the_attempts_times_the_read_timeout(fake_time):
    assert policy(fake_time).attempts(60).seconds == 300
    assert policy(fake_time, retries=1).attempts(30).seconds == 60
    assert policy(fake_time, deadline=45).attempts(3000).seconds == 45


def test_the_deadline_runs_from_the_first_failure(fake_time):
    # An upload that streams for 20 minutes and then breaks still gets its repeat.
    attempt = failing(broken(), "sent", fake_time=fake_time, takes=1200)
    assert policy(fake_time, deadline=300).run(attempt, 60) == "sent"


def test_progress_starts_the_deadline_again_and_the_count_goes_on(fake_time):
    attempts = policy(fake_time, retries=3, deadline=100).attempts(60)
    attempts.number = 1
    attempts.failed(broken("broken-answer"))
    fake_time.now += 90  # the resumed download streams on for a while
    attempts.progressed()
    attempts.number = 2
    attempts.failed(broken("broken-answer"))  # within a fresh deadline
    attempts.number = 3
    attempts.failed(broken("broken-answer"))
    attempts.number = 4
    with pytest.raises(ClusterConnectionError) as caught:
        attempts.failed(broken("broken-answer"))  # 3 repeats were allowed
    assert caught.value.attempts == 4


# ---- the total deadline of each class (docs/usage.md, "A stuck cluster") -------------------------


def timeout(failure="read-timeout"):
    return ClusterTimeout("call hello", "https://c", failure=failure, detail="no answer within 40 s")


@pytest.mark.parametrize("failure", ["read-timeout", "connect-timeout"])
def test_a_call_is_not_repeated_after_a_timeout(fake_time, failure):
    """A stuck cluster: the call's one attempt took its whole wait, and a repeat would take it again."""
    attempt = failing(timeout(failure), "answered", fake_time=fake_time, takes=40)
    with pytest.raises(ClusterTimeout) as caught:
        policy(fake_time).run(attempt, 40, kind=CALL)
    assert attempt.seen == [1] and fake_time.now - 1000.0 == 40  # one wait, no pause, no second wait
    assert "not repeated after a timeout" in str(caught.value)


def test_a_call_is_repeated_once_after_a_quick_failure(fake_time):
    attempt = failing(server_error(503), "answered", fake_time=fake_time, takes=1)
    assert policy(fake_time).run(attempt, 40, kind=CALL) == "answered" and attempt.seen == [1, 2]
    attempt = failing(broken("reset"), server_error(503), "answered", fake_time=fake_time, takes=1)
    with pytest.raises(ServerError) as caught:
        policy(fake_time).run(attempt, 40, kind=CALL)
    assert attempt.seen == [1, 2] and caught.value.attempts == 2


def test_a_call_repeat_starts_within_30_s_or_not_at_all(fake_time):
    attempt = failing(server_error(503, retry_after=45), "answered", fake_time=fake_time)
    with pytest.raises(ServerError) as caught:
        policy(fake_time).run(attempt, 40, kind=CALL)
    assert attempt.seen == [1] and "no other attempt within the 30 s retry deadline" in str(caught.value)


def test_the_bound_of_a_call_is_two_waits_and_30_s(fake_time):
    """The worst a call can take: a first attempt answered (a 504) at the end of its wait, the pause,
    and a repeat that takes its whole wait: 2 (C + 30 s) + 30 s, here with C = 10 s."""
    attempt = failing(server_error(504, retry_after=29), timeout(), fake_time=fake_time, takes=40)
    with pytest.raises(ClusterTimeout):
        policy(fake_time).run(attempt, 40, kind=CALL)
    assert attempt.seen == [1, 2] and fake_time.now - 1000.0 <= 2 * 40 + 30


def test_a_read_that_nothing_answers_ends_within_five_timeouts_and_the_pauses(fake_time):
    attempt = failing(*[timeout()] * 6, fake_time=fake_time, takes=60)
    with pytest.raises(ClusterTimeout) as caught:
        policy(fake_time).run(attempt, 60)
    assert caught.value.attempts == 5 and sum(fake_time.pauses) <= 9
    assert fake_time.now - 1000.0 <= 5 * 60 + 9


def test_no_repeat_of_a_read_starts_after_the_wait_it_belongs_to(fake_time):
    """A build wait's read: no repeat past the build timeout (``within``)."""
    from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline

    build_wait = Deadline(100, fake_time.clock, fake_time.sleep)
    attempt = failing(*[timeout()] * 5, fake_time=fake_time, takes=60)
    with pytest.raises(ClusterTimeout) as caught:
        policy(fake_time).run(attempt, 60, within=build_wait)
    assert attempt.seen == [1, 2] and "no other attempt within the 100 s this wait has" in str(caught.value)


def test_a_copy_goes_on_while_bytes_move_and_ends_when_none_has_for_its_stall_timeout(fake_time):
    stall = Stall(120, clock=fake_time.clock)
    attempts = policy(fake_time, retries=8).attempts(60, stall=stall)
    for number in (1, 2, 3):
        # an hour of bytes, then a break: repeated, however long the copy has taken
        fake_time.now += 3600
        stall.moved()
        attempts.number = number
        attempts.failed(broken("reset"))
    # then nothing moves: each attempt waits its 60 s; the one ending 120 s after the last byte is the last
    attempts.number = 4
    fake_time.now += 60
    attempts.failed(timeout())
    attempts.number = 5
    fake_time.now += 60
    with pytest.raises(ClusterTimeout) as caught:
        attempts.failed(timeout())
    assert "stuck: no byte moved in 120 s" in str(caught.value) and caught.value.attempts == 5
    with pytest.raises(ValueError):
        Stall(0)


def test_a_policy_refuses_nonsense():
    for options in ({"retries": -1}, {"retries": True}, {"deadline": 0}):
        with pytest.raises(ValueError):
            RetryPolicy(**options)


# ---- what a repeat must check first -------------------------------------------------------------


def test_an_answer_was_lost_when_the_connection_broke_after_sending_or_a_gateway_answered(fake_time):
    for error, lost in ((broken("reset"), True), (broken("broken-answer"), True), (broken("refused"), False),
                        (server_error(503), False), (server_error(502), True), (server_error(504), True)):
        attempts = policy(fake_time).attempts(60)
        attempts.number = 1
        attempts.failed(error)
        assert attempts.answer_lost is lost, error


# ---- how a transport failure is told apart, by its exception chain ------------------------------


def wrapped(inner, outer=urllib3.exceptions.ProtocolError):
    """``inner`` wrapped the way urllib3 and requests wrap it."""
    error = outer("Connection aborted.", inner)
    try:
        raise requests.exceptions.ConnectionError(error) from error
    except requests.exceptions.ConnectionError as raised:
        return raised


def with_context(outer, inner):
    try:
        try:
            raise inner
        except BaseException:  # pylint: disable=broad-exception-caught
            raise outer  # pylint: disable=raise-missing-from
    except BaseException as raised:  # pylint: disable=broad-exception-caught
        return raised


def test_a_certificate_the_ca_does_not_vouch_for_is_a_handshake_failure():
    verify = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    error = requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/x", urllib3.exceptions.SSLError(verify)))
    assert connection_failure(error) == ("tls-handshake", verify)


def test_a_tls_alert_during_the_handshake_is_a_handshake_failure():
    alert = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert connection_failure(requests.exceptions.SSLError(urllib3.exceptions.SSLError(alert)))[0] == "tls-handshake"


@pytest.mark.parametrize("gone", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "Broken pipe"),
                                  ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
                                  http.client.RemoteDisconnected("Remote end closed connection without response")])
def test_a_connection_that_went_away_after_the_handshake_is_a_reset(gone):
    over_tls = requests.exceptions.SSLError(urllib3.exceptions.SSLError(gone))
    for error in (wrapped(gone), over_tls):
        assert connection_failure(error) == ("reset", gone)


def test_a_body_that_broke_off_is_a_broken_answer():
    incomplete = urllib3.exceptions.IncompleteRead(5, 1019)
    chunked = requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError("Connection broken", incomplete))
    assert connection_failure(chunked) == ("broken-answer", incomplete)
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert connection_failure(wrapped(reset), during_answer=True) == ("broken-answer", reset)


def test_connections_that_never_opened():
    refused = with_context(urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection"),
                           ConnectionRefusedError(111, "Connection refused"))
    assert connection_failure(requests.exceptions.ConnectionError(refused))[0] == "refused"
    unreachable = with_context(urllib3.exceptions.NewConnectionError(None, "No route to host"),
                               OSError(113, "No route to host"))
    assert connection_failure(requests.exceptions.ConnectionError(unreachable))[0] == "unreachable"
    unresolved = with_context(urllib3.exceptions.NameResolutionError("h", None, socket.gaierror(-2, "Name unknown")),
                              socket.gaierror(-2, "Name or service not known"))
    assert connection_failure(requests.exceptions.ConnectionError(unresolved))[0] == "unresolved"
    slow = urllib3.exceptions.ConnectTimeoutError(None, "timed out")
    assert connection_failure(requests.exceptions.ConnectTimeout(slow))[0] == "connect-timeout"


def test_no_answer_in_time_is_a_read_timeout():
    late = urllib3.exceptions.ReadTimeoutError(None, "/x", "Read timed out.")
    assert connection_failure(requests.exceptions.ConnectionError(late))[0] == "read-timeout"
    assert connection_failure(requests.exceptions.ConnectionError(late), during_answer=True)[0] == "read-timeout"


# ---- every resource call states its class ---------------------------------------------------------


class RecordingClient:
    """Answers every call with ``{}`` and records ``(verb, template, retry)``; ``retrying`` runs the real loop."""

    cluster = "https://api.example.com"

    def __init__(self, fake_time):
        self.calls = []
        self._policy = policy(fake_time)

    def _record(self, verb, template, kwargs):
        self.calls.append((verb, template, kwargs.get("retry")))

    def get_json(self, template, *_args, **kwargs):
        self._record("GET", template, kwargs)
        return {}

    def post_json(self, template, *_args, **kwargs):
        self._record("POST", template, kwargs)
        return {}

    def put_json(self, template, *_args, **kwargs):
        self._record("PUT", template, kwargs)
        return {}

    def delete(self, template, *_args, **kwargs):
        self._record("DELETE", template, kwargs)
        return True

    def download(self, template, *_args, **kwargs):
        self._record("download", template, kwargs)
        return iter([])

    def upload(self, template, *_args, **kwargs):
        self._record("upload", template, kwargs)
        return {}

    def request(self, method, template, *_args, **kwargs):
        self._record(method, template, kwargs)
        response = requests.Response()
        response.status_code, response._content = 200, b'{"result": 1}'  # pylint: disable=protected-access
        return response

    def retrying(self, attempt, timeout=None):
        self.calls.append(("guarded", None, None))
        return self._policy.run(attempt, timeout or 60)

    @staticmethod
    def redact(text):
        return text


def classes(fake_time, act):
    client = RecordingClient(fake_time)
    act(client)
    return [(verb, retry) for verb, _template, retry in client.calls]


def test_each_algorithm_call_states_its_class(fake_time):
    def algorithm(client):
        return Algorithm(client, "alice", "hello")

    assert classes(fake_time, lambda c: algorithm(c).read()) == [("GET", True)]
    assert classes(fake_time, lambda c: algorithm(c).build_of("abc")) == [("GET", True)]
    assert classes(fake_time, lambda c: algorithm(c).log_tail("b1")) == [("GET", True)]
    assert classes(fake_time, lambda c: algorithm(c).published_version("abc")) == [("GET", True)]
    assert classes(fake_time, lambda c: algorithm(c).update({})) == [("PUT", True)]
    assert classes(fake_time, lambda c: algorithm(c).delete()) == [("DELETE", True)]
    assert classes(fake_time, lambda c: algorithm(c).compile(60)) == [("POST", False)]
    assert classes(fake_time, lambda c: algorithm(c).create({}, {})) == [("guarded", None), ("POST", False)]
    assert classes(fake_time, lambda c: algorithm(c).publish("abc", "minor", {})) == [("guarded", None), ("POST", False)]
    assert classes(fake_time, lambda c: algorithm(c).call("abc", "x", 10)) == [("POST", False)]  # a benchmark's
    assert classes(fake_time, lambda c: algorithm(c).call("abc", "x", 10, retry=True)) == [("POST", CALL)]


def test_each_data_api_call_states_its_class(fake_time):
    def files(client):
        return DataFiles(client, "destination")

    assert classes(fake_time, lambda c: files(c).listing("data://a/c")) == [("GET", True)]
    assert classes(fake_time, lambda c: files(c).download("data://a/c/f")) == [("download", True)]
    assert classes(fake_time, lambda c: files(c).upload("data://a/c/f", lambda: [b""])) == [("upload", True)]
    assert classes(fake_time, lambda c: files(c).delete("data://a/c/f")) == [("DELETE", True)]
    assert classes(fake_time, lambda c: files(c).delete_collection("data://a/c")) == [("DELETE", True)]
    assert classes(fake_time, lambda c: files(c).create_collection("a", "c")) == [("POST", True)]


def test_each_environment_call_states_its_class(fake_time):
    assert classes(fake_time, lambda c: ClusterEnvironments(c).installed("python3")) == [("GET", True)]
    assert classes(fake_time, lambda c: ClusterEnvironments(c).available("prod")) == [("GET", True)]

    def sync(client):
        with pytest.raises(Exception):  # the fake's answers end the sync early; its first call is what counts
            ClusterEnvironments(client).sync({"environment_specification_id": "s1"}, "prod", 1)

    assert classes(fake_time, sync)[0] == ("POST", False)


class ScriptedClient(RecordingClient):
    """``post_json`` raises or returns each of ``posts`` in turn; ``get_json`` answers ``reads``."""

    def __init__(self, fake_time, posts, reads):
        super().__init__(fake_time)
        self.posts = list(posts)
        self.reads = list(reads)

    def post_json(self, template, *_args, **kwargs):
        self._record("POST", template, kwargs)
        outcome = self.posts.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_json(self, template, *_args, **kwargs):
        self._record("GET", template, kwargs)
        outcome = self.reads.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def published(version):
    return {"version_info": {"semantic_version": version}}


def test_a_publish_whose_answer_was_lost_is_not_published_again(fake_time):
    client = ScriptedClient(fake_time, posts=[broken("reset")], reads=[published("0.3.0")])
    assert Algorithm(client, "alice", "hello").publish("abc", "minor", {}) == "0.3.0"
    assert [verb for verb, _t, _r in client.calls] == ["guarded", "POST", "GET"]


def test_a_publish_refused_with_503_checks_then_publishes(fake_time):
    missing = NotFound("read version", "c", status=404)
    client = ScriptedClient(fake_time, posts=[server_error(503), published("0.4.0")], reads=[missing])
    assert Algorithm(client, "alice", "hello").publish("abc", "minor", {}) == "0.4.0"
    assert [verb for verb, _t, _r in client.calls] == ["guarded", "POST", "GET", "POST"]


def test_a_create_whose_answer_was_lost_takes_the_409_as_its_own(fake_time):
    exists = Conflict("create algorithm", "c", status=409)
    client = ScriptedClient(fake_time, posts=[broken("reset"), exists], reads=[{"name": "hello"}])
    assert Algorithm(client, "alice", "hello").create({}, {}) == {"name": "hello"}


def test_a_create_refused_before_it_acted_does_not_take_a_409_as_its_own(fake_time):
    exists = Conflict("create algorithm", "c", status=409)
    client = ScriptedClient(fake_time, posts=[server_error(503), exists], reads=[])
    with pytest.raises(Conflict):
        Algorithm(client, "alice", "hello").create({}, {})
