"""The fault hooks, seen from real clients: errors, latency, resets, broken streams and lost replies.

Every fault is checked from the client's side (``requests``, ``urllib3``, the official client,
``git``) and from the server's: what was applied, and what the request log says was injected.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import time
from collections import Counter
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests

from localcluster.process import LocalClusterProcess
from tests.localcluster.execution_support import PYTHON_SETTINGS
from tests.localcluster.git_support import clone, git, git_env

COLLECTION = "Faults"
MIB = 1024 * 1024


def _auth(key: str) -> dict:
    return {"Authorization": f"Simple {key}"}


def _set_faults(cluster, rules: list, seed: int | None = None) -> dict:
    body = {"rules": rules} if seed is None else {"rules": rules, "seed": seed}
    response = requests.put(cluster.url + "/localcluster/faults", json=body, headers=_auth(cluster.admin_key),
                            timeout=10, verify=cluster.ca_cert or True)
    assert response.status_code == 200, response.text
    return response.json()


def _fired(cluster) -> list[int]:
    response = requests.get(cluster.url + "/localcluster/faults", headers=_auth(cluster.admin_key), timeout=10,
                            verify=cluster.ca_cert or True)
    return [rule["fired"] for rule in response.json()["rules"]]


def _call(cluster, method: str, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("headers", _auth(cluster.key))
    return requests.request(method, cluster.url + path, timeout=30, verify=cluster.ca_cert or True, **kwargs)


def _file_path(cluster, name: str) -> str:
    return f"/v1/data/{cluster.user}/{COLLECTION}/{name}"


def _is_reset(exc: BaseException) -> bool:
    """A connection reset somewhere in the exception's chain (requests wraps urllib3 wraps OSError)."""
    seen = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, ConnectionResetError):
            return True
        seen.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        seen.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


@pytest.fixture(scope="module", autouse=True)
def collection(cluster):
    response = _call(cluster, "POST", f"/v1/data/{cluster.user}", json={"name": COLLECTION})
    assert response.status_code == 200, response.text


@pytest.fixture(autouse=True)
def clean_faults_and_server_log(cluster):
    """Faults off after each test, and no fault leaves an error or a traceback in the server's log."""
    log = cluster.proc.log_path
    before = log.stat().st_size
    yield
    requests.delete(cluster.url + "/localcluster/faults", headers=_auth(cluster.admin_key), timeout=10)
    with open(log, "rb") as fh:
        fh.seek(before)
        written = fh.read().decode(errors="replace")
    assert "Traceback" not in written and "ERROR" not in written, written


class LogWatch:
    """The request-log lines written since the watch started."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.start = len(cluster.request_log())

    def lines(self, path: str | None = None) -> list[dict]:
        lines = self.cluster.request_log()[self.start:]
        return [line for line in lines if path is None or line["path"] == path]


# -- error and latency (moved from test_core, unchanged) ----------------------------------------


def test_faults_need_an_admin_key(cluster):
    response = requests.put(cluster.url + "/localcluster/faults", json={"rules": []}, timeout=10,
                            headers=_auth(cluster.key))
    assert response.status_code == 403


@pytest.mark.parametrize("rule, field", [({"kind": "explode"}, "rules[0].kind"),
                                         ({"kind": "error", "after_bytes": 3}, "rules[0].after_bytes"),
                                         ({"kind": "drop", "after_bytes": -1}, "rules[0].after_bytes"),
                                         ({"kind": "drop", "times": "2"}, "rules[0].times")])
def test_bad_rules_are_refused_with_the_field(cluster, rule, field):
    response = requests.put(cluster.url + "/localcluster/faults", timeout=10, json={"rules": [rule]},
                            headers=_auth(cluster.admin_key))
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_error_fault_fires_the_given_times_on_its_prefix_only(cluster):
    _set_faults(cluster, [{"kind": "error", "path_prefix": "/v1/users/alice", "status": 502, "times": 2}])
    assert _call(cluster, "GET", "/localcluster/health").status_code == 200  # other paths untouched
    codes = [_call(cluster, "GET", "/v1/users/alice").status_code for _call_number in range(3)]
    assert codes == [502, 502, 200]


def test_error_fault_body_is_in_the_envelope(cluster):
    _set_faults(cluster, [{"kind": "error", "path_prefix": "/v1/users", "status": 500, "times": 1}])
    response = _call(cluster, "GET", "/v1/users/alice")
    assert response.status_code == 500
    assert "Injected fault" in response.json()["error"]["message"]


def test_rate_is_a_probability(cluster):
    _set_faults(cluster, [{"kind": "error", "path_prefix": "/v1/users/alice", "rate": 0.5}], seed=7)
    codes = [_call(cluster, "GET", "/v1/users/alice").status_code for _call_number in range(40)]
    assert 0 < codes.count(503) < 40


def test_latency_fault_delays_past_a_client_timeout(cluster):
    _set_faults(cluster, [{"kind": "latency", "path_prefix": "/v1/users/alice", "latency_ms": 3000, "times": 1}])
    watch = LogWatch(cluster)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(cluster.url + "/v1/users/alice", timeout=(5, 0.5), headers=_auth(cluster.key))
    # The server still ends the request, 3 s in, and logs it then: wait for that line here, or it
    # lands in the window of a later test that counts this path's lines (it did, once the tests
    # between ran in under 3 s).
    deadline = time.monotonic() + 30
    while not watch.lines("/v1/users/alice") and time.monotonic() < deadline:
        time.sleep(0.1)
    (line,) = watch.lines("/v1/users/alice")
    assert (line["status"], line["fault"], line["latency_ms"]) == (200, "latency", 3000)


def test_fault_hooks_are_never_faulted(cluster):
    _set_faults(cluster, [{"kind": "error", "path_prefix": "/", "status": 503}])
    assert _call(cluster, "GET", "/localcluster/health").status_code == 200
    assert _call(cluster, "GET", "/v1/users/alice").status_code == 503


# -- drop: a reset before any answer ------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "POST"])
def test_a_drop_resets_the_connection_before_any_answer(cluster, method):
    path = _file_path(cluster, f"dropped-{method}.txt")
    body = {"PUT": {"data": b"never stored"}, "POST": {"json": {"name": "never-made"}}}.get(method, {})
    target = f"/v1/data/{cluster.user}/{COLLECTION}" if method == "POST" else path
    _set_faults(cluster, [{"kind": "drop", "path_prefix": target, "methods": [method], "times": 1}])
    watch = LogWatch(cluster)
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        _call(cluster, method, target, **body)
    assert caught.value.response is None and _is_reset(caught.value)
    # The request was not run, and the log says it was dropped, with no status.
    assert _call(cluster, "HEAD", path).status_code == 404
    assert _call(cluster, "HEAD", _file_path(cluster, "never-made")).status_code == 404
    first = watch.lines(target)[0]
    assert (first["method"], first["status"], first["fault"]) == (method, None, "drop")
    # Faults are per request: the same call goes through once the rule is spent.
    assert _call(cluster, method, target, **body).status_code in (200, 404)


def test_the_official_client_sees_a_dropped_head(cluster):
    client = cluster.client()
    client.file(f"data://.my/{COLLECTION}/there.txt").put("here")
    _set_faults(cluster, [{"kind": "drop", "path_prefix": "/v1/", "methods": ["HEAD"], "times": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        client.file(f"data://.my/{COLLECTION}/there.txt").exists()
    assert client.file(f"data://.my/{COLLECTION}/there.txt").exists()


def test_drops_and_latency_combine_in_one_log_line(cluster):
    path = "/v1/users/alice"
    _set_faults(cluster, [{"kind": "latency", "path_prefix": path, "latency_ms": 50, "times": 2},
                          {"kind": "drop", "path_prefix": path, "times": 1}])
    watch = LogWatch(cluster)
    with pytest.raises(requests.exceptions.ConnectionError):
        _call(cluster, "GET", path)
    assert _call(cluster, "GET", path).status_code == 200
    lines = watch.lines(path)
    assert [(line["status"], line["fault"], line["latency_ms"]) for line in lines] == \
        [(None, "drop", 50), (200, "latency", 50)]
    assert all(line["duration_ms"] >= 50 for line in lines)


# -- drop with after_bytes: streams broken part-way ---------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_cut_after_n_bytes_stores_nothing(cluster, chunked):
    path = _file_path(cluster, f"cut-upload-{chunked}.bin")
    content = os.urandom(4 * MIB)
    _set_faults(cluster, [{"kind": "drop", "path_prefix": path, "methods": ["PUT"], "after_bytes": MIB // 2,
                           "times": 1}])
    watch = LogWatch(cluster)

    def body():
        return (content[i:i + MIB] for i in range(0, len(content), MIB)) if chunked else content

    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        _call(cluster, "PUT", path, data=body())
    assert caught.value.response is None
    assert _call(cluster, "HEAD", path).status_code == 404
    assert list((cluster.data_dir / "data" / ".uploads").iterdir()) == []  # no partial file anywhere
    first = watch.lines(path)[0]
    assert (first["user"], first["status"], first["fault"]) == (cluster.user, None, "drop")
    # The retry of the same upload arrives whole.
    assert _call(cluster, "PUT", path, data=body()).status_code == 200
    assert _call(cluster, "GET", path).content == content


def _get_until_broken(cluster, path: str) -> tuple[int, int, bytes]:
    """GET with http.client, which hands over every byte that arrived and stops at the end of the stream:
    (status, the Content-Length promised, the body bytes that came)."""
    address = urlsplit(cluster.url)
    if address.scheme == "https":
        context = ssl.create_default_context(cafile=cluster.ca_cert)
        connection = http.client.HTTPSConnection(address.hostname, address.port, timeout=30, context=context)
    else:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", path, headers=_auth(cluster.key))
        response = connection.getresponse()
        body = bytearray()
        while chunk := response.read(65536):
            body += chunk
        return response.status, int(response.getheader("Content-Length")), bytes(body)
    finally:
        connection.close()


@pytest.mark.parametrize("size, after_bytes, delivered", [(MIB, 100_000, 100_000), (10, 100, 9), (10, 0, 0)])
def test_a_download_cut_after_n_bytes_delivers_exactly_them(cluster, size, after_bytes, delivered):
    path = _file_path(cluster, f"cut-download-{size}-{after_bytes}.bin")
    content = os.urandom(size)
    assert _call(cluster, "PUT", path, data=content).status_code == 200
    _set_faults(cluster, [{"kind": "drop", "path_prefix": path, "methods": ["GET"], "after_bytes": after_bytes,
                           "times": 2}])
    watch = LogWatch(cluster)
    assert _get_until_broken(cluster, path) == (200, size, content[:delivered])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # what requests makes of it
        _call(cluster, "GET", path)
    # The status went out before the cut: the log keeps it, and says the stream was dropped.
    assert [(line["status"], line["fault"]) for line in watch.lines(path)] == [(200, "drop")] * 2
    assert _call(cluster, "GET", path).content == content


def test_a_head_cut_after_n_bytes_gets_no_answer(cluster):
    path = _file_path(cluster, "cut-head.bin")
    assert _call(cluster, "PUT", path, data=b"abc").status_code == 200
    _set_faults(cluster, [{"kind": "drop", "path_prefix": path, "methods": ["HEAD"], "after_bytes": 10, "times": 1}])
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        _call(cluster, "HEAD", path)
    assert _is_reset(caught.value)


# -- lost_reply: applied, then the answer is lost -----------------------------------------------


def test_a_create_whose_reply_is_lost_is_applied(cluster):
    path = f"/v1/algorithms/{cluster.user}"
    _set_faults(cluster, [{"kind": "lost_reply", "path_prefix": path, "methods": ["POST"], "times": 1}])
    watch = LogWatch(cluster)
    algo = cluster.client().algo(f"{cluster.user}/LostReply")
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        algo.create(details={"label": "LostReply"}, settings=PYTHON_SETTINGS)
    assert _is_reset(caught.value)
    assert _call(cluster, "GET", f"{path}/LostReply").json()["name"] == "LostReply"
    assert [(line["user"], line["status"], line["fault"]) for line in watch.lines(path)] == \
        [(cluster.user, 200, "lost_reply")]
    # What a blind retry meets: the algorithm is there already.
    again = _call(cluster, "POST", path, json={"name": "LostReply", "settings": PYTHON_SETTINGS})
    assert again.status_code == 409


def test_a_streamed_upload_whose_reply_is_lost_is_stored_whole(cluster):
    path = _file_path(cluster, "lost-reply.bin")
    content = os.urandom(6 * MIB)
    _set_faults(cluster, [{"kind": "lost_reply", "path_prefix": path, "methods": ["PUT"], "times": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        _call(cluster, "PUT", path, data=(content[i:i + MIB] for i in range(0, len(content), MIB)))
    stored = _call(cluster, "GET", path).content
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(content).hexdigest()


# -- counting what was injected ------------------------------------------------------------------


def test_the_request_log_counts_every_fault_by_kind(cluster):
    path = f"/v1/users/{cluster.user}"
    rules = [{"kind": "latency", "path_prefix": path, "latency_ms": 5, "rate": 0.3},
             {"kind": "error", "path_prefix": path, "status": 503, "rate": 0.2},
             {"kind": "drop", "path_prefix": path, "rate": 0.15},
             {"kind": "lost_reply", "path_prefix": path, "methods": ["PUT"], "rate": 0.5}]
    _set_faults(cluster, rules, seed=11)
    watch = LogWatch(cluster)
    seen = Counter()
    for number in range(80):
        method = "PUT" if number % 4 == 0 else "GET"
        try:
            response = _call(cluster, method, path, json={"fullname": "Alice"} if method == "PUT" else None)
            seen[response.status_code] += 1
        except requests.exceptions.ConnectionError:
            seen["reset"] += 1
    lines = watch.lines(path)
    assert len(lines) == 80
    faults = Counter(line.get("fault") for line in lines)
    assert faults["error"] == seen[503] > 0
    assert faults["drop"] + faults["lost_reply"] == seen["reset"] and faults["drop"] > 0
    assert seen[200] == sum(1 for line in lines if line.get("fault") in (None, "latency"))
    fired = _fired(cluster)
    assert fired == [sum(1 for line in lines if "latency_ms" in line), faults["error"], faults["drop"],
                     faults["lost_reply"]]
    assert fired[3] > 0


# -- git smart HTTP --------------------------------------------------------------------------------


def _new_repository(cluster, tmp_path, name: str):
    """An algorithm's repository, cloned: (git environment, checkout)."""
    created = _call(cluster, "POST", f"/v1/algorithms/{cluster.user}", json={"name": name, "settings": PYTHON_SETTINGS})
    assert created.status_code == 200, created.text
    env = git_env(tmp_path, cluster.user, cluster.key)
    checkout = tmp_path / "checkout"
    clone(cluster.url, cluster.user, name, checkout, env)
    git(env, "commit", "-q", "--allow-empty", "-m", "to the side branch", cwd=checkout)
    return env, checkout


def _side_branch(env, checkout) -> str:
    listed = git(env, "ls-remote", "origin", "refs/heads/side", cwd=checkout).stdout.split()
    return listed[0] if listed else ""


# curl, under git, sends a request again once on a fresh connection when a reused one is reset
# before any answer: a single drop of an RPC is invisible to git, so these drop twice.

@pytest.mark.parametrize("rpc, times", [("/info/refs", 1), ("/git-upload-pack", 2)])
def test_a_git_clone_through_drops_fails_cleanly_and_a_retry_succeeds(cluster, tmp_path, rpc, times):
    name = "GitClone" + rpc.strip("/").replace("/", "_").replace("-", "_")
    env, _checkout = _new_repository(cluster, tmp_path, name)
    _set_faults(cluster, [{"kind": "drop", "path_prefix": f"/git/{cluster.user}/{name}.git{rpc}", "times": times}])
    failed = clone(cluster.url, cluster.user, name, tmp_path / "again", env, check=False)
    assert failed.returncode != 0 and "Connection reset by peer" in failed.stderr
    assert not (tmp_path / "again").exists()
    clone(cluster.url, cluster.user, name, tmp_path / "again", env)


def test_a_git_push_through_drops_fails_cleanly_and_a_retry_succeeds(cluster, tmp_path):
    name = "GitPushDrop"
    env, checkout = _new_repository(cluster, tmp_path, name)
    head = git(env, "rev-parse", "HEAD", cwd=checkout).stdout.strip()
    _set_faults(cluster, [{"kind": "drop", "path_prefix": f"/git/{cluster.user}/{name}.git/git-receive-pack",
                           "times": 2}])
    assert git(env, "push", "-q", "origin", "HEAD:refs/heads/side", cwd=checkout, check=False).returncode != 0
    assert _side_branch(env, checkout) == ""  # nothing moved
    git(env, "push", "-q", "origin", "HEAD:refs/heads/side", cwd=checkout)
    assert _side_branch(env, checkout) == head


def test_a_git_push_whose_reply_is_lost_is_applied(cluster, tmp_path):
    name = "GitLostReply"
    env, checkout = _new_repository(cluster, tmp_path, name)
    head = git(env, "rev-parse", "HEAD", cwd=checkout).stdout.strip()
    _set_faults(cluster, [{"kind": "lost_reply", "path_prefix": f"/git/{cluster.user}/{name}.git/git-receive-pack",
                           "times": 2}])
    assert git(env, "push", "-q", "origin", "HEAD:refs/heads/side", cwd=checkout, check=False).returncode != 0
    assert _side_branch(env, checkout) == head  # applied all the same
    assert "up-to-date" in git(env, "push", "origin", "HEAD:refs/heads/side", cwd=checkout).stderr


# -- TLS -------------------------------------------------------------------------------------------


def test_resets_and_cut_streams_over_tls(tmp_path):
    with LocalClusterProcess(tmp_path / "tls", tls=True) as proc:
        admin, key = proc.create_user("admin", admin=True), proc.create_user("tlsuser")
        ca = proc.ca_cert

        def call(method, path, **kwargs):
            return requests.request(method, proc.url + path, headers=_auth(key), verify=ca, timeout=30, **kwargs)

        assert call("POST", "/v1/data/tlsuser", json={"name": "c"}).status_code == 200
        content = os.urandom(MIB)
        assert call("PUT", "/v1/data/tlsuser/c/f.bin", data=content).status_code == 200
        rules = [{"kind": "drop", "path_prefix": "/v1/data/tlsuser/c/f.bin", "methods": ["HEAD"], "times": 1},
                 {"kind": "drop", "path_prefix": "/v1/data/tlsuser/c/f.bin", "methods": ["GET"], "after_bytes": 4096,
                  "times": 1}]
        assert requests.put(proc.url + "/localcluster/faults", json={"rules": rules}, headers=_auth(admin), verify=ca,
                            timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.ConnectionError):
            call("HEAD", "/v1/data/tlsuser/c/f.bin")
        tls_cluster = SimpleNamespace(url=proc.url, ca_cert=ca, key=key)
        assert _get_until_broken(tls_cluster, "/v1/data/tlsuser/c/f.bin") == (200, MIB, content[:4096])
        assert call("GET", "/v1/data/tlsuser/c/f.bin").content == content
