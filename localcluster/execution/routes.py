"""``POST /v1/algo/<owner>/<name>[/<version>]``: the HTTP side of a call.

Status codes follow the official client rather than the docs' silence: ``pipe()`` only reads an
error envelope (message, ``error_type``, stack trace) from a 2xx answer, so an algorithm's failure
(its exception, a failed ``load()``, a timeout, a crashed worker) is a 200 carrying ``error``,
which the client raises as ``AlgorithmException`` with its ``error_type``. With ``output=raw`` the
client turns 400 into ``ApiError`` and 500 into ``ApiInternalError`` and would return any 200 body
as the result, so raw failures are 400 (the algorithm's error) or 500 (timeout, crash).
Refusals before the algorithm runs (key, access, unknown version, bad parameters) keep their own
4xx codes in every mode, but one: a git hash still building answers as an algorithm's failure does
(200 with ``error``, 400 raw), since the caller is meant to read the message and call again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from localcluster.db import MISS
from localcluster.errors import ApiError, BadRequest, VersionBuilding, error_response
from localcluster.execution.backend import DEFAULT_TIMEOUT, MAX_TIMEOUT, Call, ExecutionBackend, Outcome
from localcluster.users.auth import key_from_authorization, refusal, require_admin
from localcluster.users.backend import Caller, UserBackend

router = APIRouter()

PREFIX = "/v1/algo/"

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # "The maximum request size for an algorithm invocation is 10MiB."
INPUT_TYPES = {"application/json": "json", "text/plain": "text", "application/text": "text",
               "application/octet-stream": "binary"}
RAW_MEDIA_TYPES = {"text": "text/plain; charset=utf-8", "json": "application/json",
                   "binary": "application/octet-stream"}


async def execution_backend(request: Request) -> ExecutionBackend:
    return request.app.state.execution


class Options:
    def __init__(self, timeout: float, stdout: bool, output: str | None) -> None:
        self.timeout, self.stdout, self.output = timeout, stdout, output


DEFAULT_OPTIONS = Options(DEFAULT_TIMEOUT, False, None)


def _options(request: Request) -> Options:
    if not request.scope.get("query_string"):
        return DEFAULT_OPTIONS  # the usual call: nothing to parse
    query = request.query_params
    try:
        timeout = float(query.get("timeout") or DEFAULT_TIMEOUT)
    except ValueError:
        raise BadRequest(f"Invalid timeout {query.get('timeout')!r}: give a number of seconds.") from None
    if math.isnan(timeout) or timeout <= 0:  # NaN compares false both ways: reject it by name
        raise BadRequest("Invalid timeout: it must be more than 0 seconds.")
    output = query.get("output") or None
    if output not in (None, "default", "raw", "void"):
        raise BadRequest(f"Invalid output {output!r}: use raw or void.")
    stdout = (query.get("stdout") or "false").lower() in ("true", "1", "yes")
    return Options(min(timeout, MAX_TIMEOUT), stdout, None if output == "default" else output)


def _accept(request: Request, parts: list[str], users: UserBackend, execution: ExecutionBackend, *,
            cached_only: bool) -> tuple[Call, Options] | None:
    """Auth, options, version resolution and the session key, in the order of their refusals.

    ``cached_only`` (on the event loop): from memory, None when the key or the version is not
    cached; then the same again in the thread pool, which may query the database."""
    key = key_from_authorization(request.headers.get("authorization"))
    caller = None if key is None else users.authenticate(key, cached_only=cached_only)
    if caller is MISS:
        return None
    if caller is None:
        raise refusal(request)
    request.state.caller = caller  # for the request log
    options = _options(request)
    if len(parts) == 1:  # "Invoke an algorithm by UUID": /v1/algo/<id>[/<version>]
        owner, name, version = None, parts[0], None
    elif len(parts) == 2 and _is_uuid(parts[0]):
        owner, name, version = None, parts[0], parts[1]
    else:
        owner, name, version = parts[0], parts[1], parts[2] if len(parts) == 3 else None
    call = execution.accept(caller, owner, name, version, options.timeout, cached_only=cached_only)
    return None if call is None else (call, options)


def _is_uuid(text: str) -> bool:
    # Usernames never contain '-', so a UUID there can only be an algorithm id.
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return "-" in text


def _input_type(request: Request, body: bytes) -> str:
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime in INPUT_TYPES:
        return INPUT_TYPES[mime]
    if mime.startswith("text/"):
        return "text"
    if mime.endswith("+json"):
        return "json"
    try:  # no usable Content-Type: text if it decodes, else bytes
        body.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary"


async def invoke_algorithm(request: Request, parts: list[str], users: UserBackend,
                           execution: ExecutionBackend) -> Response:
    """One call, ``parts`` being the path after /v1/algo/ (one to three segments)."""
    delay_ms = execution.settings.call_delay_ms
    if delay_ms:
        # A platform made slower (LOCALCLUSTER_CALL_DELAY_MS): the wait comes before the call is
        # accepted, so it is in the latency the client measures (and in the request log's
        # duration) but not in metadata.duration, which stays the worker's own time for apply():
        # a test tells a slower cluster (latency up, duration as before) from a slower algorithm
        # (both up). Nor does it count against the call's timeout or hold a worker or a session
        # key meanwhile. Refusals wait too: every answer on the call path comes that much later.
        await asyncio.sleep(delay_ms / 1000)
    try:
        with users.db.one_version():  # both caches, one look at the database's version
            accepted = _accept(request, parts, users, execution, cached_only=True)
        if accepted is None:
            accepted = await run_in_threadpool(_accept, request, parts, users, execution, cached_only=False)
    except VersionBuilding as err:
        # As an algorithm's own failure: a 200 the client reads the message of, 400 in raw mode
        # (where the client raises ApiError with the body's text): either way the caller sees the
        # version hash and that it is building.
        err.status_code = 400 if request.query_params.get("output") == "raw" else 200
        return error_response(err)
    except ApiError as err:
        return error_response(err)
    call, options = accepted
    try:
        if int(request.headers.get("content-length") or 0) > MAX_REQUEST_BYTES:
            raise ApiError("The maximum request size for an algorithm invocation is 10MiB.", status_code=413)
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            raise ApiError("The maximum request size for an algorithm invocation is 10MiB.", status_code=413)
        content_type = _input_type(request, body)
    except ApiError as err:
        execution.finish(call)
        return error_response(err)
    except BaseException:
        execution.finish(call)
        raise
    if options.output == "void":
        execution.start_void(call, content_type, body)
        # What the client's AsyncResponse reads ("async", "request_id"); async_protocol for pipe().
        return JSONResponse({"async": "void", "async_protocol": "void", "request_id": call.request_id})
    try:
        outcome = await execution.run(call, content_type, body, options.stdout)
    finally:
        execution.finish(call)
    if options.output == "raw":
        return _raw_response(outcome)
    return _envelope_response(outcome, call)


class CallRoute:
    """The call path, matched before FastAPI's routing (pure ASGI, inside the request log's and the
    fault hooks' middlewares, so both see every call as before).

    A call is the one request that is made thousands of times a second: it skips the route table
    and FastAPI's dependency machinery, and, warm, every thread hop (docs/localcluster.md, "The
    warm call path"). Anything else, a GET on a call path too, goes on to the app, where the
    same paths are declared (``router``) and answer 405 for other methods, as before.
    """

    def __init__(self, app, users: UserBackend, execution: ExecutionBackend) -> None:
        self.app = app
        self.users = users
        self.execution = execution

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(PREFIX):
            parts = scope["path"][len(PREFIX):].split("/")
            if len(parts) <= 3 and all(parts):  # what {user}/{algo}/{version} match, no more
                response = await invoke_algorithm(Request(scope, receive), parts, self.users, self.execution)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _invoke_routed(request: Request) -> Response:
    """The same call, reached through the route table (an app without ``CallRoute`` in front)."""
    state = request.app.state
    return await invoke_algorithm(request, list(request.path_params.values()), state.users, state.execution)


router.add_route("/v1/algo/{algo_id}", _invoke_routed, methods=["POST"], include_in_schema=False)
router.add_route("/v1/algo/{user}/{algo}", _invoke_routed, methods=["POST"], include_in_schema=False)
router.add_route("/v1/algo/{user}/{algo}/{version}", _invoke_routed, methods=["POST"], include_in_schema=False)


def _envelope_response(outcome: Outcome, call: Call) -> Response:
    metadata: dict = {"content_type": outcome.content_type, "duration": outcome.duration,
                      "request_id": call.request_id}
    if outcome.stdout is not None:
        metadata["stdout"] = outcome.stdout
    if not outcome.ok:
        error = dict(outcome.error or {})
        if "stacktrace" in error:
            error["stack_trace"] = error["stacktrace"]  # the docs' name, and the client's
        metadata.pop("content_type")
        return JSONResponse({"error": error, "metadata": metadata, "request_id": call.request_id})
    # The worker's JSON text goes in as it is: no decode and re-encode on the hot path.
    if outcome.content_type == "json":
        result = outcome.result
    elif outcome.content_type == "text":
        result = json.dumps(outcome.result.decode("utf-8")).encode("utf-8")
    else:
        result = b'"' + base64.b64encode(outcome.result) + b'"'
    # request_id twice: at the top, where the docs' invocation result has it, and in metadata,
    # where clusters have also answered it.
    content = (b'{"result":' + result + b',"metadata":' + json.dumps(metadata).encode("utf-8")
               + b',"request_id":"' + call.request_id.encode("ascii") + b'"}')
    return Response(content, media_type="application/json")


def _raw_response(outcome: Outcome) -> Response:
    if outcome.ok:
        return Response(outcome.result, media_type=RAW_MEDIA_TYPES[outcome.content_type])
    status = 400 if outcome.failure in ("algorithm", "input") else 500
    return JSONResponse({"error": outcome.error}, status_code=status)


# -- for tests and operators ---------------------------------------------------------------------

@router.get("/localcluster/workers")
async def worker_stats(_caller: Caller = Depends(require_admin),
                       execution: ExecutionBackend = Depends(execution_backend)) -> dict:
    """Admin-only: live workers per build (count, idle, pids)."""
    return execution.pool.stats()
