"""Algorithm environments (AEMS): languages, installed environments, syncs from a master.

Honest note: localcluster runs *every* environment on the host's Python 3 (``settings.python``),
in a virtual environment per build. Environment names ("Python 2.7", "Python 3.7 + TensorFlow
GPU 1.14", ...) and ids match real clusters so clients and the testbench select them the same
way, but no Python 2 interpreter, CUDA or preinstalled framework comes with them: an algorithm
gets what its ``requirements.txt`` installs.
"""

from __future__ import annotations

from fastapi import FastAPI

from localcluster.environments.backend import EnvironmentBackend
from localcluster.environments.routes import router

PREFIXES = ("/v1/algorithm-environments/edge", "/webapi/v1/algorithm-environments",
            "/webapi/v1/algorithm-environments/edge")


def register(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.environments = EnvironmentBackend(app.state.db, settings.python)
    app.state.shutdown_hooks.append(app.state.environments.stop)
    for prefix in PREFIXES:
        app.include_router(router, prefix=prefix)
