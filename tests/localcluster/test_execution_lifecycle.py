"""Versions a call can name, calls over TLS, and workers that end with their server."""

from __future__ import annotations

import psutil
import pytest
import requests

from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy
from tests.localcluster.test_execution import ECHO, REQUIREMENTS


def echo_source(name: str) -> dict[str, str]:
    return {f"src/{name}.py": ECHO, "requirements.txt": REQUIREMENTS}


DATA_USER = '''
import Algorithmia


def apply(input):
    client = Algorithmia.client()
    client.file("data://.algo/temp/tls.txt").put(input)
    return client.file("data://.algo/temp/tls.txt").getString()
'''


def _wait_gone(pid: int) -> bool:
    try:
        psutil.Process(pid).wait(30)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return True


def test_published_versions_uuid_and_latest_private(cluster, tmp_path):
    ref = deploy(cluster, "Versioned", echo_source("Versioned"), tmp_path, settings={"algorithm_callability": "public"})
    client = cluster.client()
    owner, name, sha = ref.split("/")
    algo = client.algo(f"{owner}/{name}")
    algo.publish(details={"label": name}, settings={"algorithm_callability": "public"},
                 version_info={"version_type": "minor", "git_hash": sha, "release_notes": "first", "sample_input": "x"})
    for version in ("", "/0.1.0", "/0.1.x", "/0.x", "/latestPrivate", f"/{sha}", f"/{sha[:10]}"):
        assert client.algo(f"{owner}/{name}{version}").pipe("v").result == "hello v", version
    algo_id = client.algo(f"{owner}/{name}").info(sha)["id"]
    by_id = requests.post(f"{cluster.url}/v1/algo/{algo_id}", data="id",
                          headers={"Authorization": cluster.key, "Content-Type": "text/plain"}, timeout=60)
    assert by_id.json()["result"] == "hello id"
    # another user: the public published version yes, latestPrivate no, no stdout, no stack trace
    other = cluster.client(cluster.new_user("carol_exec"))
    assert other.algo(f"{owner}/{name}/0.1.0").pipe("carol").result == "hello carol"
    shown = other.algo(f"{owner}/{name}/0.1.0").set_options(stdout=True).pipe({"op": "print", "text": "secret"})
    assert shown.metadata.stdout is None
    response = requests.post(f"{cluster.url}/v1/algo/{owner}/{name}/0.1.0", json={"op": "fail", "message": "m"},
                             headers={"Authorization": other.apiKey}, timeout=60)
    assert response.json()["error"]["message"] == "m"
    assert "stacktrace" not in response.json()["error"]
    response = requests.post(f"{cluster.url}/v1/algo/{owner}/{name}/latestPrivate", data="x",
                             headers={"Authorization": other.apiKey, "Content-Type": "text/plain"}, timeout=60)
    assert response.status_code == 403


def test_workers_call_back_over_tls(tmp_path):
    proc = LocalClusterProcess(tmp_path / "tls", tls=True).start()
    try:
        tls = RunningCluster(proc)
        ref = deploy(tls, "TlsData", {"src/TlsData.py": DATA_USER, "requirements.txt": REQUIREMENTS}, tmp_path)
        assert tls.client().algo(ref).pipe("over tls").result == "over tls"
    finally:
        proc.stop()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_workers_end_with_the_server(fresh_cluster, tmp_path, how):
    ref = deploy(fresh_cluster, "Echo", echo_source("Echo"), tmp_path)
    pid = fresh_cluster.client().algo(ref).pipe({"op": "info"}).result["pid"]
    assert psutil.pid_exists(pid)
    if how == "sigterm":
        fresh_cluster.proc.stop()
    else:
        fresh_cluster.proc.kill()  # the worker has its own process group: only the server is hit
    assert _wait_gone(pid)
