"""Which build a version string or a commit names: the one resolver, and execution's contract.

``AlgorithmBackend.resolve_runnable(caller, owner, name, version) -> Runnable`` (execution is handed
this bound method when the app is built)

``caller``  the ``Caller`` making the call (a session key's caller is the calling user).
``owner``   the algorithm's owner; or None, then ``name`` is the algorithm's UUID.
``name``    the algorithm's name (or UUID, see above).
``version`` what the call path asks for, after ``/v1/algo/<owner>/<name>/``:

============================  ==========================================================
``None`` (no version)         the latest published version the caller may call: for the
                              owner (or an admin) public or private, for anyone else the
                              latest *public* one.
``"1.2.3"``                   exactly that published version.
``"1.2.x"``, ``"1.2.*"``      the highest published 1.2.z the caller may call.
``"1.x"``, ``"1.*"``          the highest published 1.y.z the caller may call.
``"<git hash>"``              the newest successful build of that commit; a full hash or
                              an unambiguous prefix (>= 4 hex digits). Unpublished commits
                              are callable by the owner (and admins) only; a published one
                              follows its version's callability.
``"latestPrivate"``           owner (and admins) only: the newest successful build,
                              published or not.
============================  ==========================================================

Private published versions are callable by the owner and admins only. The returned
``Runnable`` is read from the build's ``manifest.json`` with ``semantic_version`` set when the
commit is published and ``settings`` the algorithm's settings for that version (the published
snapshot, else the current settings).

Errors (``localcluster.errors``; their messages say what to do):
  NotFound (404, code 1001)   no such algorithm: message contains "No such algorithm".
  NotFound (404, code 5004)   nothing matches: no published version yet, no such semantic
                              version / range match, no successful build of that hash, or the
                              build's directory is missing on disk.
  Forbidden (403, code 2001)  the version exists but the caller may not call it (private
                              version, unpublished hash or latestPrivate by a non-owner).
  BadRequest (400, code 2015) an ambiguous hash prefix or an unreadable version string.
  VersionBuilding (code 2012)  a git hash whose only build is still in progress: the message
                              names the version hash and says it is building (the call route
                              answers it as the client can read it; ``localcluster.errors``).

The management API names builds the same way, through the same ``match_commit``:
``build_at_commit`` for ``GET .../versions/<hash>`` and ``build_to_publish`` for a publish.
Commit prefixes are matched by the builds backend (``BuildBackend.commits_matching``): the
``builds`` table is its own.
"""

from __future__ import annotations

from pathlib import Path

from localcluster.algorithms import semver
from localcluster.builds.artifacts import Runnable, build_path
from localcluster.builds.backend import HASH_PREFIX_RE, IN_PROGRESS, SUCCEEDED, BuildBackend
from localcluster.errors import BadRequest, Forbidden, NotFound, VersionBuilding
from localcluster.timestamps import api_timestamp
from localcluster.users.backend import Caller

LATEST_PRIVATE = "latestPrivate"


class NoBuildAtCommit(NotFound):
    """No build of the algorithm is at a commit the hash names (404, code 5004)."""


class AmbiguousCommit(BadRequest):
    """A hash prefix names more than one built commit (400)."""


def _label(algo: dict) -> str:
    return f"{algo['owner']}/{algo['name']}"


def _by_hash(published: list[dict]) -> dict[str, dict]:
    return {v["git_hash"]: v for v in published}


def match_commit(builds: BuildBackend, algo: dict, git_hash: str) -> str:
    """The one built commit ``git_hash`` names: a full hash or an unambiguous prefix (>= 4 hex digits)."""
    commits = builds.commits_matching(algo["id"], git_hash)
    if not commits:
        raise NoBuildAtCommit(f"No build of {_label(algo)} at commit {git_hash}.", code=5004)
    if len(commits) > 1:
        raise AmbiguousCommit(f"Commit prefix {git_hash} is ambiguous in {_label(algo)}: "
                              f"{', '.join(c[:12] for c in commits)}.")
    return commits[0]


def build_at_commit(builds: BuildBackend, algo: dict, git_hash: str, published: list[dict]) -> dict:
    """The newest build (any status) of the commit ``git_hash`` names, with its publication if any."""
    commit = match_commit(builds, algo, git_hash)
    return {"build": builds.latest(algo["id"], commit_sha=commit), "version": _by_hash(published).get(commit)}


def build_to_publish(builds: BuildBackend, algo: dict, git_hash: str | None) -> dict:
    """What a publish request publishes: the newest successful build of ``git_hash``, or without a
    hash the newest successful build."""
    label = _label(algo)
    if git_hash:
        try:
            commit = match_commit(builds, algo, str(git_hash))
        except (NoBuildAtCommit, AmbiguousCommit):
            commit = None
        build = builds.latest(algo["id"], status=SUCCEEDED, commit_sha=commit) if commit else None
        if build is None:
            raise BadRequest(f"No successful build of {label} at commit {git_hash} to publish: compile it first.")
        return build
    build = builds.latest(algo["id"], status=SUCCEEDED)
    if build is None:
        raise BadRequest(f"{label} has no successful build to publish: push to master or compile first, "
                         "and fix the build if it failed (see its logs).")
    return build


def _runnable(data_dir: Path, algo: dict, build: dict, version: dict | None) -> Runnable:
    build_dir = build_path(data_dir, build["id"])
    if not (build_dir / "manifest.json").is_file():
        raise NotFound(f"The build {build['id']} of {_label(algo)} at {build['commit_sha']} is "
                       "missing on disk; compile the algorithm again.", code=5004)
    settings = version["settings"] if version else algo["settings"]
    return Runnable.from_manifest(build_dir, semantic_version=version["semantic_version"] if version else None,
                                  settings=dict(settings))


def _callable_versions(caller: Caller, algo: dict, versions: list[dict]) -> list[dict]:
    if caller.may_manage(algo["owner"]):
        return versions
    return [v for v in versions if v["callability"] == "public"]


def _published(caller: Caller, algo: dict, version: str | None, all_versions: list[dict]) -> dict | None:
    """The published version None / semver / range names; None if ``version`` is none of those forms."""
    label = _label(algo)
    if version is None:
        allowed = _callable_versions(caller, algo, all_versions)
        if not allowed:
            if all_versions:
                raise Forbidden(f"{label} has no public version, and only its owner can call private ones.",
                                code=2001)
            hint = " Call a git hash or latestPrivate to run an unpublished build." if caller.may_manage(
                algo["owner"]) else ""
            raise NotFound(f"{label} has no published version yet: publish one (POST /v1/algorithms/{label}/"
                           f"versions).{hint}", code=5004)
        return allowed[0]
    if semver.parse(version) is not None:
        chosen = next((v for v in all_versions if v["semantic_version"] == version), None)
        if chosen is None:
            published = ", ".join(v["semantic_version"] for v in all_versions) or "none"
            raise NotFound(f"Version {version} of {label} is not published (published: {published}).", code=5004)
        if not caller.may_manage(algo["owner"]) and chosen["callability"] != "public":
            raise Forbidden(f"Version {version} of {label} is private: only its owner can call it.", code=2001)
        return chosen
    wanted = semver.parse_range(version)
    if wanted is not None:
        matching = [v for v in all_versions if semver.in_range((v["major"], v["minor"], v["patch"]), wanted)]
        allowed = _callable_versions(caller, algo, matching)
        if not allowed:
            reason = "only private versions match, and only its owner can call them" if matching else \
                "no published version matches"
            error = Forbidden if matching else NotFound
            raise error(f"Cannot resolve {version} for {label}: {reason}.", code=2001 if matching else 5004)
        return allowed[0]
    return None


def resolve_runnable(caller: Caller, algo: dict, version: str | None, *, published: list[dict],
                     builds: BuildBackend, data_dir: Path) -> Runnable:
    """The build a call of ``algo`` at ``version`` runs (the table above); ``published``: its
    published versions, highest first."""
    label = _label(algo)
    version = version or None
    chosen = _published(caller, algo, version, published)
    if chosen is not None:
        return _runnable(data_dir, algo, builds.get(chosen["build_id"]), chosen)
    is_owner = caller.may_manage(algo["owner"])
    if version == LATEST_PRIVATE:
        if not is_owner:
            raise Forbidden(f"latestPrivate of {label} is callable by its owner only.", code=2001)
        build = builds.latest(algo["id"], status=SUCCEEDED)
        if build is None:
            raise NotFound(f"{label} has no successful build: push to master or compile it first.", code=5004)
        return _runnable(data_dir, algo, build, _by_hash(published).get(build["commit_sha"]))
    try:
        commit = match_commit(builds, algo, version)
    except NoBuildAtCommit:
        if HASH_PREFIX_RE.match(version):
            raise NotFound(f"No build of {label} at commit {version}: push it to master and let the build finish.",
                           code=5004) from None
        raise BadRequest(f"Cannot read version {version!r} of {label}: use a semantic version (1.2.3), a range "
                         "(1.2.x, 1.x), a git hash or latestPrivate.") from None
    publication = _by_hash(published).get(commit)
    if not is_owner and (publication is None or publication["callability"] != "public"):
        kind = "private" if publication else "unpublished"
        raise Forbidden(f"Commit {commit} of {label} is {kind}: only its owner can call it.", code=2001)
    build = builds.latest(algo["id"], status=SUCCEEDED, commit_sha=commit)
    if build is None:
        latest = builds.latest(algo["id"], commit_sha=commit)
        if latest["status"] == IN_PROGRESS:
            named = version if version == commit else f"{version} (commit {commit})"
            raise VersionBuilding(f"Version hash {named} of {label} is still building (build {latest['id']} "
                                  f"started {api_timestamp(latest['started_at'])}): call it again once the build "
                                  "has succeeded.")
        raise NotFound(f"Commit {commit} of {label} has no successful build (latest build {latest['id']} is "
                       f"{latest['status']}); see its logs.", code=5004)
    return _runnable(data_dir, algo, build, publication)
