"""``/v1/algorithms/...`` and ``/v1/scms``: the algorithm management API (HTTP only).

Each operation exists by ``:username/:algoname`` and, as documented, by algorithm UUID; the
UUID routes are declared first with Starlette's ``uuid`` convertor, so they only match
UUID-shaped segments and never shadow a user's algorithm.

``/v1/algorithms/:username/:algoname/log`` (the repository commit log) is not in the REST docs;
it is served as the official client's generated API (``commit_log_for_repository``) calls it.

Not emulated (answered 404/405 like any unknown route): the admin SCM endpoints
(``/v1/admin/scms``) and external SCMs such as GitHub (every algorithm uses the internal git
server), secrets, hosted-collection assignment, ``/v1/algorithms/:id/errors``, royalties and
the Web IDE. ``settings.package_set`` is read as a language name. Compile of a failing commit
answers 400 with the log's tail (the documented "otherwise an error").
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from localcluster.algorithms import shapes
from localcluster.algorithms.backend import AlgorithmBackend
from localcluster.builds.backend import FAILED
from localcluster.errors import ApiError, BadRequest, NotFound
from localcluster.settings import Settings, cluster_settings
from localcluster.users.auth import require_caller
from localcluster.users.backend import Caller

router = APIRouter()

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


async def algorithm_backend(request: Request) -> AlgorithmBackend:
    return request.app.state.algorithms


async def base_url(request: Request, settings: Settings = Depends(cluster_settings)) -> str:
    """What links start with: the cluster's public URL, else the address this request came to."""
    return settings.public_url or str(request.base_url).rstrip("/")


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("The request body must be JSON (Content-Type: application/json); form-encoded bodies "
                         "lose nested settings and are not accepted.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _limit(limit: int | None) -> int:
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"Limit must be between 1 and {MAX_LIMIT}.", code=5003)
    return limit


def _marker_seq(marker: str | None) -> int | None:
    if not marker:
        return None
    try:
        return int(base64.urlsafe_b64decode(marker.encode() + b"==").decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("Invalid marker used.", code=5002) from None


def _marker(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def _page(request: Request, links: str, items: list, seq_of, limit: int, render) -> dict:
    """Items (newest first) after the marker, ``limit`` of them, with marker/next_link for the rest."""
    shown = items[:limit]
    if len(items) > limit:
        marker = _marker(seq_of(shown[-1]))
        query = dict(request.query_params, limit=str(limit), marker=marker)
        next_link = f"{links}{request.url.path}?{urlencode(query)}"
    else:
        marker = next_link = None
    return shapes.page([render(item) for item in shown], next_marker=marker, next_link=next_link)


def _parse_bool(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadRequest(f"Query parameter {name} must be true or false.")


def _algorithm_view(algorithms: AlgorithmBackend, algo: dict, links: str) -> dict:
    return shapes.algorithm_view(algo, links, latest_build=algorithms.latest_build(algo),
                                 current=algorithms.current(algo))


def _build_view(build: dict, published_by_hash: dict[str, dict]) -> dict:
    """A build, with its version when this very build is the published one of its commit."""
    version = published_by_hash.get(build["commit_sha"])
    return shapes.build_view(build, version if version and version["build_id"] == build["id"] else None)


# Handlers shared by the name and UUID routes: ``owner`` None means ``name`` is the UUID.

def _get(algorithms: AlgorithmBackend, links: str, caller: Caller, owner: str | None, name: str) -> dict:
    return _algorithm_view(algorithms, algorithms.get_managed(caller, owner, name), links)


async def _update(request: Request, algorithms: AlgorithmBackend, links: str, caller: Caller, owner: str | None,
                  name: str) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    return _algorithm_view(algorithms, algorithms.update(caller, algo, await _json_body(request)), links)


def _compile(algorithms: AlgorithmBackend, links: str, caller: Caller, owner: str | None, name: str) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    build = algorithms.compile(caller, algo)
    if build["status"] == FAILED:
        tail = "\n".join(build["log"].rstrip().splitlines()[-15:])
        raise ApiError(f"Compilation of {algo['owner']}/{algo['name']} at {build['commit_sha']} failed "
                       f"(build {build['id']}):\n{tail}",
                       code=2015, status_code=400)
    version = algorithms.published_by_hash(algo["id"]).get(build["commit_sha"])
    return shapes.algorithm_view(algo, links, latest_build=build, current={"build": build, "version": version})


def _list_builds(request: Request, algorithms: AlgorithmBackend, links: str, caller: Caller, owner: str | None,
                 name: str, limit: int | None, marker: str | None) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    limit = _limit(limit)
    builds = algorithms.list_builds(algo, before_seq=_marker_seq(marker), limit=limit + 1)
    published = algorithms.published_by_hash(algo["id"])
    return _page(request, links, builds, lambda b: b["seq"], limit, lambda b: _build_view(b, published))


def _get_build(algorithms: AlgorithmBackend, caller: Caller, owner: str | None, name: str, build_id: str) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    build = algorithms.get_build(algo, build_id)
    return _build_view(build, algorithms.published_by_hash(algo["id"]))


def _build_logs(algorithms: AlgorithmBackend, caller: Caller, owner: str | None, name: str, build_id: str) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    return {"logs": algorithms.build_logs(algo, build_id)}


async def _publish(request: Request, algorithms: AlgorithmBackend, links: str, caller: Caller, owner: str | None,
                   name: str) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    published = algorithms.publish(caller, algo, await _json_body(request))
    algo = algorithms.find_by_id(algo["id"])
    return shapes.version_view(algo, published["build"], published["version"], links)


# By algorithm UUID (declared first).

@router.get("/v1/algorithms/{algorithm_id:uuid}")
def get_algorithm_by_id(algorithm_id: uuid.UUID, caller: Caller = Depends(require_caller),
                        algorithms: AlgorithmBackend = Depends(algorithm_backend),
                        links: str = Depends(base_url)) -> dict:
    return _get(algorithms, links, caller, None, str(algorithm_id))


@router.put("/v1/algorithms/{algorithm_id:uuid}")
async def update_algorithm_by_id(algorithm_id: uuid.UUID, request: Request, caller: Caller = Depends(require_caller),
                                 algorithms: AlgorithmBackend = Depends(algorithm_backend),
                                 links: str = Depends(base_url)) -> dict:
    return await _update(request, algorithms, links, caller, None, str(algorithm_id))


@router.post("/v1/algorithms/{algorithm_id:uuid}/compile")
def compile_algorithm_by_id(algorithm_id: uuid.UUID, caller: Caller = Depends(require_caller),
                            algorithms: AlgorithmBackend = Depends(algorithm_backend),
                            links: str = Depends(base_url)) -> dict:
    return _compile(algorithms, links, caller, None, str(algorithm_id))


@router.get("/v1/algorithms/{algorithm_id:uuid}/builds")
def list_builds_by_id(algorithm_id: uuid.UUID, request: Request, limit: int | None = None,
                      marker: str | None = None, caller: Caller = Depends(require_caller),
                      algorithms: AlgorithmBackend = Depends(algorithm_backend),
                      links: str = Depends(base_url)) -> dict:
    return _list_builds(request, algorithms, links, caller, None, str(algorithm_id), limit, marker)


@router.get("/v1/algorithms/{algorithm_id:uuid}/builds/{build_id}")
def get_build_by_id(algorithm_id: uuid.UUID, build_id: str, caller: Caller = Depends(require_caller),
                    algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    return _get_build(algorithms, caller, None, str(algorithm_id), build_id)


@router.get("/v1/algorithms/{algorithm_id:uuid}/builds/{build_id}/logs")
def get_build_logs_by_id(algorithm_id: uuid.UUID, build_id: str, caller: Caller = Depends(require_caller),
                         algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    return _build_logs(algorithms, caller, None, str(algorithm_id), build_id)


@router.post("/v1/algorithms/{algorithm_id:uuid}/version")
async def publish_by_id(algorithm_id: uuid.UUID, request: Request, caller: Caller = Depends(require_caller),
                        algorithms: AlgorithmBackend = Depends(algorithm_backend),
                        links: str = Depends(base_url)) -> dict:
    return await _publish(request, algorithms, links, caller, None, str(algorithm_id))


# By :username/:algoname.

@router.post("/v1/algorithms/{owner}")
async def create_algorithm(owner: str, request: Request, caller: Caller = Depends(require_caller),
                           algorithms: AlgorithmBackend = Depends(algorithm_backend),
                           links: str = Depends(base_url)) -> dict:
    algo = algorithms.create(caller, owner, await _json_body(request))
    return _algorithm_view(algorithms, algo, links)


@router.get("/v1/algorithms/{owner}/{name}")
def get_algorithm(owner: str, name: str, caller: Caller = Depends(require_caller),
                  algorithms: AlgorithmBackend = Depends(algorithm_backend), links: str = Depends(base_url)) -> dict:
    return _get(algorithms, links, caller, owner, name)


@router.put("/v1/algorithms/{owner}/{name}")
async def update_algorithm(owner: str, name: str, request: Request, caller: Caller = Depends(require_caller),
                           algorithms: AlgorithmBackend = Depends(algorithm_backend),
                           links: str = Depends(base_url)) -> dict:
    return await _update(request, algorithms, links, caller, owner, name)


@router.delete("/v1/algorithms/{owner}/{name}", status_code=204)
def delete_algorithm(owner: str, name: str, caller: Caller = Depends(require_caller),
                     algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> Response:
    algorithms.delete(caller, algorithms.get_managed(caller, owner, name))
    return Response(status_code=204)


@router.post("/v1/algorithms/{owner}/{name}/compile")
def compile_algorithm(owner: str, name: str, caller: Caller = Depends(require_caller),
                      algorithms: AlgorithmBackend = Depends(algorithm_backend),
                      links: str = Depends(base_url)) -> dict:
    return _compile(algorithms, links, caller, owner, name)


@router.get("/v1/algorithms/{owner}/{name}/builds")
def list_builds(owner: str, name: str, request: Request, limit: int | None = None, marker: str | None = None,
                caller: Caller = Depends(require_caller), algorithms: AlgorithmBackend = Depends(algorithm_backend),
                links: str = Depends(base_url)) -> dict:
    return _list_builds(request, algorithms, links, caller, owner, name, limit, marker)


@router.get("/v1/algorithms/{owner}/{name}/builds/{build_id}")
def get_build(owner: str, name: str, build_id: str, caller: Caller = Depends(require_caller),
              algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    return _get_build(algorithms, caller, owner, name, build_id)


@router.get("/v1/algorithms/{owner}/{name}/builds/{build_id}/logs")
def get_build_logs(owner: str, name: str, build_id: str, caller: Caller = Depends(require_caller),
                   algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    return _build_logs(algorithms, caller, owner, name, build_id)


@router.get("/v1/algorithms/{owner}/{name}/versions")
def list_versions(owner: str, name: str, request: Request, limit: int | None = None, marker: str | None = None,
                  published: str | None = None, callable: str | None = None,  # noqa: A002 (the API's name)
                  caller: Caller = Depends(require_caller), algorithms: AlgorithmBackend = Depends(algorithm_backend),
                  links: str = Depends(base_url)) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    limit = _limit(limit)
    items = algorithms.versions(algo, published=_parse_bool(published, "published"),
                                callable_=_parse_bool(callable, "callable"))
    after = _marker_seq(marker)
    if after is not None:
        items = [item for item in items if item["build"]["seq"] < after]
    return _page(request, links, items, lambda item: item["build"]["seq"], limit,
                 lambda item: shapes.version_view(algo, item["build"], item["version"], links))


@router.post("/v1/algorithms/{owner}/{name}/versions")
async def publish_version(owner: str, name: str, request: Request, caller: Caller = Depends(require_caller),
                          algorithms: AlgorithmBackend = Depends(algorithm_backend),
                          links: str = Depends(base_url)) -> dict:
    return await _publish(request, algorithms, links, caller, owner, name)


@router.get("/v1/algorithms/{owner}/{name}/versions/{git_hash}")
def get_version(owner: str, name: str, git_hash: str, caller: Caller = Depends(require_caller),
                algorithms: AlgorithmBackend = Depends(algorithm_backend), links: str = Depends(base_url)) -> dict:
    algo = algorithms.get_managed(caller, owner, name)
    found = algorithms.version_for_hash(algo, git_hash)
    return shapes.version_view(algo, found["build"], found["version"], links)


@router.get("/v1/algorithms/{owner}/{name}/log")
def commit_log(owner: str, name: str, since: str | None = None, until: str | None = None,
               caller: Caller = Depends(require_caller),
               algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    """The repository commit log (the official client's ``commit_log_for_repository``: a
    ``RepositoryCommitLog``), newest first; ``since`` and ``until`` are commit SHAs, both included."""
    algo = algorithms.get_managed(caller, owner, name)
    return {"commits": [shapes.commit_view(c) for c in algorithms.commit_log(algo, since or None, until or None)]}


@router.get("/v1/algorithms/{owner}/{name}/scm/status")
def scm_status(owner: str, name: str, caller: Caller = Depends(require_caller),
               algorithms: AlgorithmBackend = Depends(algorithm_backend)) -> dict:
    algorithms.get_managed(caller, owner, name)
    # The repository is this cluster's own (internal SCM): its connection is always healthy.
    return {"scm_connection_status": "active"}


@router.get("/v1/scms")
def list_scms(_caller: Caller = Depends(require_caller)) -> dict:
    return {"results": [dict(shapes.INTERNAL_SCM)]}


@router.get("/v1/scms/{scm_id}")
def get_scm(scm_id: str, _caller: Caller = Depends(require_caller)) -> dict:
    if scm_id != shapes.INTERNAL_SCM["id"]:
        raise NotFound(f"No SCM {scm_id}: this cluster has only the internal SCM.", code=5004)
    return dict(shapes.INTERNAL_SCM)
