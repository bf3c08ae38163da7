"""``/localcluster/...``: health, fault switches and key minting for tests (admin key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from localcluster.errors import BadRequest
from localcluster.hooks.faults import FaultInjector
from localcluster.settings import Settings, cluster_settings
from localcluster.users.auth import require_admin, user_backend
from localcluster.users.backend import Caller, UserBackend

router = APIRouter(prefix="/localcluster")


async def fault_injector(request: Request) -> FaultInjector:
    return request.app.state.faults


@router.get("/health")
def health(settings: Settings = Depends(cluster_settings)) -> dict:
    return {"status": "ok", "url": settings.public_url}


@router.get("/faults")
def get_faults(_caller: Caller = Depends(require_admin), faults: FaultInjector = Depends(fault_injector)) -> dict:
    return {"rules": faults.rules()}


@router.put("/faults")
async def put_faults(request: Request, _caller: Caller = Depends(require_admin),
                     faults: FaultInjector = Depends(fault_injector)) -> dict:
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise BadRequest('Send {"rules": [...], "seed": <optional int>}; see localcluster/hooks/faults.py.')
    try:
        faults.set_rules(body["rules"], seed=body.get("seed"))
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"Invalid fault rules: {exc}") from exc
    return {"rules": faults.rules()}


@router.delete("/faults")
def clear_faults(_caller: Caller = Depends(require_admin), faults: FaultInjector = Depends(fault_injector)) -> dict:
    faults.set_rules([])
    return {"rules": []}


@router.post("/users/{username}/keys")
def mint_key(username: str, _caller: Caller = Depends(require_admin),
             users: UserBackend = Depends(user_backend)) -> dict:
    """Admin-only: a fresh API key for a user (the REST API has no key endpoint to emulate)."""
    return {"username": username, "api_key": users.create_key(username)}


@router.post("/users/{username}/session-keys")
async def mint_session_key(username: str, request: Request, _caller: Caller = Depends(require_admin),
                           users: UserBackend = Depends(user_backend)) -> dict:
    """Admin-only: the key a running algorithm gets, for tests of ``.algo`` / ``.session`` / ACLs.

    Body: ``{"algorithm": "owner/name", "session_id": "...", "ttl_seconds": 600}``.
    """
    body = await request.json()
    algorithm = str(body.get("algorithm", "")) if isinstance(body, dict) else ""
    owner, _slash, name = algorithm.partition("/")
    if not owner or not name or not body.get("session_id"):
        raise BadRequest('Send {"algorithm": "owner/name", "session_id": "...", "ttl_seconds": 600}.')
    key = users.create_session_key(username, (owner, name), str(body["session_id"]),
                                   ttl_seconds=float(body.get("ttl_seconds", 600)))
    return {"username": username, "api_key": key}
