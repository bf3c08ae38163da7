"""``/v1/users``: the admin user API (users.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from localcluster.errors import BadRequest, Forbidden
from localcluster.settings import Settings, cluster_settings
from localcluster.users.auth import require_admin, require_caller, user_backend
from localcluster.users.backend import Caller, UserBackend, default_email

router = APIRouter(prefix="/v1/users")

PUBLIC_FIELDS = ("id", "username", "email", "fullname", "company_name", "company_role")


def user_view(settings: Settings, user: dict) -> dict:
    """The documented user object. Optional fields a user never gave (company name and role) are
    left out rather than null; a user stored before every user had an email and a full name (an
    older data dir) gets the defaults ``create_user`` now stores."""
    view = {k: user[k] for k in PUBLIC_FIELDS if user.get(k) is not None}
    view.setdefault("email", default_email(user["username"]))
    view.setdefault("fullname", user["username"])
    view["resource_type"] = "user"
    view["self_link"] = f"{settings.public_url}/v1/users/{user['username']}"
    return view


def _self_or_admin(caller: Caller, username: str, users: UserBackend) -> dict:
    user = users.get_user(username)
    if not caller.may_manage(user["username"]):
        raise Forbidden(f"Caller {caller.username} may not access user {username}.")
    return user


@router.post("")
async def create_user(request: Request, _caller: Caller = Depends(require_admin),
                      users: UserBackend = Depends(user_backend),
                      settings: Settings = Depends(cluster_settings)) -> dict:
    body = await request.json()
    if not isinstance(body, dict) or not body.get("username") or not body.get("email"):
        raise BadRequest("Not all required fields have been provided: 'username' and 'email'.", code=3005)
    user = users.create_user(body["username"], email=body.get("email"), fullname=body.get("fullname"),
                             company_name=body.get("company_name"), company_role=body.get("company_role"))
    return user_view(settings, user)


@router.get("")
def list_users(_caller: Caller = Depends(require_admin), users: UserBackend = Depends(user_backend),
               settings: Settings = Depends(cluster_settings)) -> dict:
    return {"marker": None, "next_link": None, "results": [user_view(settings, u) for u in users.list_users()]}


@router.get("/{username}")
def get_user(username: str, caller: Caller = Depends(require_caller), users: UserBackend = Depends(user_backend),
             settings: Settings = Depends(cluster_settings)) -> dict:
    return user_view(settings, _self_or_admin(caller, username, users))


@router.put("/{username}")
async def update_user(username: str, request: Request, caller: Caller = Depends(require_caller),
                      users: UserBackend = Depends(user_backend),
                      settings: Settings = Depends(cluster_settings)) -> dict:
    user = _self_or_admin(caller, username, users)
    body = await request.json()
    if not isinstance(body, dict):
        raise BadRequest("Malformed user JSON in request.", code=3001)
    if body.get("username") not in (None, user["username"]):
        raise BadRequest("The username in the request body does not match the username in the request path.",
                         code=3007)
    return user_view(settings, users.update_user(user["username"], body))


@router.delete("/{username}", status_code=204)
def delete_user(username: str, _caller: Caller = Depends(require_admin),
                users: UserBackend = Depends(user_backend)) -> Response:
    users.delete_user(username)
    return Response(status_code=204)
