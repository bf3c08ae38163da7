"""Algorithms: management API, versions, publishing, and ``resolve_runnable`` for execution.

``register(app)`` puts ``app.state.builds`` (localcluster.builds) and ``app.state.algorithms``
(backend.AlgorithmBackend) on the app. Execution calls
``app.state.algorithms.resolve_runnable(caller, owner, name, version)``; its contract is the
docstring of ``localcluster.algorithms.resolution``, and the build layout it returns is
``localcluster.builds.artifacts``.
"""

from __future__ import annotations

from fastapi import FastAPI

from localcluster.algorithms.backend import AlgorithmBackend
from localcluster.algorithms.routes import router
from localcluster.builds import BuildBackend
from localcluster.builds.check import CHECK_TIMEOUT_SECONDS


def _check_env_factory(app: FastAPI):
    """What a build's load check sees: the API and a short-lived key of the owner, as a worker has,
    so an algorithm that reads its data files at import time builds as it would run."""
    settings = app.state.settings

    def check_env(job) -> dict:
        if not settings.public_url:
            return {}
        key = app.state.users.create_session_key(job.owner, (job.owner, job.name), f"build-{job.build_id}",
                                                 ttl_seconds=CHECK_TIMEOUT_SECONDS + 120)
        return dict(settings.api_env(), ALGORITHMIA_API_KEY=key)

    return check_env


def register(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.builds = BuildBackend(app.state.db, settings.data_dir, settings.python, check_env=_check_env_factory(app),
                                    timeout=settings.build_timeout)
    app.state.shutdown_hooks.append(app.state.builds.stop)
    app.state.algorithms = AlgorithmBackend(app.state.db, settings.data_dir, app.state.users,
                                            app.state.environments, app.state.builds)
    app.include_router(router)
