"""The client's pure parts: URLs and quoting, CA handling, error text, retry policy.

Calls against a real server are in tests/integration/client/.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import requests

from ansible_collections.algorithmia.testbench.plugins.module_utils import client as client_module
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import (
    AlgorithmiaClient,
    parse_error_body,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    AuthError,
    ClientConfigError,
    ClusterError,
    Conflict,
    NotFound,
    ServerError,
    TooManyRequests,
    error_class_for_status,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import data_path
from ansible_collections.algorithmia.testbench.plugins.module_utils.tls import CACertificate
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import (
    UriError,
    normalise_api_address,
    quote_path,
    split_data_uri,
)

KEY = "simA1b2C3d4SECRETkey"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUX\n-----END CERTIFICATE-----\n"


@pytest.fixture
def client():
    with AlgorithmiaClient("https://api.example.com/", KEY) as made:
        yield made


def fake_response(status, body, reason="Error"):
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()  # pylint: disable=protected-access
    response.url = "https://api.example.com/v1/x"
    return response


# ---- URLs -----------------------------------------------------------------------------------

def test_url_quotes_every_argument_as_one_segment(client):
    assert client.url("/v1/algorithms/{0}/{1}", "alice", "hello world") == \
        "https://api.example.com/v1/algorithms/alice/hello%20world"
    assert client.url("/v1/algorithms/{0}", "a/../b?x=1#f") == \
        "https://api.example.com/v1/algorithms/a%2F..%2Fb%3Fx%3D1%23f"


@pytest.mark.parametrize("segment", ["", ".", ".."])
def test_url_refuses_relative_segments(client, segment):
    with pytest.raises(UriError):
        client.url("/v1/algorithms/{0}", segment)


def test_url_keeps_a_quoted_path_as_is(client):
    assert client.url("{0}", data_path("data://.my/my coll/a+b.png")) == \
        "https://api.example.com/v1/connector/data/.my/my%20coll/a%2Bb.png"


def test_url_template_must_be_absolute(client):
    with pytest.raises(ValueError):
        client.url("v1/algorithms")


def test_data_uris():
    assert split_data_uri("data://.my/c/f.txt") == ("data", ".my/c/f.txt")
    assert split_data_uri("s3+test://bucket/x") == ("s3+test", "bucket/x")
    assert split_data_uri("alice/c/f.txt") == ("data", "alice/c/f.txt")
    assert data_path("s3+test://bucket/x y") == "/v1/connector/s3%2Btest/bucket/x%20y"
    assert quote_path("/a/b c/") == "a/b%20c"
    with pytest.raises(UriError):
        data_path("data://.my/../other/f")
    with pytest.raises(UriError):
        data_path("data://")
    with pytest.raises(UriError):
        split_data_uri("http ://x")


@pytest.mark.parametrize("given, expected", [
    ("https://api.example.com", "https://api.example.com"),
    ("https://api.example.com/", "https://api.example.com"),
    ("https://api.example.com/v1/", "https://api.example.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    (" https://host/prefix/ ", "https://host/prefix"),
])
def test_api_address_is_normalised(given, expected):
    assert normalise_api_address(given) == expected


@pytest.mark.parametrize("given, complaint", [
    ("api.example.com", "not an http(s) URL"),
    ("ftp://api.example.com", "not an http(s) URL"),
    ("https://user:pw@api.example.com", "must not contain credentials"),
    ("https://api.example.com?key=x", "must not have a query"),
    (None, "not an http(s) URL"),
])
def test_bad_api_addresses_are_refused_before_any_request(given, complaint):
    with pytest.raises(ClientConfigError) as caught:
        AlgorithmiaClient(given, KEY)
    assert complaint in str(caught.value)
    assert "Fix: set api_address" in str(caught.value)


# ---- the key ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, complaint", [
    ("", "api_key is empty"),
    (None, "api_key is empty"),
    (KEY + "\n", "contains spaces or line breaks"),
    ("two words", "contains spaces or line breaks"),
])
def test_unusable_keys_are_refused(key, complaint):
    with pytest.raises(ClientConfigError) as caught:
        AlgorithmiaClient("https://api.example.com", key)
    assert complaint in str(caught.value)
    if key:
        assert key.strip() not in str(caught.value)


def test_the_key_is_sent_as_simple_auth_and_shown_nowhere(client):
    prepared = requests.Request("GET", client.url("/v1/x")).prepare()
    auth = client._session.auth  # pylint: disable=protected-access
    auth(prepared)
    assert prepared.headers["Authorization"] == "Simple " + KEY
    assert KEY not in repr(auth)
    assert KEY not in repr(client)


def test_the_key_never_goes_into_a_url(client):
    with pytest.raises(ClientConfigError) as caught:
        client.request("GET", "/v1/algorithms/{0}", KEY)
    assert KEY not in str(caught.value)
    with pytest.raises(ClientConfigError):
        client.get_json("/v1/x", params={"api_key": KEY})


def test_server_messages_are_redacted_in_errors(client):
    response = fake_response(401, {"error": {"message": "Unknown key " + KEY, "code": 2002, "id": "e-1"}},
                             "Unauthorized")
    error = client._status_error("get algorithm alice/hello", response, None, False)  # pylint: disable=protected-access
    text = str(error)
    assert isinstance(error, AuthError)
    assert KEY not in text
    assert KEY not in json.dumps(error.as_dict())
    assert text.startswith("Failed to get algorithm alice/hello on cluster https://api.example.com: "
                           '401 Unauthorized, server said "Unknown key ********" (code 2002, error id e-1). '
                           "Fix: check api_key")


def test_call_specific_hints_replace_the_default(client):
    response = fake_response(404, {"error": {"message": "algorithm not found"}}, "Not Found")
    error = client._status_error("get algorithm alice/hello", response,  # pylint: disable=protected-access
                                 {404: "create it first with algorithmia.testbench.algo_create."}, False)
    assert isinstance(error, NotFound)
    assert str(error).endswith("Fix: create it first with algorithmia.testbench.algo_create.")


def test_error_bodies_in_every_envelope():
    assert parse_error_body(b'{"error": {"message": "m", "code": 1002, "id": "i"}}') == ("m", 1002, "i")
    assert parse_error_body(b'{"message": "m", "code": 5005, "id": "i"}') == ("m", 5005, "i")
    assert parse_error_body(b'{"error": "plain"}') == ("plain", None, None)
    assert parse_error_body(b'{"detail": "Not Found"}') == ("Not Found", None, None)
    assert parse_error_body(b"<html>\n<body>Bad   gateway</body></html>") == (
        "<html> <body>Bad gateway</body></html>", None, None)
    assert parse_error_body(b"") == (None, None, None)
    long_text, _code, _id = parse_error_body(b"x" * 1000)
    assert len(long_text) == 303


@pytest.mark.parametrize("status, error_class", [
    (400, "BadRequest"), (401, "AuthError"), (403, "AuthError"), (404, "NotFound"), (409, "Conflict"),
    (422, "BadRequest"), (429, "TooManyRequests"), (500, "ServerError"), (503, "ServerError"),
    (418, "BadRequest"),
])
def test_status_to_error_type(status, error_class):
    assert error_class_for_status(status).__name__ == error_class


def test_error_types_are_cluster_errors_with_their_own_hint():
    for error_class in (AuthError, Conflict, NotFound, ServerError, TooManyRequests):
        error = error_class("do it", "https://c", status=400)
        assert isinstance(error, ClusterError)
        assert "Fix: " in str(error)
    assert "permission" in str(AuthError("x", "c", status=403))
    assert "valid, unrevoked API key" in str(AuthError("x", "c", status=401))


# ---- CA certificates -------------------------------------------------------------------------------

def test_pem_text_goes_to_a_private_temporary_file():
    ca = CACertificate(PEM)
    path = ca.verify
    try:
        assert os.path.isfile(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, encoding="ascii") as stream:
            assert stream.read() == PEM
    finally:
        ca.close()
    assert not os.path.exists(path)
    ca.close()  # twice is harmless


def test_the_client_removes_its_ca_file_on_close():
    made = AlgorithmiaClient("https://api.example.com", KEY, ca_cert=PEM)
    path = made.verify
    assert os.path.isfile(path)
    made.close()
    assert not os.path.exists(path)


def test_a_ca_path_is_used_as_is(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(PEM)
    with CACertificate(str(ca_file)) as ca:
        assert ca.verify == str(ca_file)
        assert ca.temp_path is None


def test_a_missing_ca_path_says_what_to_give():
    with pytest.raises(ClientConfigError) as caught:
        CACertificate("/nonexistent/ca.pem", cluster="https://c")
    text = str(caught.value)
    assert "Failed to read ca_cert on cluster https://c: no file or directory '/nonexistent/ca.pem'" in text
    assert "Fix: give the path of a PEM file" in text


def test_truncated_pem_is_refused():
    with pytest.raises(ClientConfigError) as caught:
        CACertificate("-----BEGIN CERTIFICATE-----\nMIIB")
    assert "no END CERTIFICATE line" in str(caught.value)


def test_validate_certs_false_and_no_ca():
    assert CACertificate(PEM, validate_certs=False).verify is False
    assert CACertificate(None).verify is True
    assert CACertificate("  ").verify is True


# ---- timeouts and retries ------------------------------------------------------------------------

def test_timeouts_bound_connect_and_read(client):
    assert client._timeouts(None) == (60.0, 60.0)  # pylint: disable=protected-access
    assert client._timeouts(3000) == (60.0, 3000.0)  # pylint: disable=protected-access
    assert client._timeouts(5) == (5.0, 5.0)  # pylint: disable=protected-access


@pytest.mark.parametrize("timeout", [0, -1, "soon"])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(ClientConfigError) as caught:
        AlgorithmiaClient("https://api.example.com", KEY, timeout=timeout)
    assert "Fix: set timeout" in str(caught.value)


def test_urllib3_repeats_nothing_by_itself(client):
    # Every repeat is decided by the call's class (retries.py), in one loop with one deadline.
    adapter = client._session.get_adapter("https://api.example.com")  # pylint: disable=protected-access
    assert adapter.max_retries.total == 0
    assert client._session.verify is True  # pylint: disable=protected-access


def test_retry_options_make_the_policy():
    with AlgorithmiaClient("https://api.example.com", KEY, timeout=10, retries=2, backoff_factor=0.1,
                           backoff_max=3, retry_deadline=40) as made:
        policy = made.retry_policy
        assert (policy.retries, policy.backoff_factor, policy.backoff_max, policy.deadline) == (2, 0.1, 3, 40)
        assert made.attempts().seconds == 40
    with AlgorithmiaClient("https://api.example.com", KEY, timeout=10, retries=2) as made:
        assert made.attempts().seconds == 30  # (retries + 1) x the read timeout
        assert made.attempts(timeout=100).seconds == 300


@pytest.mark.parametrize("options", [{"retries": -1}, {"retries": 1.5}, {"retry_deadline": 0}])
def test_bad_retry_options_are_refused(options):
    with pytest.raises(ClientConfigError) as caught:
        AlgorithmiaClient("https://api.example.com", KEY, **options)
    assert "Fix: set retries" in str(caught.value)


def test_a_streamed_body_cannot_opt_in_to_request_retries(client):
    with pytest.raises(ValueError):
        client.request("PUT", "/v1/x", data=iter([b"x"]), retry=True)


def test_upload_retry_needs_a_fresh_body_each_time(client):
    with pytest.raises(ValueError):
        client.upload("/v1/connector/data/.my/c/f", chunks=iter([b"x"]), retry=True)


def test_without_requests_the_client_explains(monkeypatch):
    monkeypatch.setattr(client_module, "HAS_REQUESTS", False)
    with pytest.raises(ClientConfigError) as caught:
        AlgorithmiaClient("https://api.example.com", KEY)
    assert "requests is not installed" in str(caught.value)


def test_the_pool_grows_to_a_benchmarks_concurrency(client):
    """Above requests' default of 10 connections per host, calls in flight would each open and
    close a connection of their own, and a benchmark would measure that set-up as latency."""
    adapter = client._session.get_adapter("https://api.example.com")
    assert adapter._pool_maxsize == 10
    client.ensure_pool(32)
    grown = client._session.get_adapter("https://api.example.com")
    assert grown._pool_maxsize == 32 and client._session.get_adapter("http://x")._pool_maxsize == 32
    client.ensure_pool(4)  # never shrinks
    assert client._session.get_adapter("https://api.example.com") is grown
