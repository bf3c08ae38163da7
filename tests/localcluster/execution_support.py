"""Shared by the execution tests: put an algorithm on a running cluster as a user would.

``deploy(cluster, name, files, workdir)`` creates the algorithm through the official client,
pushes ``files`` (paths relative to the checkout, e.g. ``src/Echo.py``) with plain ``git`` and
waits for the build: it returns ``owner/name/<git hash>``, ready to call.
The API key travels in an ``http.extraHeader`` set through ``GIT_CONFIG_*`` variables, never in
a URL or on a command line.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path

import requests

PYTHON_SETTINGS = {"language": "python3", "source_visibility": "closed", "license": "apl",
                   "network_access": "full", "pipeline_enabled": True}


def _git_env(home: Path, user: str, key: str, ca_cert: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    token = base64.b64encode(f"{user}:{key}".encode()).decode()
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
               GIT_AUTHOR_NAME="Execution Tests", GIT_AUTHOR_EMAIL="exec@example.com",
               GIT_COMMITTER_NAME="Execution Tests", GIT_COMMITTER_EMAIL="exec@example.com",
               GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
               GIT_CONFIG_VALUE_0=f"Authorization: Basic {token}")
    if ca_cert:
        env["GIT_SSL_CAINFO"] = ca_cert
    return env


def _git(env: dict, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def deploy(cluster, name: str, files: dict[str, str], workdir: Path, *, key: str | None = None,
           user: str | None = None, settings: dict | None = None) -> str:
    user, key = user or cluster.user, key or cluster.key
    client = cluster.client(key)
    algo = client.algo(f"{user}/{name}")
    algo.create(details={"label": name}, settings=dict(PYTHON_SETTINGS, **(settings or {})))
    home = workdir / f"home-{name}"
    home.mkdir(parents=True, exist_ok=True)
    env = _git_env(home, user, key, cluster.ca_cert)
    checkout = workdir / f"checkout-{name}"
    _git(env, "clone", "-q", f"{cluster.url}/git/{user}/{name}.git", str(checkout))
    for rel, text in files.items():
        path = checkout / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git(env, "add", "-A", cwd=checkout)
    _git(env, "commit", "-q", "-m", f"{name} for the execution tests", cwd=checkout)
    _git(env, "push", "-q", "origin", "HEAD:master", cwd=checkout)
    sha = _git(env, "rev-parse", "HEAD", cwd=checkout).strip()
    build = wait_for_build(algo, sha)
    if build["status"] != "succeeded":
        logs = algo.get_build_logs(build["build_id"]).get("logs", "")
        raise AssertionError(f"build of {user}/{name} {sha} {build['status']}:\n{logs}")
    return f"{user}/{name}/{sha}"


def wait_for_build(algo, sha: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        builds = [b for b in algo.get_builds(limit=50)["results"] if b["commit_sha"] == sha]
        if builds and builds[0]["status"] != "in-progress":
            return builds[0]
        time.sleep(0.2)
    raise AssertionError(f"no finished build of {sha} within {timeout}s")


def worker_stats(cluster) -> dict:
    """The pool as the server sees it (admin endpoint of localcluster.execution)."""
    response = requests.get(f"{cluster.url}/localcluster/workers", headers={"Authorization": cluster.admin_key},
                            timeout=30, verify=cluster.ca_cert or True)
    response.raise_for_status()
    return response.json()


def live_worker_pids(cluster) -> set[int]:
    return {pid for version in worker_stats(cluster)["versions"].values() for pid in version["pids"]}
