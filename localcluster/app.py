"""The app factory: one cluster per ``create_app(settings)``, no module-level state.

``create_app`` builds the backends in dependency order, handing each its collaborators, puts
the ones handlers use on ``app.state`` (where each router's typed accessor, e.g.
``algorithms.routes.algorithm_backend``, finds them) and includes the routers. Backends that own
threads or processes (builds, environment syncs, the worker pool) are stopped by the lifespan,
so SIGTERM stops them.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from localcluster import errors
from localcluster.algorithms import routes as algorithm_routes
from localcluster.algorithms.backend import AlgorithmBackend
from localcluster.builds.backend import BuildBackend, api_access_for_checks
from localcluster.data import routes as data_routes
from localcluster.data.backend import DataBackend
from localcluster.db import Database
from localcluster.environments import routes as environment_routes
from localcluster.environments.backend import EnvironmentBackend
from localcluster.execution import routes as execution_routes
from localcluster.execution.backend import ExecutionBackend
from localcluster.execution.pool import WorkerPool
from localcluster.gitserver import routes as git_routes
from localcluster.gitserver.backend import GitBackend
from localcluster.hooks import routes as hook_routes
from localcluster.hooks.faults import FaultInjector, FaultMiddleware
from localcluster.requestlog import RequestLog, RequestLogMiddleware
from localcluster.settings import Settings
from localcluster.users import routes as user_routes
from localcluster.users.backend import UserBackend


def _write_server_info(settings: Settings) -> None:
    info = {"url": settings.public_url, "pid": os.getpid(), "port": settings.port, "tls": settings.tls,
            "ca_cert": str(settings.ca_cert_path) if settings.tls else None, "tls_names": list(settings.tls_names)}
    tmp = settings.server_info_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, settings.server_info_path)


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_path)
    users = UserBackend(db)
    data = DataBackend(db, users, settings.subdir("data"))
    environments = EnvironmentBackend(db, settings.python)
    builds = BuildBackend(db, settings.data_dir, settings.python, check_env=api_access_for_checks(settings, users),
                          timeout=settings.build_timeout, tmp_root=settings.tmp_dir / "builds")
    algorithms = AlgorithmBackend(db, settings.data_dir, users, environments, builds)
    pool = WorkerPool(settings.subdir("workers"), settings.tmp_dir / "workers", per_version=settings.workers_per_version,
                      global_cap=settings.workers_max, hard_cap=settings.workers_hard_max,
                      idle_seconds=settings.worker_idle_seconds)
    execution = ExecutionBackend(settings, users, pool, resolve=algorithms.resolve_runnable)
    git = GitBackend(settings.data_dir, find_algorithm=algorithms.find, on_push=algorithms.on_push)
    faults = FaultInjector()
    request_log = RequestLog(settings.request_log_path)
    # Run in this order at shutdown: running builds are killed and queued ones failed, environment
    # syncs are waited for, then every worker process group is killed.
    shutdown_hooks = (builds.stop, environments.stop, pool.stop_all)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if settings.public_url:
            _write_server_info(settings)
        try:
            yield
        finally:
            for hook in shutdown_hooks:
                hook()
            request_log.close()
            if settings.server_info_path.exists():
                settings.server_info_path.unlink()

    app = FastAPI(title="localcluster", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.users = users
    app.state.data = data
    app.state.environments = environments
    app.state.algorithms = algorithms
    app.state.execution = execution
    app.state.git = git
    app.state.faults = faults
    errors.install(app)
    # First match wins. No two routers serve the same path, so their order does not change which
    # handler answers; within a router it does: data's own routes before its
    # /v1/connector/{connector}/ catch-all, UUID routes before owner/name routes in algorithms.
    # tests/localcluster/test_structure.py checks the winners where paths overlap.
    app.include_router(hook_routes.router)
    app.include_router(user_routes.router)
    app.include_router(data_routes.router)
    app.include_router(execution_routes.router)
    for prefix in environment_routes.PREFIXES:
        app.include_router(environment_routes.router, prefix=prefix)
    app.include_router(algorithm_routes.router)
    app.include_router(git_routes.router)
    # The last added is the outermost: the log sees injected faults too, and both see the call
    # path, which CallRoute answers before FastAPI's routing (execution.routes).
    app.add_middleware(execution_routes.CallRoute, users=users, execution=execution)
    app.add_middleware(FaultMiddleware, injector=faults)
    app.add_middleware(RequestLogMiddleware, log=request_log)
    return app
