"""One way to fail: every module, through every kind of failure, against running localclusters.

The kinds: a call to a cluster fails (``ClusterError``), the module explains a failure itself
(``TaskFailed``), and a bug (any other exception). Each case puts the API key into the raw text
of the failure - a server message that echoes it, an input that holds it, an exception that
carries it - and checks that the task's result masks it and still carries the work done before
the failure. The modules run in this process (as Ansible runs them: arguments in, JSON out),
so a bug can be planted with monkeypatch.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import requests
from ansible.module_utils.testing import patch_module_args

from tests.collection import ensure_importable
from tests.integration.modules_support import echo_template as echo_template_in
from tests.integration.modules_support import run_module

ensure_importable()

# pylint: disable=wrong-import-position
from ansible_collections.algorithmia.testbench.plugins.module_utils import data_sync_task  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import (  # noqa: E402
    ClusterEnvironments,
)
from ansible_collections.algorithmia.testbench.plugins.modules import (  # noqa: E402
    algo_benchmark,
    algo_build_publish,
    algo_create,
    algo_data_sync,
)

MASK = "********"


def assert_failed_and_masked(result: dict, key: str) -> None:
    assert result.get("failed") is True, result
    assert key not in json.dumps(result), result["msg"]
    assert MASK in result["msg"], result["msg"]


def set_faults(cluster, *rules: dict) -> None:
    response = requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)},
                            headers={"Authorization": f"Simple {cluster.admin_key}"}, timeout=30)
    response.raise_for_status()


@pytest.fixture
def faults(cluster):
    yield lambda *rules: set_faults(cluster, *rules)
    set_faults(cluster)


@pytest.fixture(scope="module")
def connection(cluster) -> dict:
    return {"api_address": cluster.url, "api_key": cluster.key}


@pytest.fixture(scope="module")
def echo_template(tmp_path_factory):
    return echo_template_in(tmp_path_factory.mktemp("templates"))


def run_module_quietly(module, args: dict) -> dict:
    """``run_module`` for module-scoped fixtures, where capsys is not available."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def published_echo(connection, echo_template):
    """Echo, built and published once for the benchmark cases."""
    created = run_module_quietly(algo_create, dict(connection, name="Echo", language="python3"))
    assert not created.get("failed"), created
    built = run_module_quietly(algo_build_publish, dict(connection, name="Echo", template_dir=str(echo_template)))
    assert not built.get("failed") and built["version"], built
    return built


# ---- algo_create ----------------------------------------------------------------------------


def test_create_cluster_error(cluster, connection, faults, capsys):
    faults({"kind": "error", "status": 500, "path_prefix": f"/v1/algorithms/{cluster.user}", "methods": ["POST"],
            "message": f"cannot create with key {cluster.key}"})
    result = run_module(algo_create, dict(connection, name="Refused", language="python3"), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["error"]["kind"] == "ServerError"
    # the work done before the failure: the owner learnt from the key, the environment chosen
    assert result["owner"] == cluster.user and result["environment"]["display_name"] == "Python 3.7"


def test_create_task_failed(cluster, connection, capsys):
    result = run_module(algo_create, dict(connection, name="NoEnv", environment_name="Python 9 " + cluster.key,
                                          sync_environment=False), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert "is not installed" in result["msg"] and "Fix:" in result["msg"]
    assert result["owner"] == cluster.user and result["changed"] is False


def test_create_bug(cluster, connection, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise ValueError("unexpected listing for key " + cluster.key)

    monkeypatch.setattr(ClusterEnvironments, "resolve", broken)
    result = run_module(algo_create, dict(connection, name="Bug", language="python3"), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["msg"].startswith("Failed to manage the algorithm Bug: ValueError: ")
    assert result["owner"] == cluster.user


# ---- algo_data_sync -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_files(source_cluster):
    client = source_cluster.client()
    client.dir("data://.my/assets").create()
    for name in ("one.bin", "two.bin"):
        client.file(f"data://.my/assets/{name}").put(name.encode() * 1000)
    return {"source_api_address": source_cluster.url, "source_api_key": source_cluster.key,
            "files": ["data://.my/assets/one.bin", "data://.my/assets/two.bin"]}


def test_sync_cluster_error(cluster, connection, source_files, faults, capsys):
    faults({"kind": "error", "status": 500, "path_prefix": f"/v1/connector/data/{cluster.user}/SyncFault/two.bin",
            "methods": ["PUT"], "message": f"disk full for key {cluster.key}"})
    result = run_module(algo_data_sync, dict(connection, **source_files, algorithm="SyncFault"), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["error"]["kind"] == "ServerError"
    assert result["changed"] is True  # the collection and one.bin were written before two.bin failed
    assert cluster.client().file(f"data://{cluster.user}/SyncFault/one.bin").exists()


def test_sync_task_failed(cluster, connection, source_files, source_cluster, capsys):
    missing = dict(source_files, files=[f"data://.my/assets/{source_cluster.key}.bin"])
    result = run_module(algo_data_sync, dict(connection, **missing, algorithm="SyncMissing"), capsys)
    assert_failed_and_masked(result, source_cluster.key)
    assert "no such file in data://" in result["msg"]
    assert result["changed"] is False  # nothing is written before every source file is found


def test_sync_bug(cluster, connection, source_files, monkeypatch, capsys):
    def broken(_entries):
        raise ValueError("cannot write the manifest for key " + cluster.key)

    monkeypatch.setattr(data_sync_task, "manifest_bytes", broken)
    result = run_module(algo_data_sync, dict(connection, **source_files, algorithm="SyncBug"), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["msg"].startswith("Failed to sync the data files of SyncBug: ValueError: ")
    assert result["changed"] is True  # both files were copied before the manifest


# ---- algo_build_publish ---------------------------------------------------------------------


def test_build_publish_cluster_error(cluster, connection, echo_template, faults, capsys):
    run_module(algo_create, dict(connection, name="PublishFault", language="python3"), capsys)
    faults({"kind": "error", "status": 500, "path_prefix": f"/v1/algorithms/{cluster.user}/PublishFault/versions",
            "methods": ["POST"], "message": f"publishing refused for key {cluster.key}"})
    result = run_module(algo_build_publish, dict(connection, name="PublishFault", template_dir=str(echo_template)),
                        capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["error"]["kind"] == "ServerError"
    # pushed and built before the publish failed
    assert result["pushed"] is True and result["changed"] is True and result["published"] is False
    assert result["build"]["status"] == "succeeded" and len(result["git_hash"]) == 40


def test_build_publish_task_failed(cluster, connection, echo_template, capsys):
    run_module(algo_create, dict(connection, name="TestFails", language="python3"), capsys)
    result = run_module(algo_build_publish, dict(connection, name="TestFails", template_dir=str(echo_template),
                                                 test_payload="refuse " + cluster.key), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert "the test_payload call failed" in result["msg"] and "Nothing was published" in result["msg"]
    assert cluster.key not in result["test"]["error"] and MASK in result["test"]["error"]
    assert result["pushed"] is True and result["build"]["status"] == "succeeded" and result["published"] is False


def test_build_publish_bug(cluster, connection, echo_template, monkeypatch, capsys):
    run_module(algo_create, dict(connection, name="PublishBug", language="python3"), capsys)

    def broken(*_args, **_kwargs):
        raise ValueError("odd version answer for key " + cluster.key)

    monkeypatch.setattr(Algorithm, "published_version", broken)
    result = run_module(algo_build_publish, dict(connection, name="PublishBug", template_dir=str(echo_template)),
                        capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["msg"].startswith("Failed to build and publish PublishBug: ValueError: ")
    assert result["pushed"] is True and result["build"]["status"] == "succeeded"


# ---- algo_benchmark -------------------------------------------------------------------------


def benchmark_args(connection, payload="hello"):
    return dict(connection, algorithm="Echo", tests=[{"name": "echo", "payload": payload, "calls": 3}])


def test_benchmark_cluster_error(cluster, connection, published_echo, faults, capsys):
    faults({"kind": "error", "status": 500, "path_prefix": f"/v1/algorithms/{cluster.user}/Echo", "methods": ["GET"],
            "message": f"no record for key {cluster.key}"})
    result = run_module(algo_benchmark, benchmark_args(connection), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["error"]["kind"] == "ServerError"
    assert result["owner"] == cluster.user and result["changed"] is False


def test_benchmark_task_failed(cluster, connection, published_echo, capsys):
    result = run_module(algo_benchmark, benchmark_args(connection, payload="refuse " + cluster.key), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert "3 of 3 calls failed" in result["msg"]
    # the measured tests are the partial result: every call counted, every error masked
    assert result["version"] == published_echo["version"] and result["tests"][0]["errors"] == 3
    assert MASK in result["tests"][0]["last_error"]


def test_benchmark_bug(cluster, connection, published_echo, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise ValueError("load generator broke for key " + cluster.key)

    monkeypatch.setattr(algo_benchmark, "run_test", broken)
    result = run_module(algo_benchmark, benchmark_args(connection), capsys)
    assert_failed_and_masked(result, cluster.key)
    assert result["msg"].startswith("Failed to benchmark Echo: ValueError: ")
    assert result["owner"] == cluster.user and result["version"] == published_echo["version"]
