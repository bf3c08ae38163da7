"""One run at a time per cluster, end to end: two playbook runs started together on one cluster,
and a run killed while it holds the cluster's lease.

- Two runs at once, separate report directories (two operators' checkouts): exactly one works; the
  other stops before any change, naming the holder; every algorithm has one version.
- Two runs at once, the same report directory, ``testbench_lease_wait: 300``: the second waits for
  the first (progress lines), then runs green as an unchanged re-run; still one version each.
- A run SIGKILLed (its whole process group) while it holds the lease: the next run refuses, naming
  the holder and its age, until the lease's expiry; after it, it takes the lease over with a
  warning naming the dead run, and runs green.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.collection import ensure_importable
from tests.integration.playbook import ROOT, VENV_BIN, ansible_env, ensure_collection_link, run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, failure_messages, host_results, write_inventory

ensure_importable()

# pylint: disable=wrong-import-position
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.module_utils.lease import ClusterLease  # noqa: E402

WORKFLOW = {
    "source_info": {"cluster_address": "https://api.algorithmia.com"},
    "test_info": {"entrypoint": "hello_world", "tests": [{"name": "steady", "payload": "A", "timeout": 10, "calls": 60}]},
    "algorithms": [{"name": "hello_world", "data_files": [], "environment": "python3", "test_payload": "A"}],
}
HELD = "is being changed by another testbench run: run "


def set_faults(cluster, *rules):
    requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)}, timeout=30,
                 headers={"Authorization": f"Simple {cluster.admin_key}"}).raise_for_status()


def versions(cluster) -> list:
    answer = requests.get(f"{cluster.url}/v1/algorithms/{cluster.user}/hello_world/versions", timeout=30,
                          headers={"Authorization": f"Simple {cluster.key}"})
    answer.raise_for_status()
    return [entry["version_info"]["semantic_version"] for entry in answer.json()["results"]]


def holder(cluster):
    return ClusterLease(AlgorithmiaClient(cluster.url, cluster.key), cluster.user).holder()


def project(tmp: Path, cluster, report_dir: Path, **values) -> Path:
    (tmp / "workflows").mkdir(parents=True, exist_ok=True)
    (tmp / "workflows" / "leased.json").write_text(json.dumps(WORKFLOW))
    if not (tmp / "algorithms").exists():
        (tmp / "algorithms").mkdir()
        (tmp / "algorithms" / "hello_world").symlink_to(ROOT / "algorithms" / "hello_world")
    group = dict({"testbench_workflows": [str(tmp / "workflows" / "leased.json")], "testbench_report_dir": str(report_dir),
                  "testbench_history_dir": ""}, **values)
    return write_inventory(tmp / "inventory.yml", {"dest": destination(cluster)}, group)


def together(*runs):
    """Start every ``(playbook, tmp, inventory)`` at once; their PlaybookRuns, in order."""
    results = [None] * len(runs)

    def start(index, tmp, inventory):
        results[index] = run_playbook(PLAYBOOK, tmp, inventory=inventory)

    threads = [threading.Thread(target=start, args=(index, tmp, inventory)) for index, (tmp, inventory) in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def tasks_run(run, host="dest") -> set:
    return {name for name, result in host_results(run, host) if not result.get("skipped")}


def test_two_runs_at_once_one_works_the_other_stops_or_waits(cluster, tmp_path):
    inventories = [project(tmp_path / name, cluster, tmp_path / name / "reports") for name in ("a", "b")]
    first, second = together((tmp_path / "a" / "run", inventories[0]), (tmp_path / "b" / "run", inventories[1]))
    worked = [run for run in (first, second) if run.rc == 0]
    stopped = [run for run in (first, second) if run.rc != 0]
    assert len(worked) == 1 and len(stopped) == 1, explain(first) + explain(second)
    message = "\n".join(failure_messages(stopped[0], "dest")) + stopped[0].stdout
    print("the second run:", [line for line in message.splitlines() if HELD in line][:1])
    assert HELD in message and "Fix: wait for that run" in message and "testbench_lease_wait" in message, explain(stopped[0])
    assert "Create, sync the data of, build, test and publish the algorithms" not in tasks_run(stopped[0])
    assert versions(cluster) == ["0.1.0"]
    assert holder(cluster) is None  # released at the end

    # The same report directory (the one whose records say this testbench made hello_world), the
    # second run told to wait: it waits, then runs as an unchanged re-run.
    reports = tmp_path / ("a" if first.rc == 0 else "b") / "reports"
    shared = project(tmp_path / "c", cluster, reports, testbench_lease_wait=300)
    # 60 calls of 250 ms: the first run holds the lease for over 15 s, past the 10 s of a progress line
    set_faults(cluster, {"kind": "latency", "latency_ms": 250, "path_prefix": f"/v1/algo/{cluster.user}/hello_world"})
    try:
        first, second = together((tmp_path / "c" / "run1", shared), (tmp_path / "c" / "run2", shared))
    finally:
        set_faults(cluster)
    assert first.rc == 0 and second.rc == 0, explain(first) + explain(second)
    waited = [run for run in (first, second) if "for the lease held by run" in run.stdout + run.stderr]
    assert len(waited) == 1, explain(first) + explain(second)
    print("the waiting run:", [line for line in waited[0].stdout.splitlines() if "for the lease held by" in line][:1])
    assert all(stats["changed"] == 0 for stats in waited[0].stats.values()), explain(waited[0])
    assert versions(cluster) == ["0.1.0"]


def start_detached(tmp: Path, inventory: Path) -> subprocess.Popen:
    """ansible-playbook in a session of its own, so that the whole run (its forked workers too) can be killed."""
    ensure_collection_link()
    tmp.mkdir(parents=True, exist_ok=True)
    out = open(tmp / "stdout.txt", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK), "-i", str(inventory)], cwd=ROOT,  # pylint: disable=consider-using-with
                            stdout=out, stderr=subprocess.STDOUT, env=ansible_env(), start_new_session=True)
    out.close()
    return proc


@pytest.fixture
def killed_run(fresh_cluster, tmp_path):
    """A run with a 20 s lease, SIGKILLed once it holds the lease and is working."""
    inventory = project(tmp_path / "p", fresh_cluster, tmp_path / "p" / "reports", testbench_lease_ttl=20)
    proc = start_detached(tmp_path / "killed", inventory)
    try:
        deadline = time.monotonic() + 300
        held = None
        while time.monotonic() < deadline and proc.poll() is None:
            held = holder(fresh_cluster)
            if held is not None:
                break
            time.sleep(0.2)
        assert held is not None, (tmp_path / "killed" / "stdout.txt").read_text()
        time.sleep(1.0)  # into its work
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    return inventory, held


def test_a_killed_holder_blocks_until_its_lease_expires_then_is_taken_over(fresh_cluster, tmp_path, killed_run):
    inventory, held = killed_run
    refused = run_playbook(PLAYBOOK, tmp_path / "refused", inventory=inventory)
    message = "\n".join(failure_messages(refused, "dest"))
    print("while it lives:", message.splitlines()[1:2])
    assert refused.rc != 0 and f"{HELD}{held['run_id']} from {held['host']}" in message, explain(refused)
    assert "s ago, expires in" in message

    time.sleep(max(held["ttl_s"] - (holder(fresh_cluster) or {}).get("age_s", 0), 0) + 2)
    after = run_playbook(PLAYBOOK, tmp_path / "after", inventory=inventory)
    assert after.rc == 0, explain(after)
    output = after.stdout + after.stderr
    print("after its expiry:", [line for line in output.splitlines() if "past its expiry" in line][:1])
    assert f"run {held['run_id']}" in output and "past its expiry" in output, output[-3000:]
    assert holder(fresh_cluster) is None


def test_the_modules_keep_the_lease_alive_through_a_step_longer_than_its_time_to_live(fresh_cluster, tmp_path):
    """A 10 s lease and a benchmark of about 15 s (60 calls of 250 ms): renewed all along, never expired."""
    inventory = project(tmp_path / "p", fresh_cluster, tmp_path / "p" / "reports", testbench_lease_ttl=10)
    seen = []

    def watch():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            held = holder(fresh_cluster)
            if held is None and seen:
                return  # released at the end
            if held is not None:
                seen.append((held["generation"], held["age_s"], held["expired"]))
            time.sleep(0.5)

    set_faults(fresh_cluster, {"kind": "latency", "latency_ms": 250, "path_prefix": f"/v1/algo/{fresh_cluster.user}/hello_world"})
    try:
        run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=inventory, while_running=watch)
    finally:
        set_faults(fresh_cluster)
    print("lease seen during the run: {0} looks, generations {1}, oldest {2:.1f} s".format(
        len(seen), sorted({g for g, _a, _e in seen}), max(age for _g, age, _e in seen)))
    assert run.rc == 0, explain(run)
    assert len({generation for generation, _age, _expired in seen}) == 1 and not any(expired for _g, _a, expired in seen)
    assert len(seen) > 30  # the run held it for over 15 s
