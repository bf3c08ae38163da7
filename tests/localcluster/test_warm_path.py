"""The warm call path (docs/localcluster.md, "The warm call path"): what it caches is never stale,
and it is still a call like any other for the request log and the fault hooks.

Each test changes the database (a key, a user, a publish, a delete) or the disk between two calls
and checks that the very next call sees the change.
"""

from __future__ import annotations

import json
import os

import pytest
import requests

from localcluster.db import Database
from localcluster.settings import Settings
from localcluster.users.backend import UserBackend
from tests.localcluster.execution_support import deploy
from tests.localcluster.git_support import commit_and_push, git_env, wait_for_build


def _files(name: str) -> dict[str, str]:
    return {"requirements.txt": "algorithmia>=2.0,<3.0\n", "src/__init__.py": "",
            f"src/{name}.py": "def apply(input):\n    return input\n"}


def _call(cluster, path: str, key: str | None, body=None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Simple {key}"} if key else {}
    return requests.post(f"{cluster.url}/v1/algo/{path}", json={"n": 1} if body is None else body,
                         headers=headers, timeout=60, **kwargs)


def _admin(cluster, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, cluster.url + path, headers={"Authorization": f"Simple {cluster.admin_key}"},
                            timeout=60, **kwargs)


def _log_since(cluster, start: int, path: str) -> list[dict]:
    return [line for line in cluster.request_log()[start:] if line["path"] == path]


@pytest.fixture(scope="module")
def echo(cluster, tmp_path_factory):
    return deploy(cluster, "WarmEcho", _files("WarmEcho"), tmp_path_factory.mktemp("warm-echo"))


@pytest.fixture(autouse=True)
def no_faults_after(cluster):
    yield
    _admin(cluster, "DELETE", "/localcluster/faults")


# -- keys ------------------------------------------------------------------------------------------


def test_a_key_revoked_by_another_process_is_refused_by_the_next_call(cluster, echo):
    key = cluster.proc.create_user(cluster.user, existing_ok=True)  # a second key of alice's
    assert _call(cluster, echo, key).json()["result"] == {"n": 1}
    assert _call(cluster, echo, key).status_code == 200  # now answered from memory
    # Revoked as an operator's tool would: another process, another connection to the database.
    UserBackend(Database(Settings(data_dir=cluster.data_dir).db_path)).revoke_key(key)
    refused = _call(cluster, echo, key)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("Unknown or invalid API key")
    assert _call(cluster, echo, cluster.key).status_code == 200  # alice's other key is untouched


def test_a_deleted_user_is_refused_by_the_next_call(cluster, echo):
    key = cluster.new_user("erin_warm")
    first = _call(cluster, echo, key)
    assert first.status_code == 403  # alice's unpublished commit: hers only
    assert _call(cluster, echo, key).status_code == 403
    assert _admin(cluster, "DELETE", "/v1/users/erin_warm").status_code == 204
    assert _call(cluster, echo, key).status_code == 401


def test_without_a_key_the_refusals_are_as_before(cluster, echo):
    missing = _call(cluster, echo, None)
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("Authorization required")
    assert _call(cluster, echo, "simNotAKeyOfThisCluster00000").status_code == 401


# -- versions --------------------------------------------------------------------------------------


def _build_manifest(cluster, name: str, sha: str):
    for manifest in (cluster.data_dir / "builds").glob("*/manifest.json"):
        found = json.loads(manifest.read_text())
        if (found["name"], found["git_hash"]) == (name, sha):
            return manifest
    raise AssertionError(f"no build of {name} at {sha} on disk")


def test_publishing_deleting_and_a_vanished_build_are_seen_by_the_next_call(cluster, tmp_path):
    ref = deploy(cluster, "WarmPub", _files("WarmPub"), tmp_path)
    owner, name, sha = ref.split("/")
    frank = cluster.new_user("frank_warm")
    latest = f"{owner}/{name}"

    nothing_yet = _call(cluster, latest, cluster.key)
    assert nothing_yet.status_code == 404 and "no published version yet" in nothing_yet.json()["error"]["message"]
    assert _call(cluster, ref, cluster.key).status_code == 200
    assert _call(cluster, ref, frank).status_code == 403

    algo = cluster.client().algo(latest)
    algo.publish(settings={"algorithm_callability": "private"}, version_info={"version_type": "minor", "git_hash": sha})
    assert _call(cluster, latest, cluster.key).json()["result"] == {"n": 1}
    # What alice may call is not what frank may: the owner's answer is not handed to him.
    assert _call(cluster, latest, frank).status_code == 403
    assert _call(cluster, f"{latest}/0.1.0", frank).status_code == 403

    # A second commit (a commit is published once), published for everyone.
    env = git_env(tmp_path / f"home-{name}", cluster.user, cluster.key, cluster.ca_cert)
    files = dict(_files(name), **{f"src/{name}.py": "def apply(input):\n    return {'second': input}\n"})
    second = commit_and_push(tmp_path / f"checkout-{name}", env, files, "second")
    assert wait_for_build(algo, second)["status"] == "succeeded"
    algo.publish(settings={"algorithm_callability": "public"},
                 version_info={"version_type": "minor", "git_hash": second})
    assert _call(cluster, latest, frank).json()["result"] == {"second": {"n": 1}}
    # alice's latest was 0.1.0 a moment ago, answered from memory since: now it is 0.2.0.
    assert _call(cluster, latest, cluster.key).json()["result"] == {"second": {"n": 1}}
    assert _call(cluster, f"{latest}/0.2.0", frank).status_code == 200
    assert _call(cluster, f"{latest}/0.1.0", frank).status_code == 403  # still the private one

    # The build leaves the disk (no database change): the next call says so, and works again after.
    manifest = _build_manifest(cluster, name, second)
    aside = manifest.with_name("manifest.json.aside")
    os.rename(manifest, aside)
    try:
        gone = _call(cluster, latest, frank)
        assert gone.status_code == 404 and "missing on disk" in gone.json()["error"]["message"]
    finally:
        os.rename(aside, manifest)
    assert _call(cluster, latest, frank).status_code == 200

    assert _admin(cluster, "DELETE", f"/v1/algorithms/{latest}").status_code == 204
    deleted = _call(cluster, latest, cluster.key)
    assert deleted.status_code == 404 and deleted.json()["error"]["message"] == f"No such algorithm: {latest}"


# -- the request log and the fault hooks -----------------------------------------------------------


def test_the_request_log_records_warm_calls(cluster, echo):
    start = len(cluster.request_log())
    assert _call(cluster, echo, cluster.key).status_code == 200
    assert _call(cluster, echo, None).status_code == 401
    assert _call(cluster, echo, cluster.key, params={"timeout": "soon"}).status_code == 400
    lines = _log_since(cluster, start, f"/v1/algo/{echo}")
    assert [(line["method"], line["user"], line["status"]) for line in lines] == \
        [("POST", "alice", 200), ("POST", None, 401), ("POST", "alice", 400)]
    assert all("fault" not in line for line in lines)


def test_fault_hooks_apply_to_warm_calls(cluster, echo):
    path = f"/v1/algo/{echo}"
    assert _call(cluster, echo, cluster.key).status_code == 200  # warm
    rules = [{"kind": "latency", "path_prefix": path, "latency_ms": 50, "times": 1},
             {"kind": "error", "path_prefix": path, "status": 502, "times": 1},
             {"kind": "drop", "path_prefix": path, "methods": ["POST"], "times": 1}]
    assert _admin(cluster, "PUT", "/localcluster/faults", json={"rules": rules}).status_code == 200
    start = len(cluster.request_log())
    injected = _call(cluster, echo, cluster.key)
    assert injected.status_code == 502
    assert injected.json()["error"]["message"] == f"Injected fault: 502 on {path}"
    with pytest.raises(requests.exceptions.ConnectionError):
        _call(cluster, echo, cluster.key)
    assert _call(cluster, echo, cluster.key).json()["result"] == {"n": 1}
    lines = _log_since(cluster, start, path)
    assert [(line["status"], line.get("fault"), line.get("latency_ms")) for line in lines] == \
        [(502, "error", 50), (None, "drop", None), (200, None, None)]
    fired = [rule["fired"] for rule in _admin(cluster, "GET", "/localcluster/faults").json()["rules"]]
    assert fired == [1, 1, 1]


def test_a_lost_reply_still_runs_the_warm_call(cluster, echo):
    path = f"/v1/algo/{echo}"
    rules = [{"kind": "lost_reply", "path_prefix": path, "methods": ["POST"], "times": 1}]
    assert _admin(cluster, "PUT", "/localcluster/faults", json={"rules": rules}).status_code == 200
    start = len(cluster.request_log())
    with pytest.raises(requests.exceptions.ConnectionError):
        _call(cluster, echo, cluster.key)
    lines = _log_since(cluster, start, path)
    assert [(line["user"], line["status"], line["fault"]) for line in lines] == [("alice", 200, "lost_reply")]


def test_other_methods_on_a_call_path_are_not_calls(cluster, echo):
    response = requests.get(f"{cluster.url}/v1/algo/{echo}", headers={"Authorization": cluster.key}, timeout=60)
    assert response.status_code == 405
    assert response.json()["error"]["message"] == "Method Not Allowed"
