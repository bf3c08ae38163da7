# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One algorithm on one cluster: its record, builds, versions and calls.

Every ``/v1/algorithms/...`` and ``/v1/algo/...`` path the collection uses is spoken here (after
community.docker's ``get_container``/``get_network`` on its client base), so a module reads as
"connect, plan, act, report" and an endpoint's quirks are handled in one place:

    record     get / create / update / delete        /v1/algorithms/<owner>[/<name>]
    builds     build_of / await_build / compile /    /v1/algorithms/<owner>/<name>/builds[/<id>/logs],
               log_tail                              .../compile
    versions   published_version / publish           /v1/algorithms/<owner>/<name>/versions[/<hash>]
    calls      call / caller                         /v1/algo/<owner>/<name>[/<version>]

Each call states its class (``retries``): reads, ``update`` and ``delete`` are safe to repeat;
``create`` and ``publish`` are guarded (a repeat first checks whether a lost attempt did the
work); ``compile`` is never repeated; ``call`` is repeated only when its caller says so (the
test_payload check: once at most, never after a timeout), never in a benchmark.
"""

from __future__ import annotations

import json
import time

from ansible_collections.algorithmia.testbench.plugins.module_utils.call_wire import KeptAliveWire
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    READ_TIMEOUT,
    ClusterError,
    ClusterTimeout,
    Conflict,
    InvalidResponse,
    NotFound,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import CALL
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import poll

IN_PROGRESS = "in-progress"
SUCCEEDED = "succeeded"
FAILED = "failed"
BUILD_PAGES = 5
LOG_TAIL_LINES = 40
# The HTTP read waits this much longer than the call's own timeout, so the cluster's answer
# ("timed out after N s") arrives instead of a bare read timeout of our own.
READ_TIMEOUT_MARGIN = 30
MAX_CALL_TIMEOUT = 3000


class Algorithm:
    """``owner/name`` on the cluster an ``AlgorithmiaClient`` talks to."""

    def __init__(self, client, owner, name):
        self.client = client
        self.owner = owner
        self.name = name
        self.label = "{0}/{1}".format(owner, name)

    # ---- the record ----------------------------------------------------------------------

    def read(self, retry=True):
        """The algorithm as the cluster returns it; ``NotFound`` when it does not exist."""
        return self.client.get_json("/v1/algorithms/{0}/{1}", self.owner, self.name, retry=retry,
                                    action="read algorithm " + self.label)

    def get(self):
        """The algorithm, or ``None`` when it does not exist."""
        try:
            return self.read()
        except NotFound:
            return None

    def create(self, details, settings):
        """Create it; the algorithm as created. Guarded: a 409 after an attempt whose answer was lost
        is that attempt's work, read back; a 409 on the first attempt is someone else's (``Conflict``)."""
        action = "create algorithm " + self.label

        def attempt(attempts):
            try:
                return self.client.post_json("/v1/algorithms/{0}", self.owner, retry=False, action=action,
                                             body={"name": self.name, "details": details, "settings": settings})
            except Conflict:
                if not attempts.answer_lost:
                    raise
                return self.read(retry=False)

        return self.client.retrying(attempt)

    def update(self, settings, details=None):
        """Replace its settings (and details): safe to repeat, the same values again change nothing."""
        body = {"settings": settings}
        if details:
            body["details"] = details
        return self.client.put_json("/v1/algorithms/{0}/{1}", self.owner, self.name, body=body, retry=True,
                                    action="update algorithm " + self.label)

    def delete(self):
        """Delete it with its versions and builds; ``False`` when it was already gone. Safe to repeat."""
        return self.client.delete("/v1/algorithms/{0}/{1}", self.owner, self.name, missing_ok=True, retry=True,
                                  action="delete algorithm " + self.label)

    # ---- builds --------------------------------------------------------------------------

    def build_of(self, commit, within=None):
        """The newest build of ``commit``, or ``None`` (builds are listed newest first). ``within``: the
        ``waiting.Deadline`` of a build wait, past which no read is repeated."""
        marker = None
        for _page in range(BUILD_PAGES):
            params = {"limit": 50}
            if marker:
                params["marker"] = marker
            page = self.client.get_json("/v1/algorithms/{0}/{1}/builds", self.owner, self.name, params=params,
                                        retry=True, action="list the builds of " + self.label, within=within) or {}
            for build in page.get("results") or []:
                if build.get("commit_sha") == commit:
                    return build
            marker = page.get("marker")
            if not marker:
                return None
        return None

    def await_build(self, commit, deadline):
        """The finished build of ``commit``; ``ClusterTimeout`` if it is not done by the deadline (no read of
        the wait is repeated past it: it overruns by the read under way at most)."""
        build = poll(lambda: self.build_of(commit, within=deadline),
                     lambda found: found is not None and found.get("status") != IN_PROGRESS, deadline,
                     describe=lambda found: "the build of {0} at {1}: {2}".format(
                         self.label, commit[:8], "in progress" if found else "not started yet"))
        if build is None or build.get("status") == IN_PROGRESS:
            state = "still in progress (build {0})".format(build["build_id"]) if build else "never started"
            raise ClusterTimeout(
                "await the build of {0} at {1}".format(self.label, commit), self.client.cluster,
                detail="the build is {0} after {1:g} s".format(state, deadline.seconds),
                hint="raise build_timeout, or check the cluster's build queue and the build's log.")
        return build

    def compile(self, timeout):
        """Build master again (after a failed build of an unchanged commit); the build record.
        Never repeated: each call starts another build (the caller checks the commit's build first)."""
        answer = self.client.post_json("/v1/algorithms/{0}/{1}/compile", self.owner, self.name, retry=False,
                                       action="compile " + self.label, timeout=timeout) or {}
        return answer.get("build") or {}

    def log_tail(self, build_id, lines=LOG_TAIL_LINES):
        answer = self.client.get_json("/v1/algorithms/{0}/{1}/builds/{2}/logs", self.owner, self.name, build_id,
                                      retry=True, action="read the log of build {0} of {1}".format(build_id, self.label)) or {}
        text = str(answer.get("logs") or "").rstrip()
        return "\n".join(text.splitlines()[-lines:])

    # ---- versions ------------------------------------------------------------------------

    def published_version(self, commit, retry=True):
        """The semantic version ``commit`` is published as, or ``None``."""
        try:
            version = self.client.get_json("/v1/algorithms/{0}/{1}/versions/{2}", self.owner, self.name, commit,
                                           retry=retry, action="read version {0} of {1}".format(commit, self.label))
        except NotFound:
            return None
        return ((version or {}).get("version_info") or {}).get("semantic_version")

    def publish(self, commit, version_type, algorithm):
        """Publish ``commit``; the new semantic version. Callability and label are the
        algorithm's own (the API requires both).

        Guarded: before each repeat, ``published_version(commit)``; an attempt whose answer was lost
        may have published it, and then that version is the answer. Never published twice.
        """
        settings = (algorithm or {}).get("settings") or {}
        details = (algorithm or {}).get("details") or {}
        body = {
            "settings": {"algorithm_callability": settings.get("algorithm_callability") or "private"},
            "details": {"label": details.get("label") or self.name},
            "version_info": {"version_type": version_type, "git_hash": commit,
                             "release_notes": "Published by algorithmia.testbench"},
        }
        action = "publish {0} at {1}".format(self.label, commit)

        def attempt(attempts):
            if attempts.repeated:
                published = self.published_version(commit, retry=False)
                if published is not None:
                    return published
            answer = self.client.post_json("/v1/algorithms/{0}/{1}/versions", self.owner, self.name, body=body,
                                           retry=False, action=action) or {}
            return (answer.get("version_info") or {}).get("semantic_version")

        return self.client.retrying(attempt)

    # ---- calls ---------------------------------------------------------------------------

    def call(self, version, payload, timeout, clock=time.monotonic, *, retry=False):
        """Call the algorithm (at ``version``: a semantic version or git hash, else the latest).

        Returns a ``CallOutcome`` and never raises for a failed call: an error answer, a refusal
        or a timeout is an outcome with ``ok`` false. Sent once unless ``retry``: a benchmark counts
        every failure (and its duration is one request's). ``retry=True`` is for a check whose answer
        alone counts (algo_build_publish's test_payload call), of class ``retries.CALL``: each attempt
        waits ``timeout`` + ``READ_TIMEOUT_MARGIN`` s for its whole answer, and is repeated once at most,
        after a quick failure (429/502/503/504, a refused or broken connection), never after a timeout
        (the outcome's ``failure`` says ``read-timeout``: the cluster is stuck); ``duration_ms`` then
        spans every attempt.
        """
        data, content_type = request_body(payload)
        template = "/v1/algo/{0}/{1}/{2}" if version else "/v1/algo/{0}/{1}"
        args = (self.owner, self.name, version) if version else (self.owner, self.name)
        action = "call {0}{1}".format(self.label, "/" + str(version) if version else "")
        started = clock()
        wait = timeout + READ_TIMEOUT_MARGIN
        try:
            response = self.client.request("POST", template, *args, action=action, params={"timeout": int(timeout)},
                                           data=data, headers={"Content-Type": content_type},
                                           retry=CALL if retry else False, timeout=wait, total=wait if retry else None)
            body = response.content
        except ClusterError as exc:
            return CallOutcome(False, (clock() - started) * 1000.0, error=str(exc), error_type=type(exc).__name__,
                               failure=exc.failure)
        return parse_call_answer(body, (clock() - started) * 1000.0, self.client.redact)

    def caller(self, version):
        """A ``Caller`` for a benchmark's many calls of this algorithm at ``version``."""
        return Caller(self, version)


class Caller:
    """``caller(payload, timeout)`` makes one call as ``Algorithm.call`` does (sent once, a
    ``CallOutcome`` whatever happened) with less client work per call: the request is prepared
    once per payload and timeout and sent on a kept-alive connection of the calling thread
    (``call_wire``). Behind a proxy, each call is ``Algorithm.call``. ``close()`` when done."""

    def __init__(self, algorithm, version, clock=time.monotonic):
        self.algorithm = algorithm
        self.version = version
        self.clock = clock
        client = algorithm.client
        route = client.direct_route()
        self.wire = KeptAliveWire(client, route) if route[1] is not None else None
        template = "/v1/algo/{0}/{1}/{2}" if version else "/v1/algo/{0}/{1}"
        args = (algorithm.owner, algorithm.name, version) if version else (algorithm.owner, algorithm.name)
        self.url = client.url(template, *args)
        self.action = "call {0}{1}".format(algorithm.label, "/" + str(version) if version else "")
        self._prepared = (None, None, None)  # (payload, timeout, request bytes): a test sends one payload

    def _request(self, payload, timeout):
        last_payload, last_timeout, request = self._prepared
        if request is None or payload is not last_payload or timeout != last_timeout:
            data, content_type = request_body(payload)
            request = self.wire.prepare("POST", self.url, {"timeout": int(timeout)}, {"Content-Type": content_type}, data)
            self._prepared = (payload, timeout, request)
        return request

    def __call__(self, payload, timeout):
        if self.wire is None:
            return self.algorithm.call(self.version, payload, timeout, self.clock)
        request = self._request(payload, timeout)
        started = self.clock()
        try:
            answer = self.wire.exchange(request, self.url, self.action, timeout + READ_TIMEOUT_MARGIN)
        except ClusterError as exc:
            return CallOutcome(False, (self.clock() - started) * 1000.0, error=str(exc), error_type=type(exc).__name__,
                               failure=exc.failure)
        return parse_call_answer(answer.content, (self.clock() - started) * 1000.0, self.algorithm.client.redact)

    def close(self):
        if self.wire is not None:
            self.wire.close()


# ---- calls: the pure parts ---------------------------------------------------------------


class CallOutcome:
    """One call: ``ok``, ``result`` (when ok), ``error`` (a message when not), ``duration_ms``
    (as the controller measured it), the cluster's own ``metadata``, and ``failure``: what happened
    to the connection when no answer came (``errors.READ_TIMEOUT``...), else ``None``."""

    def __init__(self, ok, duration_ms, result=None, error=None, error_type=None, metadata=None, failure=None):
        self.ok = ok
        self.duration_ms = duration_ms
        self.result = result
        self.error = error
        self.error_type = error_type
        self.metadata = metadata or {}
        self.failure = failure

    @property
    def unanswered(self):
        """Whether the call ended with no answer in the time it had (a read timeout): a stuck cluster."""
        return self.failure == READ_TIMEOUT


def request_body(payload):
    """``(bytes, content type)`` as the official client's ``pipe()`` sends them: a string as
    text, bytes as binary, anything else as JSON."""
    if isinstance(payload, str):
        return payload.encode("utf-8"), "text/plain"
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload), "application/octet-stream"
    return json.dumps(payload).encode("utf-8"), "application/json"


def parse_call_answer(body, duration_ms, redact):
    """The ``CallOutcome`` of an answer body: ``{"result", "metadata"}`` or ``{"error", "metadata"}``."""
    try:
        document = json.loads(body)
    except ValueError:
        return CallOutcome(False, duration_ms, error="the answer was not JSON: {0!r}".format(
            redact(body[:200].decode("utf-8", "replace"))), error_type=InvalidResponse.__name__)
    if not isinstance(document, dict):
        return CallOutcome(False, duration_ms, error="unexpected answer {0!r}".format(document),
                           error_type=InvalidResponse.__name__)
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    if "error" in document:
        message, error_type = _algorithm_error(document["error"])
        return CallOutcome(False, duration_ms, error=redact(message), error_type=error_type, metadata=metadata)
    return CallOutcome(True, duration_ms, result=document.get("result"), metadata=metadata)


def _algorithm_error(error):
    if not isinstance(error, dict):
        return str(error), None
    message = str(error.get("message") or "the algorithm failed without a message")
    trace = error.get("stacktrace") or error.get("stack_trace")
    if trace:
        lines = str(trace).rstrip().splitlines()[-8:]
        message += "\n" + "\n".join(lines)
    return message, error.get("error_type")
