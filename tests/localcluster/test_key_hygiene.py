"""No API key, whole or any 8-character slice of it, in any log the cluster writes.

Traffic with keys in every form a client uses (``Simple``, a bare key, ``Bearer``, basic auth
for git and the official client) and in places they do not belong (the query string, the
path, request bodies, an algorithm's input and error), then every log is read: the request
log, the server's own output (``localcluster.process`` captures it in ``server.log``), the
workers' logs and the build logs (files and the API's copy).
"""

from __future__ import annotations

import base64
import io
import secrets
import string
import time

import pytest
import requests

from localcluster.keys import REDACTED, RedactingStream, redact
from tests.localcluster.execution_support import deploy
from tests.localcluster.test_execution import REQUIREMENTS

KEY_USER = '''
import Algorithmia


def apply(input):
    if isinstance(input, dict) and "fail" in input:
        raise ValueError("cannot use " + input["fail"])
    Algorithmia.client().file("data://.my/Hygiene/from-the-algorithm.txt").put("hello")
    return "ok"
'''


def _random_key() -> str:
    return "sim" + "".join(secrets.choice(string.ascii_letters + string.digits) for _position in range(25))


def _slices(key: str) -> set[str]:
    return {key[i:i + 8] for i in range(len(key) - 7)}


def _basic(user: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


@pytest.fixture(scope="module")
def traffic(cluster, tmp_path_factory) -> dict:
    """Run the traffic; returns every key it used, by a name for the failure message."""
    url, alice = cluster.url, cluster.key
    bob = cluster.new_user("bob_hygiene")
    keys = {"alice": alice, "admin": cluster.admin_key, "bob": bob, "wrong": _random_key(),
            "elsewhere": _random_key()}

    def call(method, path, auth=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if auth is not None:
            headers["Authorization"] = auth
        return requests.request(method, url + path, headers=headers, timeout=60, **kwargs)

    # The forms clients send.
    for auth in (f"Simple {alice}", alice, f"Bearer {alice}", _basic("alice", alice)):
        assert call("GET", "/v1/users/alice", auth).status_code == 200
    minted = call("POST", "/localcluster/users/alice/keys", cluster.admin_key).json()["api_key"]
    session = call("POST", "/localcluster/users/alice/session-keys", cluster.admin_key,
                   json={"algorithm": "alice/KeyUser", "session_id": "s-hygiene", "ttl_seconds": 60}).json()["api_key"]
    keys.update(minted=minted, session=session)
    for key in (minted, session, bob):
        call("GET", "/v1/data/alice", key)
    # Refused keys, and keys where they do not belong.
    for auth in (f"Simple {keys['wrong']}", _basic("alice", keys["wrong"]), f"Simple {alice}x", f"Bearer  {alice} x"):
        assert call("GET", "/v1/users/alice", auth).status_code == 401
    for path in (f"/v1/users/alice?api_key={alice}", f"/v1/data/alice?key={keys['elsewhere']}",
                 f"/git/alice/KeyUser.git/info/refs?service=git-upload-pack&password={alice}"):
        call("GET", path)
    for path in (f"/v1/users/{alice}", f"/v1/data/alice/{keys['elsewhere']}/x.txt", f"/v1/algo/alice/{alice}",
                 f"/git/alice/{alice}.git/info/refs", f"/v1/algorithms/{bob}/Thing/builds/{alice}/logs"):
        call("GET", path, alice)
        call("POST", path, alice, json={})
    # Keys in bodies.
    assert call("POST", "/v1/data/alice", alice, json={"name": "Hygiene"}).status_code == 200
    assert call("PUT", "/v1/data/alice/Hygiene/key.txt", alice, data=alice.encode()).status_code == 200
    call("PUT", "/v1/users/alice", alice, json={"fullname": alice, "api_key": bob})
    call("PUT", "/localcluster/faults", cluster.admin_key, json={"rules": [{"kind": "nonsense", "key": alice}]})
    # git (basic auth) and a build, the official client, a worker whose algorithm calls back.
    ref = deploy(cluster, "KeyUser", {"src/KeyUser.py": KEY_USER, "requirements.txt": REQUIREMENTS},
                 tmp_path_factory.mktemp("hygiene"))
    algorithm = cluster.client().algo(ref)
    assert algorithm.pipe("run").result == "ok"
    with pytest.raises(Exception, match="cannot use"):
        algorithm.pipe({"fail": alice})
    # A call nobody waits for, which fails with the key in its message: the server notes the failure.
    void = call("POST", f"/v1/algo/{ref}?output=void", alice, json={"fail": alice}).json()
    deadline = time.monotonic() + 30
    while void["request_id"] not in cluster.proc.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert void["request_id"] in cluster.proc.log_path.read_text(), "the void call's failure was never noted"
    return keys


def _logs(cluster) -> dict[str, str]:
    """Every log of the cluster: its files (server.log is its output, captured by localcluster.process),
    and the build logs the API serves."""
    logs = {str(path.relative_to(cluster.data_dir)): path.read_text(errors="replace")
            for path in cluster.data_dir.rglob("*.log")}
    assert cluster.proc.log_path == cluster.data_dir / "server.log"
    algorithm = cluster.client().algo("alice/KeyUser")
    for build in algorithm.get_builds()["results"]:
        logs[f"build {build['build_id']} (API)"] = algorithm.get_build_logs(build["build_id"])["logs"]
    return logs


def test_no_log_holds_a_key_or_a_slice_of_one(cluster, traffic):
    logs = _logs(cluster)
    assert {"requests.log", "server.log"} <= set(logs) and any(name.startswith("workers/") for name in logs)
    assert any(name.startswith("build ") for name in logs) and any(name.startswith("builds/") for name in logs)
    found = {(name, who): sorted(piece for piece in _slices(key) if piece in text)
             for name, text in logs.items() for who, key in traffic.items()}
    leaks = {where: pieces for where, pieces in found.items() if pieces}
    assert not leaks, f"slices of keys found, by (log, whose key): {leaks}"


def test_key_shapes_are_redacted_wherever_they_start_a_word():
    key = _random_key()
    assert redact(f"/v1/users/{key}/x?{key}x {key}") == f"/v1/users/{REDACTED}/x?{REDACTED}x {REDACTED}"
    assert redact(f"a{key} simulation") == f"a{key} simulation"  # not a word of its own: left alone
    written = io.StringIO()
    assert RedactingStream(written).write(f"failed: {key}\n") == len(key) + 9
    assert written.getvalue() == f"failed: {REDACTED}\n"


def test_the_request_log_still_says_what_was_called(cluster, traffic):
    lines = cluster.request_log()
    assert {"time", "user", "method", "path", "status", "duration_ms"} == set(lines[0])
    assert any(line["path"] == "/v1/users/alice" and line["status"] == 401 for line in lines)
    assert any(line["path"].startswith("/v1/algo/alice/KeyUser/") and line["user"] == "alice" for line in lines)
    assert any(line["path"] == f"/v1/users/{REDACTED}" and line["user"] == "alice" for line in lines)
