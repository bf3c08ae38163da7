"""Algorithm execution: ``POST /v1/algo/<owner>/<name>[/<version>]`` run by warm worker processes.

    runner.py    the worker: a stdlib-only script run by a build's venv python (also the build's
                 import check, ``runner.py --check``)
    worker.py    one worker process and the server's side of the pipe protocol
    pool.py      warm workers per version: caps, waiting, reaping, stopping
    backend.py   the backend: resolve the version, mint the call's key, run, collect the outcome
    routes.py    the HTTP layer

Pool limits are ``Settings`` fields (``localcluster.settings`` lists their environment variables).
"""

from __future__ import annotations

from localcluster.execution import routes
from localcluster.execution.backend import ExecutionBackend
from localcluster.execution.pool import WorkerPool


def register(app) -> None:
    settings = app.state.settings
    pool = WorkerPool(settings.subdir("workers"), per_version=settings.workers_per_version,
                      global_cap=settings.workers_max, hard_cap=settings.workers_hard_max,
                      idle_seconds=settings.worker_idle_seconds)

    def resolver():
        # The builds side registers app.state.algorithms; looked up per call, not at start-up.
        algorithms = getattr(app.state, "algorithms", None)
        return getattr(algorithms, "resolve_runnable", None)

    app.state.execution = ExecutionBackend(settings, app.state.users, pool, resolver)
    app.state.shutdown_hooks.append(pool.stop_all)
    app.include_router(routes.router)
