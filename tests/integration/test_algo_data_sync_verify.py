"""algo_data_sync's checks of a copy: short uploads, verify size / full, faults mid-copy, TLS.

A stored copy shorter than what was sent is made by a real HTTP server between the module and
the destination cluster (``TruncatingProxy``): it forwards every request, but cuts the body of the
uploads it is told to, declaring the shorter length, so the cluster stores a short file and answers
200. Cut connections and 5xx answers come from localcluster's own fault hooks.
"""

from __future__ import annotations

import hashlib
import http.client
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import running_cluster
from tests.integration.modules_support import RequestWatch, play, task

MIB = 1024 * 1024
SIZE = 3 * MIB + 12345  # several chunks, and a last one that is not whole
CONTENT = random.Random(11).randbytes(SIZE)
SHA = hashlib.sha256(CONTENT).hexdigest()
MANIFEST = "_testbench_manifest.json"
FILE = "data://.my/models/model.bin"


class TruncatingProxy:
    """Forwards HTTP requests to ``upstream``; the PUTs whose path ends with ``cut_suffix`` reach it
    with only the first half of their body (``cuts`` of them, ``None``: all), declared as such.
    With ``method="GET"``, the answers to such GETs are cut instead (a source that changed)."""

    def __init__(self, upstream: str, cut_suffix: str, cuts: int | None, method: str = "PUT") -> None:
        self.method = method
        self.upstream = urlsplit(upstream)
        self.cut_suffix = cut_suffix
        self.cuts_left = cuts
        self.cut = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        length = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if length == 0:
                            self.rfile.readline()
                            return b"".join(parts)
                        parts.append(self.rfile.read(length))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _forward(self) -> None:
                body = self._body()
                cut_this = self.command == proxy.method and self.path.split("?")[0].endswith(proxy.cut_suffix) \
                    and proxy.take_cut()
                if cut_this and self.command == "PUT":
                    body = body[:len(body) // 2]
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "transfer-encoding", "connection")}
                if body or self.command in ("PUT", "POST", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                connection = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                try:
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    answer = connection.getresponse()
                    payload = answer.read()
                    if cut_this and self.command == "GET":
                        payload = payload[:len(payload) // 2]
                finally:
                    connection.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else str(len(payload))
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take_cut(self) -> bool:
        with self.lock:
            if self.cuts_left is not None:
                if self.cuts_left <= 0:
                    return False
                self.cuts_left -= 1
            self.cut += 1
            return True

    def __enter__(self) -> "TruncatingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def source_file(source_cluster):
    client = source_cluster.client()
    client.dir("data://.my/models").create()
    client.file(FILE).put(CONTENT)
    return SHA


def keys_for(destination, source):
    return {"api_address": destination.url, "api_key": destination.key,
            "source_api_address": source.url, "source_api_key": source.key}


def run_sync(run_playbook, keys, algorithm, **extra):
    args = {"source_api_address": "{{ source_api_address }}", "source_api_key": "{{ source_api_key }}",
            "algorithm": algorithm, "files": [FILE]}
    args.update(extra)
    run = run_playbook(play([task("Sync", "algo_data_sync", args)]), extra_vars=keys)
    return run, run.task("Sync")


def stored(cluster, algorithm, ca=None):
    """``(sha256, size)`` of the copy, or None when the destination has no such file. Read through
    ``/v1/data`` (the module uses ``/v1/connector/data``), so ``reads_of`` never counts this check."""
    response = requests.get(f"{cluster.url}/v1/data/{cluster.user}/{algorithm}/model.bin",
                            headers={"Authorization": f"Simple {cluster.key}"}, timeout=60, verify=ca or True)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return hashlib.sha256(response.content).hexdigest(), len(response.content)


def reads_of(watch, algorithm):
    return [r for r in watch.requests() if r["method"] == "GET" and r["path"].startswith("/v1/connector/data/")
            and r["path"].endswith(f"/{algorithm}/model.bin")]


def set_faults(cluster, rules):
    answer = requests.put(f"{cluster.url}/localcluster/faults", headers={"Authorization": cluster.admin_key},
                          json={"rules": rules}, timeout=30)
    assert answer.status_code == 200, answer.text


def clear_faults(cluster):
    requests.delete(f"{cluster.url}/localcluster/faults", headers={"Authorization": cluster.admin_key}, timeout=30)


def test_size_check_reads_nothing_back_and_the_rerun_reads_nothing(cluster, source_cluster, source_file,
                                                                   run_playbook):
    keys = keys_for(cluster, source_cluster)
    watch = RequestWatch(cluster)
    run, result = run_sync(run_playbook, keys, "BySize")
    assert run.rc == 0 and result["changed"] is True, run.stdout
    entry = result["files"][0]
    assert entry["action"] == "copied" and entry["size"] == SIZE
    assert entry["transfer"]["verified"] == "size" and entry["transfer"]["attempts"] == 1
    assert entry["sha256"] is None  # computed only where it is compared
    assert stored(cluster, "BySize") == (SHA, SIZE)
    assert reads_of(watch, "BySize") == []  # checked by its size, not read back
    puts = [r for r in watch.mutating() if r["method"] == "PUT" and r["path"].endswith("/BySize/model.bin")]
    assert len(puts) == 1

    watch = RequestWatch(cluster)
    run, result = run_sync(run_playbook, keys, "BySize")
    assert run.rc == 0 and result["changed"] is False, run.stdout
    assert result["files"][0]["action"] == "skipped" and "manifest" in result["files"][0]["reason"]
    assert reads_of(watch, "BySize") == [] and watch.mutating() == []


def test_verify_full_reads_the_copy_back(cluster, source_cluster, source_file, run_playbook):
    keys = keys_for(cluster, source_cluster)
    watch = RequestWatch(cluster)
    run, result = run_sync(run_playbook, keys, "ByHash", verify="full")
    assert run.rc == 0 and result["changed"] is True, run.stdout
    entry = result["files"][0]
    assert entry["transfer"]["verified"] == "sha256" and entry["sha256"] == SHA
    assert len(reads_of(watch, "ByHash")) == 1  # read back once, whole
    run, result = run_sync(run_playbook, keys, "ByHash", verify="full")
    assert result["changed"] is False and result["files"][0]["sha256"] == SHA, run.stdout


def test_a_short_stored_copy_is_detected_and_copied_again(cluster, source_cluster, source_file, run_playbook):
    with TruncatingProxy(cluster.url, "/Truncated/model.bin", cuts=1) as proxy:
        run, result = run_sync(run_playbook, dict(keys_for(cluster, source_cluster), api_address=proxy.url),
                               "Truncated")
    assert proxy.cut == 1
    assert run.rc == 0 and result["changed"] is True, run.stdout
    assert result["files"][0]["transfer"]["attempts"] == 2
    assert stored(cluster, "Truncated") == (SHA, SIZE)


@pytest.mark.parametrize("verify", ["size", "full"])
def test_a_copy_that_stays_short_fails_and_is_deleted(cluster, source_cluster, source_file, run_playbook, verify):
    algorithm = f"AlwaysShort_{verify}"
    with TruncatingProxy(cluster.url, f"/{algorithm}/model.bin", cuts=None) as proxy:
        run, result = run_sync(run_playbook, dict(keys_for(cluster, source_cluster), api_address=proxy.url),
                               algorithm, verify=verify)
    assert run.rc != 0 and result["failed"] is True, run.stdout
    assert proxy.cut == 2  # copied twice, then given up
    assert f"Failed to verify data://{cluster.user}/{algorithm}/model.bin" in result["msg"]
    assert "The copy was deleted" in result["msg"]
    assert result["changed"] is True  # the collection was created
    assert stored(cluster, algorithm) is None  # never left behind as if it were the file
    names = {f.getName() for f in cluster.client().dir(f"data://.my/{algorithm}").files()}
    assert names == set()  # nor recorded in a manifest


def test_a_source_that_sends_less_than_it_listed_fails_the_copy_and_stores_nothing(cluster, source_cluster,
                                                                                   source_file, run_playbook):
    with TruncatingProxy(source_cluster.url, "/models/model.bin", cuts=None, method="GET") as proxy:
        run, result = run_sync(run_playbook, dict(keys_for(cluster, source_cluster), source_api_address=proxy.url),
                               "SourceChanged")
    assert proxy.cut == 1
    assert run.rc != 0 and result["failed"] is True, run.stdout
    assert "changed during the copy" in result["msg"] and "Nothing was written" in result["msg"]
    assert stored(cluster, "SourceChanged") is None  # the upload was cut short of its Content-Length: refused


def test_a_cut_upload_is_refused_and_sent_again(cluster, source_cluster, source_file, run_playbook):
    target = f"/v1/connector/data/{cluster.user}/CutUpload/model.bin"
    set_faults(cluster, [{"kind": "drop", "path_prefix": target, "methods": ["PUT"], "after_bytes": MIB, "times": 1},
                         {"kind": "error", "status": 503, "path_prefix": target, "methods": ["PUT"], "times": 1}])
    watch = RequestWatch(cluster)
    try:
        run, result = run_sync(run_playbook, keys_for(cluster, source_cluster), "CutUpload")
    finally:
        clear_faults(cluster)
    assert run.rc == 0 and result["changed"] is True, run.stdout
    assert result["files"][0]["transfer"]["attempts"] == 3
    assert stored(cluster, "CutUpload") == (SHA, SIZE)
    faults = [r.get("fault") for r in watch.requests() if r["path"] == target and r["method"] == "PUT"]
    assert sorted(filter(None, faults)) == ["drop", "error"]


def test_a_cut_download_is_resumed(cluster, source_cluster, source_file, run_playbook):
    source_path = f"/v1/connector/data/{source_cluster.user}/models/model.bin"
    set_faults(source_cluster, [{"kind": "drop", "path_prefix": source_path, "methods": ["GET"],
                                 "after_bytes": 2 * MIB, "times": 1}])
    try:
        run, result = run_sync(run_playbook, keys_for(cluster, source_cluster), "CutDownload")
    finally:
        clear_faults(source_cluster)
    assert run.rc == 0 and result["changed"] is True, run.stdout
    assert result["files"][0]["transfer"]["attempts"] == 1  # resumed under the same upload
    assert stored(cluster, "CutDownload") == (SHA, SIZE)


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory, no_machine_ca_bundle):
    with running_cluster(tmp_path_factory, "tls_source", tls=True) as source, \
            running_cluster(tmp_path_factory, "tls_destination", tls=True) as destination:
        client = source.client()
        client.dir("data://.my/models").create()
        client.file(FILE).put(CONTENT)
        yield source, destination


def test_tls_copy_then_unchanged(tls_pair, run_playbook):
    source, destination = tls_pair
    keys = dict(keys_for(destination, source), ca_cert=destination.ca_cert, source_ca_cert=source.ca_cert)
    extra = {"ca_cert": "{{ ca_cert }}", "source_ca_cert": "{{ source_ca_cert }}"}
    run, result = run_sync(run_playbook, keys, "OverTls", **extra)
    assert run.rc == 0 and result["changed"] is True, run.stdout
    assert result["files"][0]["transfer"]["verified"] == "size"
    assert stored(destination, "OverTls", ca=destination.ca_cert) == (SHA, SIZE)
    watch = RequestWatch(destination)
    run, result = run_sync(run_playbook, keys, "OverTls", **extra)
    assert run.rc == 0 and result["changed"] is False, run.stdout
    assert result["files"][0]["action"] == "skipped"
    assert reads_of(watch, "OverTls") == [] and watch.mutating() == []
