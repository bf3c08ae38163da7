"""Builds across a server crash: finished builds survive, an interrupted one is failed with a note."""

from __future__ import annotations

import time
from pathlib import Path

from tests.localcluster.git_support import classic_source, clone, commit_and_push, git_env, wait_for_build

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


def _build_processes(data_dir: Path) -> list[int]:
    marker = str(data_dir / "builds" / ".tmp-").encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _wait_for(predicate, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_crash_during_a_build(fresh_cluster, tmp_path):
    cluster = fresh_cluster
    algo = cluster.client().algo("alice/Survivor")
    algo.create(details={"label": "s"}, settings=SETTINGS)
    env = git_env(tmp_path, "alice", cluster.key)
    clone(cluster.url, "alice", "Survivor", tmp_path / "Survivor", env)
    good = commit_and_push(tmp_path / "Survivor", env, classic_source("Survivor", "alive"), "good")
    assert wait_for_build(algo, good)["status"] == "succeeded"

    slow = commit_and_push(tmp_path / "Survivor", env,
                           {"src/Survivor.py": "import time\ntime.sleep(600)\n\ndef apply(input):\n    return input\n"},
                           "hangs at import")
    # Wait until the slow build is in its load check, then kill the server (SIGKILL, no shutdown hooks).
    _wait_for(lambda: [p for p in _build_processes(cluster.data_dir)
                       if b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes() or
                       b"--check" in Path(f"/proc/{p}/cmdline").read_bytes()])
    cluster.proc.kill()
    cluster.proc.start()
    algo = cluster.client().algo("alice/Survivor")  # the restarted server listens on a new port

    builds = {b["commit_sha"]: b for b in algo.get_builds()["results"]}
    assert builds[good]["status"] == "succeeded"
    assert builds[slow]["status"] == "failed"
    logs = algo.get_build_logs(builds[slow]["build_id"])["logs"]
    assert "The cluster stopped while this build was in progress" in logs
    # Nothing of the interrupted build is left: no processes, no half-written directory.
    _wait_for(lambda: not _build_processes(cluster.data_dir), timeout=10)
    assert not list((cluster.data_dir / "builds").glob(".tmp-*"))
    assert cluster.client().algo("alice/Survivor/latestPrivate").pipe("x").result == "alive x"


def test_shutdown_stops_running_builds(fresh_cluster, tmp_path):
    cluster = fresh_cluster
    algo = cluster.client().algo("alice/Stopper")
    algo.create(details={"label": "s"}, settings=SETTINGS)
    env = git_env(tmp_path, "alice", cluster.key)
    clone(cluster.url, "alice", "Stopper", tmp_path / "Stopper", env)
    slow = commit_and_push(tmp_path / "Stopper", env,
                           {"src/Stopper.py": "import time\ntime.sleep(600)\n\ndef apply(input):\n    return input\n"},
                           "hangs at import")
    _wait_for(lambda: _build_processes(cluster.data_dir))
    cluster.proc.stop()  # SIGTERM: the shutdown hooks run
    assert cluster.proc.proc.returncode is not None
    assert not _build_processes(cluster.data_dir)
    cluster.proc.start()
    algo = cluster.client().algo("alice/Stopper")
    build = [b for b in algo.get_builds()["results"] if b["commit_sha"] == slow][0]
    assert build["status"] == "failed"
    assert "Build stopped" in algo.get_build_logs(build["build_id"])["logs"]
