"""Algorithms: records, settings, compile, versions and publishing (state and logic, no HTTP).

An algorithm's source is its git repository (``localcluster.gitserver``); a *version* is a
successful build of one commit, and a *published* version is such a build given a semantic
version. Only the owner (or an admin) manages an algorithm. Which build a version string or a
commit names, and who may *call* it, is resolution.py. Builds are the builds backend's: this
backend asks it, never its table.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid

from localcluster.algorithms import resolution, semver
from localcluster.builds.backend import HASH_PREFIX_RE, IN_PROGRESS, SUCCEEDED, BuildBackend
from localcluster.db import MISS, ChangeCache, Database
from localcluster.environments.backend import EnvironmentBackend
from localcluster.builds import languages
from localcluster.environments import catalog
from localcluster.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from localcluster.gitserver import repos
from localcluster.users.backend import Caller, UserBackend

SCHEMA = """
CREATE TABLE IF NOT EXISTS algorithms (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    details TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (owner, name)
);
CREATE TABLE IF NOT EXISTS algorithm_versions (
    id TEXT NOT NULL UNIQUE,
    algorithm_id TEXT NOT NULL REFERENCES algorithms(id) ON DELETE CASCADE,
    semantic_version TEXT NOT NULL,
    major INTEGER NOT NULL,
    minor INTEGER NOT NULL,
    patch INTEGER NOT NULL,
    git_hash TEXT NOT NULL,
    build_id TEXT NOT NULL,
    callability TEXT NOT NULL,
    release_notes TEXT,
    sample_input TEXT,
    sample_output TEXT,
    settings TEXT NOT NULL,
    details TEXT NOT NULL,
    published_at REAL NOT NULL,
    PRIMARY KEY (algorithm_id, semantic_version),
    UNIQUE (algorithm_id, git_hash)
);
"""

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
DEFAULT_SETTINGS = {"algorithm_callability": "private", "source_visibility": "closed", "license": "apl",
                    "network_access": "full", "pipeline_enabled": True}
ALLOWED_VALUES = {"algorithm_callability": ("public", "private"), "source_visibility": ("open", "closed"),
                  "license": ("apl", "apache2", "gpl3", "mit"), "network_access": ("full", "isolated")}
ENVIRONMENT_KEYS = ("algorithm_environment", "environment", "language", "package_set")
DETAIL_KEYS = ("label", "summary", "tagline")

ALREADY_PUBLISHED = "Version already published. Please compile your algorithm."


def _decoded(row) -> dict:
    """An algorithms or algorithm_versions row, with its JSON columns read."""
    record = dict(row)
    record["details"] = json.loads(record["details"])
    record["settings"] = json.loads(record["settings"])
    return record


class AlgorithmBackend:
    def __init__(self, db: Database, data_dir, users: UserBackend, environments: EnvironmentBackend,
                 builds: BuildBackend) -> None:
        self.db = db
        self.data_dir = data_dir
        self.users = users
        self.environments = environments
        self.builds = builds
        db.ensure_schema(SCHEMA)
        # (username, is_admin, owner, name, version) -> Runnable: what a call resolved to, until the
        # database changes (a publish, a delete, a build, new settings). Who calls is part of the
        # key because it decides which versions are callable; nothing else of the caller is read.
        self._resolved = ChangeCache(db)

    def resolve_runnable(self, caller: Caller, owner: str | None, name: str, version: str | None, *,
                         cached_only: bool = False):
        """The build a call runs; the full contract is in ``localcluster.algorithms.resolution``.

        Answers come from memory while the database is unchanged and the build is still on disk.
        ``cached_only``: never query, answer ``MISS`` instead (the event loop asks so). Refusals
        are not cached: they are not the path worth making fast."""
        key = (caller.username, caller.is_admin, owner, name, version)
        found = self._resolved.get(key)
        if found is not MISS and os.path.isfile(found.manifest_path):
            return found
        if cached_only:
            return MISS
        seen = self._resolved.version()
        algo = self.find_by_id(name) if owner is None else self.find(owner, name)
        runnable = resolution.resolve_runnable(caller, algo, version, published=self.published_versions(algo["id"]),
                                               builds=self.builds, data_dir=self.data_dir)
        self._resolved.put(key, runnable, seen)
        return runnable

    # finding and authorizing
    def find(self, owner: str, name: str) -> dict:
        row = self.db.query_one("SELECT * FROM algorithms WHERE owner = ? AND name = ?", (owner, name))
        if row is None:
            raise NotFound(f"No such algorithm: {owner}/{name}", code=1001)
        return _decoded(row)

    def find_by_id(self, algorithm_id: str) -> dict:
        row = self.db.query_one("SELECT * FROM algorithms WHERE id = ?", (algorithm_id,))
        if row is None:
            raise NotFound(f"No such algorithm with ID {algorithm_id}", code=1009)
        return _decoded(row)

    @staticmethod
    def authorize(caller: Caller, algo: dict) -> None:
        if caller.may_manage(algo["owner"]):
            return
        raise Forbidden(f"User {caller.username} is not authorized to manage {algo['owner']}/{algo['name']}: "
                        "only its owner can.", code=2001)

    def get_managed(self, caller: Caller, owner: str, name: str) -> dict:
        """The algorithm ``owner/name`` (owner None: whose UUID is ``name``), if the caller manages it."""
        algo = self.find_by_id(name) if owner is None else self.find(owner, name)
        self.authorize(caller, algo)
        return algo

    # create / update / delete
    def _normalize_settings(self, given: dict, current: dict | None = None) -> dict:
        if not isinstance(given, dict):
            raise BadRequest("settings must be a JSON object.")
        settings = dict(current or DEFAULT_SETTINGS)
        if any(given.get(key) for key in ENVIRONMENT_KEYS):
            for key in ENVIRONMENT_KEYS:
                settings.pop(key, None)
        settings.update({k: v for k, v in given.items() if v is not None})
        for key, allowed in ALLOWED_VALUES.items():
            if settings.get(key) not in allowed:
                raise BadRequest(f"settings.{key} must be one of {', '.join(allowed)} (got {settings.get(key)!r}).")
        if not isinstance(settings.get("pipeline_enabled"), bool):
            raise BadRequest("settings.pipeline_enabled must be true or false.")
        if current is not None and not any(given.get(key) for key in ENVIRONMENT_KEYS):
            return settings  # environment unchanged: an environment disabled since still runs this algorithm
        spec = self.environments.environment_for_settings(settings)
        settings["algorithm_environment"] = spec.environment_id
        settings.setdefault("language", spec.language)
        # The docs: environment is "one of cpu or gpu", set whenever language is. An environment id
        # given there, or none at all (an AEMS create names algorithm_environment only), becomes the
        # chosen environment's machine type.
        if settings.get("environment") not in ("cpu", "gpu"):
            settings["environment"] = spec.machine_type.lower()
        return settings

    @staticmethod
    def _aems_language(settings: dict) -> str:
        spec = catalog.find_environment(str(settings.get("algorithm_environment") or ""))
        return spec.language if spec is not None else "python3"

    @staticmethod
    def _normalize_details(given, current: dict | None = None) -> dict:
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise BadRequest("details must be a JSON object.")
        details = dict(current or {})
        details.update({k: v for k, v in given.items() if k in DETAIL_KEYS and v is not None})
        return details

    def create(self, caller: Caller, owner: str, body: dict) -> dict:
        if not caller.may_manage(owner):
            raise Forbidden(f"User {caller.username} may not create algorithms for {owner}.", code=2001)
        if not self.users.user_exists(owner):
            raise NotFound(f"The requested user {owner} was not found.", code=3000)
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadRequest(f"Invalid algorithm name {name!r}: use letters, digits and '_', starting with a letter.")
        settings = self._normalize_settings(body.get("settings") or {})
        details = self._normalize_details(body.get("details"))
        details.setdefault("label", name)
        algorithm_id = str(uuid.uuid4())
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM algorithms WHERE owner = ? AND name = ?", (owner, name)).fetchone():
                raise Conflict(f"An algorithm named {owner}/{name} already exists.", code=1002)
            conn.execute("INSERT INTO algorithms VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (algorithm_id, owner, name, json.dumps(details), json.dumps(settings), now, now))
        path = repos.repo_path(self.data_dir, owner, name)
        try:
            repos.delete_repository(path)  # left over by a delete interrupted halfway
            repos.create_repository(path, languages.starter(self._aems_language(settings), name), "Initial commit")
        except Exception:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM algorithms WHERE id = ?", (algorithm_id,))
            raise ApiError(f"Failed to create the git repository of {owner}/{name}.", code=1008,
                           status_code=500) from None
        return self.find_by_id(algorithm_id)

    def update(self, caller: Caller, algo: dict, body: dict) -> dict:
        self.authorize(caller, algo)
        settings = self._normalize_settings(body.get("settings") or {}, algo["settings"])
        details = self._normalize_details(body.get("details"), algo["details"])
        with self.db.transaction() as conn:
            conn.execute("UPDATE algorithms SET details = ?, settings = ?, updated_at = ? WHERE id = ?",
                         (json.dumps(details), json.dumps(settings), time.time(), algo["id"]))
        return self.find_by_id(algo["id"])

    def delete(self, caller: Caller, algo: dict) -> None:
        self.authorize(caller, algo)
        self.builds.delete_for_algorithm(algo["id"])
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM algorithm_versions WHERE algorithm_id = ?", (algo["id"],))
            conn.execute("DELETE FROM algorithms WHERE id = ?", (algo["id"],))
        repos.delete_repository(repos.repo_path(self.data_dir, algo["owner"], algo["name"]))

    # builds
    def build_master(self, algo: dict, head: str | None = None) -> dict:
        """Start a build of master's head (``head``: the commit a push just moved it to), or return
        the one already running for that commit."""
        if head is None:
            head = repos.master_commit(repos.repo_path(self.data_dir, algo["owner"], algo["name"]))
        if head is None:
            raise BadRequest(f"{algo['owner']}/{algo['name']} has no master branch to build: push one first.")
        running = self.builds.latest(algo["id"], status=IN_PROGRESS, commit_sha=head)
        if running is not None:
            return running
        return self.builds.start(algo["id"], algo["owner"], algo["name"], head, algo["settings"])

    def on_push(self, owner: str, name: str, commit: str) -> dict | None:
        """Called by the git server after a push moved master to ``commit``: build it in the background."""
        try:
            algo = self.find(owner, name)
        except NotFound:
            return None
        return self.build_master(algo, commit)

    def compile(self, caller: Caller, algo: dict) -> dict:
        """Build master's head and wait for the result; returns the finished (or still running) build."""
        self.authorize(caller, algo)
        build = self.build_master(algo)
        return self.builds.wait(build["id"], timeout=self.builds.timeout + 30)

    def list_builds(self, algo: dict, *, before_seq: int | None = None, limit: int | None = None) -> list[dict]:
        """The algorithm's builds, newest first."""
        return self.builds.list(algo["id"], before_seq=before_seq, limit=limit)

    def latest_build(self, algo: dict) -> dict | None:
        return self.builds.latest(algo["id"])

    def current(self, algo: dict) -> dict | None:
        """What the algorithm object shows as its version ("the Git SHA of the algorithm's most recent
        version"): {"build", "version"} of its newest build that is in progress or succeeded, with the
        publication of that commit if any; None before the first build.

        An in-progress build counts at once, so right after a push the pushed commit is the answer
        (tools read it there and call that hash while it builds); a failed build never does, so it
        never replaces the last good version."""
        candidates = [build for build in (self.builds.latest(algo["id"], status=IN_PROGRESS),
                                          self.builds.latest(algo["id"], status=SUCCEEDED)) if build is not None]
        if not candidates:
            return None
        build = max(candidates, key=lambda candidate: candidate["seq"])
        return {"build": build, "version": self.published_by_hash(algo["id"]).get(build["commit_sha"])}

    def commit_log(self, algo: dict, since: str | None, until: str | None) -> list[dict]:
        """master's commits, newest first, from ``until`` (default its head) back to ``since``, both included."""
        for name, value in (("since", since), ("until", until)):
            if value is not None and not HASH_PREFIX_RE.match(value):
                raise BadRequest(f"{name} must be a commit SHA (a full hash or at least 4 hex digits), got {value!r}.")
        try:
            return repos.commit_log(repos.repo_path(self.data_dir, algo["owner"], algo["name"]), since, until)
        except LookupError as exc:
            raise NotFound(f"Cannot list the commits of {algo['owner']}/{algo['name']}: {exc}.", code=5004) from None

    def get_build(self, algo: dict, build_id: str) -> dict:
        build = self.builds.get(build_id)
        if build is None or build["algorithm_id"] != algo["id"]:
            raise NotFound(f"No build {build_id} of {algo['owner']}/{algo['name']}.", code=5004)
        return build

    def build_logs(self, algo: dict, build_id: str) -> str:
        build = self.get_build(algo, build_id)
        if build["status"] == IN_PROGRESS:
            # As documented: no logs until the build has succeeded or failed.
            raise NotFound(f"Logs of build {build_id} are not available until it finishes (status in-progress).",
                           code=5004)
        return build["log"]

    # versions
    def published_versions(self, algorithm_id: str) -> list[dict]:
        """Published versions, highest semantic version first."""
        rows = self.db.query("SELECT * FROM algorithm_versions WHERE algorithm_id = ? "
                             "ORDER BY major DESC, minor DESC, patch DESC", (algorithm_id,))
        return [_decoded(r) for r in rows]

    def published_by_hash(self, algorithm_id: str) -> dict[str, dict]:
        return {v["git_hash"]: v for v in self.published_versions(algorithm_id)}

    def versions(self, algo: dict, *, published: bool | None = None, callable_: bool | None = None) -> list[dict]:
        """Every built commit (its newest successful build), newest first, with its publication if any."""
        published_by_hash = self.published_by_hash(algo["id"])
        seen: set[str] = set()
        result = []
        for build in self.builds.list(algo["id"], status=SUCCEEDED):
            if build["commit_sha"] in seen:
                continue
            seen.add(build["commit_sha"])
            version = published_by_hash.get(build["commit_sha"])
            if published is not None and (version is not None) != published:
                continue
            callability = version["callability"] if version else "private"
            if callable_ is not None and (callability == "public") != callable_:
                continue
            result.append({"build": build, "version": version})
        return result

    def version_for_hash(self, algo: dict, git_hash: str) -> dict:
        """The newest build (any status) of the commit ``git_hash`` (full or unambiguous prefix)."""
        return resolution.build_at_commit(self.builds, algo, git_hash, self.published_versions(algo["id"]))

    def publish(self, caller: Caller, algo: dict, body: dict) -> dict:
        self.authorize(caller, algo)
        version_info = body.get("version_info") or {}
        settings_in = body.get("settings") or {}
        if not isinstance(version_info, dict) or not isinstance(settings_in, dict):
            raise BadRequest("version_info and settings must be JSON objects.")
        version_type = version_info.get("version_type") or version_info.get("type") or "minor"
        if version_type not in semver.VERSION_TYPES:
            raise BadRequest(f"version_info.version_type must be major, minor or revision (got {version_type!r}).")
        callability = settings_in.get("algorithm_callability") or algo["settings"].get("algorithm_callability",
                                                                                       "private")
        if callability not in ("public", "private"):
            raise BadRequest(f"settings.algorithm_callability must be public or private (got {callability!r}).")
        build = resolution.build_to_publish(self.builds, algo, version_info.get("git_hash"))
        details = self._normalize_details(body.get("details"), algo["details"])
        settings = dict(algo["settings"], algorithm_callability=callability)
        with self.db.transaction() as conn:
            existing = conn.execute("SELECT semantic_version FROM algorithm_versions WHERE algorithm_id = ? "
                                    "AND git_hash = ?", (algo["id"], build["commit_sha"])).fetchone()
            if existing:
                raise BadRequest(f"{ALREADY_PUBLISHED} Commit {build['commit_sha']} of {algo['owner']}/"
                                 f"{algo['name']} is already version {existing['semantic_version']}; push a new "
                                 "commit to publish another version.", code=1007)
            top = conn.execute("SELECT major, minor, patch FROM algorithm_versions WHERE algorithm_id = ? "
                               "ORDER BY major DESC, minor DESC, patch DESC LIMIT 1", (algo["id"],)).fetchone()
            latest = tuple(top) if top else None
            wanted = version_info.get("semantic_version")
            if wanted:
                number = semver.parse(str(wanted))
                if number is None or (latest is not None and number <= latest):
                    raise BadRequest(f"version_info.semantic_version {wanted!r} must be MAJOR.MINOR.PATCH and higher "
                                     f"than the latest published version {semver.format_version(latest or (0, 0, 0))}.")
            else:
                number = semver.bump(latest, version_type)
            conn.execute(
                "INSERT INTO algorithm_versions (id, algorithm_id, semantic_version, major, minor, patch, git_hash,"
                " build_id, callability, release_notes, sample_input, sample_output, settings, details, published_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), algo["id"], semver.format_version(number), *number, build["commit_sha"],
                 build["id"], callability, version_info.get("release_notes"), version_info.get("sample_input"),
                 version_info.get("sample_output"), json.dumps(settings), json.dumps(details), time.time()))
            conn.execute("UPDATE algorithms SET settings = ?, details = ?, updated_at = ? WHERE id = ?",
                         (json.dumps(settings), json.dumps(details), time.time(), algo["id"]))
        return {"build": build, "version": self.published_by_hash(algo["id"])[build["commit_sha"]]}
