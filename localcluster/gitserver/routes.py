"""``/git/<owner>/<algo>.git``: each algorithm's repository over git smart HTTP.

Authentication is HTTP basic with the username and an API key as password (what real clusters
ask of ``git``); without valid credentials the answer is 401 with ``WWW-Authenticate: Basic``,
so git asks its credential helper or ``GIT_ASKPASS`` and retries. Only the owner (or an admin)
may fetch or push: the source is the owner's. A push that moves master starts a build in the
background; the push itself returns as soon as the objects are stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from localcluster.errors import Forbidden, NotFound
from localcluster.gitserver import smarthttp
from localcluster.gitserver.backend import GitBackend
from localcluster.users.auth import key_from_authorization, user_backend
from localcluster.users.backend import UserBackend

router = APIRouter()

REALM = 'Basic realm="Algorithmia git"'
NO_CACHE = {"Cache-Control": "no-cache, max-age=0, must-revalidate", "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
            "Pragma": "no-cache"}


async def git_backend(request: Request) -> GitBackend:
    return request.app.state.git


def _plain(status: int, text: str, headers: dict | None = None) -> Response:
    # git prints these bodies to the user (e.g. "remote: ..."), so they are plain sentences.
    return Response(text + "\n", status_code=status, media_type="text/plain", headers=headers)


def _algo_name(segment: str) -> str:
    # Clone URLs end in "<algo>.git"; git also accepts the URL without the suffix.
    return segment[:-4] if segment.endswith(".git") else segment


def _authorize(request: Request, users: UserBackend, git: GitBackend, owner: str, algo: str) -> Response | None:
    """None when the caller may use the repository, else the response to send."""
    key = key_from_authorization(request.headers.get("authorization"))
    caller = users.authenticate(key) if key else None
    if caller is None:
        message = ("Invalid username or API key." if key
                   else "Authentication required: use your username and an API key.")
        return _plain(401, message, {"WWW-Authenticate": REALM})
    request.state.caller = caller
    try:
        git.check_access(caller, owner, algo)
    except (NotFound, Forbidden) as exc:
        return _plain(exc.status_code, exc.message)
    return None


@router.get("/git/{owner}/{algo}/info/refs")
async def info_refs(owner: str, algo: str, request: Request, service: str | None = None,
                    users: UserBackend = Depends(user_backend), git: GitBackend = Depends(git_backend)) -> Response:
    algo = _algo_name(algo)
    denied = _authorize(request, users, git, owner, algo)
    if denied is not None:
        return denied
    if service not in smarthttp.SERVICES:
        return _plain(403, "Only the smart HTTP protocol is served: use git 1.6.6 or newer.")
    body = await run_in_threadpool(git.advertise_refs, owner, algo, service)
    return Response(body, media_type=f"application/x-{service}-advertisement", headers=NO_CACHE)


async def _rpc(owner: str, algo: str, service: str, request: Request, users: UserBackend, git: GitBackend) -> Response:
    algo = _algo_name(algo)
    denied = _authorize(request, users, git, owner, algo)
    if denied is not None:
        return denied
    if request.headers.get("content-type") != f"application/x-{service}-request":
        return _plain(415, f"Expected Content-Type application/x-{service}-request.")
    body = await request.body()
    output = await run_in_threadpool(git.run_service, owner, algo, service, body,
                                     request.headers.get("content-encoding"))
    return Response(output, media_type=f"application/x-{service}-result", headers=NO_CACHE)


@router.post("/git/{owner}/{algo}/git-upload-pack")
async def upload_pack(owner: str, algo: str, request: Request, users: UserBackend = Depends(user_backend),
                      git: GitBackend = Depends(git_backend)) -> Response:
    return await _rpc(owner, algo, "git-upload-pack", request, users, git)


@router.post("/git/{owner}/{algo}/git-receive-pack")
async def receive_pack(owner: str, algo: str, request: Request, users: UserBackend = Depends(user_backend),
                       git: GitBackend = Depends(git_backend)) -> Response:
    return await _rpc(owner, algo, "git-receive-pack", request, users, git)
