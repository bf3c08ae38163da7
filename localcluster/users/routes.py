"""``/v1/users``: the admin user API (users.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from localcluster.errors import BadRequest, Forbidden
from localcluster.users.auth import require_admin, require_caller
from localcluster.users.backend import Caller

router = APIRouter(prefix="/v1/users")

PUBLIC_FIELDS = ("id", "username", "email", "fullname", "company_name", "company_role")


def user_view(request: Request, user: dict) -> dict:
    view = {k: user.get(k) for k in PUBLIC_FIELDS}
    view["resource_type"] = "user"
    view["self_link"] = f"{request.app.state.settings.public_url}/v1/users/{user['username']}"
    return view


def _self_or_admin(caller: Caller, username: str, users) -> dict:
    user = users.get_user(username)
    if not caller.may_manage(user["username"]):
        raise Forbidden(f"Caller {caller.username} may not access user {username}.")
    return user


@router.post("")
async def create_user(request: Request, _caller: Caller = Depends(require_admin)) -> dict:
    body = await request.json()
    if not isinstance(body, dict) or not body.get("username") or not body.get("email"):
        raise BadRequest("Not all required fields have been provided: 'username' and 'email'.", code=3005)
    user = request.app.state.users.create_user(
        body["username"], email=body.get("email"), fullname=body.get("fullname"),
        company_name=body.get("company_name"), company_role=body.get("company_role"))
    return user_view(request, user)


@router.get("")
def list_users(request: Request, _caller: Caller = Depends(require_admin)) -> dict:
    return {"marker": None, "next_link": None,
            "results": [user_view(request, u) for u in request.app.state.users.list_users()]}


@router.get("/{username}")
def get_user(username: str, request: Request, caller: Caller = Depends(require_caller)) -> dict:
    return user_view(request, _self_or_admin(caller, username, request.app.state.users))


@router.put("/{username}")
async def update_user(username: str, request: Request, caller: Caller = Depends(require_caller)) -> dict:
    users = request.app.state.users
    user = _self_or_admin(caller, username, users)
    body = await request.json()
    if not isinstance(body, dict):
        raise BadRequest("Malformed user JSON in request.", code=3001)
    if body.get("username") not in (None, user["username"]):
        raise BadRequest("The username in the request body does not match the username in the request path.",
                         code=3007)
    return user_view(request, users.update_user(user["username"], body))


@router.delete("/{username}", status_code=204)
def delete_user(username: str, request: Request, _caller: Caller = Depends(require_admin)) -> Response:
    request.app.state.users.delete_user(username)
    return Response(status_code=204)
