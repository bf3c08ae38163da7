"""The benchmark wire's HTTP/1.1 framing (call_wire.read_answer, prepare_request), over socket pairs."""

from __future__ import annotations

import http.client
import socket

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.call_wire import (
    HeadReceived,
    prepare_request,
    read_answer,
)


def answer_of(*pieces, close=True):
    """What ``read_answer`` makes of the bytes a server sends in ``pieces`` (then closes, if ``close``)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(5)
        for piece in pieces:
            theirs.sendall(piece)
        if close:
            theirs.shutdown(socket.SHUT_WR)
        return read_answer(ours)


def test_a_content_length_answer_is_read_to_its_length_and_keeps_the_connection():
    status, reason, headers, body, keep_alive = answer_of(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n", b'{"result": 1}',
        close=False)
    assert (status, reason, body, keep_alive) == (200, "OK", b'{"result": 1}', True)
    assert ("Content-Type", "application/json") in headers


def test_an_answer_in_several_reads_is_put_together():
    body = b"x" * 200_000
    status, _reason, _headers, read, keep_alive = answer_of(
        b"HTTP/1.1 200 OK\r\nContent-", b"Length: 200000\r\n", b"\r\n", body[:1000], body[1000:], close=False)
    assert (status, read, keep_alive) == (200, body, True)


def test_a_chunked_answer_is_decoded_with_extensions_and_trailers():
    status, _reason, _headers, body, keep_alive = answer_of(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5;name=value\r\nhello\r\n", b"1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n", close=False)
    assert (status, body, keep_alive) == (200, b"hello world!", True)


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
])
def test_an_answer_that_ends_the_connection_is_not_kept(head):
    assert answer_of(head, b"ok")[3:] == (b"ok", False)


def test_without_a_length_the_body_runs_to_the_end_of_the_connection():
    assert answer_of(b"HTTP/1.1 200 OK\r\n\r\n", b"all ", b"of it")[3:] == (b"all of it", False)


def test_bytes_after_the_answer_mean_the_connection_is_not_reused():
    assert answer_of(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n", close=False)[3:] == (b"", False)


def test_an_error_status_comes_back_with_its_body():
    status, reason, _headers, body, _keep = answer_of(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 26\r\n\r\n", b'{"error": {"message": "x"}}'[:26],
        close=False)
    assert (status, reason, len(body)) == (503, "Service Unavailable", 26)


def test_no_answer_at_all_is_a_remote_disconnect():
    with pytest.raises(http.client.RemoteDisconnected):
        answer_of()


def test_a_body_cut_short_fails_after_the_head():
    with pytest.raises(HeadReceived) as raised:
        answer_of(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"short")
    assert isinstance(raised.value.cause, http.client.IncompleteRead)


def test_a_compressed_answer_is_refused_as_not_asked_for():
    with pytest.raises(HeadReceived, match="Content-Encoding 'gzip'"):
        answer_of(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")


def test_a_garbled_status_line_is_refused():
    with pytest.raises(http.client.BadStatusLine):
        answer_of(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_the_request_carries_the_target_host_headers_and_length_once():
    request = prepare_request("POST", "https://api.example.com:8443/v1/algo/a/b/1.0.0", {"timeout": 60},
                              {"Authorization": "Simple k", "Accept-Encoding": "gzip", "Connection": "keep-alive",
                               "Content-Type": "application/json"}, b'{"x": 1}')
    head, _sep, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/algo/a/b/1.0.0?timeout=60 HTTP/1.1"
    assert sorted(lines[1:]) == sorted(["Host: api.example.com:8443", "Authorization: Simple k",
                                        "Content-Type: application/json", "Accept-Encoding: identity",
                                        "Content-Length: 8"])
    assert body == b'{"x": 1}'
