"""Data API state across crashes: what was acknowledged survives SIGKILL, and an upload that
never completed (dropped connection or killed server) is never visible."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from Algorithmia.acl import AclType, ReadAcl

from localcluster.data.storage import UPLOADS

MiB = 1024 * 1024


def _uploads_dir(cluster):
    return cluster.data_dir / "data" / UPLOADS


def _wait_until(predicate, what, timeout=30.0):
    """Waits for something the server does in the background; the deadline only stops a hang."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _start_partial_upload(cluster, path, sent, promised):
    """A PUT that promises ``promised`` bytes and sends ``sent``; the socket is left open."""
    parts = urlsplit(cluster.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall((f"PUT {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nAuthorization: {cluster.key}\r\n"
                  f"Content-Length: {promised}\r\n\r\n").encode())
    sock.sendall(b"n" * sent)
    return sock


def _part_files(cluster):
    return [p for p in _uploads_dir(cluster).glob("*") if p.is_file()]


def test_acknowledged_data_survives_sigkill_and_restart(fresh_cluster):
    bob_key = fresh_cluster.new_user("bob")
    client = fresh_cluster.client()
    client.dir("data://.my/kept").create(ReadAcl.public)
    client.dir("data://.my/kept/folder").create()
    client.file("data://.my/kept/folder/a.txt").put("alpha")
    client.file("data://.my/kept/b.bin").put(bytes(range(256)))
    client.dir("data://.my/secret").create(ReadAcl.private)
    client.file("data://.my/secret/s.txt").put("hidden")

    fresh_cluster.proc.kill()
    fresh_cluster.proc.start()

    client = fresh_cluster.client()
    assert client.file("data://.my/kept/folder/a.txt").getString() == "alpha"
    assert client.file("data://.my/kept/b.bin").getBytes() == bytes(range(256))
    assert client.dir("data://.my/kept").get_permissions().read_acl == AclType.public
    assert client.dir("data://.my/secret").get_permissions().read_acl == AclType.private
    bob = fresh_cluster.client(bob_key)
    assert bob.file("data://alice/kept/folder/a.txt").getString() == "alpha"
    assert not bob.file("data://alice/secret/s.txt").exists()


def test_an_upload_cut_off_by_a_kill_is_never_visible(fresh_cluster):
    client = fresh_cluster.client()
    client.dir("data://.my/crash").create()
    client.file("data://.my/crash/model.bin").put(b"version 1")

    sock = _start_partial_upload(fresh_cluster, "/v1/data/.my/crash/model.bin", sent=MiB, promised=10 * MiB)
    fresh_sock = _start_partial_upload(fresh_cluster, "/v1/data/.my/crash/new.bin", sent=MiB, promised=10 * MiB)
    try:
        _wait_until(lambda: len(_part_files(fresh_cluster)) == 2, "both uploads to reach the disk")
        fresh_cluster.proc.kill()
    finally:
        sock.close()
        fresh_sock.close()
    fresh_cluster.proc.start()

    client = fresh_cluster.client()
    assert client.file("data://.my/crash/model.bin").getBytes() == b"version 1"
    assert not client.file("data://.my/crash/new.bin").exists()
    assert [f.getName() for f in client.dir("data://.my/crash").files()] == ["model.bin"]
    assert _part_files(fresh_cluster) == []  # start-up removed the stale temp files


def test_a_dropped_upload_leaves_nothing_behind(cluster):
    client = cluster.client()
    client.dir("data://.my/dropped").create()
    client.file("data://.my/dropped/data.csv").put("a,b\n1,2\n")

    sock = _start_partial_upload(cluster, "/v1/data/.my/dropped/data.csv", sent=MiB, promised=10 * MiB)
    _wait_until(lambda: _part_files(cluster), "the upload to reach the disk")
    sock.close()
    _wait_until(lambda: not _part_files(cluster), "the server to discard the dropped upload")

    assert client.file("data://.my/dropped/data.csv").getString() == "a,b\n1,2\n"
    assert [f.getName() for f in client.dir("data://.my/dropped").files()] == ["data.csv"]
