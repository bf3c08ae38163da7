"""algo_create against a running localcluster: check mode, create, idempotence, updates,
environments (shorthand, display name, id, AEMS sync), deletion and errors."""

from __future__ import annotations

import pytest
import requests

from localcluster.environments import catalog
from tests.integration.modules_support import RequestWatch, play, task


def spec(master: str, display_name: str) -> catalog.EnvironmentSpec:
    return next(s for s in catalog.master_catalog(master) if s.display_name == display_name)


PY37 = spec("prod", "Python 3.7")


@pytest.fixture(scope="module")
def keys(cluster):
    return {"api_address": cluster.url, "api_key": cluster.key, "admin_key": cluster.admin_key}


def run_create(run_playbook, keys, *, check=False, diff=False, api_key_var="api_key", **args):
    flags = (["--check"] if check else []) + (["--diff"] if diff else [])
    run = run_playbook(play([task("Algorithm", "algo_create", args)], api_key_var=api_key_var),
                       extra_vars=keys, args=flags)
    return run, run.task("Algorithm")


def settings_of(cluster, name, owner=None):
    response = requests.get(f"{cluster.url}/v1/algorithms/{owner or cluster.user}/{name}",
                            headers={"Authorization": f"Simple {cluster.admin_key}"}, timeout=30)
    return response.json()["settings"] if response.status_code == 200 else None


def test_create_check_mode_then_real_then_unchanged(cluster, keys, run_playbook):
    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, check=True, diff=True, name="Hello", language="python3")
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    assert result["owner"] == cluster.user  # from the key
    assert result["environment"]["id"] == PY37.environment_id
    assert result["diff"]["before"] == {} and result["diff"]["after"]["environment_id"] == PY37.environment_id
    assert settings_of(cluster, "Hello") is None
    assert watch.mutating() == []

    run, result = run_create(run_playbook, keys, name="Hello", language="python3")
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    assert result["algorithm"]["name"] == "Hello"
    settings = settings_of(cluster, "Hello")
    assert settings["algorithm_environment"] == PY37.environment_id
    assert settings["network_access"] == "full" and settings["pipeline_enabled"] is True
    assert settings["source_visibility"] == "closed" and settings["license"] == "apl"

    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, name="Hello", language="python3")
    assert run.rc == 0, run.stdout
    assert result["changed"] is False
    assert result["algorithm"]["settings"]["algorithm_environment"] == PY37.environment_id
    assert watch.mutating() == []


def test_update_only_what_differs(cluster, keys, run_playbook):
    args = dict(name="Tuned", language="python3")
    assert run_create(run_playbook, keys, **args)[1]["changed"] is True
    changed = dict(args, settings={"network_access": "isolated"}, details={"summary": "Tuned up"})

    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, check=True, diff=True, **changed)
    assert result["changed"] is True, run.stdout
    assert result["diff"]["before"]["settings"]["network_access"] == "full"
    assert result["diff"]["after"]["settings"]["network_access"] == "isolated"
    assert result["diff"]["after"]["details"] == {"summary": "Tuned up"}
    assert watch.mutating() == []
    assert settings_of(cluster, "Tuned")["network_access"] == "full"

    run, result = run_create(run_playbook, keys, **changed)
    assert result["changed"] is True, run.stdout
    assert [r["method"] for r in watch.mutating()] == ["PUT"]
    assert settings_of(cluster, "Tuned")["network_access"] == "isolated"
    assert result["algorithm"]["details"]["summary"] == "Tuned up"
    assert run_create(run_playbook, keys, **changed)[1]["changed"] is False
    # Back to the testbench default when the task no longer asks for isolation.
    assert run_create(run_playbook, keys, **args)[1]["changed"] is True
    assert settings_of(cluster, "Tuned")["network_access"] == "full"


def test_environment_by_display_name_and_by_id(cluster, keys, run_playbook):
    run, result = run_create(run_playbook, keys, name="ByName", environment_name="python  3.7")
    assert result["changed"] is True, run.stdout
    assert result["environment"]["display_name"] == "Python 3.7"
    run, result = run_create(run_playbook, keys, name="ByName", environment_id=PY37.environment_id)
    assert result["changed"] is False, run.stdout
    assert settings_of(cluster, "ByName")["algorithm_environment"] == PY37.environment_id


def test_sync_from_aems_master_then_move_an_algorithm_to_it(cluster, keys, run_playbook):
    tf = spec("test", "Python 3.7 + TensorFlow 2.3")

    def installed():
        return [e["id"] for e in cluster.client().get_environment("python3")]

    assert tf.environment_id not in installed()
    args = dict(name="OnTf", owner=cluster.user, language="tensorflow-2.3", aems_master="test")

    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, check=True, api_key_var="admin_key", **args)
    assert result["changed"] is True, run.stdout
    assert result["environment"]["synced"] is True
    assert result["environment"]["display_name"] == tf.display_name
    assert watch.mutating() == []  # not even the sync
    assert tf.environment_id not in installed()

    run, result = run_create(run_playbook, keys, api_key_var="admin_key", **args)
    assert result["changed"] is True, run.stdout
    assert result["environment"] | {"synced": True} == result["environment"]
    assert tf.environment_id in installed()
    assert settings_of(cluster, "OnTf")["algorithm_environment"] == tf.environment_id
    run, result = run_create(run_playbook, keys, api_key_var="admin_key", **args)
    assert result["changed"] is False and result["environment"]["synced"] is False

    # An existing algorithm moves to another installed environment (the API allows it).
    assert run_create(run_playbook, keys, name="Mover", language="python3")[1]["changed"] is True
    run, result = run_create(run_playbook, keys, diff=True, name="Mover", environment_name=tf.display_name)
    assert result["changed"] is True, run.stdout
    assert result["diff"]["before"]["environment_id"] == PY37.environment_id
    assert settings_of(cluster, "Mover")["algorithm_environment"] == tf.environment_id


def test_missing_environment_without_sync_lists_what_is_installed(cluster, keys, run_playbook):
    run, result = run_create(run_playbook, keys, name="NoTorch", language="pytorch", sync_environment=False)
    assert run.rc != 0 and result["failed"] is True
    msg = result["msg"]
    assert "language=pytorch" in msg and "not installed" in msg
    assert "'Python 3.7'" in msg and cluster.url in msg and "sync_environment" in msg
    assert settings_of(cluster, "NoTorch") is None


def test_missing_environment_with_a_user_key_says_an_admin_key_is_needed(cluster, keys, run_playbook):
    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, name="NoTorch", language="pytorch")
    assert result["failed"] is True, run.stdout
    assert "admin API key" in result["msg"] and "'Python 3.7'" in result["msg"]
    assert watch.mutating() == []


def test_unknown_environment_names_the_field_and_what_exists(cluster, keys, run_playbook):
    run, result = run_create(run_playbook, keys, name="Nowhere", owner=cluster.user, api_key_var="admin_key",
                             environment_name="Python 9 + Magic")
    assert result["failed"] is True, run.stdout
    msg = result["msg"]
    assert "environment_name='Python 9 + Magic'" in msg
    assert "neither installed nor offered by AEMS master 'prod'" in msg
    assert "Python 3.8 + PyTorch 1.x" in msg  # what the master offers
    run, result = run_create(run_playbook, keys, name="Nowhere", environment_id="no-such-id", sync_environment=False)
    msg = result["msg"]
    assert "environment_id='no-such-id'" in msg and "Installed: " in msg
    # every language's environment is installed; the list names each with its id and language
    assert "'Python 3.7' (id " in msg and "'Java 11.0' (id " in msg and ", java11, CPU)" in msg


def test_wrong_key_gives_an_actionable_message_without_the_key(cluster, keys, run_playbook):
    wrong = "sim" + "W" * 25
    run, result = run_create(run_playbook, dict(keys, api_key=wrong), name="Hello", language="python3")
    assert run.rc != 0 and result["failed"] is True
    msg = result["msg"]
    assert "401" in msg and cluster.url in msg and "check api_key" in msg
    assert wrong not in msg and wrong not in run.stdout and wrong not in run.stderr
    assert wrong not in str(result)


def test_absent_deletes_once(cluster, keys, run_playbook):
    assert run_create(run_playbook, keys, name="Doomed", language="python3")[1]["changed"] is True
    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, check=True, name="Doomed", state="absent")
    assert result["changed"] is True, run.stdout
    assert watch.mutating() == [] and settings_of(cluster, "Doomed") is not None

    run, result = run_create(run_playbook, keys, name="Doomed", state="absent")
    assert result["changed"] is True, run.stdout
    assert settings_of(cluster, "Doomed") is None
    run, result = run_create(run_playbook, keys, name="Doomed", state="absent")
    assert result["changed"] is False, run.stdout


def test_bad_name_fails_before_any_request(cluster, keys, run_playbook):
    watch = RequestWatch(cluster)
    run, result = run_create(run_playbook, keys, name="../evil", language="python3")
    assert result["failed"] is True and "Invalid algorithm name" in result["msg"]
    assert watch.requests() == []
