"""playbooks/rollout.yml on four localclusters, serial [1, 50%, 100%], with an operator's upgrade
file that restarts a cluster (tests/integration/restart_cluster.py) with its algorithm calls made
slower or not: the "upgrade".

- A slow upgrade (40 ms more per call) of the first batch fails its gate and stops the rollout: the
  three other clusters are untouched - never restarted, and no request that changes anything in
  their request logs - and the rollout's account says so.
- A good upgrade (no delay) passes every batch's gate, and every cluster is upgraded.

The clusters run one at a time (--forks 1), as the other judge tests. Figures printed (pytest -s).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from localcluster.process import stop_server
from tests.conftest import running_cluster
from tests.integration.judge_support import write_project
from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, write_private

pytestmark = pytest.mark.alone

NAMES = ("r1", "r2", "r3", "r4")
ROLLOUT = ROOT / "playbooks" / "rollout.yml"
RESTART = Path(__file__).resolve().parent / "restart_cluster.py"
FORKS = ["--forks", "1"]
UPGRADE = """---
- name: Upgrade the cluster (restart its localcluster, calls {{ upgrade_delay_ms }} ms slower)
  ansible.builtin.command:
    argv: ["{{ ansible_playbook_python }}", "{{ restart_script }}", --data-dir, "{{ cluster_data_dir }}",
           --call-delay-ms, "{{ upgrade_delay_ms }}"]
  changed_when: true
"""


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    with ExitStack() as stack:
        running = {name: stack.enter_context(running_cluster(tmp_path_factory, name)) for name in NAMES}
        try:
            yield running
        finally:
            for cluster in running.values():  # a restarted server is not the fixture's child
                try:
                    stop_server(cluster.data_dir)
                except RuntimeError:
                    pass


@pytest.fixture(scope="module")
def project(clusters, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rollout")
    path = write_project(tmp)
    (tmp / "upgrade.yml").write_text(UPGRADE)
    group = {"testbench_workflows": [str(path)], "testbench_report_dir": str(tmp / "reports"), "testbench_history_dir": "",
             "restart_script": str(RESTART)}
    hosts = {name: destination(cluster, cluster_data_dir=str(cluster.data_dir)) for name, cluster in clusters.items()}
    inventory = write_private(tmp / "inventory.yml", json.dumps({"destinations": {"hosts": hosts, "vars": group}}, indent=2))
    deployed = run_playbook(PLAYBOOK, tmp / "deploy", inventory=inventory, args=FORKS)
    assert deployed.rc == 0, explain(deployed)
    return tmp, inventory


def rollout(project, label, delay_ms):
    tmp, inventory = project
    return run_playbook(ROLLOUT, tmp / label, inventory=inventory, args=FORKS + [
        "-e", json.dumps({"testbench_rollout_upgrade_tasks": str(tmp / "upgrade.yml"), "upgrade_delay_ms": delay_ms,
                          "testbench_rollout_serial": [1, "50%", "100%"], "testbench_rollout_name": label})])


def account(project, label) -> dict:
    return json.loads((project[0] / "reports" / f"rollout-{label}.json").read_text())


def changes(cluster, since: int) -> list[str]:
    """The requests after the first ``since`` of the cluster's log that change something (a call of an
    algorithm or a git fetch changes nothing; nor does the testbench's own lease, taken and released
    by the run that measured the cluster before the rollout began)."""
    changing = []
    for entry in cluster.request_log()[since:]:
        method, path = entry.get("method"), entry.get("path") or ""
        if f"/v1/connector/data/{cluster.user}/testbench_leases" in path:
            continue
        if method in ("PUT", "PATCH", "DELETE") or (
                method == "POST" and not path.startswith("/v1/algo/") and not path.endswith("/git-upload-pack")):
            changing.append(f"{method} {path}")
    return changing


def server_pid(cluster) -> int:
    return json.loads((cluster.data_dir / "server.json").read_text())["pid"]


def test_a_slow_upgrade_stops_the_rollout_and_a_good_one_passes_every_batch(project, clusters):
    logged = {name: len(cluster.request_log()) for name, cluster in clusters.items()}
    pids = {name: server_pid(cluster) for name, cluster in clusters.items()}

    slow = rollout(project, "slow", 40)
    slow_account = account(project, "slow")
    print("slow upgrade:", json.dumps(slow_account))
    assert slow.rc != 0, explain(slow)
    assert slow_account["upgraded"] == ["r1"] and slow_account["failed"] == ["r1"] and slow_account["passed"] == []
    assert slow_account["untouched"] == ["r2", "r3", "r4"] and slow_account["stopped"] is True
    assert "against snapshot slow-batch" in slow.stdout and "-> regression" in slow.stdout, slow.stdout[-4000:]
    assert "untouched: r2, r3, r4" in slow.stdout
    assert server_pid(clusters["r1"]) != pids["r1"]
    for name in ("r2", "r3", "r4"):
        assert server_pid(clusters[name]) == pids[name], name
        assert changes(clusters[name], logged[name]) == [], name

    good = rollout(project, "good", 0)
    good_account = account(project, "good")
    print("good upgrade:", json.dumps(good_account))
    assert good.rc == 0, explain(good)
    assert good_account["upgraded"] == ["r1", "r2", "r3", "r4"] and good_account["failed"] == []
    assert good_account["passed"] == ["r1", "r2", "r3", "r4"] and good_account["untouched"] == []
    assert "every cluster upgraded and passed its gate" in good.stdout
