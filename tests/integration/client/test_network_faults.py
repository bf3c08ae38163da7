"""Safe calls survive network faults, unsafe ones are sent once, and every failure says what happened.

Against a real localcluster: its fault hooks for errors and dropped answers, and ``FaultProxy``
(a proxy on 127.0.0.1 in the test) for the faults the hooks cannot make yet: a reply lost after
the request was applied, a reset in the middle of an upload or a download, over HTTP and TLS.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles, data_path
from ansible_collections.algorithmia.testbench.plugins.module_utils.datasync import copy_file, sha256_of
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    ClusterConnectionError,
    ServerError,
    TLSError,
)
from tests.integration.modules_support import logged

MB = 1024 * 1024
CONTENT = bytes(range(256)) * 4096 * 3  # 3 MiB, every byte position distinct modulo 256
DIGEST = hashlib.sha256(CONTENT).hexdigest()


def fast_client(address, key, **options):
    """A client whose retries pause for milliseconds, so the tests stay quick."""
    options.setdefault("timeout", 10)
    options.setdefault("backoff_factor", 0.01)
    return AlgorithmiaClient(address, key, **options)


def pieces(data=CONTENT, size=64 * 1024):
    return [data[start:start + size] for start in range(0, len(data), size)]


@pytest.fixture(scope="module")
def stored(cluster):
    """data://alice/faults/ with ``big.bin`` (CONTENT) and ``small.json``, written directly."""
    with fast_client(cluster.url, cluster.key) as client:
        client.delete(data_path("data://.my/faults"), params={"force": "true"}, missing_ok=True)
        client.post_json("/v1/connector/data/{0}", cluster.user, body={"name": "faults"})
        client.upload(data_path("data://.my/faults/big.bin"), chunks=pieces())
        client.upload(data_path("data://.my/faults/small.json"), chunks=[b'{"files": {}}' * 2000])
    return "data://{0}/faults".format(cluster.user)


# ---- downloads that break mid-body ------------------------------------------------------------


@pytest.mark.parametrize("ranges", [True, False], ids=["range-request", "read-again-and-skip"])
def test_a_hash_survives_a_download_broken_mid_body(cluster, stored, proxy, ranges):
    via = proxy(ranges=ranges)
    path = data_path(stored + "/big.bin")
    via.add("reset_answer", "GET", path, after_bytes=MB + 12345)
    with fast_client(via.url, cluster.key) as client:
        digest, size = sha256_of(DataFiles(client, "source"), stored + "/big.bin")
    assert (digest, size) == (DIGEST, len(CONTENT))
    first, second = via.requests("GET", path)
    assert "range" not in first[2]
    if ranges:
        assert second[2]["range"] == "bytes={0}-".format(MB)  # what the consumer had whole chunks of
        assert second[2]["if-range"]
    else:
        assert "range" not in second[2]


def test_reading_a_small_file_survives_a_broken_answer(cluster, stored, proxy):
    via = proxy()
    via.add("reset_answer", "GET", data_path(stored + "/small.json"), after_bytes=1000)
    with fast_client(via.url, cluster.key) as client:
        assert DataFiles(client, "destination").read_small(stored + "/small.json") == b'{"files": {}}' * 2000


def test_a_download_that_breaks_too_often_says_how_much_arrived_and_how_often(cluster, stored, proxy):
    via = proxy()
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=MB + 10)
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=10, times=5)
    with fast_client(via.url, cluster.key, retries=2) as client:
        stream = DataFiles(client, "source").download(stored + "/big.bin")
        with pytest.raises(ClusterConnectionError) as caught:
            for _chunk in stream:
                pass
    assert caught.value.failure == "broken-answer"
    assert "the connection was reset after {0} bytes of the answer".format(MB) in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert len(via.requests("GET")) == 3


def test_a_download_that_is_not_safe_to_repeat_is_not_resumed(cluster, stored, proxy):
    via = proxy()
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=MB + 10)
    with fast_client(via.url, cluster.key) as client:
        stream = client.download(data_path(stored + "/big.bin"), retry=False)
        with pytest.raises(ClusterConnectionError) as caught:
            b"".join(stream)
    assert "not repeated" in str(caught.value) and len(via.requests("GET")) == 1


def test_a_download_feeding_an_upload_resumes_unseen_by_the_upload(cluster, stored, proxy):
    via = proxy()
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=2 * MB + 99)
    plan = {"source": stored + "/big.bin", "destination": stored + "/resumed.bin"}
    with fast_client(via.url, cluster.key) as source, fast_client(cluster.url, cluster.key) as destination:
        sent = copy_file(DataFiles(source, "source"), DataFiles(destination, "destination"), plan,
                         len(CONTENT), sha256=True)
        assert (sent.hexdigest(), sent.size, sent.attempts) == (DIGEST, len(CONTENT), 1)
        assert sha256_of(DataFiles(destination, "destination"), plan["destination"])[0] == DIGEST
    assert logged(cluster, "PUT", data_path(plan["destination"])) == [200]


def test_a_download_that_cannot_be_resumed_makes_the_copy_start_again(cluster, stored, proxy):
    # Sent without a length, the broken answer cannot be resumed: the upload fails and is repeated
    # whole from a fresh download. The cluster never lists the half-written attempt.
    via = proxy()
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=MB + 99, chunked=True)
    plan = {"source": stored + "/big.bin", "destination": stored + "/restarted.bin"}
    with fast_client(via.url, cluster.key) as source, fast_client(cluster.url, cluster.key) as destination:
        sent = copy_file(DataFiles(source, "source"), DataFiles(destination, "destination"), plan,
                         len(CONTENT), sha256=True)
        assert (sent.hexdigest(), sent.size, sent.attempts) == (DIGEST, len(CONTENT), 2)
        assert sha256_of(DataFiles(destination, "destination"), plan["destination"]) == (DIGEST, len(CONTENT))
    assert len(via.requests("GET", data_path(plan["source"]))) == 2
    assert logged(cluster, "PUT", data_path(plan["destination"]))[-1] == 200


# ---- a copy from or to a stuck cluster: its stall timeout ends it -------------------------------

# A hang far longer than any test: the route answers nothing while the test runs.
HANG_MS = 600000


@pytest.mark.parametrize("stuck", ["source", "destination"])
def test_a_copy_ends_when_no_byte_has_moved_for_its_stall_timeout(cluster, stored, faults, stuck):
    """The source answers nothing to the download, or the destination takes the upload into its buffers and
    never answers: the copy's attempts go on until no byte has moved for its stall timeout (3 s here, each
    attempt waiting 1 s), not for the five attempts of a read; sending again what was sent is no progress."""
    plan = {"source": stored + "/big.bin", "destination": stored + "/stuck-{0}.bin".format(stuck)}
    hanging = plan["source"] if stuck == "source" else plan["destination"]
    faults({"kind": "latency", "latency_ms": HANG_MS, "path_prefix": str(data_path(hanging)),
            "methods": ["GET"] if stuck == "source" else ["PUT"]})
    with fast_client(cluster.url, cluster.key, timeout=1, retries=8) as client:
        began = time.monotonic()
        with pytest.raises(ClusterConnectionError) as caught:
            copy_file(DataFiles(client, "source"), DataFiles(client, "destination"), plan, len(CONTENT),
                      stall_timeout=3)
        seconds = time.monotonic() - began
    assert "stuck: no byte moved in 3 s" in str(caught.value), caught.value
    assert 2 <= caught.value.attempts <= 5, caught.value
    assert seconds < 3 + 1 + 10  # the stall timeout, the attempt under way, and a generous margin
    print("a copy whose {0} is stuck ended after {1:.1f} s and {2} attempts".format(stuck, seconds, caught.value.attempts))


# ---- uploads, over TLS ------------------------------------------------------------------------


def test_a_tls_upload_reset_mid_body_is_repeated_whole(cluster, stored, proxy, authority):
    via = proxy(tls=authority.server_context)
    path = data_path(stored + "/tls-upload.bin")
    via.add("reset_request", "PUT", path, after_bytes=256 * 1024)
    bodies = []

    def fresh():
        bodies.append(1)
        return pieces()

    with fast_client(via.url, cluster.key, ca_cert=authority.pem) as client:
        client.upload(path, chunks=fresh, retry=True)
        assert sha256_of(DataFiles(client, "destination"), stored + "/tls-upload.bin")[0] == DIGEST
    assert len(bodies) == 2 and len(via.requests("PUT", path)) == 2
    assert logged(cluster, "PUT", path) == [200]  # the broken attempt never reached the cluster


def test_a_tls_reset_after_the_handshake_is_a_connection_error_not_a_tls_error(cluster, stored, proxy, authority):
    via = proxy(tls=authority.server_context)
    path = data_path(stored + "/tls-once.bin")
    via.add("reset_request", "PUT", path, after_bytes=256 * 1024)
    with fast_client(via.url, cluster.key, ca_cert=authority.pem) as client:
        with pytest.raises(ClusterConnectionError) as caught:
            client.upload(path, chunks=pieces(), retry=False)
    error = caught.value
    assert not isinstance(error, TLSError) and error.failure == "reset"
    assert "bytes of the request were sent" in str(error) and "not repeated" in str(error)
    assert "ca_cert" not in str(error)


def test_a_tls_download_reset_mid_body_resumes(cluster, stored, proxy, authority):
    via = proxy(tls=authority.server_context)
    via.add("reset_answer", "GET", data_path(stored + "/big.bin"), after_bytes=MB + 5)
    with fast_client(via.url, cluster.key, ca_cert=authority.pem) as client:
        stream = client.download(data_path(stored + "/big.bin"))
        assert hashlib.sha256(b"".join(stream)).hexdigest() == DIGEST
    assert stream.restarts == 1


# ---- TLS handshakes are never repeated --------------------------------------------------------


def test_a_handshake_with_an_unknown_ca_is_tried_once_and_says_to_set_ca_cert(cluster, proxy, authority):
    from tests.integration.client.conftest import Authority

    via = proxy(tls=authority.server_context)
    started = time.monotonic()
    with fast_client(via.url, cluster.key, ca_cert=Authority().pem, backoff_factor=1) as client:
        with pytest.raises(TLSError) as caught:
            client.get_json("/v1/connector/data/{0}", cluster.user, action="list collections")
    assert time.monotonic() - started < 1  # no backoff: not repeated
    for _wait in range(50):  # the proxy's side of the handshake ends a moment after the client's
        if via.handshake_failures:
            break
        time.sleep(0.02)
    assert via.connections == 1 and via.handshake_failures == 1 and not via.seen
    text = str(caught.value)
    assert caught.value.failure == "tls-handshake" and (caught.value.attempts or 1) == 1
    assert "the TLS handshake with 127.0.0.1:" in text and "certificate verify failed" in text
    assert "attempts" not in text.split("Fix:", maxsplit=1)[0]
    assert "Fix: set ca_cert" in text


def test_a_certificate_for_another_host_name_fails_the_handshake_once(cluster, proxy):
    from tests.integration.client.conftest import Authority

    elsewhere = Authority(names=("cluster.example",))
    via = proxy(tls=elsewhere.server_context)
    with fast_client(via.url, cluster.key, ca_cert=elsewhere.pem) as client:
        with pytest.raises(TLSError) as caught:
            client.get_json("/v1/connector/data/{0}", cluster.user)
    assert "certificate verify failed: IP address mismatch" in str(caught.value)
    assert caught.value.certificate and (caught.value.attempts or 1) == 1 and via.connections == 1


def test_the_cluster_ca_given_for_a_localcluster_with_tls_is_trusted_and_another_is_not(tls_cluster):
    from tests.integration.client.conftest import Authority

    with fast_client(tls_cluster.url, tls_cluster.user_key, ca_cert=tls_cluster.ca_cert) as client:
        assert isinstance(client.get_json("/v1/connector/data/{0}", "tlsuser"), dict)
    with fast_client(tls_cluster.url, tls_cluster.user_key, ca_cert=Authority().pem, backoff_factor=1) as client:
        started = time.monotonic()
        with pytest.raises(TLSError) as caught:
            client.get_json("/v1/connector/data/{0}", "tlsuser")
    assert time.monotonic() - started < 1 and (caught.value.attempts or 1) == 1
    assert "Fix: set ca_cert" in str(caught.value)


def test_https_to_a_plain_http_port_is_a_protocol_failure(cluster):
    with fast_client(cluster.url.replace("http://", "https://"), cluster.key) as client:
        with pytest.raises(TLSError) as caught:
            client.get_json("/v1/connector/data/{0}", cluster.user)
    assert not caught.value.certificate and "Fix: check the scheme of api_address" in str(caught.value)


# ---- statuses, Retry-After, and the calls sent once -------------------------------------------


def test_retry_after_is_honoured(cluster, proxy):
    via = proxy()
    via.add("status", "GET", "/v1/connector/data/", status=429, headers={"Retry-After": "1"})
    with fast_client(via.url, cluster.key) as client:
        started = time.monotonic()
        assert isinstance(client.get_json("/v1/connector/data/{0}", cluster.user), dict)
    assert time.monotonic() - started >= 1
    assert len(via.requests("GET")) == 2


def test_a_dropped_answer_is_repeated_for_a_whole_file_put(cluster, stored, faults):
    path = data_path(stored + "/dropped.bin")
    faults({"kind": "drop", "path_prefix": path, "methods": ["PUT"], "times": 1})
    with fast_client(cluster.url, cluster.key) as client:
        client.upload(path, chunks=lambda: [b"x" * 5000], retry=True)
        assert b"".join(client.download(path)) == b"x" * 5000
    statuses = logged(cluster, "PUT", path, at_least=2)
    assert len(statuses) == 2 and statuses[-1] == 200  # the dropped attempt, then the one stored


def test_creating_a_collection_survives_a_dropped_answer_and_a_lost_reply(cluster, faults, proxy):
    root = "/v1/connector/data/" + cluster.user
    faults({"kind": "drop", "path_prefix": root, "methods": ["POST"], "times": 1})
    via = proxy()
    via.add("lost_reply", "POST", root)
    with fast_client(via.url, cluster.key) as client:
        files = DataFiles(client, "destination")
        for name in ("made_after_a_drop", "made_after_a_lost_reply"):
            client.delete(data_path("data://.my/" + name), missing_ok=True, retry=True)
            files.create_collection(cluster.user, name)
            assert files.listing("data://.my/" + name) == {}


def test_a_delete_whose_reply_was_lost_reports_the_deletion(cluster, stored, proxy):
    path = data_path(stored + "/to-delete.bin")
    with fast_client(cluster.url, cluster.key) as direct:
        direct.upload(path, chunks=[b"gone soon"])
    via = proxy()
    via.add("lost_reply", "DELETE", path)
    with fast_client(via.url, cluster.key) as client:
        assert DataFiles(client, "destination").delete(stored + "/to-delete.bin") is True
        assert DataFiles(client, "destination").delete(stored + "/to-delete.bin") is False
    assert logged(cluster, "DELETE", path) == [204, 404, 404] or logged(cluster, "DELETE", path)[1:] == [404, 404]


def test_exhausted_retries_name_the_status_and_the_attempts(cluster, faults):
    faults({"kind": "error", "status": 503, "path_prefix": "/v1/connector", "methods": ["GET"], "times": 3})
    with fast_client(cluster.url, cluster.key, retries=2) as client:
        with pytest.raises(ServerError) as caught:
            client.get_json("/v1/connector/data/{0}", cluster.user, action="list collections")
    assert "503 Service Unavailable" in str(caught.value) and "after 3 attempts" in str(caught.value)
    assert caught.value.as_dict()["attempts"] == 3


def test_a_drop_of_localcluster_before_any_byte_restarts_the_download(cluster, stored, faults):
    path = data_path(stored + "/big.bin")
    before = len(logged(cluster, "GET", path))
    faults({"kind": "drop", "path_prefix": path, "methods": ["GET"], "times": 1})
    with fast_client(cluster.url, cluster.key) as client:
        assert sha256_of(DataFiles(client, "source"), stored + "/big.bin") == (DIGEST, len(CONTENT))
    statuses = logged(cluster, "GET", path, at_least=before + 2)[before:]
    assert len(statuses) == 2 and statuses[-1] == 200  # the dropped attempt, then the whole file


def test_the_sync_task_survives_a_read_back_broken_mid_body(cluster, stored, proxy):
    # algo_data_sync as Ansible runs it: the destination is reached through the proxy, whose
    # first GET of the copy (the read-back of verify: full) breaks after 1 MiB.
    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.algorithmia.testbench.plugins.modules import algo_data_sync

    via = proxy()
    copy = data_path("data://{0}/ReadBack/big.bin".format(cluster.user))
    via.add("reset_answer", "GET", copy, after_bytes=MB + 77)
    args = {"api_address": via.url, "api_key": cluster.key, "source_api_address": cluster.url,
            "source_api_key": cluster.key, "algorithm": "ReadBack", "files": [stored + "/big.bin"],
            "verify": "full"}
    with contextlib.redirect_stdout(io.StringIO()) as out, patch_module_args(args):
        with pytest.raises(SystemExit):
            algo_data_sync.main()
    result = json.loads(out.getvalue())
    assert not result.get("failed"), result.get("msg")
    (copied,) = result["files"]
    assert copied["action"] == "copied" and copied["sha256"] == DIGEST
    assert len(via.requests("GET", copy)) == 2  # the read-back, resumed once
