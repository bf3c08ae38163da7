"""Fault injection for reliability tests: what a client of a cluster behind a load balancer meets.

Off by default. ``PUT /localcluster/faults`` (admin key) with ``{"rules": [...], "seed": N}`` sets
the rules; each applies to requests whose path starts with its ``path_prefix`` and, when
``methods`` is given, whose method is listed. A rule fires for the next ``times`` matching
requests (deterministic, for tests) or, without ``times``, with probability ``rate`` (a
``seed`` makes the sequence repeatable). Kinds, and what the client sees:

- ``error``: an answer ``status`` (default 503) in the Algorithmia error envelope; the request
  is not run. ``message`` replaces the default text (a test can make the server echo a secret).
- ``latency``: the request runs ``latency_ms`` later; combines with any other rule that fires.
- ``drop``: the connection is reset before any byte of an answer, whatever the method (HEAD
  too); the request is not run. The client reads ECONNRESET ("Connection reset by peer").
- ``drop`` with ``after_bytes``: a stream broken part-way. A request with a body (an upload):
  the app reads the first ``after_bytes`` bytes of it, then the connection is reset; the app
  sees its client leave, so nothing is stored. Any other request (a download): the status, the
  headers and the first ``after_bytes`` bytes of the app's answer go out, then the connection
  is closed, and the client reads a body shorter than its Content-Length (or without its last
  chunk). The answer never gets through whole: a body of ``after_bytes`` bytes or fewer is cut
  one byte short, and an answer without a body (HEAD, empty) is not sent at all.
- ``lost_reply``: the request runs to completion (the algorithm is created, the file stored,
  the version published ...), then the connection is reset instead of answering: the client
  cannot tell whether its call was applied. Meant for mutating calls: give ``methods``.

Rules are looked at in order; the first ``error``, ``drop`` or ``lost_reply`` rule that fires
decides the request (later ones are not tried, so ``times`` counts only requests a rule really
decided). Every request a rule fired on has ``fault`` in its request-log line (see
``localcluster.requestlog``), so a test can count exactly what was injected where; ``GET
/localcluster/faults`` shows each rule's ``fired`` count.

The hook prefix ``/localcluster`` is never faulted, so a test can always switch faults off; git
smart HTTP (``/git/...``) is faulted like any other path. Resets and cut streams need the
connection (``localcluster.hooks.connection``), which the server started by ``python -m
localcluster serve`` hands to every request.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import asdict, dataclass, field

from localcluster.errors import ApiError
from localcluster.hooks.connection import ConnectionControl, connection_control
from localcluster.requestlog import RequestRecord, request_record

HOOK_PREFIX = "/localcluster"
KINDS = ("error", "latency", "drop", "lost_reply")
FIELDS = {"kind", "path_prefix", "methods", "rate", "times", "status", "latency_ms", "message", "after_bytes"}


@dataclass
class FaultRule:
    kind: str
    path_prefix: str = "/"
    methods: list[str] = field(default_factory=list)
    rate: float = 1.0
    times: int | None = None
    status: int = 503
    latency_ms: int = 0
    message: str | None = None
    after_bytes: int | None = None
    fired: int = 0

    @classmethod
    def parse(cls, raw: dict, index: int) -> "FaultRule":
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object")
        unknown = set(raw) - FIELDS
        if unknown:
            raise ValueError(f"{where} has unknown field(s) {sorted(unknown)}")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}.kind must be one of {list(KINDS)}, got {kind!r}")
        rule = cls(kind=kind, path_prefix=str(raw.get("path_prefix", "/")),
                   methods=[str(m).upper() for m in raw.get("methods", [])],
                   rate=float(raw.get("rate", 1.0)), times=raw.get("times"),
                   status=int(raw.get("status", 503)), latency_ms=int(raw.get("latency_ms", 0)),
                   message=None if raw.get("message") is None else str(raw["message"]),
                   after_bytes=raw.get("after_bytes"))
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError(f"{where}.rate must be between 0 and 1")
        if rule.times is not None and (not _is_count(rule.times)):
            raise ValueError(f"{where}.times must be a non-negative integer")
        if kind == "error" and not 400 <= rule.status <= 599:
            raise ValueError(f"{where}.status must be an HTTP error status (400-599)")
        if kind == "latency" and rule.latency_ms <= 0:
            raise ValueError(f"{where}.latency_ms must be positive for a latency rule")
        if rule.after_bytes is not None:
            if kind != "drop":
                raise ValueError(f"{where}.after_bytes is for drop rules only")
            if not _is_count(rule.after_bytes):
                raise ValueError(f"{where}.after_bytes must be a non-negative integer")
        return rule

    @property
    def decides(self) -> bool:
        """Whether the rule decides the request's outcome (latency only delays it)."""
        return self.kind != "latency"

    def matches(self, method: str, path: str) -> bool:
        if path.startswith(HOOK_PREFIX) or not path.startswith(self.path_prefix):
            return False
        return not self.methods or method.upper() in self.methods


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class FaultPlan:
    """What happens to one request: latency first, then the deciding rule, if any."""

    latency_ms: int = 0
    rule: FaultRule | None = None


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)

    def set_rules(self, raw_rules: list, seed: int | None = None) -> None:
        rules = [FaultRule.parse(r, i) for i, r in enumerate(raw_rules)]
        with self._lock:
            self._rules = rules
            if seed is not None:
                self._random = random.Random(seed)

    def rules(self) -> list[dict]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def pick(self, method: str, path: str) -> FaultPlan | None:
        """The faults for this request (the rules that fire are counted), or None."""
        plan = FaultPlan()
        fired = False
        with self._lock:
            for rule in self._rules:
                if (rule.decides and plan.rule is not None) or not rule.matches(method, path):
                    continue
                if rule.times is not None:
                    if rule.fired >= rule.times:
                        continue
                elif self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                fired = True
                if rule.decides:
                    plan.rule = rule
                else:
                    plan.latency_ms += rule.latency_ms
        return plan if fired else None


class FaultMiddleware:
    """Pure ASGI, inside the request log's middleware: it marks the request's log line."""

    def __init__(self, app, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plan = self.injector.pick(scope["method"], scope["path"])
        if plan is None:
            await self.app(scope, receive, send)
            return
        record = request_record(scope)
        if plan.latency_ms:
            record.fault, record.latency_ms = "latency", plan.latency_ms
            await asyncio.sleep(plan.latency_ms / 1000)
        rule = plan.rule
        if rule is None:
            await self.app(scope, receive, send)
            return
        record.fault = rule.kind
        if rule.kind == "error":
            await _send_error(rule, scope, send)
        elif rule.kind == "lost_reply":
            await self._lose_reply(scope, receive, record)
        elif rule.after_bytes is None:
            record.status = None  # the request never ran: there is no answer
            record.write()
            await _connection(scope).reset()
        elif _has_body(scope):
            await self._cut_upload(rule.after_bytes, scope, receive, record)
        else:
            await self._cut_download(rule.after_bytes, scope, receive, send, record)

    async def _lose_reply(self, scope, receive, record: RequestRecord) -> None:
        connection = _connection(scope)

        async def keep_answer(message):
            if message["type"] == "http.response.start":
                record.status = message["status"]

        try:
            await self.app(scope, receive, keep_answer)
        finally:
            record.write()
            await connection.reset()

    async def _cut_upload(self, after_bytes: int, scope, receive, record: RequestRecord) -> None:
        connection = _connection(scope)
        received = 0
        cut = False

        async def cut_now() -> None:
            nonlocal cut
            cut = True
            record.status = None  # the request never got its whole body: there is no answer
            record.write()
            await connection.reset()

        async def receive_until_cut():
            nonlocal received
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            room = after_bytes - received
            if len(body) < room and message.get("more_body", False):
                received += len(body)
                return message
            # The bytes up to the cut, as if more were coming; the next receive finds the client gone.
            await cut_now()
            return {"type": "http.request", "body": body[:room], "more_body": True}

        async def send_nothing(_message):
            return  # whatever the app answers, the connection is (about to be) gone

        try:
            await self.app(scope, receive_until_cut, send_nothing)
        except Exception:  # pylint: disable=broad-exception-caught
            if not cut:
                raise
            # The app's reaction to the client leaving (Starlette's ClientDisconnect): what we caused.
        if not cut:
            await cut_now()  # the app answered before reading that far: the reset loses the answer

    async def _cut_download(self, after_bytes: int, scope, receive, send, record: RequestRecord) -> None:
        connection = _connection(scope)
        limit, sent, cut = after_bytes, 0, False

        async def send_until_cut(message):
            nonlocal limit, sent, cut
            if cut:
                return
            if message["type"] == "http.response.start":
                length = _content_length(message)
                if scope["method"] == "HEAD" or length == 0:
                    # Headers alone would be a whole answer: nothing goes out at all.
                    cut = True
                    record.status = message["status"]
                    record.write()
                    await connection.reset()
                    return
                if length is not None:
                    limit = min(limit, length - 1)
                await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            if len(body) <= limit - sent and message.get("more_body", False):
                sent += len(body)
                await send(message)
                return
            # The cut, or the end of a body shorter than the limit: the answer never ends properly.
            cut = True
            part = body[:limit - sent]
            if part:
                await send({"type": "http.response.body", "body": part, "more_body": True})
            record.write()
            await connection.close()

        await self.app(scope, receive, send_until_cut)


async def _send_error(rule: FaultRule, scope, send) -> None:
    body = ApiError(rule.message or f"Injected fault: {rule.status} on {scope['path']}",
                    code=5001, status_code=rule.status).body()
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": rule.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _connection(scope) -> ConnectionControl:
    connection = connection_control(scope)
    if connection is None:
        raise RuntimeError("drop and lost_reply faults need the connection: serve the app with "
                           "localcluster.protocol.ClusterHTTPProtocol (python -m localcluster serve does)")
    return connection


def _header(scope_or_message, name: bytes) -> bytes | None:
    for key, value in scope_or_message.get("headers") or ():
        if key.lower() == name:
            return value
    return None


def _has_body(scope) -> bool:
    if _header(scope, b"transfer-encoding") is not None:
        return True
    length = _header(scope, b"content-length")
    return length is not None and length.strip() not in (b"", b"0")


def _content_length(message) -> int | None:
    raw = _header(message, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
