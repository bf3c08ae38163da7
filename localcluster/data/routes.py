"""HTTP for the Data API: read parameters, call ``DataBackend``, shape the answer.

The official client calls ``/v1/data/<path>``; the REST docs say
``/v1/connector/data/<path>``: both are served by the same handlers.
"""

from __future__ import annotations

import mimetypes
import os

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from localcluster.data.backend import PAGE_SIZE, DataBackend
from localcluster.errors import ApiError, BadRequest
from localcluster.users.auth import require_caller
from localcluster.users.backend import Caller

router = APIRouter()

DATA_PREFIXES = ("/v1/data", "/v1/connector/data")


async def data_backend(request: Request) -> DataBackend:
    return request.app.state.data


def _path(request: Request) -> str:
    # From the route, never from the query string: "<prefix>" alone is the root.
    return request.path_params.get("path", "")


def _header_safe(text: str) -> str:
    # Header values are latin-1 on the wire; file names are not. Escape rather than fail with a 500.
    return text.encode("ascii", "backslashreplace").decode("ascii").replace("\r", " ").replace("\n", " ")


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return PAGE_SIZE
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Limit must be between 1 and {PAGE_SIZE}.", code=5003) from None


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("Invalid JSON.", code=2013) from None
    if not isinstance(body, dict):
        raise BadRequest("Invalid JSON: expected an object.", code=2013)
    return body


def _next_link(request: Request, listing: dict) -> dict:
    marker = listing.get("marker")
    listing["next_link"] = str(request.url.include_query_params(marker=marker)) if marker else None
    return listing


class OpenFileResponse(FileResponse):
    """Starlette's FileResponse (whole, ranges, ETag) of a file the request has already opened.

    FileResponse stats a path for its headers and opens it again for each body: an upload renamed
    over the path in between would answer with one file's length and ETag and another file's bytes,
    and a delete with a 500. Here its path is ``/proc/self/fd/<fd>``: on Linux, opening that opens
    the very file this request opened, even once it has been replaced or deleted."""

    def __init__(self, opened, **kwargs) -> None:
        self.opened = opened
        super().__init__(f"/proc/self/fd/{opened.fileno()}", stat_result=os.fstat(opened.fileno()), **kwargs)

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.opened.close()


def get_data(request: Request, caller: Caller = Depends(require_caller),
             data: DataBackend = Depends(data_backend)) -> Response:
    target = data.resolve(_path(request), caller)
    found = data.find(caller, target)
    if found.is_file:
        media_type = mimetypes.guess_type(found.disk_path.name)[0] or "application/octet-stream"
        return OpenFileResponse(found.file, media_type=media_type, headers={"X-Data-Type": "file"})
    listing = data.list_directory(caller, target, marker=request.query_params.get("marker"),
                                  limit=_limit(request), with_acl=_flag(request.query_params.get("acl")))
    return JSONResponse(_next_link(request, listing), headers={"X-Data-Type": "directory"})


def head_data(request: Request, caller: Caller = Depends(require_caller),
              data: DataBackend = Depends(data_backend)) -> Response:
    try:
        found = data.find(caller, data.resolve(_path(request), caller))
    except ApiError as err:
        # A HEAD answer has no body: the client reads the reason from this header.
        return Response(status_code=err.status_code, headers={"X-Error-Message": _header_safe(err.message)})
    if found.is_file:
        with found.file:
            size = os.fstat(found.file.fileno()).st_size
        return Response(headers={"X-Data-Type": "file", "Content-Length": str(size)})
    return Response(headers={"X-Data-Type": "directory"})


async def put_data(request: Request, caller: Caller = Depends(require_caller),
                   data: DataBackend = Depends(data_backend)) -> dict:
    # Every check happens before the body is read: a refused upload writes nothing.
    upload = await run_in_threadpool(lambda: data.open_upload(caller, data.resolve(_path(request), caller)))
    try:
        # Chunks go straight to the temp file: memory stays flat whatever the size (uvicorn
        # stops reading the socket while a chunk waits).
        async for chunk in request.stream():
            if chunk:
                upload.write(chunk)
    except BaseException:
        upload.abort()  # a dropped connection leaves nothing visible
        raise
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and upload.size != int(declared):
        # The server reads a body to its Content-Length or sees its client leave; this holds
        # whatever sits in between: a body that does not match its declared length is never stored.
        upload.abort()
        raise BadRequest(f"The upload carried {upload.size} bytes but declared {declared} (Content-Length): "
                         "nothing was stored.")
    uri = await run_in_threadpool(upload.commit)
    return {"result": uri}


async def post_data(request: Request, caller: Caller = Depends(require_caller),
                    data: DataBackend = Depends(data_backend)) -> dict:
    parent = data.resolve(_path(request), caller)
    body = await _json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest("Creating a folder needs a 'name' in the JSON body.")
    uri = await run_in_threadpool(data.create_directory, caller, parent, name, body.get("acl"))
    return {"result": uri}


async def patch_data(request: Request, caller: Caller = Depends(require_caller),
                     data: DataBackend = Depends(data_backend)) -> Response:
    target = data.resolve(_path(request), caller)
    body = await _json_body(request)
    if "acl" not in body:
        raise BadRequest('Updating a collection needs {"acl": {"read": [...]}}.')
    await run_in_threadpool(data.update_acl, caller, target, body["acl"])
    return Response(status_code=200)  # the docs: an empty response


def delete_data(request: Request, caller: Caller = Depends(require_caller),
                data: DataBackend = Depends(data_backend)) -> dict:
    deleted = data.delete(caller, data.resolve(_path(request), caller), force=_flag(request.query_params.get("force")))
    return {"result": {"deleted": deleted}}


def other_connector(connector: str, _caller: Caller = Depends(require_caller)) -> Response:
    raise ApiError(f"The connector {connector!r} is not implemented by localcluster: only 'data' is.",
                   code=5005, status_code=501)


def hosted_data(caller: Caller = Depends(require_caller), data: DataBackend = Depends(data_backend)) -> dict:
    return {"result": data.hosted_data(caller)}


for _prefix in DATA_PREFIXES:
    # "<prefix>" and "<prefix>/" are the root (data://); "{path:path}" takes everything below.
    for _route in (_prefix, _prefix + "/{path:path}"):
        router.add_api_route(_route, get_data, methods=["GET"])
        router.add_api_route(_route, head_data, methods=["HEAD"])
        router.add_api_route(_route, put_data, methods=["PUT"])
        router.add_api_route(_route, post_data, methods=["POST"])
        router.add_api_route(_route, patch_data, methods=["PATCH"])
        router.add_api_route(_route, delete_data, methods=["DELETE"])

router.add_api_route("/v1/connector/{connector}/{path:path}",
                     other_connector, methods=["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"])
router.add_api_route("/v1/hostedData", hosted_data, methods=["GET"])
