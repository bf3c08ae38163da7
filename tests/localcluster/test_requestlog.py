"""The request log middleware in-process: the line of a request is written before the last
byte of its response is sent, so a client that has a whole response finds its line; a client
that left mid-upload, or whose request the stopping server cancelled, is logged without a status;
only an injected error excuses a 500."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from localcluster.requestlog import RequestLog, RequestLogMiddleware, read_request_log, server_errors


def _scope(path: str) -> dict:
    return {"type": "http", "method": "DELETE", "path": path, "query_string": b"key=secret", "headers": []}


async def _streaming_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b"a", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _failing_app(scope, receive, send):
    raise RuntimeError("no response at all")


async def _uploading_app(scope, receive, send):
    await Request(scope, receive).body()  # Starlette raises ClientDisconnect when the client is gone
    raise AssertionError("the body never arrives")


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
    assert server_errors(read_request_log(tmp_path)) == read_request_log(tmp_path)  # a bug: the suite fails on it


def test_a_client_that_left_mid_upload_is_logged_without_a_status(tmp_path):
    log = RequestLog(tmp_path / "requests.log")
    parts = iter([{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}])

    async def receive():
        return next(parts)

    async def send(message):
        raise AssertionError("nobody is left to answer")

    asyncio.run(RequestLogMiddleware(_uploading_app, log)(_scope("/v1/data/alice/c/f"), receive, send))
    log.close()
    assert [(e["path"], e["status"]) for e in read_request_log(tmp_path)] == [("/v1/data/alice/c/f", None)]
    assert server_errors(read_request_log(tmp_path)) == []


def test_a_request_the_stopping_server_cancelled_is_logged_without_a_status(tmp_path):
    """uvicorn cancels what outlives its graceful shutdown (a call held by a latency fault): the
    connection closes unanswered, which is no 500."""
    log = RequestLog(tmp_path / "requests.log")

    async def held(scope, receive, send):
        await asyncio.sleep(600)

    async def send(message):
        raise AssertionError("nothing is sent")

    async def stop_while_it_runs():
        task = asyncio.ensure_future(RequestLogMiddleware(held, log)(_scope("/v1/algo/alice/x"), _receive, send))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_while_it_runs())
    log.close()
    assert [(e["path"], e["status"]) for e in read_request_log(tmp_path)] == [("/v1/algo/alice/x", None)]
    assert server_errors(read_request_log(tmp_path)) == []


def test_only_an_injected_error_excuses_a_500():
    lines = [{"status": 500, "fault": "error"}, {"status": 500, "fault": "lost_reply"}, {"status": 500, "fault": "latency"},
             {"status": 500}, {"status": None, "fault": "drop"}, {"status": 503}]
    assert server_errors(lines) == lines[1:4]
