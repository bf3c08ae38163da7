"""The judge end to end on a localcluster: a snapshot, then runs judged against it.

A first run keeps the cluster as the snapshot ``before``. Twenty runs with nothing changed are
then judged against it and all pass (the false alarms an operator would meet). A run with the
algorithm's calls made 30% slower by a latency fault (the cluster's own median, measured in the
snapshot, times 0.3) fails, the shift and its interval in the message. The figures of every run
are printed (pytest -s).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.docs_examples import assert_shown, usage_example
from tests.integration.judge_support import set_faults, slower, write_project
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, summary, write_inventory

# Measured latencies decide this test's verdict: `make test` runs it alone, after the parallel suite.
pytestmark = pytest.mark.alone

REPEATS = int(__import__("os").environ.get("JUDGE_REPEATS", "20"))
SHIFT = re.compile(r"latency: \+(\d+)% \(95% CI \+(\d+)%\.\.\+(\d+)%\), p < 0\.001 -> regression \(tolerance \+10%, \+2 ms\)")


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("judged")
    workflow = write_project(tmp)
    group = {"testbench_workflows": [str(workflow)], "testbench_report_dir": str(tmp / "reports"), "testbench_history_dir": ""}

    def inventory(**values):
        return write_inventory(tmp / "inventory.yml", {"dest": destination(cluster, **values)}, group)

    return tmp, inventory


def comparison(reports) -> dict:
    (verdict,) = summary(reports)["clusters"]
    (judged,) = verdict["comparisons"]
    return judged


def latency_of(reports, run_id) -> dict:
    document = json.loads((reports / "runs" / run_id / "dest" / "comparison.json").read_text())
    (judged,) = document["comparisons"]
    return judged["tests"][0]["metrics"][0]


def test_runs_judged_against_a_snapshot_pass_until_the_cluster_is_slower(project, cluster):
    tmp, inventory = project
    reports = tmp / "reports"

    first = run_playbook(PLAYBOOK, tmp / "snapshot", inventory=inventory(testbench_snapshot="before"))
    assert first.rc == 0, explain(first)
    kept = json.loads((reports / "snapshots" / "before" / "dest.json").read_text())
    assert kept["snapshot"] == "before" and kept["status"] == "passed"
    median = kept["workflows"][0]["benchmark"]["tests"][0]["latency_ms"]["p50"]

    passes = []
    for number in range(1, REPEATS + 1):
        run = run_playbook(PLAYBOOK, tmp / f"run{number}", inventory=inventory(testbench_baseline_run="before"))
        judged = comparison(reports)
        latency = latency_of(reports, summary(reports)["run_id"])
        print(f"run {number}: {judged['verdict']}: {latency['message']}")
        assert judged["kind"] == "run" and judged["runs"] == [kept["run_id"]]
        passes.append(run.rc == 0 and judged["verdict"] == "pass")
    print(f"{sum(passes)} of {REPEATS} unchanged runs pass against the snapshot")
    assert all(passes)

    set_faults(cluster, slower(cluster, round(median * 0.3)))
    try:
        slowed = run_playbook(PLAYBOOK, tmp / "slowed", inventory=inventory(testbench_baseline_run="before"))
    finally:
        set_faults(cluster)
    judged = comparison(reports)
    latency = latency_of(reports, summary(reports)["run_id"])
    print(f"+{round(median * 0.3)} ms on a median of {median} ms: {latency['message']}")
    assert slowed.rc != 0 and judged["verdict"] == "fail", explain(slowed)
    found = SHIFT.search(latency["message"])
    assert found and int(found.group(2)) > 10, latency["message"]
    assert SHIFT.search(slowed.stdout), slowed.stdout[-3000:]
    assert f"against snapshot before (run {kept['run_id']})" in judged["message"]
    # docs/usage.md ("Checking an upgrade") shows this verdict, on its own names
    assert_shown(usage_example("judged"), summary(reports)["lines"], {
        "prod-eu": "dest", "https://api.eu.example.com": cluster.url, "image_benchmark": "judged",
        "before-upgrade-2026-12": "before", "steady load": "steady"})
