"""Helpers for the tests of playbooks/testbench.yml and the testbench role.

Inventories that carry keys are written 0600 into the test's tmp dir, as an operator's vault
would hold them; nothing with a key goes on a command line.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.integration.playbook import ROOT, VENV_BIN, PlaybookRun, ansible_env, ensure_collection_link

PLAYBOOK = ROOT / "playbooks" / "testbench.yml"
CLEANUP = ROOT / "playbooks" / "cleanup.yml"


def role_alone_play(name: str) -> str:
    """A playbook of one play that uses the role as a user's own playbook does (strategy linear)."""
    return f"""
- name: {name}
  hosts: all
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  roles:
    - role: algorithmia.testbench.testbench
"""


def write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(text)
    return path


def write_inventory(path: Path, hosts: dict[str, dict], group_vars: dict | None = None) -> Path:
    """A YAML (JSON) inventory: one host per destination cluster, in group ``destinations``."""
    inventory = {"destinations": {"hosts": {name: dict(values) for name, values in hosts.items()},
                                  "vars": dict(group_vars or {})}}
    return write_private(path, json.dumps(inventory, indent=2))


def destination(cluster, key: str | None = None, **values) -> dict:
    """Host vars for a destination localcluster."""
    host = {"testbench_api_address": cluster.url, "testbench_api_key": key or cluster.key}
    if cluster.ca_cert:
        host["testbench_ca_cert"] = cluster.ca_cert
    host.update(values)
    return host


def private_temp_env(tmp_path: Path) -> dict:
    """Ansible's temporary files inside the test's dir, so tests can read everything a run wrote."""
    return {"ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote")}


def run_without_inventory(tmp_path: Path, env: dict, args: list[str] | None = None,
                          timeout: float = 1200) -> PlaybookRun:
    """``ansible-playbook playbooks/testbench.yml`` with no ``-i``: what a seed user runs."""
    ensure_collection_link()
    tmp_path.mkdir(parents=True, exist_ok=True)
    results_file = tmp_path / "results.json"
    extra = {
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).resolve().parent / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "TESTBENCH_RESULTS_FILE": str(results_file),
        # No inventory at all, whatever the machine's /etc/ansible/hosts says.
        "ANSIBLE_INVENTORY": str(tmp_path / "no-inventory"),
    }
    extra.update(env)
    full_env = ansible_env(extra)
    for name in ("SOURCE_API_KEY", "SOURCE_CA_CERT", "DESTINATION_API_ADDRESS", "DESTINATION_API_KEY",
                 "DESTINATION_CA_CERT", "DESTINATION_AEMS_MASTER", "WORKFLOW_NAME"):
        if name not in env:
            full_env.pop(name, None)
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK)] + (args or []), cwd=ROOT,
                          capture_output=True, text=True, env=full_env, timeout=timeout, check=False)
    result = json.loads(results_file.read_text()) if results_file.exists() else {}
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, result)


def host_results(run: PlaybookRun, host: str) -> list[tuple[str, dict]]:
    """(task name, result) of every task that ran on ``host``, in order."""
    found = []
    for play in run.result.get("plays", []):
        for task in play.get("tasks", []):
            if host in task["hosts"]:
                # Role tasks are named "algorithmia.testbench.testbench : <name>".
                found.append((task["task"]["name"].split(" : ", 1)[-1], task["hosts"][host]))
    return found


# One algo_deploy task per workflow creates, syncs the data of, builds, tests and publishes its algorithms.
DEPLOY = "Create, sync the data of, build, test and publish the algorithms"
BENCHMARK = "Benchmark the entrypoint with the workflow's tests"


def ran_ok(run: PlaybookRun, host: str, task: str) -> list[dict]:
    """Results on ``host`` of the tasks named ``task`` that ran (not skipped); none may have failed."""
    results = [result for name, result in host_results(run, host) if name == task and not result.get("skipped")]
    for result in results:
        assert not result.get("failed"), result
    return results


def summary(report_dir: Path) -> dict:
    return json.loads((report_dir / "summary.json").read_text())


def output(run: PlaybookRun) -> str:
    return run.stdout + run.stderr


def explain(run: PlaybookRun) -> str:
    return f"rc={run.rc}\n--- stdout\n{run.stdout[-6000:]}\n--- stderr\n{run.stderr[-3000:]}"


def api(cluster, method: str, path: str, key: str | None = None, **kwargs):
    import requests

    headers = {"Authorization": f"Simple {key or cluster.key}"}
    return requests.request(method, cluster.url + path, headers=headers, timeout=30,
                            verify=cluster.ca_cert or True, **kwargs)


def algorithm_exists(cluster, name: str, owner: str | None = None) -> bool:
    response = api(cluster, "GET", f"/v1/algorithms/{owner or cluster.user}/{name}")
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def data_exists(cluster, path: str) -> bool:
    """Whether a data collection (``owner/name``) or file exists."""
    response = api(cluster, "HEAD" if "." in path.rsplit("/", 1)[-1] else "GET", f"/v1/data/{path}")
    return response.status_code == 200


def failure_messages(run: PlaybookRun, host: str) -> list[str]:
    """The ``msg`` of every task that failed on ``host`` (of each failed item, for a loop)."""
    messages = []
    for entry in host_results(run, host):
        result = entry[1]
        if result.get("failed"):
            messages.append(str(result.get("msg", "")))
            messages.extend(str(item.get("msg", "")) for item in result.get("results", []) if item.get("failed"))
    return messages


def key_slices(keys, width: int = 8) -> set[str]:
    """Every ``width``-character slice of every key: a key cut short or wrapped still leaks."""
    return {key[i:i + width] for key in keys if key for i in range(max(1, len(key) - width + 1))}


def key_material_in(places: dict[str, str], keys) -> list[str]:
    """``"<where>: <slice>"`` for each place that holds a key or any 8-character slice of one."""
    slices = key_slices(keys)
    return [f"{where}: {piece}" for where, text in places.items() for piece in sorted(slices) if piece in text]


def cluster_logs(cluster) -> dict[str, str]:
    """What a localcluster wrote that a person reads: its server output, request log, build logs,
    and the git config of every repository it holds."""
    root = cluster.data_dir
    paths = [root / "server.log", root / "requests.log"]
    paths += list((root / "builds").glob("*/build.log")) + list((root / "repos").glob("*/*.git/config"))
    return {f"{root.name}/{path.relative_to(root)}": path.read_text(errors="replace") for path in paths if path.is_file()}


def one_call_per_test(workflow: dict) -> dict:
    """The workflow with its tests' load taken out: one call each. The image pipeline's load (hundreds
    of calls) is the demo's; the tests that deploy it for other reasons (cleanup, faults, the README's
    commands) need its figures no more than its deployment's time."""
    for test in workflow["test_info"]["tests"]:
        for load in ("calls", "concurrency", "warmup"):
            test.pop(load, None)
    return workflow


def pipeline_project(directory: Path, source, extra_workflows: dict | None = None) -> Path:
    """A user's project for the image pipeline: ``workflows/pipeline.json`` reading its code archive
    and data file from ``source`` (a running cluster, seeded here as the demo seeds its source),
    with the collection's templates as ``algorithms/`` beside it, and one call per test.
    ``extra_workflows`` (name:
    document) are written beside it. Returns the pipeline workflow's path."""
    from tools.demo import seed_source

    seed_source(source.url, source.key, source.ca_cert)
    workflow = json.loads((ROOT / "workflows" / "image_benchmark.json").read_text())
    workflow["source_info"]["cluster_address"] = source.url
    one_call_per_test(workflow)
    (directory / "workflows").mkdir(parents=True)
    for name, document in dict(extra_workflows or {}, pipeline=workflow).items():
        (directory / "workflows" / f"{name}.json").write_text(json.dumps(document))
    (directory / "algorithms").symlink_to(ROOT / "algorithms")
    return directory / "workflows" / "pipeline.json"
