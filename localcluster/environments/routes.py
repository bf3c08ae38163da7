"""``/v1/algorithm-environments/edge/...``: languages, environments, AEMS syncs and templates.

The same routes answer under ``/webapi/v1/algorithm-environments/...``, the prefix the
testbench's admin scripts use (``environments/current``, ``environments/available``, ``syncs``):
the app includes ``router`` once per entry of ``PREFIXES``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from localcluster.environments import catalog
from localcluster.environments.backend import EnvironmentBackend
from localcluster.environments.templates import adk_template, as_tar_gz
from localcluster.errors import NotFound
from localcluster.users.auth import require_admin, require_caller
from localcluster.users.backend import Caller

router = APIRouter()

PREFIXES = ("/v1/algorithm-environments/edge", "/webapi/v1/algorithm-environments",
            "/webapi/v1/algorithm-environments/edge")


async def environment_backend(request: Request) -> EnvironmentBackend:
    return request.app.state.environments


@router.get("/languages")
def list_languages(_caller: Caller = Depends(require_caller),
                   environments: EnvironmentBackend = Depends(environment_backend)) -> list[dict]:
    return environments.languages()


@router.get("/languages/{language}/environments")
def list_language_environments(language: str, _caller: Caller = Depends(require_caller),
                               environments: EnvironmentBackend = Depends(environment_backend)) -> list[dict]:
    return [spec.to_api() for spec in environments.environments_for_language(language)]


@router.get("/environments/current")
def list_current_environments(_caller: Caller = Depends(require_admin),
                              environments: EnvironmentBackend = Depends(environment_backend)) -> list[dict]:
    return [spec.to_api() for spec in environments.installed()]


@router.get("/environments/available")
def list_available_environments(master: str = catalog.DEFAULT_MASTER, _caller: Caller = Depends(require_admin),
                                environments: EnvironmentBackend = Depends(environment_backend)) -> list[dict]:
    """What the AEMS master (``?master=prod|test``, default prod) offers for syncing."""
    return [spec.to_api() for spec in environments.available(master)]


@router.post("/environment-specifications/{spec_id}/syncs", status_code=202)
def start_sync(spec_id: str, _caller: Caller = Depends(require_admin),
               environments: EnvironmentBackend = Depends(environment_backend)) -> Response:
    # Real clusters answer 202 with the bare sync id as the body; scripts put it in the status URL.
    sync_id = environments.start_sync(spec_id)
    return Response(sync_id, status_code=202, media_type="text/plain")


@router.get("/environment-specifications/{spec_id}/syncs/{sync_id}")
def get_sync(spec_id: str, sync_id: str, _caller: Caller = Depends(require_admin),
             environments: EnvironmentBackend = Depends(environment_backend)) -> dict:
    sync = environments.get_sync(spec_id, sync_id)
    return {
        "id": sync["id"],
        "environment_specification_id": sync["spec_id"],
        "sync_result": {"status": sync["status"], "message": sync["message"] or ""},
    }


@router.delete("/environment-specifications/{spec_id}", status_code=204)
def disable_environment(spec_id: str, _caller: Caller = Depends(require_admin),
                        environments: EnvironmentBackend = Depends(environment_backend)) -> Response:
    environments.uninstall(spec_id)
    return Response(status_code=204)


@router.get("/environment-specifications/{spec_id}/template")
def download_template(spec_id: str) -> Response:
    """The environment's starter files (no auth, as documented); every Python environment uses the ADK layout."""
    if catalog.find_spec(spec_id) is None:
        raise NotFound(f"No environment specification {spec_id}.", code=5004)
    return Response(as_tar_gz(adk_template()), media_type="application/gzip",
                    headers={"Content-Disposition": 'attachment; filename="template.tar.gz"'})
