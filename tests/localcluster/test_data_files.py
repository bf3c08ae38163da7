"""Data API files through the official client: round trips, streaming in constant memory,
existence checks, auth and the error envelope, path safety."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import threading
from urllib.parse import urlsplit

import Algorithmia
import psutil
import pytest
import requests
from Algorithmia.errors import DataApiError

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def files(cluster):
    """alice's collection for this module's files."""
    cluster.client().dir("data://.my/files").create()
    return "data://.my/files"


def _raw(cluster, method, path, key=None, body=None):
    """One request exactly as written: http.client neither normalises '..' nor re-encodes."""
    parts = urlsplit(cluster.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        headers = {"Authorization": key} if key else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()  # headers: case-insensitive
    finally:
        conn.close()


def test_text_round_trip(cluster, files):
    client = cluster.client()
    text = "Leader of the Autobots: héllo wörld ✓\n"
    client.file(f"{files}/greeting.txt").put(text)
    assert client.file(f"{files}/greeting.txt").getString() == text
    client.file(f"{files}/plain").put("no extension, plain ASCII")
    assert client.file(f"{files}/plain").getString() == "no extension, plain ASCII"


def test_json_round_trip(cluster, files):
    client = cluster.client()
    value = {"numbers": [1, 2.5, None], "nested": {"ü": "ö"}, "flag": True}
    client.file(f"{files}/value.json").putJson(value)
    assert client.file(f"{files}/value.json").getJson() == value


def test_binary_round_trip(cluster, files):
    client = cluster.client()
    blob = bytes(range(256)) * 1000 + b"\x00\xff"
    client.file(f"{files}/blob.bin").put(blob)
    assert client.file(f"{files}/blob.bin").getBytes() == blob
    with open(client.file(f"{files}/blob.bin").getFile(as_path=True), "rb") as fh:
        assert fh.read() == blob


def test_empty_file_round_trip(cluster, files):
    client = cluster.client()
    client.file(f"{files}/empty").put(b"")
    assert client.file(f"{files}/empty").exists()
    assert client.file(f"{files}/empty").getBytes() == b""
    listed = {f.getName(): f.size for f in client.dir(files).files()}
    assert listed["empty"] == 0


def test_put_replaces_a_file_and_listing_reports_size_and_time(cluster, files):
    client = cluster.client()
    client.file(f"{files}/replaced.txt").put("first version")
    client.file(f"{files}/replaced.txt").put("second")
    assert client.file(f"{files}/replaced.txt").getString() == "second"
    listed = {f.getName(): f for f in client.dir(files).files()}
    assert listed["replaced.txt"].size == len("second")
    assert listed["replaced.txt"].last_modified is not None  # parsed with the client's own format


def test_put_answers_with_the_canonical_data_uri(cluster, files):
    response = requests.put(f"{cluster.url}/v1/connector/data/.my/files/uri.txt", data=b"x",
                            headers={"Authorization": f"Simple {cluster.key}"}, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"result": f"data://{cluster.user}/files/uri.txt"}


def test_documented_connector_path_and_data_type_headers(cluster, files):
    cluster.client().file(f"{files}/typed.txt").put("typed")
    for prefix in ("/v1/data", "/v1/connector/data"):
        status, headers, body = _raw(cluster, "GET", f"{prefix}/.my/files/typed.txt", cluster.key)
        assert (status, headers["X-Data-Type"], body) == (200, "file", b"typed")
        status, headers, body = _raw(cluster, "GET", f"{prefix}/.my/files", cluster.key)
        assert (status, headers["X-Data-Type"]) == (200, "directory")
        assert "typed.txt" in [f["filename"] for f in json.loads(body)["files"]]
        status, headers, body = _raw(cluster, "HEAD", f"{prefix}/.my/files/typed.txt", cluster.key)
        assert (status, headers["X-Data-Type"], headers["Content-Length"], body) == (200, "file", "5", b"")


def test_head_on_a_missing_file_is_404(cluster, files):
    client = cluster.client()
    assert not client.file(f"{files}/missing.txt").exists()
    status, headers, body = _raw(cluster, "HEAD", "/v1/data/.my/files/missing.txt", cluster.key)
    assert status == 404 and body == b""
    assert "does not exist" in headers["X-Error-Message"]
    with pytest.raises(DataApiError, match="does not exist"):
        client.file(f"{files}/missing.txt").getString()
    # A name that is not latin-1 still gets its 404 (header values are latin-1 on the wire).
    status, headers, body = _raw(cluster, "HEAD", "/v1/data/.my/files/m%C3%BCssing-%E2%9C%93.txt", cluster.key)
    assert status == 404 and body == b"" and "does not exist" in headers["X-Error-Message"]


def test_get_on_a_missing_file_is_404_in_the_error_envelope(cluster, files):
    status, _headers, body = _raw(cluster, "GET", "/v1/data/.my/files/missing.txt", cluster.key)
    assert status == 404
    assert "does not exist" in json.loads(body)["error"]["message"]


def test_writing_into_a_collection_that_does_not_exist_is_404(cluster):
    # The client turns any non-2xx PUT into a generic exception; the status and message are on the wire.
    with pytest.raises(Exception, match="404"):
        cluster.client().file("data://.my/never-created/x.txt").put("x")
    status, _headers, body = _raw(cluster, "PUT", "/v1/data/.my/never-created/x.txt", cluster.key, body=b"x")
    assert status == 404
    assert "create it first" in json.loads(body)["error"]["message"]


@pytest.mark.parametrize("key", [None, "simNotAKeyOfThisCluster"])
def test_requests_without_a_valid_key_get_401(cluster, files, key):
    status, _headers, body = _raw(cluster, "GET", "/v1/data/.my/files", key)
    assert status == 401
    error = json.loads(body)["error"]
    assert error["code"] == 2002 and "key" in error["message"].lower()
    status = _raw(cluster, "PUT", "/v1/data/alice/files/sneaky.txt", key, body=b"x")[0]
    assert status == 401
    assert not cluster.client().file(f"{files}/sneaky.txt").exists()
    outsider = Algorithmia.client(key or "", cluster.url)
    assert not outsider.file(f"{files}/greeting.txt").exists()


def test_another_users_private_file_is_403_with_the_envelope(cluster):
    owner = cluster.client()
    owner.dir("data://.my/private").create(Algorithmia.acl.ReadAcl.private)
    owner.file("data://.my/private/secret.txt").put("secret")
    mallory_key = cluster.new_user("mallory")
    response = requests.get(f"{cluster.url}/v1/data/alice/private/secret.txt",
                            headers={"Authorization": mallory_key}, timeout=30)
    assert response.status_code == 403
    error = response.json()["error"]
    assert set(error) >= {"id", "code", "message"} and error["code"] == 2001
    assert "not allowed to read" in error["message"]
    mallory = cluster.client(mallory_key)
    with pytest.raises(DataApiError, match="not allowed"):
        mallory.file("data://alice/private/secret.txt").getString()
    with pytest.raises(Exception):
        mallory.file("data://alice/private/secret.txt").put("overwritten")
    assert owner.file("data://.my/private/secret.txt").getString() == "secret"


TRAVERSALS = [
    "/v1/data/alice/files/../../bob/x",
    "/v1/data/alice/files/%2e%2e/%2e%2e/state.db",
    "/v1/data/alice/files/%2E%2E%2F%2E%2E%2Fstate.db",
    "/v1/data/.my/files/.%2e/x",
    "/v1/data/alice/%2e%2e",
    "/v1/data/alice/files/./x",
    "/v1/data//etc/passwd",
    "/v1/data/alice/files//x",
    "/v1/data/alice/files/a%00b",
    "/v1/data/alice/files/..%5c..%5cx",
    "/v1/data/alice/files/a%5Cb",
    "/v1/data/.algo/%2e%2e/%2e%2e/temp/x",
    "/v1/data/.hidden/x",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused_before_touching_the_disk(cluster, files, path):
    for method, body in (("GET", None), ("PUT", b"pwned"), ("DELETE", None)):
        status, _headers, raw = _raw(cluster, method, path, cluster.key, body=body)
        assert status == 400, (method, path, status, raw)
        message = json.loads(raw)["error"]["message"]
        assert "invalid" in message.lower() or "pseudonym" in message.lower()
    status, headers, raw = _raw(cluster, "HEAD", path, cluster.key)
    assert status == 400 and raw == b"" and headers["X-Error-Message"]
    written = [p for p in cluster.data_dir.rglob("*") if p.is_file() and p.read_bytes() == b"pwned"]
    assert written == []


def test_other_connectors_are_named_as_not_implemented(cluster):
    status, _headers, body = _raw(cluster, "GET", "/v1/connector/s3/bucket/key.txt", cluster.key)
    assert status == 501
    error = json.loads(body)["error"]
    assert error["code"] == 5005 and "s3" in error["message"]


def _write_random_file(path, size):
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        for _block_number in range(size // MiB):
            block = os.urandom(MiB)
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


class PeakRss:
    """Samples a process's resident memory in the background; ``peak`` is the highest seen."""

    def __init__(self, pid):
        self.process = psutil.Process(pid)
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def test_200_mib_streams_up_and_down_in_constant_server_memory(cluster, files, tmp_path, monkeypatch):
    size = 200 * MiB
    source = tmp_path / "big.bin"
    expected = _write_random_file(source, size)
    # The client's getFile() downloads into tempfile's directory: keep it in tmp_path.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    client = cluster.client()
    with PeakRss(cluster.proc.proc.pid) as rss:
        client.file(f"{files}/big.bin").putFile(str(source))
        source.unlink()
        downloaded = client.file(f"{files}/big.bin").getFile(as_path=True)
    try:
        assert os.path.getsize(downloaded) == size
        assert _sha256_of(downloaded) == expected
    finally:
        os.unlink(downloaded)
    growth = f"server RSS grew by {(rss.peak - rss.baseline) / MiB:.1f} MiB for 200 MiB up and down"
    print(growth)  # the figure, for `pytest -rP`; the bound below is a memory bound, not a timing
    assert rss.peak - rss.baseline < 100 * MiB, growth
    listed = {f.getName(): f.size for f in client.dir(files).files()}
    assert listed["big.bin"] == size
    client.file(f"{files}/big.bin").delete()
