# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which calls may be repeated, and the one way they are.

Every call the collection makes is classified once, here, and marked where it is made
(``retry=True`` at the client call, ``retry=CALL`` for an algorithm call repeated once at most, or a
guarded operation through ``AlgorithmiaClient.retrying``):

    call                                            class      why a repeat does no harm
    ----------------------------------------------  ---------  ------------------------------------------------
    GET and HEAD: records, listings, builds, logs,  safe       a read changes nothing
      versions, environments, sync status
    download of a file (streamed GET)               safe       a break mid-body resumes where it stopped (Range
                                                               when offered, else read again and skip), checked to
                                                               be the same file (length, ETag or Last-Modified)
    git fetch (info/refs, git-upload-pack)          safe       reads; the whole fetch is repeated
    PUT of a whole file (DataFiles.upload)          safe       replaces the whole file; every attempt sends all of
                                                               it from a fresh source (a new download); a copy's
                                                               attempts are bounded by its ``Stall``
    PUT of an algorithm's settings (update)         safe       replaces the record with the same values
    create a collection                             safe       409 (it exists) is what was wanted
    delete a file, collection or algorithm          safe       404 (gone) is what was wanted; a 404 after an
      (missing_ok)                                             attempt whose answer was lost counts as deleted
    the test_payload call (call(retry=CALL))        call       a check of the built commit: only its answer counts
    create an algorithm                             guarded    a 409 after an attempt whose answer was lost: read
                                                               it back and take it as created
    publish a version                               guarded    before each repeat, ``published_version(commit)``:
                                                               if the lost attempt published it, that is the answer
    git push                                        guarded    each attempt reads master first: our commit, or
                                                               another commit of our tree, means done; the old
                                                               master means push; else Conflict. A push refused
                                                               in-protocol because another push held master's
                                                               lock (``RefRejected``) is repeated this way too
    compile                                         not safe   each call starts another build
    start an environment sync                       not safe   each call starts another sync
    every call of a benchmark (call(retry=False))   not safe   every failure is counted, never hidden by a repeat

Not safe means never repeated, not even when the connection failed before the request was sent:
those calls are made idempotent by a check before them (the build of the commit, the installed
environments), and a re-run of the task repeats them deliberately.

What is repeated: a 429, 502, 503 or 504 answer (the server's Retry-After is honoured, up to
``RETRY_AFTER_MAX`` s), a refused or unreachable connection, no connection or no answer within
the timeout, a connection reset while the request was sent or its answer awaited, and an answer
broken off mid-body. Never: a failed TLS handshake (an unknown CA or host name, no common
protocol: another attempt cannot succeed), a host name that does not resolve, any other status
(a 500 is this request's own failure) and protocol errors.

Each class has a total deadline, so that a stuck cluster (one that accepts connections, then answers
nothing) ends every step within a bound (docs/usage.md, "A stuck cluster"); T is the client's
``timeout`` (60 s by default), C a call's own timeout:

    class            each attempt waits                    repeats                                    in all, at most
    ---------------  ------------------------------------  -----------------------------------------  ------------------------
    safe, guarded    T for each answer (or each read of    4, none starting later than 5 T after the  5 T + 9 s of pauses when
                     a body: a stall of T ends it)         first failure                              nothing answers; 7 T
    call             C + 30 s for the whole answer,        1, only after a quick failure (429, 502,   C + 30 s when nothing
                     however slowly it arrives             503, 504, refused, reset) and starting     answers; 2 (C + 30 s)
                                                           within 30 s of it; none after a timeout    + 30 s
    not safe         T for each answer                     none                                       T (compile: what is left
                                                                                                      of the build timeout)
    a data copy      T for each read and write             while bytes move: none starting when no    stall_timeout + T after
    (upload, and                                           byte has moved for ``stall_timeout`` s     the last byte moved
    its download)                                          (``Stall``); a copy that moves takes as
                                                           long as it takes
    benchmark call   C + 30 s for each answer              none; a test whose calls all go unanswered C + 30 s after the last
                                                           for C + 30 s stops (measure/engine.py)     answer

A repeat of a guarded call first reads whether the lost attempt did the work (one more wait of T, in the
same deadline). No repeat of a call after a timeout: the cluster took the request and said nothing for C + 30 s,
and a cluster that does that (a stuck worker, a wedged queue) does the same to a repeat, which
would only double the wait; a quick failure (the proxy's 503 while the cluster restarts, a reset
connection) is what a repeat can cure. A build wait (``waiting.poll``) ends at its build timeout:
no read of it is repeated past that, so it overruns by at most the read under way (T).

How (after amazon.aws's ``AWSRetry``, with urllib3's ``Retry`` as the engine): one loop,
``Attempts.run``, makes every repeat; urllib3 itself repeats nothing (the HTTP adapters and the git
pool get ``Retry(0)``), because it can only repeat until the answer's headers arrive, only bodies it
can rewind, and knows no deadline. ``Attempts`` keeps a urllib3 ``Retry`` (``Backoff``) as its record:
it counts the attempts, keeps their history and computes the pause: for the first repeat a random
0 to ``backoff_factor`` s, then ``backoff_factor * 2 ** (n - 1)`` plus up to ``backoff_factor`` s of
jitter (about 1, 2, 4 s by default), at most ``backoff_max``; so forks that failed together do not
repeat together. At most ``retries`` repeats (5 attempts by default), and none starts later than
the call's deadline after its first failure: ``deadline`` s if set, else (retries + 1) x the call's
read timeout (300 s with the default 60 s timeout). A download that resumed and moved forward
starts that deadline again at its next break (a long transfer may break twice, far apart); the
count of attempts goes on. The error that ends the call says how many attempts were made.
"""

from __future__ import annotations

import random
import time
import traceback

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    ANSWER_LOST,
    BROKEN_ANSWER,
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    REFUSED,
    RESET,
    UNREACHABLE,
    ClusterConnectionError,
    ClusterError,
    RefRejected,
    TLSError,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline

try:
    from urllib3.exceptions import InvalidHeader, MaxRetryError
    from urllib3.util.retry import Retry
except ImportError:
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
    Retry = object
else:
    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None

DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_FACTOR = 0.5
DEFAULT_BACKOFF_MAX = 20.0
# Worth another attempt: rate limiting, and a proxy or load balancer while the cluster restarts.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
# A proxy answers these after it may have forwarded the request: its answer was lost.
GATEWAY_STATUSES = frozenset((502, 504))
# A longer Retry-After is shortened to this: a task should not sleep for an hour.
RETRY_AFTER_MAX = 60
TRANSIENT_FAILURES = frozenset((REFUSED, UNREACHABLE, CONNECT_TIMEOUT, RESET, READ_TIMEOUT, BROKEN_ANSWER))
# No answer at all within the time allowed: what a stuck cluster does to every attempt.
TIMEOUTS = frozenset((CONNECT_TIMEOUT, READ_TIMEOUT))
# The class of a call that is repeated once at most, never after a timeout (``retry=CALL``): an algorithm call.
CALL = "call"
# A repeat of a call starts within this many seconds of its failure, or not at all.
CALL_REPEAT_WITHIN = 30.0


def is_transient(error):
    """Whether another attempt of a safe call could succeed where ``error`` (a ``ClusterError``) failed."""
    if isinstance(error, TLSError):
        return False
    if isinstance(error, RefRejected):
        return True  # lost a race for master's lock: the repeat reads master and decides again
    if isinstance(error, ClusterConnectionError):
        return error.failure in TRANSIENT_FAILURES
    return isinstance(error, ClusterError) and error.status in RETRY_STATUSES


def answer_was_lost(error):
    """Whether the request that ended in ``error`` may have been applied: its answer never came."""
    if isinstance(error, ClusterConnectionError):
        return error.failure in ANSWER_LOST
    return getattr(error, "status", None) in GATEWAY_STATUSES


class Backoff(Retry):
    """urllib3's ``Retry`` as the record of one call's attempts: ``increment()`` per failure (raising
    ``MaxRetryError`` when none is left), ``history``, and the jittered exponential pause.

    urllib3 repeats the first failure at once; here it waits a random 0 to ``backoff_jitter`` s
    as well, so that many forks that failed together do not repeat together.
    """

    def get_backoff_time(self):
        pause = super().get_backoff_time()
        if pause == 0 and self.history:
            pause = random.uniform(0, self.backoff_jitter)
        return pause


def retry_after_seconds(value):
    """Seconds a ``Retry-After`` header value asks for (a number or an HTTP date), ``None`` when absent
    or unreadable."""
    if not value or not HAS_URLLIB3:
        return None
    try:
        return Retry(0).parse_retry_after(str(value))
    except InvalidHeader:
        return None


class RetryPolicy:
    """How the calls of one client are repeated (see the module docstring).

    ``retries``: repeats at most; ``backoff_factor``, ``backoff_max``: the pause; ``deadline``:
    seconds for all attempts of one call (``None``: (retries + 1) x the call's read timeout);
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, retries=DEFAULT_RETRIES, backoff_factor=DEFAULT_BACKOFF_FACTOR,
                 backoff_max=DEFAULT_BACKOFF_MAX, deadline=None, clock=time.monotonic, sleep=time.sleep):
        if not HAS_URLLIB3:
            raise ImportError("urllib3 is needed for retries: " + URLLIB3_IMPORT_ERROR)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("retries must be a whole number >= 0, got {0!r}".format(retries))
        if deadline is not None and not deadline > 0:
            raise ValueError("deadline must be a positive number of seconds, got {0!r}".format(deadline))
        self.retries = retries
        self.backoff_factor = float(backoff_factor)
        self.backoff_max = float(backoff_max)
        self.deadline = deadline
        self.clock = clock
        self.sleep = sleep

    def __repr__(self):
        return "RetryPolicy(retries={0}, backoff_factor={1:g}, backoff_max={2:g}, deadline={3})".format(
            self.retries, self.backoff_factor, self.backoff_max, self.deadline)

    def backoff(self, repeats=None):
        """A fresh record for one call: every failure counts against ``total`` alone (``repeats``, else
        the policy's ``retries``)."""
        return Backoff(total=self.retries if repeats is None else repeats, connect=None, read=None, redirect=None, status=None, other=None,
                       allowed_methods=None, status_forcelist=RETRY_STATUSES, backoff_factor=self.backoff_factor,
                       backoff_max=self.backoff_max, backoff_jitter=self.backoff_factor, raise_on_status=False)

    def seconds_for(self, read_timeout):
        """The deadline of one call whose every attempt may wait ``read_timeout`` s for its answer."""
        return self.deadline if self.deadline else (self.retries + 1) * float(read_timeout)

    def attempts(self, read_timeout, kind=True, within=None, stall=None):
        """The ``Attempts`` of one call of class ``kind`` (``True``: safe or guarded; ``CALL``: an algorithm
        call) whose answer may take ``read_timeout`` s. ``within``: a ``waiting.Deadline`` no repeat starts
        after (a build wait's); ``stall``: the ``Stall`` of a data copy, which replaces the deadline."""
        if kind == CALL:
            return Attempts(self, CALL_REPEAT_WITHIN, repeats=min(self.retries, 1), repeat_timeouts=False,
                            within=within)
        return Attempts(self, self.seconds_for(read_timeout), within=within, stall=stall)

    def run(self, attempt, read_timeout, **kinds):
        """``attempt(attempts)`` until it succeeds, as ``Attempts.run``; ``kinds`` as ``attempts()`` takes them."""
        return self.attempts(read_timeout, **kinds).run(attempt)


class Stall:
    """The deadline of a data copy: ``seconds`` without a byte moving, however long the copy (``moved()``
    each time bytes move). An attempt of the copy (an upload again, a download resumed) starts only
    while the last byte moved less than ``seconds`` ago. ``furthest``: the most bytes an attempt has
    sent, so that sending again what was sent (into a destination that reads nothing) is not taken
    for progress (``datasync.SizedBody``)."""

    def __init__(self, seconds, clock=time.monotonic):
        if not seconds > 0:
            raise ValueError("a stall timeout must be a positive number of seconds, got {0!r}".format(seconds))
        self.seconds = float(seconds)
        self.clock = clock
        self.last = clock()
        self.furthest = 0

    def moved(self, position=0):
        self.last = self.clock()
        self.furthest = max(self.furthest, position)

    def idle(self):
        """Seconds since a byte last moved."""
        return max(0.0, self.clock() - self.last)

    def stuck(self):
        return "stuck: no byte moved in {0:g} s".format(self.seconds)


class Attempts:
    """The attempts of one call: how many so far (``number``), their failures, and whether another may start.

    ``run(attempt)`` calls ``attempt(self)`` until it returns. A guarded operation reads
    ``repeated`` (a previous attempt failed) or ``answer_lost`` (one may have been applied) to check
    first. A failure that ``is_transient`` is followed by the pause and another attempt while
    attempts are left and the deadline allows; otherwise it is raised, saying how many attempts
    were made, and marked ``exhausted`` so that an enclosing loop (an upload whose source is a
    download) does not repeat it again. The deadline runs from the first failure, so a long first attempt (a large upload)
    does not use it up: no attempt starts, and no pause ends, later than ``seconds`` after it.

    ``repeats``: at most this many repeats (the policy's ``retries`` by default); ``repeat_timeouts``:
    whether a timeout (no answer at all) is repeated; ``within``: a ``waiting.Deadline`` no repeat starts
    after; ``stall``: a data copy's ``Stall``, which replaces ``seconds``: no repeat starts once no byte
    has moved for its seconds.
    """

    def __init__(self, policy, seconds, repeats=None, repeat_timeouts=True, within=None, stall=None):
        self.policy = policy
        self.seconds = seconds
        self.number = 0
        self.failures = []
        self.repeat_timeouts = repeat_timeouts
        self.within = within
        self.stall = stall
        self._backoff = policy.backoff(repeats)
        self._deadline = None  # runs from the first failure (see progressed())

    @property
    def repeated(self):
        return self.number > 1

    @property
    def answer_lost(self):
        """Whether an earlier attempt may have been applied though its answer never came."""
        return any(answer_was_lost(error) for error in self.failures)

    def run(self, attempt):
        while True:
            self.number += 1
            try:
                return attempt(self)
            except ClusterError as error:
                self.failed(error)

    def failed(self, error):
        """Count ``error``; return after the pause when another attempt may start, else raise ``error``."""
        self.failures.append(error)
        if not is_transient(error) or error.exhausted:
            raise error.after_attempts(self.number)
        error.exhausted = True  # until another attempt is allowed below
        if not self.repeat_timeouts and error.failure in TIMEOUTS:
            raise error.after_attempts(self.number, "not repeated after a timeout: a cluster that does not answer "
                                                    "would not answer a repeat either")
        try:
            self._backoff = self._backoff.increment(error=error)
        except MaxRetryError:
            raise error.after_attempts(self.number) from None
        pause = self.pause(error)
        if self.stall is not None:
            if pause >= self.stall.seconds - self.stall.idle():
                raise error.after_attempts(self.number, self.stall.stuck()) from None
        else:
            if self._deadline is None:
                self._deadline = Deadline(self.seconds, self.policy.clock, self.policy.sleep)
            if pause >= self._deadline.remaining():
                raise error.after_attempts(self.number, "no other attempt within the {0:g} s retry deadline".format(
                    self.seconds)) from None
        if self.within is not None and pause >= self.within.remaining():
            raise error.after_attempts(self.number, "no other attempt within the {0:g} s this wait has".format(
                self.within.seconds)) from None
        error.exhausted = False
        if pause > 0:
            self.policy.sleep(pause)

    def progressed(self):
        """The work moved forward since the last failure (a resumed download delivered more bytes):
        the deadline runs again from the next failure. The count of attempts goes on."""
        self._deadline = None

    def pause(self, error):
        """Seconds to wait before the next attempt: the server's Retry-After, else the backoff."""
        if error.retry_after:
            return min(float(error.retry_after), RETRY_AFTER_MAX)
        return self._backoff.get_backoff_time()

    @property
    def history(self):
        """urllib3's record of the failed attempts (``RequestHistory`` tuples)."""
        return self._backoff.history
