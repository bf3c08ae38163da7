"""``POST /v1/algo/<owner>/<name>[/<version>]``: the HTTP side of a call.

Status codes follow the official client rather than the docs' silence: ``pipe()`` only reads an
error envelope (message, ``error_type``, stack trace) from a 2xx answer, so an algorithm's failure
(its exception, a failed ``load()``, a timeout, a crashed worker) is a 200 carrying ``error``,
which the client raises as ``AlgorithmException`` with its ``error_type``. With ``output=raw`` the
client turns 400 into ``ApiError`` and 500 into ``ApiInternalError`` and would return any 200 body
as the result, so raw failures are 400 (the algorithm's error) or 500 (timeout, crash).
Refusals before the algorithm runs (key, access, unknown version, bad parameters) keep their own
4xx codes in every mode.
"""

from __future__ import annotations

import base64
import json
import math
import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from localcluster.errors import ApiError, BadRequest
from localcluster.execution.backend import DEFAULT_TIMEOUT, MAX_TIMEOUT, Call, ExecutionBackend, Outcome
from localcluster.users.auth import require_admin, require_caller, user_backend
from localcluster.users.backend import Caller, UserBackend

router = APIRouter()

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


def _options(request: Request) -> Options:
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


def accepted_call(request: Request, users: UserBackend = Depends(user_backend),
                  execution: ExecutionBackend = Depends(execution_backend)) -> tuple[Call, Options]:
    """Auth, version resolution and the session key in one sync step (one thread-pool hop)."""
    caller: Caller = require_caller(request, users)
    options = _options(request)
    params = request.path_params
    if "algo_id" in params:  # "Invoke an algorithm by UUID": /v1/algo/<id>[/<version>]
        owner, name, version = None, params["algo_id"], None
    elif _is_uuid(params["user"]) and "version" not in params:
        owner, name, version = None, params["user"], params["algo"]
    else:
        owner, name, version = params["user"], params["algo"], params.get("version")
    call = execution.accept(caller, owner, name, version, options.timeout)
    return call, options


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


@router.post("/v1/algo/{algo_id}")
@router.post("/v1/algo/{user}/{algo}")
@router.post("/v1/algo/{user}/{algo}/{version}")
async def invoke_algorithm(request: Request, accepted: tuple[Call, Options] = Depends(accepted_call),
                           backend: ExecutionBackend = Depends(execution_backend)) -> Response:
    call, options = accepted
    try:
        if int(request.headers.get("content-length") or 0) > MAX_REQUEST_BYTES:
            raise ApiError("The maximum request size for an algorithm invocation is 10MiB.", status_code=413)
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            raise ApiError("The maximum request size for an algorithm invocation is 10MiB.", status_code=413)
        content_type = _input_type(request, body)
    except BaseException:
        backend.finish_later(call)
        raise
    if options.output == "void":
        backend.start_void(call, content_type, body)
        # What the client's AsyncResponse reads ("async", "request_id"); async_protocol for pipe().
        return JSONResponse({"async": "void", "async_protocol": "void", "request_id": call.request_id})
    try:
        outcome = await backend.run(call, content_type, body, options.stdout)
    finally:
        backend.finish_later(call)
    if options.output == "raw":
        return _raw_response(outcome)
    return _envelope_response(outcome, call)


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
        return JSONResponse({"error": error, "metadata": metadata})
    # The worker's JSON text goes in as it is: no decode and re-encode on the hot path.
    if outcome.content_type == "json":
        result = outcome.result
    elif outcome.content_type == "text":
        result = json.dumps(outcome.result.decode("utf-8")).encode("utf-8")
    else:
        result = b'"' + base64.b64encode(outcome.result) + b'"'
    content = b'{"result":' + result + b',"metadata":' + json.dumps(metadata).encode("utf-8") + b"}"
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
