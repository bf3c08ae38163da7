"""playbooks/testbench.yml runs the clusters with strategy free, each at its own pace, and reports
every cluster's verdict in a play of its own once all of them are done.

The defect strategy free brings when the summary runs inside the clusters' play: the first cluster
to finish (here one that fails at its first change) would show, index and judge the run while the
other (here slowed down by latency on every algorithm request) is still at work - its verdict
missing, shown as "FAILED before its workflows ran". Two runs of hello_world on two clusters:

- the real playbook, ``slow`` passing and ``quick`` failing early: the verdict lines, summary.json
  and the index list both clusters as they ended, and the run fails naming ``quick``;
- the playbook with a task that fails one host outside the role's rescue (an unexpected error)
  before its workflows: the verdict and the index still list that host, as failed before its
  workflows ran, beside the cluster that passed, and the run fails.

And the role on its own (strategy linear, no summary play after it) still shows, writes and fails
everything itself. Nothing here measures time: the latency only makes the defect show.
"""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    PLAYBOOK,
    destination,
    explain,
    failure_messages,
    role_alone_play,
    summary,
    write_inventory,
)

INDEX_TASK = "Write the run's index of every cluster's verdicts, and the verdicts to summary.json"
FAIL_TASK = "Fail this cluster because a workflow or its judgement failed"


def set_faults(cluster, *rules):
    requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)}, timeout=30,
                 headers={"Authorization": f"Simple {cluster.admin_key}"}).raise_for_status()


def slow_and_quick(slow, quick):
    """``slow``: every algorithm request of its cluster answered 0.4 s late; ``quick``: its cluster
    refuses to create any algorithm (a 500, not retried), so it fails at its first change."""
    set_faults(slow, {"kind": "latency", "latency_ms": 400, "path_prefix": "/v1/algorithms/"})
    set_faults(quick, {"kind": "error", "status": 500, "methods": ["POST"], "path_prefix": f"/v1/algorithms/{quick.user}"})


def inventory_for(tmp, hosts, suffix):
    """hello_world, deployed under its own suffix (the clusters are shared by this module's runs)."""
    return write_inventory(tmp / "inventory.yml", hosts, {
        "testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp / "reports"),
        "testbench_name_suffix": suffix})


def index_statuses(run) -> dict:
    found = [result for name, result in host_results_any(run) if name == INDEX_TASK]
    assert len(found) == 1, f"the index was written {len(found)} times: " + json.dumps([f.get("statuses") for f in found])
    return found[0]["statuses"]


def host_results_any(run):
    """(task name, result) of every task of every host."""
    for play in run.result.get("plays", []):
        for task in play.get("tasks", []):
            for result in task["hosts"].values():
                yield task["task"]["name"].split(" : ", 1)[-1], result


def recap_failures(run) -> dict:
    return {host: counts["failures"] for host, counts in run.stats.items() if host != "localhost"}


def run_slow_and_quick(playbook, cluster, source_cluster, tmp, suffix: str):
    """``playbook`` on the clusters slow (``cluster``) and quick (``source_cluster``), faults set for
    the run (``slow_and_quick``) and cleared after it."""
    inventory = inventory_for(tmp, {"slow": destination(cluster), "quick": destination(source_cluster)}, suffix)
    slow_and_quick(cluster, source_cluster)
    try:
        return run_playbook(playbook, tmp / "run", inventory=inventory)
    finally:
        set_faults(cluster)
        set_faults(source_cluster)


@pytest.fixture(scope="module")
def free_run(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("free")
    return run_slow_and_quick(PLAYBOOK, cluster, source_cluster, tmp, "_free"), tmp / "reports"


def test_the_verdict_lists_the_slow_cluster_and_the_quick_failed_one(free_run, cluster, source_cluster):
    run, reports = free_run
    verdict = summary(reports)
    cluster_lines = [line for line in verdict["lines"] if not line.startswith(" ")]
    assert cluster_lines == [f"slow ({cluster.url}): passed", f"quick ({source_cluster.url}): FAILED"], explain(run)
    assert {c["cluster"]: c["status"] for c in verdict["clusters"]} == {"slow": "passed", "quick": "failed"}
    assert verdict["passed"] is False
    for line in cluster_lines:  # the verdict printed is the one written
        assert f'"{line}"' in run.stdout, explain(run)
    assert "before its workflows ran" not in run.stdout


def test_the_index_lists_both_clusters_as_they_ended(free_run):
    run, reports = free_run
    assert index_statuses(run) == {"slow": "passed", "quick": "failed"}, explain(run)
    (bundle,) = (reports / "runs").iterdir()
    index = (bundle / "index.html").read_text()
    assert 'href="slow/report.html' in index and 'href="quick/report.html' in index
    assert json.loads((bundle / "slow" / "results.json").read_text())["status"] == "passed"
    assert sorted(json.loads((bundle / "input.json").read_text())["clusters"]) == ["quick", "slow"]


def test_the_run_fails_naming_the_failed_cluster_only(free_run):
    run, _reports = free_run
    assert run.rc != 0, explain(run)
    assert recap_failures(run) == {"slow": 0, "quick": 1}, explain(run)
    message = failure_messages(run, "quick")[-1]
    assert message.startswith("quick failed at step ") and "of workflow hello_world: " in message, message
    # quick failed in the last play, after the verdict was shown and the index and summary.json written
    last = run.result["plays"][-1]
    names = [task["task"]["name"].split(" : ", 1)[-1] for task in last["tasks"]]
    assert names.index(FAIL_TASK) > names.index(INDEX_TASK) > names.index("Show the verdict of every cluster"), names
    failing = last["tasks"][names.index(FAIL_TASK)]["hosts"]
    assert failing["quick"].get("failed") and failing["slow"].get("skipped"), failing
    assert "[WARNING]" not in run.stderr, run.stderr


def with_a_host_failing_before_its_workflows(tmp, host):
    """playbooks/testbench.yml with a task failing ``host`` at the start of the clusters' play,
    outside the role's rescue: an unexpected error."""
    plays = yaml.safe_load(PLAYBOOK.read_text())
    (main,) = [play for play in plays if play.get("strategy") == "free"]
    main["pre_tasks"] = [{"name": "Fail unexpectedly", "ansible.builtin.fail": {"msg": "an unexpected error"},
                          "when": f"inventory_hostname == '{host}'"}]
    path = tmp / "testbench.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def broken_run(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("broken")
    inventory = inventory_for(tmp, {"fine": destination(cluster), "broken": destination(source_cluster)}, "_broken")
    run = run_playbook(with_a_host_failing_before_its_workflows(tmp, "broken"), tmp / "run", inventory=inventory)
    return run, tmp / "reports"


def test_a_cluster_failed_unexpectedly_is_still_in_the_verdict_and_the_index(broken_run, cluster):
    run, reports = broken_run
    assert run.rc != 0, explain(run)
    assert recap_failures(run) == {"fine": 0, "broken": 1}, explain(run)
    lines = [line for line in summary(reports)["lines"] if not line.startswith(" ")]
    assert lines == [f"fine ({cluster.url}): passed", "broken: FAILED before its workflows ran (see the errors above)"]
    assert '"broken: FAILED before its workflows ran (see the errors above)"' in run.stdout
    assert index_statuses(run) == {"fine": "passed", "broken": "failed"}
    assert failure_messages(run, "broken") == ["an unexpected error"]


ROLE_PLAY = role_alone_play("The role alone, as a user's playbook runs it")


def test_the_role_on_its_own_still_reports_and_fails_by_itself(cluster, source_cluster, tmp_path):
    run = run_slow_and_quick(ROLE_PLAY, cluster, source_cluster, tmp_path, "_role")
    assert run.rc != 0, explain(run)
    assert [play["play"]["name"] for play in run.result["plays"]] == ["The role alone, as a user's playbook runs it"]
    assert recap_failures(run) == {"slow": 0, "quick": 1}, explain(run)
    lines = [line for line in summary(tmp_path / "reports")["lines"] if not line.startswith(" ")]
    assert lines == [f"slow ({cluster.url}): passed", f"quick ({source_cluster.url}): FAILED"], explain(run)
    assert index_statuses(run) == {"slow": "passed", "quick": "failed"}
    assert "[WARNING]" not in run.stderr, run.stderr


def test_the_role_on_its_own_still_stops_every_host_on_bad_input(cluster, source_cluster, tmp_path):
    """The checks' any_errors_fatal, which the role now applies to the included checks only (strategy
    free warns about any task carrying it): bad input on one host stops the other before any request."""
    inventory = write_inventory(tmp_path / "inventory.yml", {
        "good": destination(cluster, testbench_workflows=["hello_world"]),
        "bad": destination(source_cluster, testbench_workflows=["no_such_workflow"])},
        {"testbench_report_dir": str(tmp_path / "reports")})
    start = len(cluster.request_log())
    run = run_playbook(ROLE_PLAY, tmp_path / "run", inventory=inventory)
    assert run.rc != 0 and recap_failures(run)["bad"] == 1, explain(run)
    assert "Workflow 'no_such_workflow' not found" in "\n".join(failure_messages(run, "bad"))
    assert cluster.request_log()[start:] == [], explain(run)  # good's cluster was never contacted
