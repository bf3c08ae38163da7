"""The cluster's core: CLI, auth forms, error envelope, TLS, request log, persistence (faults: test_faults.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from localcluster.process import LocalClusterProcess


def _get(cluster, path, key=None, header=None, **kwargs):
    headers = {}
    if header is not None:
        headers["Authorization"] = header
    elif key is not None:
        headers["Authorization"] = f"Simple {key}"
    return requests.get(cluster.url + path, headers=headers, verify=cluster.ca_cert or True, timeout=30,
                        **kwargs)


def test_create_user_prints_only_the_key(tmp_path):
    out = subprocess.run([sys.executable, "-m", "localcluster", "create-user", "carol", "--data-dir",
                          str(tmp_path)], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"sim[A-Za-z0-9]{25}\n", out.stdout)
    # The key is stored hashed: it appears nowhere in the cluster's files.
    key = out.stdout.strip()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_create_user_refuses_a_taken_name(tmp_path):
    cmd = [sys.executable, "-m", "localcluster", "create-user", "dave", "--data-dir", str(tmp_path)]
    subprocess.run(cmd, check=True, capture_output=True)
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert again.stdout == ""
    assert "already taken" in again.stderr


@pytest.mark.parametrize("form", ["Simple {key}", "{key}", "Bearer {key}"])
def test_every_documented_auth_form_is_accepted(cluster, form):
    response = _get(cluster, f"/v1/users/{cluster.user}", header=form.format(key=cluster.key))
    assert response.status_code == 200
    assert response.json()["username"] == cluster.user


def test_missing_and_bad_keys_get_401_in_the_error_envelope(cluster):
    for response in (_get(cluster, "/v1/users/alice"), _get(cluster, "/v1/users/alice", key="simNotAKey")):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == 2002
        assert "key" in error["message"].lower()


def test_admin_endpoints_need_an_admin_key(cluster):
    denied = _get(cluster, "/v1/users", key=cluster.key)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == 2001
    allowed = _get(cluster, "/v1/users", key=cluster.admin_key)
    assert allowed.status_code == 200
    assert {"admin", "alice"} <= {u["username"] for u in allowed.json()["results"]}


def test_a_user_cannot_read_another_user(cluster):
    bob_key = cluster.new_user("bob_core")
    response = _get(cluster, "/v1/users/alice", key=bob_key)
    assert response.status_code == 403
    assert "error" in response.json()


def test_unknown_route_is_404_in_the_envelope(cluster):
    response = _get(cluster, "/v1/no-such-thing", key=cluster.key)
    assert response.status_code == 404
    assert response.json()["error"]["message"]


def test_request_log_records_requests_but_never_keys_or_queries(cluster):
    _get(cluster, "/v1/users/alice", key=cluster.key, params={"secret": "querytext"})
    entries = cluster.request_log()
    mine = [e for e in entries if e["path"] == "/v1/users/alice" and e["user"] == "alice"]
    assert mine and mine[-1]["status"] == 200 and mine[-1]["method"] == "GET"
    assert set(mine[-1]) == {"time", "user", "method", "path", "status", "duration_ms"}
    raw = (cluster.data_dir / "requests.log").read_text()
    assert cluster.key not in raw and cluster.admin_key not in raw and "querytext" not in raw


def test_tls_cluster_works_with_its_ca_file_and_only_with_it(tmp_path):
    import Algorithmia

    with LocalClusterProcess(tmp_path / "tls", tls=True) as proc:
        key = proc.create_user("tlsuser")
        assert proc.url.startswith("https://")
        client = Algorithmia.client(key, proc.url, proc.ca_cert)
        assert client.getJsonHelper("/v1/users/tlsuser")["username"] == "tlsuser"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(proc.url + "/localcluster/health", timeout=10)
        # The CA survives a restart, so clients keep trusting the cluster.
        ca_before = (proc.data_dir / "ca.pem").read_bytes()
        proc.stop()
        proc.start()
        assert (proc.data_dir / "ca.pem").read_bytes() == ca_before
        assert requests.get(proc.url + "/localcluster/health", verify=proc.ca_cert, timeout=10).ok


def test_users_and_keys_survive_sigkill(fresh_cluster):
    key = fresh_cluster.new_user("survivor")
    fresh_cluster.proc.kill()
    fresh_cluster.proc.start()
    assert _get(fresh_cluster, "/v1/users/survivor", key=key).status_code == 200


def test_listening_socket_is_tcp_so_asyncio_disables_nagle():
    # Regression: a socket made with proto 0 made asyncio skip TCP_NODELAY, and every
    # keep-alive response waited ~40 ms. asyncio checks sock.proto == IPPROTO_TCP.
    import socket

    from localcluster.cli import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_session_keys_act_as_the_user_never_as_admin_and_expire(cluster):
    import time

    def mint(username, ttl):
        response = requests.post(f"{cluster.url}/localcluster/users/{username}/session-keys", timeout=10,
                                 headers={"Authorization": f"Simple {cluster.admin_key}"},
                                 json={"algorithm": "alice/Echo", "session_id": "s-1", "ttl_seconds": ttl})
        assert response.status_code == 200, response.text
        return response.json()["api_key"]

    alice_session = mint("alice", 60)
    assert _get(cluster, "/v1/users/alice", key=alice_session).json()["username"] == "alice"
    admin_session = mint("admin", 60)
    assert _get(cluster, "/v1/users", key=admin_session).status_code == 403
    short = mint("alice", 0.2)
    time.sleep(0.5)
    assert _get(cluster, "/v1/users/alice", key=short).status_code == 401
