"""The collection's modules run in the task's worker when they would run on the controller's own
interpreter (plugins/plugin_utils/in_process.py): the same task gives the same result as in a
process of its own (a task ``environment`` sends it there), a success and a failure alike, and
no module file is written for it."""

from __future__ import annotations

import json
import re

from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import host_results


def play(*tasks) -> str:
    return json.dumps([{
        "name": "Both ways", "hosts": "localhost", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": {"group/algorithmia.testbench.cluster": {
            "api_address": "{{ api_address }}", "api_key": "{{ api_key }}"}},
        "tasks": list(tasks),
    }], indent=2)


def without_error_ids(result: dict) -> str:
    """The result as JSON, the server's id of each error (one per request) left out."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", json.dumps(result, sort_keys=True))


def both_ways(name: str, task: dict) -> list[dict]:
    """The task as it is (in the worker) and with a task environment (in a process of its own)."""
    return [dict(task, name=f"{name} in the worker"),
            dict(task, name=f"{name} in its own process", environment={"TESTBENCH_UNUSED": "1"})]


def test_a_module_in_the_worker_returns_what_it_returns_in_its_own_process(cluster, tmp_path):
    remote_tmp = tmp_path / "remote_tmp"
    check = {"algorithmia.testbench.algo_create": {"name": "InProcess", "language": "python3"}, "check_mode": True,
             "diff": True}
    refused = {"algorithmia.testbench.algo_create": {"name": "InProcess", "language": "python3",
                                                     "api_key": "simWRONGKEY0000000000"}, "ignore_errors": True}
    run = run_playbook(play(*both_ways("check", check), *both_ways("refused", refused)), tmp_path / "run",
                       extra_vars={"api_address": cluster.url, "api_key": cluster.key},
                       env={"ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TMP": str(remote_tmp)})
    assert run.rc == 0, run.stdout + run.stderr
    results = dict(host_results(run, "localhost"))
    for name in ("check", "refused"):
        here, apart = results[f"{name} in the worker"], results[f"{name} in its own process"]
        assert without_error_ids(here) == without_error_ids(apart), json.dumps([here, apart], indent=1)
    assert results["check in the worker"]["changed"] is True
    assert results["check in the worker"]["diff"]["before"] == {}
    assert results["refused in the worker"]["failed"] is True
    assert "401" in results["refused in the worker"]["msg"] or "key" in results["refused in the worker"]["msg"]
    assert "simWRONGKEY0000000000" not in json.dumps(results)
    # Only the task with an environment wrote a module file (kept by ANSIBLE_KEEP_REMOTE_FILES).
    assert len(list(remote_tmp.rglob("AnsiballZ_algo_create.py"))) == 2
    assert not client_algorithm_exists(cluster, "InProcess")


def client_algorithm_exists(cluster, name: str) -> bool:
    return cluster.client().algo(f"{cluster.user}/{name}").exists()


def test_with_the_collection_preloaded_a_module_returns_the_same_without_a_warning(cluster, tmp_path):
    """The callback algorithmia.testbench.preload (which the collection's playbooks load from their
    callback_plugins/) imports the modules in ansible-playbook's process before the workers fork:
    the module imported before then runs as __main__ in its worker, the same as in its own process."""
    check = {"algorithmia.testbench.algo_create": {"name": "Preloaded", "language": "python3"}, "check_mode": True,
             "diff": True}
    run = run_playbook(play(*both_ways("check", check)), tmp_path / "run", args=["-vvv"],
                       extra_vars={"api_address": cluster.url, "api_key": cluster.key},
                       env={"ANSIBLE_CALLBACKS_ENABLED": "record_results,algorithmia.testbench.preload"})
    assert run.rc == 0, run.stdout + run.stderr
    assert "Imported the collection's modules and plugins in ansible-playbook's process" in run.stdout, run.stdout
    assert "not imported" not in run.stdout
    assert "Running module algorithmia.testbench.algo_create in this worker" in run.stdout
    assert "[WARNING]" not in run.stderr and "RuntimeWarning" not in run.stderr, run.stderr
    results = dict(host_results(run, "localhost"))
    here, apart = results["check in the worker"], results["check in its own process"]
    assert without_error_ids(here) == without_error_ids(apart), json.dumps([here, apart], indent=1)
    assert here["changed"] is True and not client_algorithm_exists(cluster, "Preloaded")
