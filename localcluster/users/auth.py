"""Who is calling: the FastAPI dependencies every router uses, and the users backend's accessor.

Accepted forms of the ``Authorization`` header, as real clusters accept them:
``Simple <key>`` (the REST docs), a bare key (what the official Python client sends) and
``Bearer <key>``. Git uses HTTP basic auth with the username and an API key as password.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request

from localcluster.errors import Forbidden, Unauthorized
from localcluster.users.backend import Caller, UserBackend


def key_from_authorization(header: str | None) -> str | None:
    if not header:
        return None
    header = header.strip()
    scheme, _space, rest = header.partition(" ")
    if scheme.lower() in ("simple", "bearer") and rest.strip():
        return rest.strip()
    if scheme.lower() == "basic" and rest.strip():
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        password = decoded.partition(":")[2]
        return password or None
    if " " not in header:
        return header
    return None


async def user_backend(request: Request) -> UserBackend:
    """The cluster's ``UserBackend``, as a FastAPI dependency. Async on purpose: FastAPI runs a sync
    dependency in its thread pool, a hop that buys nothing for reading ``app.state``. (Every
    backend accessor of localcluster is async for the same reason.)"""
    return request.app.state.users


def optional_caller(request: Request, users: UserBackend) -> Caller | None:
    key = key_from_authorization(request.headers.get("authorization"))
    if key is None:
        return None
    caller = users.authenticate(key)
    if caller is not None:
        request.state.caller = caller  # for the request log
    return caller


def refusal(request: Request) -> Unauthorized:
    """Why a request without a valid key is refused (a key that is unknown, or none)."""
    if request.headers.get("authorization"):
        return Unauthorized("Unknown or invalid API key. Check the key and that it belongs to this cluster.")
    return Unauthorized("Authorization required: send the header 'Authorization: Simple <API key>'.")


def require_caller(request: Request, users: UserBackend = Depends(user_backend)) -> Caller:
    caller = optional_caller(request, users)
    if caller is None:
        raise refusal(request)
    return caller


def require_admin(request: Request, users: UserBackend = Depends(user_backend)) -> Caller:
    caller = require_caller(request, users)
    if not caller.is_admin:
        raise Forbidden("This endpoint needs an admin API key.")
    return caller
