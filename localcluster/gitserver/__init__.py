"""Git smart HTTP for each algorithm's repository (dulwich), at ``/git/<owner>/<algo>.git``."""

from __future__ import annotations

from fastapi import FastAPI

from localcluster.gitserver.routes import router


def register(app: FastAPI) -> None:
    app.include_router(router)
