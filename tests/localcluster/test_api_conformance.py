"""Every documented management route localcluster serves, against the fields and types the docs give.

One row per route (``ROUTES``): the request, the status and the documented object the answer must
be, field by field with its type (``shared/reference/algorithmia-api``: algorithms.md,
algorithm_versions.md, algorithm_builds.md, scms.md, users.md), plus the repository commit log the
official client's generated API calls. Each answer is also read into the official client's own
model of it (``algorithmia_api_client``: required fields, enumerations, timestamps), since where
the docs and the client disagree the client wins. Extra fields are allowed (real clusters answer
more than the docs list); a missing or mistyped documented field fails, naming it.

Deliberate differences are few and listed in ``DIFFERENCES`` with the reason; each is a field
whose spec below accepts what the client reads rather than what the docs say.

Every row runs twice: on the cluster's loopback URL and on a cluster served under a real cluster's
names (``https://api.local.test:<port>``, git at ``https://git.local.test:<port>``).

Routes the docs describe that localcluster does not serve (the admin SCM routes, hosted-collection
assignment) are in docs/localcluster.md's "What is not emulated" and answer 404 like any unknown route.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests
from algorithmia_api_client import ApiClient, Configuration, DefaultApi

from tests.localcluster.git_support import classic_source, clone, commit_and_push, git_env, wait_for_build
from tests.localcluster.names_support import git_resolve_env

# ---- kinds of values, as the docs' "Type" column names them --------------------------------------


class Kind:
    """What a value must be; ``name`` is the docs' "Type" word for it."""

    name = "Any"

    def problem(self, value) -> str | None:
        return None


@dataclass(frozen=True)
class Plain(Kind):
    name: str

    def problem(self, value) -> str | None:
        ok = {"String": isinstance(value, str), "Boolean": isinstance(value, bool),
              "Number": isinstance(value, (int, float)) and not isinstance(value, bool)}[self.name]
        return None if ok else f"expected {self.name}, got {value!r}"


STRING, BOOLEAN, NUMBER, ANY = Plain("String"), Plain("Boolean"), Plain("Number"), Kind()


class Timestamp(Kind):
    """A String holding an ISO 8601 datetime (builds' started_at, finished_at)."""

    name = "ISO 8601 String"

    def problem(self, value) -> str | None:
        if not isinstance(value, str):
            return f"expected an ISO 8601 String, got {value!r}"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"expected an ISO 8601 datetime, got {value!r}"
        return None


@dataclass(frozen=True)
class OneOf(Kind):
    """A String that is one of the documented values."""

    values: tuple
    name = "String"

    def problem(self, value) -> str | None:
        return None if value in self.values else f"expected one of {', '.join(map(str, self.values))}, got {value!r}"


@dataclass(frozen=True)
class Obj(Kind):
    """An Object with documented fields."""

    fields: dict
    name = "Object"

    def problem(self, value) -> str | None:
        return None if isinstance(value, dict) else f"expected an Object, got {value!r}"


@dataclass(frozen=True)
class Arr(Kind):
    """An Array whose items are all of one kind."""

    items: Kind
    name = "Array"

    def problem(self, value) -> str | None:
        return None if isinstance(value, list) else f"expected an Array, got {value!r}"


@dataclass(frozen=True)
class Nullable(Kind):
    """The kind, or null (pages' marker and next_link: "both null" when there is no next page)."""

    kind: Kind
    name = "null or String"

    def problem(self, value) -> str | None:
        return None if value is None else self.kind.problem(value)


@dataclass(frozen=True)
class F:
    """A documented field: its kind, whether every answer has it (when its parent object is there),
    and, for a deliberate difference from the docs, why (``DIFFERENCES``)."""

    kind: Kind
    required: bool = True
    differs: str | None = None


def opt(kind: Kind) -> F:
    return F(kind, required=False)


def problems(value, kind: Kind, where: str = "") -> list[str]:
    """Every documented field of ``value`` that is missing or of the wrong kind, by its dotted path."""
    found = []
    problem = kind.problem(value)
    if problem:
        return [f"{where or '(answer)'}: {problem}"]
    if isinstance(kind, Nullable) and value is not None:
        return problems(value, kind.kind, where)
    if isinstance(kind, Obj):
        for name, spec in kind.fields.items():
            path = f"{where}.{name}" if where else name
            if name not in value:
                if spec.required:
                    found.append(f"{path}: missing ({spec.kind.name})")
                continue
            found += problems(value[name], spec.kind, path)
    if isinstance(kind, Arr):
        for index, item in enumerate(value):
            found += problems(item, kind.items, f"{where}[{index}]")
    return found


def count_fields(kind: Kind) -> int:
    if isinstance(kind, Nullable):
        return count_fields(kind.kind)
    if isinstance(kind, Arr):
        return count_fields(kind.items)
    if isinstance(kind, Obj):
        return sum(1 + count_fields(spec.kind) for spec in kind.fields.values())
    return 0


# ---- the documented objects -----------------------------------------------------------------------

# scms.md, "The SCM object". oauth and urls only for external SCMs ("If SCM is external ...").
SCM = Obj({
    "default": F(BOOLEAN), "enabled": F(BOOLEAN), "id": F(STRING), "provider": F(OneOf(("internal", "github"))),
    "oauth": opt(Obj({"client_id": F(STRING)})),
    "urls": opt(Obj({"api": F(STRING), "ssh": F(STRING), "web": F(STRING)})),
})

# algorithm_builds.md, "The algorithm build object". finished_at: "the datetime at which the build
# completed", so a build in progress has none; version_info "Absent unless the build has been published".
BUILD = Obj({
    "build_id": F(STRING), "commit_sha": F(STRING), "finished_at": opt(Timestamp()),
    "resource_type": F(OneOf(("algorithm_build",))), "started_at": F(Timestamp()),
    "status": F(OneOf(("failed", "in-progress", "succeeded"))),
    "version_info": opt(Obj({"semantic_version": F(STRING)})),
})

# algorithms.md, "The algorithm object" (settings: the values each field documents).
LANGUAGES = ("java", "javascript", "python2-lackpack", "python3-1", "r", "ruby", "rust", "scala")
SETTINGS = Obj({
    "algorithm_callability": F(OneOf(("public", "private"))),
    "environment": F(OneOf(("cpu", "gpu"))),
    "language": F(OneOf(LANGUAGES + ("python2-langpack", "python3", "python2")),
                  differs="the docs' languages, the client's python2-langpack, and AEMS language names (python3, python2): an "
                          "algorithm created with only settings.algorithm_environment, as the collection creates them, "
                          "answers its environment's language, as AEMS clusters do (the client's own test server answers "
                          "python3)"),
    "license": F(OneOf(("apl", "apache2", "gpl3", "mit"))),
    "network_access": F(OneOf(("full", "isolated"))),
    "package_set": opt(STRING),
    "pipeline_enabled": F(BOOLEAN),
    "source_visibility": F(OneOf(("open", "closed"))),
})
COMPILATION = Obj({"output": F(STRING), "successful": F(BOOLEAN)})
VERSION_INFO = Obj({"git_hash": F(STRING), "release_notes": opt(STRING), "sample_input": opt(STRING),
                    "sample_output": opt(STRING), "semantic_version": opt(STRING)})
# "source.repository_*": only for repositories hosted outside the platform; every algorithm here uses
# the internal SCM.
SOURCE = Obj({"scm": F(SCM), "repository_https_url": opt(STRING), "repository_name": opt(STRING),
              "repository_owner": opt(STRING), "repository_ssh_url": opt(STRING)})
DETAILS = Obj({"label": F(STRING), "summary": opt(STRING), "tagline": opt(STRING)})
_ALGORITHM_FIELDS = {
    "id": F(STRING), "name": F(STRING), "resource_type": F(OneOf(("algorithm",))), "details": F(DETAILS),
    "settings": F(SETTINGS), "source": F(SOURCE), "self_link": opt(STRING),
    "build": opt(BUILD), "compilation": opt(COMPILATION), "version_info": opt(VERSION_INFO),
}
ALGORITHM = Obj(_ALGORITHM_FIELDS)
# algorithm_versions.md: "algorithm versions must return values for the build, compilation,
# self_link, and version_info properties".
ALGORITHM_VERSION = Obj(dict(_ALGORITHM_FIELDS, build=F(BUILD), compilation=F(COMPILATION), self_link=F(STRING),
                             version_info=F(VERSION_INFO)))
# algorithms.md, "Compile an algorithm": the compiled version's hash and the updated compilation.
COMPILED = Obj(dict(_ALGORITHM_FIELDS, compilation=F(COMPILATION), self_link=F(STRING), version_info=F(VERSION_INFO)))


def page_of(item: Kind) -> Obj:
    """00_introduction.md, "Pagination", as each list route's table gives it."""
    return Obj({"marker": F(Nullable(STRING)), "next_link": F(Nullable(STRING)), "results": F(Arr(item))})


# users.md, "The user object".
USER = Obj({"id": F(STRING), "company_name": opt(STRING), "company_role": opt(STRING), "email": F(STRING),
            "fullname": F(STRING), "resource_type": F(OneOf(("user",))), "self_link": F(STRING),
            "username": F(STRING)})
# algorithms.md, "Get algorithm SCM status": the deploy key and webhook fields only for external repositories.
SCM_STATUS = Obj({"scm_connection_status": F(OneOf(("active", "deploy_key_error", "provider_internal_error"))),
                  "repository_public_deploy_key": opt(STRING), "repository_webhook_secret": opt(STRING),
                  "repository_webhook_url": opt(STRING)})
BUILD_LOGS = Obj({"logs": F(STRING)})
# Not in the REST docs: the official client's generated API (DefaultApi.commit_log_for_repository,
# models RepositoryCommitLog and Commit, every field required).
COMMIT = Obj({"id": F(STRING), "short_message": F(STRING), "message": F(STRING), "author": F(STRING)})
COMMIT_LOG = Obj({"commits": F(Arr(COMMIT))})
# algorithms.md, "Invocation Result Object". stdout only when asked for; async only for void calls.
INVOCATION = Obj({
    "result": F(ANY), "request_id": F(STRING), "async": opt(BOOLEAN),
    "metadata": F(Obj({"content_type": F(OneOf(("binary", "json", "text", "void"))), "duration": F(NUMBER),
                       "stdout": opt(STRING)})),
})
ASYNC_INVOCATION = Obj({
    "async": F(STRING, differs="the docs say Boolean; the official client reads async as the asynchronous protocol's name "
                               "(AsyncResponse.async_protocol, which localcluster's execution tests read as 'void'), and the "
                               "client's own test server answers a string"),
    "request_id": F(STRING),
})
# 00_introduction.md, "Errors": {id, code, message}.
ERROR = Obj({"error": F(Obj({"id": opt(STRING), "code": F(NUMBER), "message": F(STRING)}),
                        differs="the docs show the error's fields at the top level; the official client reads "
                                "response['error']['message'] (Algorithmia.errors), so they are inside 'error' "
                                "(localcluster/errors.py)")})


def differences(kind: Kind, where: str = "") -> list[tuple[str, str]]:
    found = []
    if isinstance(kind, Nullable):
        return differences(kind.kind, where)
    if isinstance(kind, Arr):
        return differences(kind.items, where)
    if isinstance(kind, Obj):
        for name, spec in kind.fields.items():
            path = f"{where}.{name}" if where else name
            if spec.differs:
                found.append((path, spec.differs))
            found += differences(spec.kind, path)
    return found


# ---- the routes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One documented route: the request (``{name}`` fields come from the world fixture), the
    status, the documented shape of the answer, and the official client's model of it."""

    doc: str
    method: str
    path: str
    shape: Kind | None
    status: int = 200
    body: object = None
    who: str = "owner"          # owner, admin
    model: str | None = None    # algorithmia_api_client model (the whole answer, or each result of a page)
    model_at: str | None = None  # ... or of this field of the answer
    text: str | None = None     # a text/plain body (algorithm calls)


ALGO = "/v1/algorithms/{user}/{algo}"
BY_ID = "/v1/algorithms/{algo_id}"
ROUTES = [
    # algorithms.md
    Route("algorithms.md: Create an algorithm", "POST", "/v1/algorithms/{user}", ALGORITHM, model="VersionResponse",
          body={"name": "Created", "details": {"label": "Created"},
                "settings": {"environment": "cpu", "language": "python3-1", "license": "apl", "network_access": "full",
                             "pipeline_enabled": True, "source_visibility": "closed"}}),
    Route("algorithms.md: Invoke an algorithm", "POST", "/v1/algo/{user}/{algo}/{hash}", INVOCATION,
          model="AlgorithmSynchronousInvocationResultMetadata", model_at="metadata", text="conformance"),
    Route("algorithms.md: Invoke an algorithm (output=void)", "POST", "/v1/algo/{user}/{algo}/{hash}?output=void",
          ASYNC_INVOCATION, text="conformance"),
    Route("algorithms.md: Get an algorithm", "GET", ALGO, ALGORITHM, model="VersionResponse"),
    Route("algorithms.md: Update an algorithm", "PUT", ALGO, ALGORITHM, model="VersionResponse",
          body={"details": {"label": "Conformance"}, "settings": {"license": "apl", "network_access": "full",
                                                                  "pipeline_enabled": True, "source_visibility": "closed"}}),
    Route("algorithms.md: Compile an algorithm", "POST", ALGO + "/compile", COMPILED, model="VersionResponse"),
    Route("algorithms.md: Delete an algorithm", "DELETE", "/v1/algorithms/{user}/Doomed", None, status=204),
    Route("algorithms.md: Get algorithm SCM status", "GET", ALGO + "/scm/status", SCM_STATUS, model="ScmConnectionStatus"),
    Route("algorithms.md: Invoke an algorithm by UUID", "POST", "/v1/algo/{algo_id}", INVOCATION,
          model="AlgorithmSynchronousInvocationResultMetadata", model_at="metadata", text="by id"),
    Route("algorithms.md: Get an algorithm by UUID", "GET", BY_ID, ALGORITHM, model="VersionResponse"),
    Route("algorithms.md: Update an algorithm by UUID", "PUT", BY_ID, ALGORITHM, model="VersionResponse",
          body={"details": {"label": "Conformance by id"}, "settings": {"license": "apl", "network_access": "full",
                                                                        "pipeline_enabled": True,
                                                                        "source_visibility": "closed"}}),
    Route("algorithms.md: Compile an algorithm by UUID", "POST", BY_ID + "/compile", COMPILED, model="VersionResponse"),
    Route("00_introduction.md: Errors", "GET", "/v1/algorithms/{user}/Missing", ERROR, status=404),
    # algorithm_builds.md
    Route("algorithm_builds.md: List algorithm builds", "GET", ALGO + "/builds", page_of(BUILD), model="Build"),
    Route("algorithm_builds.md: Get an algorithm build", "GET", ALGO + "/builds/{build}", BUILD, model="Build"),
    Route("algorithm_builds.md: Get algorithm build logs", "GET", ALGO + "/builds/{build}/logs", BUILD_LOGS,
          model="BuildLogs"),
    Route("algorithm_builds.md: List algorithm builds by algorithm UUID", "GET", BY_ID + "/builds", page_of(BUILD),
          model="Build"),
    Route("algorithm_builds.md: Get an algorithm build by algorithm UUID", "GET", BY_ID + "/builds/{build}", BUILD,
          model="Build"),
    Route("algorithm_builds.md: Get algorithm build logs by algorithm UUID", "GET", BY_ID + "/builds/{build}/logs",
          BUILD_LOGS, model="BuildLogs"),
    # algorithm_versions.md
    Route("algorithm_versions.md: Publish an algorithm version", "POST", ALGO + "/versions", ALGORITHM_VERSION,
          model="VersionResponse",
          body={"settings": {"algorithm_callability": "private"}, "details": {"label": "Conformance"},
                "version_info": {"version_type": "minor", "release_notes": "A few bug fixes.", "sample_input": "42",
                                 "git_hash": "{hash2}"}}),
    Route("algorithm_versions.md: List algorithm versions", "GET", ALGO + "/versions", page_of(ALGORITHM_VERSION),
          model="VersionResponse"),
    Route("algorithm_versions.md: Get algorithm version", "GET", ALGO + "/versions/{hash}", ALGORITHM_VERSION,
          model="VersionResponse"),
    Route("algorithm_versions.md: Publish an algorithm version by algorithm UUID", "POST", BY_ID + "/version",
          ALGORITHM_VERSION, model="VersionResponse",
          body={"settings": {"algorithm_callability": "private"},
                "version_info": {"version_type": "patch", "git_hash": "{hash3}"}}),
    # scms.md
    Route("scms.md: List SCMs", "GET", "/v1/scms", Obj({"results": F(Arr(SCM))}), model="Scm"),
    Route("scms.md: Get an SCM", "GET", "/v1/scms/internal", SCM, model="Scm"),
    # users.md
    Route("users.md: Create a user", "POST", "/v1/users", USER, who="admin", model="User",
          body={"company_name": "Algorithmia", "company_role": "Example User", "email": "example@example.com",
                "fullname": "Example User", "username": "example_user"}),
    Route("users.md: List users", "GET", "/v1/users", page_of(USER), who="admin", model="User"),
    Route("users.md: Get a user", "GET", "/v1/users/{user}", USER, model="User"),
    Route("users.md: Update a user", "PUT", "/v1/users/{user}", USER, model="User",
          body={"company_name": "Algorithmia", "company_role": "Tester", "email": "{email}", "fullname": "Alice Tester",
                "username": "{user}"}),
    Route("users.md: Delete a user", "DELETE", "/v1/users/carol", None, status=204, who="admin"),
    Route("users.md: Get a user by UUID", "GET", "/v1/users/{user_id}", USER, model="User"),
    Route("users.md: Update a user by UUID", "PUT", "/v1/users/{user_id}", USER, model="User",
          body={"email": "{email}", "fullname": "Alice by id", "username": "{user}"}),
    Route("users.md: Delete a user by UUID", "DELETE", "/v1/users/{dave_id}", None, status=204, who="admin"),
    # the official client's generated API, not in the REST docs
    Route("client: commit_log_for_repository", "GET", ALGO + "/log", COMMIT_LOG, model="RepositoryCommitLog"),
]


def _differences() -> list[tuple[str, str]]:
    """(field, why) of each deliberate difference, once (by its shortest path: the field of its object)."""
    paths_by_reason: dict[str, set[str]] = {}
    for route in ROUTES:
        for path, why in differences(route.shape) if route.shape is not None else ():
            paths_by_reason.setdefault(why, set()).add(path)
    return sorted((min(paths, key=len), why) for why, paths in paths_by_reason.items())


# The deliberate differences from the docs, each with its reason (kept few: a new one is a decision).
DIFFERENCES = _differences()


# ---- the world the rows act on ----------------------------------------------------------------------

ALGO_SETTINGS = {"language": "python3-1", "environment": "cpu", "source_visibility": "closed", "license": "apl",
                 "network_access": "full", "pipeline_enabled": True}


@pytest.fixture(scope="module", params=["loopback", "names"])
def served(request):
    """Each row against a cluster on its loopback URL, and against one served as a real cluster is
    named (https://api.local.test:<port>, git at https://git.local.test:<port>: conftest's named_cluster)."""
    return request.getfixturevalue("cluster" if request.param == "loopback" else "named_cluster")


@pytest.fixture(scope="module")
def world(served, tmp_path_factory):
    """alice's algorithm Conform with three built commits (the first published), an algorithm and
    two users for the delete rows; the values the rows' paths and bodies name."""
    client = served.client(url=served.api_url)
    algo = client.algo(f"{served.user}/Conform")
    created = algo.create(details={"label": "Conform", "summary": "Checked against the docs", "tagline": "conforms"},
                          settings=ALGO_SETTINGS)
    client.algo(f"{served.user}/Doomed").create(details={"label": "Doomed"}, settings=ALGO_SETTINGS)
    home = tmp_path_factory.mktemp("conformance-git")
    env = git_env(home, served.user, served.key, served.ca_cert)
    if served.names:
        env = git_resolve_env(env, served.names)
    # Where a real cluster's git is: the API address with //api. made //git. (the same URL on loopback).
    clone(served.api_url.replace("//api.", "//git.", 1), served.user, "Conform", home / "Conform", env)
    hashes = [commit_and_push(home / "Conform", env, classic_source("Conform", greeting), greeting)
              for greeting in ("hello", "hi", "hey")]
    builds = [wait_for_build(algo, sha) for sha in hashes]
    assert [b["status"] for b in builds] == ["succeeded"] * 3, builds
    algo.publish(settings={"algorithm_callability": "private"}, version_info={"version_type": "minor", "git_hash": hashes[0]},
                 details={"label": "Conform"})
    users = {}
    for name in ("carol", "dave"):
        answer = _request(served, "POST", "/v1/users", served.admin_key, json={"username": name, "email": f"{name}@example.com"})
        users[name] = answer.json()
    alice = _request(served, "GET", f"/v1/users/{served.user}", served.key).json()
    return {"user": served.user, "algo": "Conform", "algo_id": created["id"], "hash": hashes[0], "hash2": hashes[1],
            "hash3": hashes[2], "build": builds[0]["build_id"], "user_id": alice["id"], "email": alice["email"],
            "dave_id": users["dave"]["id"]}


def _request(cluster, method: str, path: str, key: str, **kwargs) -> requests.Response:
    # The documented form of the header: "Authorization: Simple API_KEY".
    return requests.request(method, cluster.api_url + path, headers={"Authorization": f"Simple {key}", **kwargs.pop("headers", {})},
                            verify=cluster.ca_cert or True, timeout=300, **kwargs)


def _filled(value, world: dict):
    """``value`` with the world's ``{names}`` put in (paths, and every string of a body)."""
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {key: _filled(item, world) for key, item in value.items()}
    return value


def _client_model(data, model: str):
    """``data`` read into the official client's model: raises as the client would (a required field
    None, a value outside an enumeration, a timestamp it cannot parse)."""
    return ApiClient(Configuration())._ApiClient__deserialize(data, model)  # pylint: disable=protected-access


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_route_answers_the_documented_fields(served, world, route):
    key = served.admin_key if route.who == "admin" else served.key
    kwargs = {}
    if route.text is not None:
        kwargs = {"data": route.text.encode(), "headers": {"Content-Type": "text/plain"}}
    elif route.body is not None:
        kwargs = {"json": _filled(route.body, world)}
    response = _request(served, route.method, _filled(route.path, world), key, **kwargs)
    assert response.status_code == route.status, (route.doc, response.status_code, response.text)
    if route.shape is None:  # "An empty response upon success"
        assert response.content == b""
        return
    answer = response.json()
    assert problems(answer, route.shape) == [], (route.doc, json.dumps(answer, indent=1))
    if route.model:
        # The client models the result as OneOfstringobject, which it cannot read: for a call, its metadata.
        items = [answer[route.model_at]] if route.model_at else answer["results"] if "results" in answer else [answer]
        for item in items:
            _client_model(item, route.model)


def test_the_table_covers_every_documented_route_localcluster_serves():
    # The routes of the five docs files localcluster serves, each in the table (by method and path shape).
    routes = {(route.method, route.path.split("?")[0]) for route in ROUTES}
    assert len(routes) == 33, sorted(routes)
    assert sum(count_fields(route.shape) for route in ROUTES if route.shape) > 300


def test_deliberate_differences_are_few_and_say_why():
    paths = [path for path, why in DIFFERENCES]
    assert paths == ["async", "error", "settings.language"], DIFFERENCES
    assert all(len(why) > 40 for path, why in DIFFERENCES)


def test_the_check_names_each_missing_or_mistyped_field():
    answer = {"id": "x", "name": 7, "settings": {"pipeline_enabled": "yes"}, "build": {"status": "queued"}}
    found = problems(answer, ALGORITHM)
    assert "name: expected String, got 7" in found
    assert "settings.pipeline_enabled: expected Boolean, got 'yes'" in found
    assert "details: missing (Object)" in found and "settings.license: missing (String)" in found
    assert "build.status: expected one of failed, in-progress, succeeded, got 'queued'" in found
    assert "build.started_at: missing (ISO 8601 String)" in found
    assert problems({"marker": None, "next_link": None, "results": [{"logs": 1}]}, page_of(BUILD_LOGS)) == \
        ["results[0].logs: expected String, got 1"]


# ---- beyond the shapes: what the new fields say ------------------------------------------------------


def test_commit_log_with_the_official_clients_generated_api(served, world):
    configuration = Configuration(host=served.api_url + "/v1", api_key={"Authorization": served.key})
    configuration.ssl_ca_cert = served.ca_cert
    api = DefaultApi(ApiClient(configuration))
    log = api.commit_log_for_repository(world["user"], world["algo"])
    ids = [commit.id for commit in log.commits]
    # Newest first: the three pushed commits, then the repository's template commit.
    assert ids[:3] == [world["hash3"], world["hash2"], world["hash"]] and len(ids) == 4
    newest = log.commits[0]
    assert newest.short_message == "hey" and newest.message.startswith("hey")
    assert newest.author == "Test Author <author@example.com>"
    assert log.commits[-1].short_message == "Initial commit"
    # since and until are both included.
    window = api.commit_log_for_repository(world["user"], world["algo"], since=world["hash"], until=world["hash2"])
    assert [commit.id for commit in window.commits] == [world["hash2"], world["hash"]]
    short = api.commit_log_for_repository(world["user"], world["algo"], until=world["hash"][:10])
    assert [commit.id for commit in short.commits][0] == world["hash"]


@pytest.mark.parametrize("query, status", [({"since": "not-a-sha"}, 400), ({"until": "0" * 40}, 404),
                                           ({"since": "0" * 40}, 404)])
def test_commit_log_refuses_what_names_no_commit_of_the_history(served, world, query, status):
    response = _request(served, "GET", f"/v1/algorithms/{world['user']}/{world['algo']}/log", served.key, params=query)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_every_user_has_an_email_and_a_full_name(served):
    # `create-user` without --email: the docs make email and fullname required Strings.
    frank = served.new_user("frank")
    answer = _request(served, "GET", "/v1/users/frank", frank).json()
    assert (answer["email"], answer["fullname"]) == ("frank@localcluster.test", "frank")
    assert "company_name" not in answer and "company_role" not in answer  # never given: absent rather than null
    made = _request(served, "POST", "/v1/users", served.admin_key,
                    json={"username": f"u{uuid.uuid4().hex[:8]}", "email": "erin@example.com", "fullname": "Erin"}).json()
    assert (made["email"], made["fullname"]) == ("erin@example.com", "Erin")


def test_settings_name_the_environment_of_an_aems_create(served, world):
    # The collection creates with algorithm_environment only; the docs set environment with language.
    environment = _request(served, "GET", f"/v1/algorithms/{world['user']}/{world['algo']}", served.key).json()
    made = _request(served, "POST", f"/v1/algorithms/{world['user']}", served.key,
                    json={"name": "ByEnvironment", "details": {"label": "x"},
                          "settings": {"algorithm_environment": environment["settings"]["algorithm_environment"]}})
    assert made.status_code == 200, made.text
    settings = made.json()["settings"]
    assert (settings["language"], settings["environment"]) == ("python3", "cpu")
    assert problems(made.json(), ALGORITHM) == []
