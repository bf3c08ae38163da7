"""The app factory: one cluster per ``create_app(settings)``, no module-level state.

Each resource package exposes ``register(app)``: it builds its backend from
``app.state.settings`` / ``app.state.db``, puts it on ``app.state`` and includes its router.
Backends that own processes (builds, workers) append a callable to
``app.state.shutdown_hooks`` so SIGTERM stops them.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from localcluster import errors
from localcluster.db import Database
from localcluster.hooks import routes as hook_routes
from localcluster.hooks.faults import FaultInjector, FaultMiddleware
from localcluster.requestlog import RequestLog, RequestLogMiddleware
from localcluster.settings import Settings
from localcluster.users import routes as user_routes
from localcluster.users.backend import UserBackend

# Resource packages, each with register(app). Order matters only for route precedence.
RESOURCES: tuple[str, ...] = (
    "localcluster.data",
    "localcluster.execution",
    "localcluster.environments",
    "localcluster.algorithms",
    "localcluster.gitserver",
)


def _write_server_info(settings: Settings) -> None:
    info = {"url": settings.public_url, "pid": os.getpid(), "port": settings.port, "tls": settings.tls,
            "ca_cert": str(settings.ca_cert_path) if settings.tls else None}
    tmp = settings.server_info_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, settings.server_info_path)


def create_app(settings: Settings) -> FastAPI:
    import importlib

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.public_url:
            _write_server_info(settings)
        try:
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                hook()
            app.state.request_log.close()
            if settings.server_info_path.exists():
                settings.server_info_path.unlink()

    app = FastAPI(title="localcluster", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app.state.settings = settings
    app.state.db = Database(settings.db_path)
    app.state.users = UserBackend(app.state.db)
    app.state.shutdown_hooks = []
    app.state.faults = FaultInjector()
    app.state.request_log = RequestLog(settings.request_log_path)
    errors.install(app)
    app.include_router(hook_routes.router)
    app.include_router(user_routes.router)
    for name in RESOURCES:
        importlib.import_module(name).register(app)
    # Outermost first: the log sees injected faults too.
    app.add_middleware(FaultMiddleware, injector=app.state.faults)
    app.add_middleware(RequestLogMiddleware, log=app.state.request_log)
    return app
