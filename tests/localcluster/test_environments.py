"""Languages, environments and AEMS syncs, through the official client and the admin REST calls."""

from __future__ import annotations

import tarfile
import time

import pytest
import requests

from localcluster.environments import catalog

EDGE = "/v1/algorithm-environments/edge"


def _get(cluster, path: str, key: str | None = None, **params) -> requests.Response:
    return requests.get(cluster.url + path, headers={"Authorization": f"Simple {key or cluster.admin_key}"},
                        params=params, timeout=30)


def _spec(master: str, display_name: str) -> catalog.EnvironmentSpec:
    return next(s for s in catalog.master_catalog(master) if s.display_name == display_name)


def _sync(cluster, spec_id: str, prefix: str = EDGE) -> dict:
    started = requests.post(f"{cluster.url}{prefix}/environment-specifications/{spec_id}/syncs",
                            headers={"Authorization": cluster.admin_key}, timeout=30)
    assert started.status_code == 202, started.text
    sync_id = started.text  # the bare id, as real clusters answer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = _get(cluster, f"{prefix}/environment-specifications/{spec_id}/syncs/{sync_id}")
        assert status.status_code == 200, status.text
        result = status.json()["sync_result"]
        if result["status"] != "in-progress":
            return result
        time.sleep(0.1)
    raise AssertionError("sync did not finish")


def test_supported_languages_as_the_client_reads_them(cluster):
    languages = cluster.client().get_supported_languages()
    by_name = {lang["name"]: lang for lang in languages}
    assert {"python2", "python3"} <= set(by_name)
    assert by_name["python3"]["display_name"] == "Python 3.x (Environments)"
    assert "requirements.txt" in by_name["python3"]["configuration"]  # a JSON string, as on real clusters


def test_fresh_cluster_has_python3_installed_and_not_the_others(cluster):
    python3 = cluster.client().get_environment("python3")
    names = [env["display_name"] for env in python3]
    assert names == ["Python 3.7"]
    env = python3[0]
    assert env["id"] == _spec("prod", "Python 3.7").environment_id
    assert env["language"]["name"] == "python3" and env["machine_type"] == "CPU"
    assert {"environment_specification_id", "description", "created_at"} <= set(env)
    assert cluster.client().get_environment("python2") == []


def test_unknown_language_is_404(cluster):
    response = _get(cluster, f"{EDGE}/languages/cobol/environments", key=cluster.key)
    assert response.status_code == 404
    assert "Unknown language 'cobol'" in response.json()["error"]["message"]


def test_available_environments_per_aems_master(cluster):
    prod = _get(cluster, f"{EDGE}/environments/available").json()
    test = _get(cluster, f"{EDGE}/environments/available", master="test").json()
    for listing in (prod, test):
        names = {env["display_name"] for env in listing}
        assert set(catalog.SHORTHAND_DISPLAY_NAMES.values()) <= names
    # Each master has its own ids, so an environment id tells which master it came from.
    assert not {e["id"] for e in prod} & {e["id"] for e in test}
    bad = _get(cluster, f"{EDGE}/environments/available", master="staging")
    assert bad.status_code == 400 and "Unknown AEMS master 'staging'" in bad.json()["error"]["message"]


def test_admin_endpoints_refuse_regular_users(cluster):
    for path in (f"{EDGE}/environments/current", f"{EDGE}/environments/available"):
        response = _get(cluster, path, key=cluster.key)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == 2001
    response = requests.post(f"{cluster.url}{EDGE}/environment-specifications/x/syncs",
                             headers={"Authorization": cluster.key}, timeout=30)
    assert response.status_code == 403


def test_sync_installs_an_environment_for_new_algorithms(cluster):
    spec = _spec("prod", catalog.SHORTHAND_DISPLAY_NAMES["tensorflow-1.14"])
    algo = cluster.client().algo(f"{cluster.user}/NeedsTf")
    settings = {"algorithm_environment": spec.environment_id, "source_visibility": "closed", "license": "apl",
                "network_access": "full", "pipeline_enabled": True}
    refused = requests.post(f"{cluster.url}/v1/algorithms/{cluster.user}", json={
        "name": "NeedsTf", "details": {"label": "x"}, "settings": settings},
        headers={"Authorization": cluster.key}, timeout=30)
    assert refused.status_code == 400
    assert "not installed on this cluster" in refused.json()["error"]["message"]
    assert spec.spec_id in refused.json()["error"]["message"]  # says what to sync

    result = _sync(cluster, spec.spec_id)
    assert result["status"] == "succeeded", result
    current = _get(cluster, f"{EDGE}/environments/current").json()
    assert spec.environment_id in {env["id"] for env in current}
    assert spec.display_name in [e["display_name"] for e in cluster.client().get_environment("python3")]

    created = algo.create(details={"label": "Needs TF"}, settings=settings)
    assert created["settings"]["algorithm_environment"] == spec.environment_id


def test_testbench_admin_script_paths_under_webapi(cluster):
    """The testbench's scripts use /webapi/v1/algorithm-environments/{environments,environment-specifications}."""
    spec = _spec("test", catalog.SHORTHAND_DISPLAY_NAMES["python2"])
    available = _get(cluster, "/webapi/v1/algorithm-environments/environments/available", master="test").json()
    assert spec.spec_id in {env["environment_specification_id"] for env in available}
    assert _sync(cluster, spec.spec_id, prefix="/webapi/v1/algorithm-environments")["status"] == "succeeded"
    current = _get(cluster, "/webapi/v1/algorithm-environments/environments/current").json()
    assert spec.display_name in {env["display_name"] for env in current}


def test_sync_of_unknown_spec_and_sync_status_errors(cluster):
    response = requests.post(f"{cluster.url}{EDGE}/environment-specifications/nope/syncs",
                             headers={"Authorization": cluster.admin_key}, timeout=30)
    assert response.status_code == 404
    assert "No environment specification nope" in response.json()["error"]["message"]
    spec_id = catalog.PREINSTALLED_SPEC_IDS[0]
    missing = _get(cluster, f"{EDGE}/environment-specifications/{spec_id}/syncs/no-such-sync")
    assert missing.status_code == 404


def test_disable_environment_keeps_existing_algorithms(cluster):
    spec = _spec("prod", catalog.SHORTHAND_DISPLAY_NAMES["pytorch"])
    assert _sync(cluster, spec.spec_id)["status"] == "succeeded"
    algo = cluster.client().algo(f"{cluster.user}/OnTorch")
    algo.create(details={"label": "t"}, settings={"algorithm_environment": spec.environment_id,
                                                  "source_visibility": "closed", "license": "apl",
                                                  "network_access": "full", "pipeline_enabled": True})
    deleted = requests.delete(f"{cluster.url}{EDGE}/environment-specifications/{spec.spec_id}",
                              headers={"Authorization": cluster.admin_key}, timeout=30)
    assert deleted.status_code == 204
    assert spec.display_name not in [e["display_name"] for e in cluster.client().get_environment("python3")]
    assert algo.exists()


def test_template_download_with_the_client(cluster, tmp_path):
    spec_id = catalog.PREINSTALLED_SPEC_IDS[0]
    response = cluster.client().get_template(spec_id, str(tmp_path / "tpl"), save_tar=True)
    assert response.status_code == 200
    assert (tmp_path / "tpl" / "src" / "Algorithm.py").read_text().count("ADK(apply)") == 1
    assert "algorithmia" in (tmp_path / "tpl" / "requirements.txt").read_text()
    with tarfile.open(tmp_path / "tpl" / "template.tar.gz") as tar:
        assert "src/__init__.py" in tar.getnames()


@pytest.mark.parametrize("path", [f"{EDGE}/languages", f"{EDGE}/languages/python3/environments"])
def test_environment_listings_need_a_key(cluster, path):
    response = requests.get(cluster.url + path, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 2002
