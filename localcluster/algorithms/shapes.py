"""JSON shapes of algorithms, versions and builds, as algorithms.md / algorithm_builds.md show them."""

from __future__ import annotations

from localcluster.builds.backend import IN_PROGRESS, SUCCEEDED
from localcluster.timestamps import api_timestamp

INTERNAL_SCM = {"id": "internal", "provider": "internal", "default": True, "enabled": True}


def iso(ts: float | None) -> str | None:
    return None if ts is None else api_timestamp(ts)


def build_view(build: dict, version: dict | None = None) -> dict:
    view = {
        "build_id": build["id"],
        "commit_sha": build["commit_sha"],
        "resource_type": "algorithm_build",
        "started_at": iso(build["started_at"]),
        "status": build["status"],
    }
    if build["status"] != IN_PROGRESS:
        view["finished_at"] = iso(build["finished_at"])
    if version is not None:
        view["version_info"] = {"semantic_version": version["semantic_version"]}
    return view


def compilation_view(build: dict) -> dict:
    """``compilation`` of a build: whether it succeeded, and its log. A build still running has no
    log yet (it is kept when the build ends), so the output says that it is in progress."""
    if build["status"] == IN_PROGRESS:
        output = f"Build {build['id']} of commit {build['commit_sha']} is in progress (started {iso(build['started_at'])})."
    else:
        output = build["log"]
    return {"successful": build["status"] == SUCCEEDED, "output": output}


def commit_view(commit: dict) -> dict:
    """One commit of the repository commit log, as the official client's ``Commit`` model reads it."""
    message = commit["message"]
    return {"id": commit["id"], "short_message": message.split("\n", 1)[0], "message": message,
            "author": commit["author"]}


def _base(algo: dict, base_url: str) -> dict:
    return {
        "id": algo["id"],
        "name": algo["name"],
        "details": dict(algo["details"]),
        "settings": dict(algo["settings"]),
        "source": {"scm": dict(INTERNAL_SCM)},
        "resource_type": "algorithm",
        "self_link": f"{base_url}/v1/algorithms/{algo['owner']}/{algo['name']}",
    }


def version_view(algo: dict, build: dict, version: dict | None, base_url: str) -> dict:
    """One built commit as an algorithm version object (build, compilation, version_info, self_link)."""
    view = _base(algo, base_url)
    if version is not None:
        view["details"] = dict(version["details"])
        view["settings"] = dict(version["settings"])
    view["build"] = build_view(build, version)
    view["compilation"] = compilation_view(build)
    info = {"git_hash": build["commit_sha"]}
    if version is not None:
        info["semantic_version"] = version["semantic_version"]
        info["version_uuid"] = version["id"]
        for key in ("release_notes", "sample_input", "sample_output"):
            if version.get(key) is not None:
                info[key] = version[key]
    view["version_info"] = info
    view["self_link"] = f"{base_url}/v1/algorithms/{algo['owner']}/{algo['name']}/versions/{build['commit_sha']}"
    return view


def algorithm_view(algo: dict, base_url: str, *, latest_build: dict | None, current: dict | None) -> dict:
    """The algorithm object: ``compilation`` from its latest build; ``build``/``version_info`` from
    ``current`` ({"build", "version"}: its most recent version, ``AlgorithmBackend.current``)."""
    if current is None:
        view = _base(algo, base_url)
        view["settings"] = dict(algo["settings"])
    else:
        view = version_view(algo, current["build"], current["version"], base_url)
        view["details"] = dict(algo["details"])
        view["settings"] = dict(algo["settings"])
    if latest_build is not None:
        view["compilation"] = compilation_view(latest_build)
    return view


def page(results: list, *, next_marker: str | None, next_link: str | None) -> dict:
    return {"marker": next_marker, "next_link": next_link, "results": results}
