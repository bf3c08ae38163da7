"""Who may call what: every route of the app, called by five callers, against a running cluster.

The routes come from the app itself (``create_app(...)``); ``MATRIX`` below has one case per
(method, route) with the status each caller gets. A route without a case fails
``test_every_route_has_a_case`` (so a new route comes with its authorization decided), and so
does a case whose route is gone. Callers, in the order of every row:

    no key       no Authorization header
    wrong key    a key this cluster never issued
    other        bob, a plain user, on alice's resources
    admin        an admin key (no extra data rights: the docs say so)
    owner        alice, whose algorithm, collection and account the paths name

The requests are chosen to stop right after authorization where the real work would be slow
(compile of an algorithm without a master branch, publish without a build, git RPCs without
their content type): the status says the caller got through, nothing builds.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Callable

import pytest
import requests

from localcluster.app import create_app
from localcluster.settings import Settings
from tests.localcluster.git_support import git, git_env

CALLERS = ("no key", "wrong key", "other", "admin", "owner")
WRONG_KEY = "sim" + "W" * 25
MISSING = "3f0c2a1e-9d8b-4c7a-b6e5-d4c3b2a1f0e9"    # an id of nothing
TEMPLATE_SPEC = "8e0e5a2a-4b35-4a51-9b5c-2f1d0f3e4c11"  # Python 3.7 on the prod master


@dataclass
class Case:
    """One request (``{uuid}`` in the path is alice's algorithm's id) and the status per caller."""

    path: str
    statuses: tuple[int, int, int, int, int]
    body: dict = field(default_factory=dict)  # requests keyword arguments: json=, data=, headers=
    prepare: Callable | None = None           # run before each caller's request (destructive cases)


def signed_in(ok: int, other: int | None = None) -> tuple:
    """Any valid key; ``other`` when bob is refused or answered differently."""
    return (401, 401, ok if other is None else other, ok, ok)


def managed(ok: int) -> tuple:
    """alice's own, or an admin's: bob is refused."""
    return (401, 401, 403, ok, ok)


def admins(ok: int) -> tuple:
    return (401, 401, 403, ok, 403)


def owners_data(ok: int) -> tuple:
    """alice's private data: admin keys get no extra data rights."""
    return (401, 401, 403, 403, ok)


def anyone(ok: int) -> tuple:
    return (ok,) * 5


COLLECTION = "/alice/Matrix"
FILE = COLLECTION + "/file.txt"
DOOMED_FILE = COLLECTION + "/doomed.txt"
ENVIRONMENT_ROUTES = {
    ("GET", "/languages"): Case("/languages", signed_in(200)),
    ("GET", "/languages/{language}/environments"): Case("/languages/python3/environments", signed_in(200)),
    ("GET", "/environments/current"): Case("/environments/current", admins(200)),
    ("GET", "/environments/available"): Case("/environments/available", admins(200)),
    ("POST", "/environment-specifications/{spec_id}/syncs"):
        Case(f"/environment-specifications/{MISSING}/syncs", admins(404)),
    ("GET", "/environment-specifications/{spec_id}/syncs/{sync_id}"):
        Case(f"/environment-specifications/{MISSING}/syncs/{MISSING}", admins(404)),
    ("DELETE", "/environment-specifications/{spec_id}"): Case(f"/environment-specifications/{MISSING}", admins(404)),
    # documented without auth: a template is public
    ("GET", "/environment-specifications/{spec_id}/template"):
        Case(f"/environment-specifications/{TEMPLATE_SPEC}/template", anyone(200)),
}


def _data_routes(prefix: str, folder: str) -> dict:
    """The Data API's routes under one of its two prefixes; ``folder`` is made by alice's POST."""
    make = {"json": {"name": folder}}
    routes = {
        # the root lists the caller's own collections; nothing to write there
        ("GET", prefix): Case(prefix, signed_in(200)),
        ("HEAD", prefix): Case(prefix, signed_in(200)),
        ("PUT", prefix): Case(prefix, signed_in(400), {"data": b"x"}),
        ("POST", prefix): Case(prefix, signed_in(400), {"json": {}}),
        ("PATCH", prefix): Case(prefix, signed_in(400), {"json": {"acl": {"read": []}}}),
        ("DELETE", prefix): Case(prefix, signed_in(400)),
        ("GET", prefix + "/{path:path}"): Case(prefix + FILE, owners_data(200)),
        ("HEAD", prefix + "/{path:path}"): Case(prefix + FILE, owners_data(200)),
        ("PUT", prefix + "/{path:path}"): Case(prefix + FILE, owners_data(200), {"data": b"the same text"}),
        ("POST", prefix + "/{path:path}"): Case(prefix + COLLECTION, owners_data(200), make),
        ("PATCH", prefix + "/{path:path}"): Case(prefix + COLLECTION, owners_data(200),
                                                 {"json": {"acl": {"read": []}}}),
        ("DELETE", prefix + "/{path:path}"): Case(prefix + DOOMED_FILE, owners_data(200), prepare="doomed file"),
    }
    return routes


def _algorithm_routes() -> dict:
    name = "/v1/algorithms/alice/Matrix"
    by_id = "/v1/algorithms/{uuid}"
    return {
        ("GET", "/v1/algorithms/{algorithm_id:uuid}"): Case(by_id, managed(200)),
        ("PUT", "/v1/algorithms/{algorithm_id:uuid}"): Case(by_id, managed(200), {"json": {}}),
        ("POST", "/v1/algorithms/{algorithm_id:uuid}/compile"): Case(by_id + "/compile", managed(400)),
        ("GET", "/v1/algorithms/{algorithm_id:uuid}/builds"): Case(by_id + "/builds", managed(200)),
        ("GET", "/v1/algorithms/{algorithm_id:uuid}/builds/{build_id}"):
            Case(by_id + f"/builds/{MISSING}", managed(404)),
        ("GET", "/v1/algorithms/{algorithm_id:uuid}/builds/{build_id}/logs"):
            Case(by_id + f"/builds/{MISSING}/logs", managed(404)),
        ("POST", "/v1/algorithms/{algorithm_id:uuid}/version"): Case(by_id + "/version", managed(400), {"json": {}}),
        # an invalid name: the refusal of bob comes first
        ("POST", "/v1/algorithms/{owner}"): Case("/v1/algorithms/alice", managed(400), {"json": {"name": "9"}}),
        ("GET", "/v1/algorithms/{owner}/{name}"): Case(name, managed(200)),
        ("PUT", "/v1/algorithms/{owner}/{name}"): Case(name, managed(200), {"json": {}}),
        ("DELETE", "/v1/algorithms/{owner}/{name}"):
            Case("/v1/algorithms/alice/Doomed", managed(204), prepare="doomed algorithm"),
        ("POST", "/v1/algorithms/{owner}/{name}/compile"): Case(name + "/compile", managed(400)),
        ("GET", "/v1/algorithms/{owner}/{name}/builds"): Case(name + "/builds", managed(200)),
        ("GET", "/v1/algorithms/{owner}/{name}/builds/{build_id}"): Case(name + f"/builds/{MISSING}", managed(404)),
        ("GET", "/v1/algorithms/{owner}/{name}/builds/{build_id}/logs"):
            Case(name + f"/builds/{MISSING}/logs", managed(404)),
        ("GET", "/v1/algorithms/{owner}/{name}/versions"): Case(name + "/versions", managed(200)),
        ("POST", "/v1/algorithms/{owner}/{name}/versions"): Case(name + "/versions", managed(400), {"json": {}}),
        ("GET", "/v1/algorithms/{owner}/{name}/versions/{git_hash}"): Case(name + "/versions/abcdef1", managed(404)),
        ("GET", "/v1/algorithms/{owner}/{name}/scm/status"): Case(name + "/scm/status", managed(200)),
        ("GET", "/v1/algorithms/{owner}/{name}/log"): Case(name + "/log", managed(200)),
        ("GET", "/v1/scms"): Case("/v1/scms", signed_in(200)),
        ("GET", "/v1/scms/{scm_id}"): Case("/v1/scms/internal", signed_in(200)),
    }


def _matrix() -> dict[tuple[str, str], Case]:
    matrix = {
        # test hooks
        ("GET", "/localcluster/health"): Case("/localcluster/health", anyone(200)),
        ("GET", "/localcluster/faults"): Case("/localcluster/faults", admins(200)),
        ("PUT", "/localcluster/faults"): Case("/localcluster/faults", admins(200), {"json": {"rules": []}}),
        ("DELETE", "/localcluster/faults"): Case("/localcluster/faults", admins(200)),
        ("POST", "/localcluster/users/{username}/keys"): Case("/localcluster/users/alice/keys", admins(200)),
        ("POST", "/localcluster/users/{username}/session-keys"):
            Case("/localcluster/users/alice/session-keys", admins(200),
                 {"json": {"algorithm": "alice/Matrix", "session_id": "s-matrix", "ttl_seconds": 5}}),
        ("GET", "/localcluster/workers"): Case("/localcluster/workers", admins(200)),
        # users: admins manage users, a user reads and updates itself
        ("POST", "/v1/users"): Case("/v1/users", admins(400), {"json": {}}),
        ("GET", "/v1/users"): Case("/v1/users", admins(200)),
        ("GET", "/v1/users/{username}"): Case("/v1/users/alice", managed(200)),
        ("PUT", "/v1/users/{username}"): Case("/v1/users/alice", managed(200), {"json": {}}),
        ("DELETE", "/v1/users/{username}"): Case("/v1/users/nobody_here", admins(404)),
        # other connectors: not emulated, for anyone signed in
        **{(method, "/v1/connector/{connector}/{path:path}"): Case("/v1/connector/s3/bucket/x", signed_in(501))
           for method in ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE")},
        ("GET", "/v1/hostedData"): Case("/v1/hostedData", signed_in(200)),
        # execution: alice's algorithm has no build, so nothing is callable (404, documented in
        # localcluster.algorithms.resolution); latestPrivate is the owner's alone
        ("POST", "/v1/algo/{user}/{algo}/{version}"): Case("/v1/algo/alice/Matrix/latestPrivate", managed(404)),
        ("POST", "/v1/algo/{user}/{algo}"): Case("/v1/algo/alice/Matrix", signed_in(404)),
        ("POST", "/v1/algo/{algo_id}"): Case("/v1/algo/{uuid}", signed_in(404)),
        # git smart HTTP: only the owner (or an admin) fetches or pushes
        ("GET", "/git/{owner}/{algo}/info/refs"):
            Case("/git/alice/Matrix.git/info/refs?service=git-upload-pack", managed(200)),
        ("POST", "/git/{owner}/{algo}/git-upload-pack"): Case("/git/alice/Matrix.git/git-upload-pack", managed(415)),
        ("POST", "/git/{owner}/{algo}/git-receive-pack"): Case("/git/alice/Matrix.git/git-receive-pack", managed(415)),
    }
    matrix.update(_data_routes("/v1/data", "made-by-data"))
    matrix.update(_data_routes("/v1/connector/data", "made-by-connector"))
    for prefix in ("/v1/algorithm-environments/edge", "/webapi/v1/algorithm-environments",
                   "/webapi/v1/algorithm-environments/edge"):
        matrix.update({(method, prefix + route): Case(prefix + case.path, case.statuses, case.body)
                       for (method, route), case in ENVIRONMENT_ROUTES.items()})
    matrix.update(_algorithm_routes())
    return matrix


MATRIX = _matrix()


def app_routes(tmp_path) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, read from the app."""
    app = create_app(Settings(data_dir=tmp_path))
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI that includes routers lazily
    except ImportError:
        routes = app.routes
    else:
        routes = list(iter_route_contexts(app.routes))

    async def start_and_stop():  # the lifespan stops what create_app started (build threads, pool)
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(start_and_stop())
    found = set()
    for route in routes:
        assert route.methods, f"a route without methods: {route.path}"
        found.update((method, route.path) for method in route.methods)
    return found


def test_every_route_has_a_case(tmp_path):
    routes = app_routes(tmp_path)
    without_case = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not without_case, f"routes without a case in MATRIX (decide who may call them): {without_case}"
    assert not stale, f"cases in MATRIX for routes the app no longer has: {stale}"


@pytest.fixture(scope="module")
def world(cluster, tmp_path_factory):
    """alice's algorithm (without a master branch, so nothing can build), her collection and file,
    and bob; the headers of each caller, for API routes and for git."""
    bob = cluster.new_user("bob_matrix")

    def call(method, path, key=cluster.key, **kwargs):
        response = requests.request(method, cluster.url + path, headers={"Authorization": key}, timeout=30, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response

    algorithm = call("POST", "/v1/algorithms/alice", json={"name": "Matrix", "settings": {"language": "python3"}})
    home = tmp_path_factory.mktemp("matrix-git")
    env = git_env(home, cluster.user, cluster.key)
    git(env, "init", "-q", str(home / "empty"))
    git(env, "push", "-q", f"{cluster.url}/git/alice/Matrix.git", ":refs/heads/master", cwd=home / "empty")
    call("POST", "/v1/data/alice", json={"name": "Matrix"})
    call("PUT", "/v1/data" + FILE, data=b"the same text")
    keys = {"no key": None, "wrong key": WRONG_KEY, "other": bob, "admin": cluster.admin_key, "owner": cluster.key}
    users = {"other": "bob_matrix", "admin": "admin", "owner": "alice", "wrong key": "alice"}
    preparations = {
        "doomed file": lambda: call("PUT", "/v1/data" + DOOMED_FILE, data=b"doomed"),
        "doomed algorithm": lambda: (
            requests.get(f"{cluster.url}/v1/algorithms/alice/Doomed", headers={"Authorization": cluster.key},
                         timeout=30).status_code == 200
            or call("POST", "/v1/algorithms/alice", json={"name": "Doomed", "settings": {"language": "python3"}})),
    }

    def headers(caller: str, path: str) -> dict:
        key = keys[caller]
        if key is None:
            return {}
        if path.startswith("/git/"):  # what git sends: basic auth, the key as password
            return {"Authorization": "Basic " + base64.b64encode(f"{users[caller]}:{key}".encode()).decode()}
        return {"Authorization": f"Simple {key}"}

    return {"uuid": algorithm.json()["id"], "headers": headers, "prepare": preparations}


@pytest.mark.parametrize("method, route", sorted(MATRIX), ids=[f"{m} {r}" for m, r in sorted(MATRIX)])
def test_who_may_call_it(cluster, world, method, route):
    case = MATRIX[(method, route)]
    path = case.path.replace("{uuid}", world["uuid"])
    got = []
    with requests.Session() as session:
        for caller in CALLERS:
            if case.prepare:
                world["prepare"][case.prepare]()
            kwargs = dict(case.body)
            kwargs["headers"] = dict(kwargs.get("headers", {}), **world["headers"](caller, path))
            got.append(session.request(method, cluster.url + path, timeout=30, **kwargs).status_code)
    assert dict(zip(CALLERS, got)) == dict(zip(CALLERS, case.statuses))
