"""Fault injection for reliability tests: errors, latency and dropped connections.

Off by default. Rules are set at runtime through ``PUT /localcluster/faults`` (admin key)
and each applies to requests whose path starts with its ``path_prefix`` (and, optionally,
whose method is listed). A rule fires with probability ``rate``, or for the next ``times``
matching requests when ``times`` is given (deterministic, for tests). Kinds:

- ``error``: answer ``status`` (default 503) in the Algorithmia error envelope, without
  running the request; ``message`` replaces the default error message (a test can make the
  server echo what a client must mask);
- ``latency``: wait ``latency_ms`` before running the request;
- ``drop``: start a response and close the connection before its body, as a reset or a
  crashed proxy does; the request itself is not run.

The hook prefix ``/localcluster`` is never faulted, so a test can always switch faults off.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import asdict, dataclass, field

from localcluster.errors import ApiError

HOOK_PREFIX = "/localcluster"
KINDS = ("error", "latency", "drop")


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
    fired: int = 0

    @classmethod
    def parse(cls, raw: dict, index: int) -> "FaultRule":
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object")
        unknown = set(raw) - {"kind", "path_prefix", "methods", "rate", "times", "status", "latency_ms", "message"}
        if unknown:
            raise ValueError(f"{where} has unknown field(s) {sorted(unknown)}")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}.kind must be one of {list(KINDS)}, got {kind!r}")
        rule = cls(kind=kind, path_prefix=str(raw.get("path_prefix", "/")),
                   methods=[str(m).upper() for m in raw.get("methods", [])],
                   rate=float(raw.get("rate", 1.0)), times=raw.get("times"),
                   status=int(raw.get("status", 503)), latency_ms=int(raw.get("latency_ms", 0)),
                   message=None if raw.get("message") is None else str(raw["message"]))
        if not 0.0 <= rule.rate <= 1.0:
            raise ValueError(f"{where}.rate must be between 0 and 1")
        if rule.times is not None and (not isinstance(rule.times, int) or rule.times < 0):
            raise ValueError(f"{where}.times must be a non-negative integer")
        if kind == "error" and not 400 <= rule.status <= 599:
            raise ValueError(f"{where}.status must be an HTTP error status (400-599)")
        if kind == "latency" and rule.latency_ms <= 0:
            raise ValueError(f"{where}.latency_ms must be positive for a latency rule")
        return rule

    def matches(self, method: str, path: str) -> bool:
        if path.startswith(HOOK_PREFIX) or not path.startswith(self.path_prefix):
            return False
        return not self.methods or method.upper() in self.methods


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

    def pick(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (counting them as fired)."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.times is not None:
                    if rule.fired >= rule.times:
                        continue
                elif self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                fired.append(rule)
        return fired


class FaultMiddleware:
    def __init__(self, app, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for rule in self.injector.pick(scope["method"], scope["path"]):
            if rule.kind == "latency":
                await asyncio.sleep(rule.latency_ms / 1000)
            elif rule.kind == "error":
                body = ApiError(rule.message or f"Injected fault: {rule.status} on {scope['path']}",
                                code=5001, status_code=rule.status).body()
                payload = json.dumps(body).encode()
                await send({"type": "http.response.start", "status": rule.status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload})
                return
            elif rule.kind == "drop":
                # Headers promise a body that never comes; raising after the start makes the
                # server close the connection, which the client sees as a broken connection.
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"1024")]})
                raise ConnectionAbortedError("localcluster fault injection: connection dropped")
        await self.app(scope, receive, send)
