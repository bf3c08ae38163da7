"""The request log: one JSON line per request under the data dir.

It records time, user, method, path, status and duration; never a header, a query string
(which could carry anything) or a body, and anything of a key's shape in a path is redacted
(``localcluster.keys``), so no key or data can reach it. Tests read it, e.g. to prove that
validation stopped a run before any request reached the cluster.

``status`` is the answer the request got: the app's status, or an injected error's. A request
a fault hook (``localcluster.hooks.faults``) acted on has one or two more fields: ``fault``, the
kind that decided what the client saw (``error``, ``drop``, ``lost_reply``, or ``latency`` when
latency was all), and ``latency_ms`` when latency was added. A ``drop`` that cut the connection
before the request ran or while its body arrived has ``"status": null`` (no answer existed); a
``drop`` that cut a download and a ``lost_reply`` keep the app's status (the client saw the
stream break, or nothing at all). Lines of requests no fault touched are as they always were.
A client that left before its answer started (an upload it gave up) has ``"status": null`` too
and no ``fault``: there was no one left to answer.

A 500 that no fault injected is a bug of localcluster (``server_errors``): the test suite fails
on any (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from starlette.requests import ClientDisconnect

from localcluster.keys import redact

# Where a request's RequestRecord sits in its ASGI scope, for the fault hooks.
SCOPE_KEY = "localcluster.request_record"
# The status of a request whose app ended without starting a response (Starlette answers 500).
NO_RESPONSE_STARTED = 500


class RequestLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # line-buffered

    def write(self, *, user: str | None, method: str, path: str, status: int | None, duration: float,
              **fault_fields) -> None:
        entry = {"time": round(time.time(), 6), "user": user, "method": method, "path": path,
                 "status": status, "duration_ms": round(duration * 1000, 3)}
        entry.update(fault_fields)
        line = json.dumps(entry)
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._file.close()


class RequestRecord:
    """One request's line, filled in while the request runs and written once.

    The log middleware writes it when the response ends; a fault hook that cuts a connection
    writes it first (``write``), so a client that saw the cut finds the line already there.
    """

    def __init__(self, log: RequestLog | None, scope) -> None:
        self.log = log
        self.scope = scope
        self.started = time.perf_counter()
        self.status: int | None = NO_RESPONSE_STARTED
        self.fault: str | None = None
        self.latency_ms: int | None = None
        self.written = False

    def write(self) -> None:
        if self.written or self.log is None:
            return
        self.written = True
        caller = self.scope.get("state", {}).get("caller")
        extra: dict = {}
        if self.fault is not None:
            extra["fault"] = self.fault
        if self.latency_ms is not None:
            extra["latency_ms"] = self.latency_ms
        self.log.write(user=getattr(caller, "username", None), method=self.scope["method"],
                       path=redact(self.scope["path"]), status=self.status, duration=time.perf_counter() - self.started,
                       **extra)


def request_record(scope) -> RequestRecord:
    """The request's record; a detached one (never written) when the log middleware is not in front."""
    record = scope.get(SCOPE_KEY)
    if record is None:
        record = scope[SCOPE_KEY] = RequestRecord(None, scope)
    return record


class RequestLogMiddleware:
    """Pure ASGI, so streamed uploads and downloads stay streamed."""

    def __init__(self, app, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = scope[SCOPE_KEY] = RequestRecord(self.log, scope)

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged before the last byte leaves: a client that has read a whole response
                # finds its line (a test reading the log right after a call must not race it).
                record.write()
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except ClientDisconnect:
            # The client left while its request body arrived (Starlette raises this from the read):
            # nobody is left to answer, so neither a 500 nor uvicorn's error log; the handler has
            # undone what the request began (an upload's temp file goes).
            if record.status == NO_RESPONSE_STARTED:
                record.status = None
        except asyncio.CancelledError:
            # The server stopped with the request still running (uvicorn cancels what outlives its
            # graceful shutdown, such as a call held by a latency fault): the connection closes
            # without an answer, which is no 500 either.
            if record.status == NO_RESPONSE_STARTED:
                record.status = None
            raise
        finally:
            record.write()  # a request that ended without a complete response


def read_request_log(data_dir: Path) -> list[dict]:
    """For tests and tools: every logged request of the cluster kept in ``data_dir``."""
    path = Path(data_dir) / "requests.log"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def server_errors(entries: list[dict]) -> list[dict]:
    """The lines of requests answered 500 that no fault hook injected: each one is a bug of
    localcluster (an exception escaped a handler), never something a client asked for.

    Only an ``error`` fault answers in the app's stead; under ``latency``, ``lost_reply`` or a cut
    download the status logged is the app's own, so a 500 there is the app's too."""
    return [entry for entry in entries if entry.get("status") == 500 and entry.get("fault") != "error"]
