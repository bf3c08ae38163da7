"""The request log middleware in-process: the line of a request is written before the last
byte of its response is sent, so a client that has a whole response finds its line."""

from __future__ import annotations

import asyncio

import pytest

from localcluster.requestlog import RequestLog, RequestLogMiddleware, read_request_log


def _scope(path: str) -> dict:
    return {"type": "http", "method": "DELETE", "path": path, "query_string": b"key=secret", "headers": []}


async def _streaming_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b"a", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _failing_app(scope, receive, send):
    raise RuntimeError("no response at all")


async def _receive():
    return {"type": "http.request", "body": b"", "more_body": False}


def test_the_line_is_written_before_the_response_ends(tmp_path):
    log = RequestLog(tmp_path / "requests.log")
    seen_at_end = []

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            seen_at_end.extend(read_request_log(tmp_path))

    asyncio.run(RequestLogMiddleware(_streaming_app, log)(_scope("/v1/data/alice/c/f"), _receive, send))
    log.close()
    assert [(e["method"], e["path"], e["status"]) for e in seen_at_end] == [("DELETE", "/v1/data/alice/c/f", 204)]
    assert len(read_request_log(tmp_path)) == 1  # once, not again when the app returns
    assert "secret" not in (tmp_path / "requests.log").read_text()


def test_a_request_without_a_response_is_logged_as_500(tmp_path):
    log = RequestLog(tmp_path / "requests.log")

    async def send(message):
        raise AssertionError("nothing is sent")

    with pytest.raises(RuntimeError):
        asyncio.run(RequestLogMiddleware(_failing_app, log)(_scope("/v1/algo/alice/x"), _receive, send))
    log.close()
    assert [(e["path"], e["status"]) for e in read_request_log(tmp_path)] == [("/v1/algo/alice/x", 500)]
