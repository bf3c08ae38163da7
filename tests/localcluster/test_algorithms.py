"""Algorithm management with the official client and plain HTTP: create, read, update, delete,
errors (401/403/404/409 bodies), ownership, UUID routes, SCMs. No builds here (see test_git_builds)."""

from __future__ import annotations

import json

import pytest
import requests
from Algorithmia.errors import AlgorithmException

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


def _api(cluster, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Simple {key}"} if key else {}
    return requests.request(method, cluster.url + path, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def bob(cluster):
    return cluster.new_user("bob")


@pytest.fixture(scope="module")
def hello(cluster):
    algo = cluster.client().algo(f"{cluster.user}/Hello")
    created = algo.create(details={"label": "Greeting", "tagline": "says hello"}, settings=SETTINGS)
    return created


def test_create_returns_the_documented_algorithm_object(cluster, hello):
    assert hello["name"] == "Hello"
    assert hello["resource_type"] == "algorithm"
    assert hello["details"] == {"label": "Greeting", "tagline": "says hello"}
    settings = hello["settings"]
    assert settings["algorithm_callability"] == "private"  # documented initial value
    assert settings["language"] == "python3-1" and settings["environment"] == "cpu"
    assert settings["algorithm_environment"]  # the AEMS environment it maps to
    assert hello["source"]["scm"] == {"id": "internal", "provider": "internal", "default": True, "enabled": True}
    assert hello["self_link"] == f"{cluster.url}/v1/algorithms/{cluster.user}/Hello"
    assert "build" not in hello  # nothing built yet


def test_exists_with_the_official_client(cluster, hello):
    client = cluster.client()
    assert client.algo(f"{cluster.user}/Hello").exists() is True
    assert client.algo(f"{cluster.user}/Nope").exists() is False


def test_get_by_name_and_by_uuid(cluster, hello):
    by_name = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Hello", cluster.key).json()
    by_id = _api(cluster, "GET", f"/v1/algorithms/{hello['id']}", cluster.key).json()
    assert by_name["id"] == by_id["id"] == hello["id"]
    assert cluster.client().algo(f"{cluster.user}/Hello").get_algorithm_id() == hello["id"]


def test_missing_algorithm_is_404_with_the_text_clients_look_for(cluster):
    response = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Missing", cluster.key)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 1001 and "No such algorithm" in error["message"]
    by_id = _api(cluster, "GET", "/v1/algorithms/00000000-0000-4000-8000-000000000000", cluster.key)
    assert by_id.status_code == 404 and by_id.json()["error"]["code"] == 1009


def test_no_key_and_bad_key_are_401(cluster):
    for key in (None, "simNotARealKey"):
        response = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Hello", key)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 2002


def test_another_user_is_denied_every_management_call(cluster, hello, bob):
    base = f"/v1/algorithms/{cluster.user}/Hello"
    calls = [("GET", base), ("PUT", base), ("DELETE", base), ("POST", base + "/compile"),
             ("GET", base + "/builds"), ("GET", base + "/versions"), ("POST", base + "/versions"),
             ("GET", base + "/scm/status"), ("GET", f"/v1/algorithms/{hello['id']}")]
    for method, path in calls:
        response = _api(cluster, method, path, bob, json={})
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == 2001 and "only its owner" in error["message"]
    with pytest.raises(AlgorithmException, match="not authorized"):
        cluster.client(bob).algo(f"{cluster.user}/Hello").exists()
    # Nor may bob create algorithms in alice's name.
    response = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}", bob,
                    json={"name": "Sneaky", "details": {"label": "x"}, "settings": SETTINGS})
    assert response.status_code == 403


def test_admin_may_manage_any_algorithm(cluster, hello):
    response = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Hello", cluster.admin_key)
    assert response.status_code == 200 and response.json()["id"] == hello["id"]


def test_duplicate_name_is_409(cluster, hello):
    # The official client raises a bare Exception for non-2xx POSTs (it never reads the body).
    with pytest.raises(Exception, match="409"):
        cluster.client().algo(f"{cluster.user}/Hello").create(details={"label": "again"}, settings=SETTINGS)
    response = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}", cluster.key,
                    json={"name": "Hello", "details": {"label": "again"}, "settings": SETTINGS})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == 1002


@pytest.mark.parametrize("body, text", [
    ({"name": "9lives", "details": {"label": "x"}, "settings": SETTINGS}, "Invalid algorithm name"),
    ({"name": "Cobol", "details": {"label": "x"}, "settings": dict(SETTINGS, language="cobol")},
     "Unsupported language 'cobol'"),
    ({"name": "NoLang", "details": {"label": "x"}, "settings": {"license": "apl"}}, "settings.language"),
    ({"name": "BadLicense", "details": {"label": "x"}, "settings": dict(SETTINGS, license="wtfpl")},
     "settings.license must be one of"),
    ({"name": "Py2", "details": {"label": "x"}, "settings": dict(SETTINGS, language="python2-langpack")},
     "No python2 environment is installed"),
])
def test_invalid_create_requests_are_400_with_a_reason(cluster, body, text):
    response = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}", cluster.key, json=body)
    assert response.status_code == 400, response.text
    assert text in response.json()["error"]["message"]


def test_create_for_an_unknown_user(cluster):
    response = _api(cluster, "POST", "/v1/algorithms/nobody", cluster.admin_key,
                    json={"name": "X", "details": {"label": "x"}, "settings": SETTINGS})
    assert response.status_code == 404


def test_update_merges_details_and_settings(cluster, hello):
    # The official client's update() sends a form-encoded dict (it loses nested values), so a
    # JSON body is sent through the client's own PUT helper, as the collection does.
    client = cluster.client()
    updated = client.putHelper(f"/v1/algorithms/{cluster.user}/Hello",
                               json.dumps({"details": {"summary": "Greets people"},
                                           "settings": {"network_access": "isolated"}}))
    assert updated["details"] == {"label": "Greeting", "tagline": "says hello", "summary": "Greets people"}
    assert updated["settings"]["network_access"] == "isolated"
    assert updated["settings"]["algorithm_environment"] == hello["settings"]["algorithm_environment"]
    by_id = _api(cluster, "PUT", f"/v1/algorithms/{hello['id']}", cluster.key,
                 json={"settings": {"network_access": "full"}})
    assert by_id.status_code == 200 and by_id.json()["settings"]["network_access"] == "full"


def test_update_with_the_clients_form_encoding_is_refused_clearly(cluster, hello):
    response = _api(cluster, "PUT", f"/v1/algorithms/{cluster.user}/Hello", cluster.key,
                    data={"details": {"label": "x"}})
    assert response.status_code == 400
    assert "must be JSON" in response.json()["error"]["message"]


def test_scms_and_scm_status(cluster, hello):
    client = cluster.client()
    scms = client.scms()["results"]
    assert any(scm["id"] == "internal" and scm["default"] for scm in scms)
    assert client.algo(f"{cluster.user}/Hello").get_scm_status() == {"scm_connection_status": "active"}
    assert _api(cluster, "GET", "/v1/scms/github", cluster.key).status_code == 404


def test_builds_and_versions_of_an_unbuilt_algorithm_are_empty(cluster, hello):
    algo = cluster.client().algo(f"{cluster.user}/Hello")
    assert algo.get_builds() == {"marker": None, "next_link": None, "results": []}
    assert algo.versions()["results"] == []
    response = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}/Hello/versions", cluster.key,
                    json={"version_info": {"version_type": "minor"}})
    assert response.status_code == 400
    assert "no successful build to publish" in response.json()["error"]["message"]


def test_paging_parameters_are_validated(cluster, hello):
    base = f"/v1/algorithms/{cluster.user}/Hello"
    assert _api(cluster, "GET", base + "/builds?limit=0", cluster.key).json()["error"]["code"] == 5003
    assert _api(cluster, "GET", base + "/versions?marker=%%%", cluster.key).json()["error"]["code"] == 5002


def test_delete_removes_the_algorithm_and_its_repository(cluster):
    client = cluster.client()
    algo = client.algo(f"{cluster.user}/Doomed")
    algo.create(details={"label": "d"}, settings=SETTINGS)
    repo = cluster.data_dir / "repos" / cluster.user / "Doomed.git"
    assert repo.is_dir()
    response = _api(cluster, "DELETE", f"/v1/algorithms/{cluster.user}/Doomed", cluster.key)
    assert response.status_code == 204  # what the testbench's cleanup checks
    assert not algo.exists()
    assert not repo.exists()
    # The name is free again, with a fresh repository.
    algo.create(details={"label": "d"}, settings=SETTINGS)
    assert algo.exists()
