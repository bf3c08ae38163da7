"""Shared by the execution tests and the benchmark: put an algorithm on a running cluster as a user would.

``deploy(cluster, name, files, workdir)`` creates the algorithm through the official client,
pushes ``files`` (paths relative to the checkout, e.g. ``src/Echo.py``) with plain ``git`` and
waits for the build: it returns ``owner/name/<git hash>``, ready to call. The git side (the key
in an ``http.extraHeader`` through ``GIT_CONFIG_*``, never in a URL or on a command line) is
``tests.localcluster.git_support``.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import requests

from tests.localcluster.git_support import clone, commit_and_push, git_env, wait_for_build

PYTHON_SETTINGS = {"language": "python3", "source_visibility": "closed", "license": "apl",
                   "network_access": "full", "pipeline_enabled": True}


def deploy(cluster, name: str, files: dict[str, str], workdir: Path, *, key: str | None = None,
           user: str | None = None, settings: dict | None = None) -> str:
    """Create ``user/name``, push ``files`` to it and wait for a successful build of that commit."""
    user, key = user or cluster.user, key or cluster.key
    algo = cluster.client(key).algo(f"{user}/{name}")
    algo.create(details={"label": name}, settings=dict(PYTHON_SETTINGS, **(settings or {})))
    home = workdir / f"home-{name}"
    home.mkdir(parents=True, exist_ok=True)
    env = git_env(home, user, key, cluster.ca_cert)
    checkout = workdir / f"checkout-{name}"
    clone(cluster.url, user, name, checkout, env)
    sha = commit_and_push(checkout, env, files, f"{name} for the execution tests")
    build = wait_for_build(algo, sha)
    if build["status"] != "succeeded":
        logs = algo.get_build_logs(build["build_id"]).get("logs", "")
        raise AssertionError(f"build of {user}/{name} {sha} {build['status']}:\n{logs}")
    return f"{user}/{name}/{sha}"


def worker_stats(cluster) -> dict:
    """The pool as the server sees it (admin endpoint of localcluster.execution)."""
    response = requests.get(f"{cluster.url}/localcluster/workers", headers={"Authorization": cluster.admin_key},
                            timeout=30, verify=cluster.ca_cert or True)
    response.raise_for_status()
    return response.json()


def live_worker_pids(cluster) -> set[int]:
    return {pid for version in worker_stats(cluster)["versions"].values() for pid in version["pids"]}


def process_gone(pid: int) -> bool:
    """SIGKILLed, so it is dead or dying: give the kernel a moment to finish the exit (a zombie its
    reaper has not collected yet counts as gone)."""
    try:
        process = psutil.Process(pid)
        process.wait(30)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return process.status() == psutil.STATUS_ZOMBIE
    return True
