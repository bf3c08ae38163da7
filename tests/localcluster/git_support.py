"""Plain ``git`` against a localcluster, as a user would run it: the one place for it.

Shared by the build tests, ``execution_support.deploy`` and the benchmarks. Credentials never
appear in a URL or on a command line: the API key travels in an ``http.extraHeader`` set through
``GIT_CONFIG_*`` environment variables (or, for the 401 test, through a ``GIT_ASKPASS`` script
that reads it from the environment). CI has no git identity, so author and committer are set
here too.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path


def git_env(home: Path, user: str | None = None, key: str | None = None, ca_cert: str | None = None) -> dict:
    """An environment for ``git`` with ``home`` as HOME and nothing inherited from ``GIT_*``.

    With ``key``, every request carries ``Authorization: Basic user:key`` (an ``http.extraHeader``
    given through ``GIT_CONFIG_COUNT``/``KEY``/``VALUE``); ``ca_cert`` is trusted for HTTPS.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0",
               GIT_AUTHOR_NAME="Test Author", GIT_AUTHOR_EMAIL="author@example.com",
               GIT_COMMITTER_NAME="Test Committer", GIT_COMMITTER_EMAIL="committer@example.com")
    if key is not None:
        token = base64.b64encode(f"{user}:{key}".encode()).decode()
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
                   GIT_CONFIG_VALUE_0=f"Authorization: Basic {token}")
    if ca_cert:
        env["GIT_SSL_CAINFO"] = ca_cert
    return env


def askpass_env(home: Path, user: str, key: str) -> dict:
    """Credentials given only when git asks for them (after a 401), through GIT_ASKPASS."""
    script = home / "askpass.sh"
    script.write_text('#!/bin/sh\ncase "$1" in\n  Username*) printf "%s\\n" "$LC_GIT_USER" ;;\n'
                      '  *) printf "%s\\n" "$LC_GIT_KEY" ;;\nesac\n')
    script.chmod(0o700)
    env = git_env(home)
    env.update(GIT_ASKPASS=str(script), LC_GIT_USER=user, LC_GIT_KEY=key)
    return env


def git(env: dict, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``git *args``; with ``check``, a failure raises with git's stderr in the message."""
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def clone(url: str, owner: str, name: str, dest: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    return git(env, "clone", f"{url}/git/{owner}/{name}.git", str(dest), check=check)


def commit_and_push(repo: Path, env: dict, files: dict[str, str], message: str) -> str:
    """Write ``files`` (relative paths), commit them and push master; returns the new commit."""
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(env, "add", "-A", cwd=repo)
    git(env, "commit", "-q", "--allow-empty", "-m", message, cwd=repo)
    git(env, "push", "-q", "origin", "HEAD:master", cwd=repo)
    return git(env, "rev-parse", "HEAD", cwd=repo).stdout.strip()


def wait_for_build(algo, commit_sha: str, timeout: float = 600) -> dict:
    """The finished build of ``commit_sha`` (polled through the official client)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        builds = [b for b in algo.get_builds(limit=50)["results"] if b["commit_sha"] == commit_sha]
        if builds and builds[0]["status"] != "in-progress":
            return builds[0]
        time.sleep(0.2)
    raise AssertionError(f"no finished build of {commit_sha} within {timeout}s")


def classic_source(name: str, greeting: str) -> dict[str, str]:
    return {f"src/{name}.py": f"def apply(input):\n    return \"{greeting} {{}}\".format(input)\n"}
