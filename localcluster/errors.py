"""Errors in Algorithmia's envelope.

The REST docs show ``{"id", "code", "message"}``; the official client reads
``response["error"]["message"]`` (and ``error_type`` / ``stacktrace`` for algorithm errors).
The client wins where they disagree, so every error is ``{"error": {"id", "code", "message", ...}}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    status_code = 400
    code = 2015  # "Invalid request."

    def __init__(self, message: str, *, code: int | None = None, status_code: int | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def body(self) -> dict:
        error = {"id": str(uuid.uuid4()), "code": self.code, "message": self.message}
        error.update(self.extra)
        return {"error": error}


class BadRequest(ApiError):
    status_code = 400
    code = 2015


class Unauthorized(ApiError):
    status_code = 401
    code = 2002  # "Unknown or invalid API key."


class Forbidden(ApiError):
    status_code = 403
    code = 2001  # "Caller is not authorized to perform the operation."


class NotFound(ApiError):
    status_code = 404
    code = 5004


class Conflict(ApiError):
    status_code = 409
    code = 1002


class VersionBuilding(ApiError):
    """A call of a version (a git hash) whose build is still in progress: code 2012, "Invalid build
    status.". Its message names the version hash, which callers retry on until the build is done.

    The status is the call route's to choose (``localcluster.execution.routes``): the official
    client's ``pipe()`` reads an error's message only from a 2xx answer, and a tool that calls a
    hash right after its push and calls again while the error names that hash needs the message."""

    status_code = 200
    code = 2012


class InternalError(ApiError):
    status_code = 500
    code = 5001


def error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status_code)


async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc)


async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {401: 2002, 403: 2001, 404: 5004, 405: 5005}.get(exc.status_code, 2015)
    return error_response(ApiError(str(exc.detail), code=code, status_code=exc.status_code))


async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
    )
    return error_response(BadRequest(f"Invalid request: {problems}", code=2015))


def install(app) -> None:
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
