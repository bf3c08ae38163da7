"""Which built version of an algorithm a call runs: the contract execution codes against.

``app.state.algorithms.resolve_runnable(caller, owner, name, version) -> Runnable``

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
"""

from __future__ import annotations

from localcluster.algorithms import semver
from localcluster.algorithms.backend import HASH_PREFIX_RE
from localcluster.builds import SUCCEEDED
from localcluster.builds.artifacts import Runnable, build_path
from localcluster.errors import BadRequest, Forbidden, NotFound
from localcluster.users.backend import Caller

LATEST_PRIVATE = "latestPrivate"


def _is_owner(caller: Caller, algo: dict) -> bool:
    return caller.is_admin or caller.username == algo["owner"]


def _runnable(backend, algo: dict, build: dict, version: dict | None) -> Runnable:
    build_dir = build_path(backend.data_dir, build["id"])
    if not (build_dir / "manifest.json").is_file():
        raise NotFound(f"The build {build['id']} of {algo['owner']}/{algo['name']} at {build['commit_sha']} is "
                       "missing on disk; compile the algorithm again.", code=5004)
    settings = version["settings"] if version else algo["settings"]
    return Runnable.from_manifest(build_dir, semantic_version=version["semantic_version"] if version else None,
                                  settings=dict(settings))


def _callable_versions(caller: Caller, algo: dict, versions: list[dict]) -> list[dict]:
    if _is_owner(caller, algo):
        return versions
    return [v for v in versions if v["callability"] == "public"]


def _published(backend, caller: Caller, algo: dict, version: str | None) -> Runnable | None:
    """Resolve None / semver / range; None if ``version`` is none of those forms."""
    label = f"{algo['owner']}/{algo['name']}"
    all_versions = backend.published_versions(algo["id"])
    if version is None:
        allowed = _callable_versions(caller, algo, all_versions)
        if not allowed:
            if all_versions:
                raise Forbidden(f"{label} has no public version, and only its owner can call private ones.",
                                code=2001)
            hint = " Call a git hash or latestPrivate to run an unpublished build." if _is_owner(caller, algo) else ""
            raise NotFound(f"{label} has no published version yet: publish one (POST /v1/algorithms/{label}/"
                           f"versions).{hint}", code=5004)
        chosen = allowed[0]
    elif semver.parse(version) is not None:
        chosen = next((v for v in all_versions if v["semantic_version"] == version), None)
        if chosen is None:
            published = ", ".join(v["semantic_version"] for v in all_versions) or "none"
            raise NotFound(f"Version {version} of {label} is not published (published: {published}).", code=5004)
        if not _is_owner(caller, algo) and chosen["callability"] != "public":
            raise Forbidden(f"Version {version} of {label} is private: only its owner can call it.", code=2001)
    elif semver.parse_range(version) is not None:
        wanted = semver.parse_range(version)
        matching = [v for v in all_versions if semver.in_range((v["major"], v["minor"], v["patch"]), wanted)]
        allowed = _callable_versions(caller, algo, matching)
        if not allowed:
            reason = "only private versions match, and only its owner can call them" if matching else \
                "no published version matches"
            error = Forbidden if matching else NotFound
            raise error(f"Cannot resolve {version} for {label}: {reason}.", code=2001 if matching else 5004)
        chosen = allowed[0]
    else:
        return None
    build = backend.builds.get(chosen["build_id"])
    return _runnable(backend, algo, build, chosen)


def resolve_runnable(backend, caller: Caller, owner: str | None, name: str, version: str | None) -> Runnable:
    algo = backend.find_by_id(name) if owner is None else backend.find(owner, name)
    label = f"{algo['owner']}/{algo['name']}"
    version = version or None
    resolved = _published(backend, caller, algo, version)
    if resolved is not None:
        return resolved
    if version == LATEST_PRIVATE:
        if not _is_owner(caller, algo):
            raise Forbidden(f"latestPrivate of {label} is callable by its owner only.", code=2001)
        build = backend.builds.latest(algo["id"], status=SUCCEEDED)
        if build is None:
            raise NotFound(f"{label} has no successful build: push to master or compile it first.", code=5004)
        return _runnable(backend, algo, build, backend.published_by_hash(algo["id"]).get(build["commit_sha"]))
    commits = backend.commits_matching(algo, version)
    if not commits:
        if HASH_PREFIX_RE.match(version):
            raise NotFound(f"No build of {label} at commit {version}: push it to master and let the build finish.",
                           code=5004)
        raise BadRequest(f"Cannot read version {version!r} of {label}: use a semantic version (1.2.3), a range "
                         "(1.2.x, 1.x), a git hash or latestPrivate.")
    if len(commits) > 1:
        raise BadRequest(f"Commit prefix {version} is ambiguous in {label}: {', '.join(c[:12] for c in commits)}.")
    commit = commits[0]
    published = backend.published_by_hash(algo["id"]).get(commit)
    if not _is_owner(caller, algo) and (published is None or published["callability"] != "public"):
        kind = "private" if published else "unpublished"
        raise Forbidden(f"Commit {commit} of {label} is {kind}: only its owner can call it.", code=2001)
    builds = [b for b in backend.builds.list(algo["id"], status=SUCCEEDED) if b["commit_sha"] == commit]
    if not builds:
        latest = next(b for b in backend.builds.list(algo["id"]) if b["commit_sha"] == commit)
        raise NotFound(f"Commit {commit} of {label} has no successful build (latest build {latest['id']} is "
                       f"{latest['status']}); see its logs.", code=5004)
    return _runnable(backend, algo, builds[0], published)
