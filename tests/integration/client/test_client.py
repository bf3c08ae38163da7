"""AlgorithmiaClient against a running localcluster: streaming, errors, TLS, retries, timeouts."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
import requests

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    AuthError,
    ClusterConnectionError,
    ClusterTimeout,
    NotFound,
    ServerError,
    TLSError,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import data_path

MB = 1024 * 1024


def chunks(count, size=MB):
    for index in range(count):
        yield bytes([index % 251]) * size


def set_faults(cluster, rules):
    response = requests.put(cluster.url + "/localcluster/faults", json={"rules": rules},
                            headers={"Authorization": "Simple " + cluster.admin_key}, timeout=10)
    response.raise_for_status()


@pytest.fixture
def client(cluster):
    with AlgorithmiaClient(cluster.url, cluster.key, timeout=10) as made:
        yield made
    set_faults(cluster, [])


@pytest.fixture
def collection(client, cluster):
    name = "client_test"
    client.delete(data_path("data://.my/" + name), params={"force": "true"}, missing_ok=True)
    client.post_json("/v1/connector/data/{0}", cluster.user, body={"name": name})
    return "data://.my/" + name


def test_streamed_upload_and_download_round_trip(client, collection):
    uri = collection + "/big file.bin"
    expected = hashlib.sha256(b"".join(chunks(6))).hexdigest()
    client.upload(data_path(uri), chunks=chunks(6))
    headers = client.head(data_path(uri))
    assert int(headers["Content-Length"]) == 6 * MB
    with client.download(data_path(uri), chunk_size=256 * 1024) as stream:
        digest = hashlib.sha256()
        largest = 0
        for chunk in stream:
            digest.update(chunk)
            largest = max(largest, len(chunk))
    assert digest.hexdigest() == expected
    assert stream.bytes_read == 6 * MB
    assert largest <= 256 * 1024


def test_a_download_can_feed_an_upload(client, collection):
    client.upload(data_path(collection + "/a.bin"), chunks=[b"abc" * 1000])
    source = client.download(data_path(collection + "/a.bin"))
    client.upload(data_path(collection + "/b.bin"), chunks=source)
    assert b"".join(client.download(data_path(collection + "/b.bin"))) == b"abc" * 1000


def test_retrying_upload_starts_again_from_a_fresh_body(client, cluster, collection):
    set_faults(cluster, [{"kind": "error", "status": 503, "path_prefix": "/v1/connector", "methods": ["PUT"],
                          "times": 2}])
    client.upload(data_path(collection + "/retried.bin"), chunks=lambda: chunks(2, 1000), retry=True)
    assert b"".join(client.download(data_path(collection + "/retried.bin"))) == b"".join(chunks(2, 1000))


def test_missing_things_are_not_found_with_the_call_and_the_cluster(client, collection):
    with pytest.raises(NotFound) as caught:
        client.get_json(data_path(collection + "/nothing.json"), action="read data file nothing.json")
    text = str(caught.value)
    assert text.startswith("Failed to read data file nothing.json on cluster {0}: 404".format(client.api_address))
    assert "Fix: check that the name or path exists" in text
    assert client.head(data_path(collection + "/nothing.json"), missing_ok=True) is None
    assert client.delete(data_path(collection + "/nothing.json"), missing_ok=True) is False


def test_a_wrong_key_is_an_auth_error_that_does_not_show_the_key(cluster):
    wrong = "wrongKEY" + "x" * 24
    with AlgorithmiaClient(cluster.url, wrong) as client:
        with pytest.raises(AuthError) as caught:
            client.get_json("/v1/connector/data/{0}", cluster.user, action="list collections")
    assert caught.value.status == 401
    assert wrong not in str(caught.value)
    assert "Fix: check api_key" in str(caught.value)


def test_tls_with_a_ca_path_and_with_pem_text(tls_cluster, monkeypatch):
    # A machine-wide bundle that does not hold the cluster's CA must not override ca_cert.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", requests.certs.where())
    pem = Path(tls_cluster.ca_cert).read_text()
    for ca_cert in (tls_cluster.ca_cert, pem):
        with AlgorithmiaClient(tls_cluster.url, tls_cluster.user_key, ca_cert=ca_cert) as client:
            assert isinstance(client.get_json("/v1/connector/data/{0}", "tlsuser"), dict)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_without_the_ca_says_to_set_ca_cert(tls_cluster):
    with AlgorithmiaClient(tls_cluster.url, tls_cluster.user_key, retries=0) as client:
        with pytest.raises(TLSError) as caught:
            client.get_json("/v1/connector/data/{0}", "tlsuser", action="list collections")
    assert "the TLS handshake with 127.0.0.1:" in str(caught.value)
    assert "certificate verify failed" in str(caught.value)
    assert "Fix: set ca_cert to the CA certificate" in str(caught.value)
    with AlgorithmiaClient(tls_cluster.url, tls_cluster.user_key, validate_certs=False) as client:
        assert isinstance(client.get_json("/v1/connector/data/{0}", "tlsuser"), dict)


def test_opted_in_calls_survive_transient_errors(client, cluster):
    set_faults(cluster, [{"kind": "error", "status": 503, "path_prefix": "/v1/connector", "times": 2}])
    assert isinstance(client.get_json("/v1/connector/data/{0}", cluster.user), dict)


def test_calls_that_did_not_opt_in_fail_at_once(client, cluster):
    set_faults(cluster, [{"kind": "error", "status": 503, "path_prefix": "/v1/connector", "times": 1}])
    with pytest.raises(ServerError) as caught:
        client.get_json("/v1/connector/data/{0}", cluster.user, retry=False, action="list collections")
    assert caught.value.status == 503
    assert isinstance(client.get_json("/v1/connector/data/{0}", cluster.user, retry=False), dict)


def test_exhausted_retries_report_the_attempts(cluster):
    set_faults(cluster, [{"kind": "error", "status": 503, "path_prefix": "/v1/connector", "times": 3}])
    try:
        with AlgorithmiaClient(cluster.url, cluster.key, retries=2, backoff_factor=0.01) as client:
            with pytest.raises(ServerError) as caught:
                client.get_json("/v1/connector/data/{0}", cluster.user, action="list collections")
        assert "after 3 attempts" in str(caught.value)
    finally:
        set_faults(cluster, [])


def test_dropped_connections_are_retried_when_opted_in(client, cluster):
    set_faults(cluster, [{"kind": "drop", "path_prefix": "/v1/connector", "methods": ["GET"], "times": 1}])
    assert isinstance(client.get_json("/v1/connector/data/{0}", cluster.user), dict)


def test_a_slow_answer_is_a_timeout(cluster):
    set_faults(cluster, [{"kind": "latency", "latency_ms": 1500, "path_prefix": "/v1/connector"}])
    try:
        with AlgorithmiaClient(cluster.url, cluster.key, timeout=0.3, retries=0) as client:
            with pytest.raises(ClusterTimeout) as caught:
                client.get_json("/v1/connector/data/{0}", cluster.user, action="list collections")
        assert "no answer within 0.3 s" in str(caught.value)
        assert "Fix: the cluster did not answer in time" in str(caught.value)
    finally:
        set_faults(cluster, [])


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with AlgorithmiaClient("http://127.0.0.1:{0}".format(port), "someKEY", retries=1,
                           backoff_factor=0.01) as client:
        with pytest.raises(ClusterConnectionError) as caught:
            client.get_json("/v1/connector/data/{0}", "x", action="list collections")
    assert caught.value.failure == "refused"
    assert "nothing accepts connections at 127.0.0.1:{0} (connection refused), after 2 attempts".format(port) in str(
        caught.value)
    assert "Fix: check api_address" in str(caught.value)
