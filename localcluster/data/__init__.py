"""The Data API (``data://``): see ``backend`` for what is and is not emulated."""

from __future__ import annotations

from fastapi import FastAPI

from localcluster.data import routes
from localcluster.data.backend import DataBackend


def register(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.data = DataBackend(app.state.db, app.state.users, settings.subdir("data"))
    app.include_router(routes.router)
