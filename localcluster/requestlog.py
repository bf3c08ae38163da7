"""The request log: one JSON line per request under the data dir.

It records time, user, method, path, status and duration; never a header, a query string
(which could carry anything) or a body, so no key or data can reach it. Tests read it, e.g.
to prove that validation stopped a run before any request reached the cluster.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path


class RequestLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # line-buffered

    def write(self, *, user: str | None, method: str, path: str, status: int, duration: float) -> None:
        line = json.dumps({"time": round(time.time(), 6), "user": user, "method": method, "path": path,
                           "status": status, "duration_ms": round(duration * 1000, 3)})
        with self._lock:
            self._file.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            self._file.close()


class RequestLogMiddleware:
    """Pure ASGI, so streamed uploads and downloads stay streamed."""

    def __init__(self, app, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        logged = False

        def note() -> None:
            nonlocal logged
            if not logged:
                logged = True
                caller = scope.get("state", {}).get("caller")
                self.log.write(user=getattr(caller, "username", None), method=scope["method"],
                               path=scope["path"], status=status["code"],
                               duration=time.perf_counter() - started)

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged before the last byte leaves: a client that has read a whole response
                # finds its line (a test reading the log right after a call must not race it).
                note()
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            note()  # a request that ended without a complete response


def read_request_log(data_dir: Path) -> list[dict]:
    """For tests and tools: every logged request of the cluster kept in ``data_dir``."""
    path = Path(data_dir) / "requests.log"
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
