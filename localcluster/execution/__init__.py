"""Algorithm execution: ``POST /v1/algo/<owner>/<name>[/<version>]`` run by warm worker processes.

    runner.py    the worker: a stdlib-only script run by a build's venv python (also the build's
                 import check, ``runner.py --check``)
    worker.py    one worker process and the server's side of the pipe protocol
    pool.py      warm workers per version: caps, waiting, reaping, stopping
    backend.py   the backend: resolve the version, mint the call's key, run, collect the outcome
    routes.py    the HTTP layer

Pool limits can be set per server through the environment (for tests and small machines):
LOCALCLUSTER_WORKERS_PER_VERSION (4), LOCALCLUSTER_WORKERS_MAX (16),
LOCALCLUSTER_WORKERS_HARD_MAX (64, calls made by algorithms), LOCALCLUSTER_WORKER_IDLE_SECONDS (300).
"""

from __future__ import annotations

import os

from localcluster.execution import routes
from localcluster.execution.backend import ExecutionBackend
from localcluster.execution.pool import WorkerPool


def _limit(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def register(app) -> None:
    settings = app.state.settings
    pool = WorkerPool(settings.subdir("workers"),
                      per_version=int(_limit("LOCALCLUSTER_WORKERS_PER_VERSION", 4)),
                      global_cap=int(_limit("LOCALCLUSTER_WORKERS_MAX", 16)),
                      hard_cap=int(_limit("LOCALCLUSTER_WORKERS_HARD_MAX", 64)),
                      idle_seconds=_limit("LOCALCLUSTER_WORKER_IDLE_SECONDS", 300))

    def resolver():
        # The builds side registers app.state.algorithms; looked up per call, not at start-up.
        algorithms = getattr(app.state, "algorithms", None)
        return getattr(algorithms, "resolve_runnable", None)

    app.state.execution = ExecutionBackend(settings, app.state.users, pool, resolver)
    app.state.shutdown_hooks.append(pool.stop_all)
    app.include_router(routes.router)
