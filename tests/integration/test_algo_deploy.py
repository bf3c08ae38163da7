"""algo_deploy against a running localcluster: several algorithms created, their data synced, built,
tested and published in one module run, as the three modules would do them one by one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.collection import ensure_importable
from tests.integration.modules_support import echo_template as echo_template_in
from tests.integration.modules_support import run_module

ensure_importable()

# pylint: disable=wrong-import-position
from ansible_collections.algorithmia.testbench.plugins.modules import algo_deploy  # noqa: E402


def deploy(args: dict, capsys) -> dict:
    """algo_deploy's main() as Ansible runs it; its JSON result."""
    return run_module(algo_deploy, args, capsys)


@pytest.fixture(scope="module")
def echo_template(tmp_path_factory):
    return echo_template_in(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="module")
def clusters(cluster, source_cluster) -> dict:
    client = source_cluster.client()
    client.dir("data://.my/deploy_assets").create()
    client.file("data://.my/deploy_assets/one.bin").put(b"one" * 1000)
    return {"api_address": cluster.url, "api_key": cluster.key,
            "source_api_address": source_cluster.url, "source_api_key": source_cluster.key}


def two_algorithms(template: Path, first: str, second: str, second_payload="hello") -> list[dict]:
    return [
        {"name": first, "language": "python3", "template_dir": str(template),
         "data_files": ["data://.my/deploy_assets/one.bin"], "test_payload": "hi"},
        {"name": second, "language": "python3", "template_dir": str(template), "test_payload": second_payload},
    ]


def published_versions(cluster, name: str) -> list:
    response = cluster.client().algo(f"{cluster.user}/{name}").versions(published=True)
    return [version["version_info"]["semantic_version"] for version in response.get("results", [])]


def test_deploys_each_algorithm_in_order_then_changes_nothing(cluster, clusters, echo_template, capsys):
    args = dict(clusters, algorithms=two_algorithms(echo_template, "DeployOne", "DeployTwo"))
    first = deploy(args, capsys)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] is True and first["owner"] == cluster.user
    one, two = first["algorithms"]
    assert [one["name"], two["name"]] == ["DeployOne", "DeployTwo"]
    assert one["create"]["changed"] and one["create"]["diff"]["before"] == {}
    (copied,) = one["data"]["files"]
    assert copied["action"] == "copied" and copied["destination"] == f"data://{cluster.user}/DeployOne/one.bin"
    assert "data" not in two  # no data files: no data step
    for entry in (one, two):
        assert entry["build"]["pushed"] and entry["build"]["published"], entry["build"]
        assert entry["build"]["version"] == "0.1.0"
        assert entry["build"]["test"]["result"] in ("hi", "hello")
    assert published_versions(cluster, "DeployTwo") == ["0.1.0"]
    assert cluster.client().file(f"data://{cluster.user}/DeployOne/one.bin").getBytes() == b"one" * 1000

    again = deploy(args, capsys)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    for entry in again["algorithms"]:
        assert not entry["create"]["changed"] and not entry["build"]["changed"]
        assert not entry["build"]["pushed"] and entry["build"]["version"] == "0.1.0"
    assert again["algorithms"][0]["data"]["files"][0]["action"] == "skipped"


def test_a_failing_step_is_named_and_the_algorithms_before_it_are_returned(cluster, clusters, echo_template, capsys):
    args = dict(clusters, algorithms=two_algorithms(echo_template, "DeployFine", "DeployRefused", "refuse this"))
    result = deploy(args, capsys)
    assert result.get("failed") is True
    assert result["step"] == "build and publish DeployRefused"
    assert "refused the input refuse this" in result["msg"] and "Nothing was published" in result["msg"]
    assert [entry["name"] for entry in result["algorithms"]] == ["DeployFine"]
    assert result["algorithms"][0]["build"]["version"] == "0.1.0"
    failed = result["failed_algorithm"]
    assert failed["name"] == "DeployRefused" and failed["create"]["changed"] is True
    assert failed["build"]["pushed"] is True and failed["build"]["published"] is False
    assert result["changed"] is True  # DeployFine was published, DeployRefused created and pushed
    assert published_versions(cluster, "DeployFine") == ["0.1.0"]
    assert published_versions(cluster, "DeployRefused") == []
    assert cluster.key not in json.dumps(result)


def test_bad_options_of_any_algorithm_fail_before_a_request(cluster, clusters, echo_template, capsys):
    algorithms = two_algorithms(echo_template, "DeployNever", "DeployBad")
    algorithms[1]["environment_id"] = "some-id"  # as well as language
    result = deploy(dict(clusters, algorithms=algorithms), capsys)
    assert result.get("failed") is True
    assert result["msg"].startswith("Invalid options for algorithm DeployBad; nothing was sent to any cluster")
    assert "language|environment_name|environment_id" in result["msg"]
    assert "step" not in result and result["algorithms"] == []
    assert cluster.client().algo(f"{cluster.user}/DeployNever").exists() is False

    missing = two_algorithms(echo_template / "absent", "DeployNever", "DeployBad")
    result = deploy(dict(clusters, algorithms=missing), capsys)
    assert result.get("failed") is True and "template_dir" in result["msg"] and "not a directory" in result["msg"]
    assert cluster.client().algo(f"{cluster.user}/DeployNever").exists() is False


def test_check_mode_says_what_would_happen_and_changes_nothing(cluster, clusters, echo_template, capsys):
    args = dict(clusters, algorithms=two_algorithms(echo_template, "DeployCheck", "DeployCheckTwo"),
                _ansible_check_mode=True, _ansible_diff=True)
    result = deploy(args, capsys)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    one, two = result["algorithms"]
    assert one["create"]["changed"] and one["data"]["files"][0]["action"] == "copied"
    assert two["build"]["pushed"] and two["build"]["published"]
    headers = [diff["before_header"] for diff in result["diff"]]
    assert headers[0].startswith("DeployCheck (create)") and any(h.startswith("DeployCheckTwo (build)") for h in headers)
    assert cluster.client().algo(f"{cluster.user}/DeployCheck").exists() is False
    assert not cluster.client().dir(f"data://{cluster.user}/DeployCheck").exists()
