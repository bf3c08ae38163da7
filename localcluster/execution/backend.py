"""Running one algorithm call: which build, whose key, which environment, and the outcome.

The HTTP layer (routes.py) reads the request and shapes the answer; this backend resolves the
version (with the resolver it is handed, ``AlgorithmBackend.resolve_runnable``: its contract is
``localcluster.algorithms.resolution``), mints the call's session key, and runs the call on a
pooled worker.

A warm call accepts without a thread hop: the key and the version come from the users' and the
algorithms' caches (``cached_only``, see ``localcluster.db.ChangeCache``), the session key lives in
memory, and a worker's environment is made once per build.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from localcluster.builds.artifacts import Runnable, worker_env
from localcluster.db import MISS
from localcluster.execution.pool import PoolTimeout, WorkerPool
from localcluster.execution.worker import CallTimeout, WorkerDied, WorkerGone
from localcluster.settings import Settings
from localcluster.users.backend import Caller, UserBackend

DEFAULT_TIMEOUT = 300.0
MAX_TIMEOUT = 3000.0
# A session key outlives its call's deadline a little: revoking it is what ends it.
KEY_MARGIN_SECONDS = 60.0
# Never handed to a worker: the server's own settings, or a CA bundle meant for someone else.
SCRUBBED_ENV = ("ALGORITHMIA_API_KEY", "ALGORITHMIA_API", "ALGORITHMIA_BEARER_TOKEN", "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
                "NODE_OPTIONS", "NODE_PATH", "CLASSPATH", "JAVA_TOOL_OPTIONS", "RUBYOPT", "RUBYLIB", "GEM_HOME",
                "GEM_PATH")

log = logging.getLogger("localcluster.execution")

# (caller, owner or None, name or algorithm id, version or None, *, cached_only) -> the build to run,
# or an ApiError; with cached_only=True, MISS when the answer is not in memory.
Resolver = Callable[..., Runnable]


@dataclass
class Call:
    """One accepted call, between resolving it and answering it."""

    runnable: Runnable
    caller: Caller
    request_id: str
    session_id: str
    api_key: str
    timeout: float
    # Only the owner sees stdout; the stack trace only who may read the source (docs, "Invoke").
    may_see_stdout: bool
    may_see_stacktrace: bool
    accepted_at: float = field(default_factory=time.monotonic)

    @property
    def nested(self) -> bool:
        """Made by a running algorithm (with its session key)."""
        return self.caller.algorithm is not None


@dataclass
class Outcome:
    ok: bool
    content_type: str = "void"      # text | json | binary, for a result
    result: bytes = b""             # UTF-8 text, JSON text or raw bytes
    duration: float = 0.0
    stdout: str | None = None
    error: dict | None = None       # message, error_type, stacktrace
    # Why it failed, for the HTTP status in raw mode: algorithm | input | timeout | crash
    failure: str | None = None


class ExecutionBackend:
    def __init__(self, settings: Settings, users: UserBackend, pool: WorkerPool, resolve: Resolver) -> None:
        self.settings = settings
        self.users = users
        self.pool = pool
        self.resolve = resolve
        self._base_env = self._worker_base_env()
        self._envs: dict[str, dict] = {}  # build_id -> a worker's environment
        self._background: set[asyncio.Task] = set()

    # -- accepting a call (sync; database work only when cached_only is False) ---------------

    def accept(self, caller: Caller, owner: str | None, name: str, version: str | None, timeout: float, *,
               cached_only: bool = False) -> Call | None:
        """owner None: name is the algorithm's id (the "by UUID" form). ``cached_only``: from memory,
        on the event loop; None when the version is not cached (then again, in the thread pool)."""
        # `.my` names the caller, as the Data API's does; inside an algorithm that is the user who
        # called it, not its author (the docs warn authors about exactly this).
        if owner == ".my":
            owner = caller.username
        runnable = self.resolve(caller, owner, name, version, cached_only=cached_only)
        if runnable is MISS:
            return None
        session_id = caller.session_id or f"ses-{uuid.uuid4()}"
        api_key = self.users.create_session_key(caller.username, (runnable.owner, runnable.name), session_id,
                                                ttl_seconds=timeout + KEY_MARGIN_SECONDS)
        is_owner = caller.username == runnable.owner
        source_open = (runnable.settings or {}).get("source_visibility") == "open"
        return Call(runnable=runnable, caller=caller, request_id=f"req-{uuid.uuid4()}", session_id=session_id,
                    api_key=api_key, timeout=timeout, may_see_stdout=is_owner,
                    may_see_stacktrace=is_owner or source_open)

    def finish(self, call: Call) -> None:
        """The call is over: its key stops working (nested calls it made are over too). Session keys
        live in memory: this never waits, on the event loop either."""
        self.users.revoke_session_key(call.api_key)

    def start_void(self, call: Call, content_type: str, body: bytes) -> None:
        """output=void: the caller has its request id already; the call runs on without it."""
        async def run() -> None:
            try:
                outcome = await self.run(call, content_type, body, False)
                if not outcome.ok:
                    # The kind only: the message is the algorithm's text, and may carry its input.
                    log.warning("void call %s to %s/%s failed: %s", call.request_id, call.runnable.owner,
                                call.runnable.name, (outcome.error or {}).get("error_type") or outcome.failure)
            finally:
                self.finish(call)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    # -- running it (async: the event loop awaits the worker's pipes) ------------------------

    async def run(self, call: Call, content_type: str, body: bytes, want_stdout: bool) -> Outcome:
        deadline = call.accepted_at + call.timeout
        meta = {"type": "call", "content_type": content_type, "env": {"ALGORITHMIA_API_KEY": call.api_key},
                "stdout": bool(want_stdout and call.may_see_stdout)}
        try:
            try:
                reply, result = await self._on_a_worker(call, meta, body, deadline)
            except WorkerGone:
                # It had died idle (killed from outside) before the pool saw it: the call never
                # reached it, so another worker takes it, once.
                reply, result = await self._on_a_worker(call, meta, body, deadline)
        except (CallTimeout, PoolTimeout):
            return Outcome(ok=False, failure="timeout", duration=time.monotonic() - call.accepted_at, error={
                "message": f"Algorithm timed out: the call did not finish within its timeout of "
                           f"{call.timeout:g} seconds (set the timeout query parameter, at most "
                           f"{MAX_TIMEOUT:g}).",
                "error_type": "TimeoutError"})
        except WorkerDied as exc:
            return Outcome(ok=False, failure="crash", duration=time.monotonic() - call.accepted_at,
                           error={"message": str(exc), "error_type": "AlgorithmError"})
        stdout = reply.get("stdout") if meta["stdout"] else None
        if reply.get("type") == "result":
            return Outcome(ok=True, content_type=reply["content_type"], result=result,
                           duration=reply.get("duration", 0.0), stdout=stdout)
        error = dict(reply.get("error") or {})
        if not call.may_see_stacktrace:
            error.pop("stacktrace", None)
        return Outcome(ok=False, failure="input" if reply.get("input_error") else "algorithm",
                       duration=reply.get("duration", 0.0), stdout=stdout, error=error)

    async def _on_a_worker(self, call: Call, meta: dict, body: bytes, deadline: float) -> tuple[dict, bytes]:
        async with self.pool.worker(call.runnable, self._worker_env(call.runnable), nested=call.nested,
                                    deadline=deadline) as worker:
            return await worker.call(meta, body, deadline)

    # -- the worker's environment ------------------------------------------------------------

    def _worker_base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(self.settings.api_env())  # with TLS, workers trust our CA and nothing else
        return env

    def _worker_env(self, runnable: Runnable) -> dict:
        """A new worker's environment: the same for every worker of a build, so made once per build
        (only a spawn reads it; the call's own key travels with each call)."""
        env = self._envs.get(runnable.build_id)
        if env is None:
            env = worker_env(self._base_env, runnable.env, runnable.build_dir)
            self._envs[runnable.build_id] = env
        return env


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("execution background work failed", exc_info=future.exception())
