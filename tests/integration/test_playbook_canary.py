"""The judge against other clusters: a canary against its peers, a destination against its source.

Four localclusters (c1..c4) get the sleepy workflow deployed by a first run. Then:

- canary: c1 and c2 are the group ``canary``; each is judged against c3 and c4 pooled. With none
  slowed every cluster passes; with 40 ms more on c1's algorithm calls only c1 fails, its message
  naming the peers it was judged against.
- source: c1 against its source c3 (testbench_compare_with_source: the same tests on c3's sleepy,
  its calls bounded): as fast as its source it passes; 40 ms slower it fails.

The clusters run one at a time (--forks 1): they share the machine's two cores, and one cluster's
benchmark must not be measured while another's build runs. The figures are printed (pytest -s).
"""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from tests.conftest import running_cluster
from tests.integration.judge_support import set_faults, slower, workflow, write_project
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, failure_messages, summary, write_private

pytestmark = pytest.mark.alone

NAMES = ("c1", "c2", "c3", "c4")
FORKS = ["--forks", "1"]


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    with ExitStack() as stack:
        yield {name: stack.enter_context(running_cluster(tmp_path_factory, name)) for name in NAMES}


@pytest.fixture(scope="module")
def project(clusters, tmp_path_factory):
    """The sleepy workflow deployed on every cluster; ``inventory(groups, **group vars)`` writes the inventory."""
    tmp = tmp_path_factory.mktemp("canary")
    path = write_project(tmp, workflow(source=clusters["c3"].url))

    def inventory(hosts=NAMES, canary=(), **values):
        group = dict({"testbench_workflows": [str(path)], "testbench_report_dir": str(tmp / "reports"),
                      "testbench_history_dir": ""}, **values)
        document = {"destinations": {"hosts": {name: destination(clusters[name]) for name in hosts}, "vars": group}}
        if canary:
            document["canary"] = {"hosts": {name: {} for name in canary}}
        return write_private(tmp / "inventory.yml", json.dumps(document, indent=2))

    deployed = run_playbook(PLAYBOOK, tmp / "deploy", inventory=inventory(), args=FORKS)
    assert deployed.rc == 0, explain(deployed)
    return tmp, inventory


def verdicts(reports) -> dict:
    return {cluster["cluster"]: cluster for cluster in summary(reports)["clusters"]}


def show(label, clusters):
    for name, verdict in sorted(clusters.items()):
        for compared in verdict.get("comparisons") or []:
            print(f"{label} {name}: {compared['message']}")
            for test in compared["tests"]:
                print(f"    {test['test']}: {test['class']}: {test['reason']}")


def test_a_slowed_canary_fails_against_its_peers_and_only_it(project, clusters):
    tmp, inventory = project
    reports = tmp / "reports"

    calm = run_playbook(PLAYBOOK, tmp / "calm", inventory=inventory(canary=("c1", "c2"), testbench_canary_group="canary"),
                        args=FORKS)
    judged = verdicts(reports)
    show("none slowed", judged)
    assert calm.rc == 0, explain(calm)
    for name in ("c1", "c2"):
        (compared,) = judged[name]["comparisons"]
        assert compared["kind"] == "peers" and compared["peers"] == ["c3", "c4"] and compared["verdict"] == "pass", compared
    assert "comparisons" not in judged["c3"] and all(v["passed"] for v in judged.values())

    set_faults(clusters["c1"], slower(clusters["c1"], 40))
    try:
        slowed = run_playbook(PLAYBOOK, tmp / "slowed", inventory=inventory(canary=("c1", "c2"), testbench_canary_group="canary"),
                              args=FORKS)
    finally:
        set_faults(clusters["c1"])
    judged = verdicts(reports)
    show("c1 slowed", judged)
    assert slowed.rc != 0 and slowed.stats["c1"]["failures"] == 1, explain(slowed)
    assert [name for name, verdict in judged.items() if not verdict["passed"]] == ["c1"]
    (compared,) = judged["c1"]["comparisons"]
    assert compared["verdict"] == "fail" and compared["tests"][0]["class"] == "regression"
    assert "against its peers c3, c4" in compared["message"]
    assert "against its peers c3, c4" in "\n".join(failure_messages(slowed, "c1"))
    assert "latency: +" in compared["tests"][0]["reason"] and "-> regression" in compared["tests"][0]["reason"]


def test_a_destination_is_judged_against_its_source(project, clusters):
    tmp, inventory = project
    reports = tmp / "reports"
    source = {"testbench_compare_with_source": True, "testbench_source_api_key": clusters["c3"].key,
              "testbench_source_max_calls": 150}

    same = run_playbook(PLAYBOOK, tmp / "same", inventory=inventory(hosts=("c1",), **source), args=FORKS)
    judged = verdicts(reports)
    show("as fast as its source", judged)
    assert same.rc == 0, explain(same)
    (compared,) = judged["c1"]["comparisons"]
    assert compared["kind"] == "source" and compared["source"] == clusters["c3"].url and compared["verdict"] == "pass"
    run_id = summary(reports)["run_id"]
    (source_report,) = (reports / "runs" / run_id / "sources").glob("*/workflows/judged/benchmark-source-sleepy.json")
    measured = json.loads(source_report.read_text())["tests"][0]
    assert measured["calls"] == 150 and measured["load"]["calls"] == 150  # bounded: the destination made 200

    set_faults(clusters["c1"], slower(clusters["c1"], 40))
    try:
        slowed = run_playbook(PLAYBOOK, tmp / "slower", inventory=inventory(hosts=("c1",), **source), args=FORKS)
    finally:
        set_faults(clusters["c1"])
    judged = verdicts(reports)
    show("40 ms slower than its source", judged)
    assert slowed.rc != 0, explain(slowed)
    (compared,) = judged["c1"]["comparisons"]
    assert compared["verdict"] == "fail" and compared["tests"][0]["class"] == "regression"
    assert f"against the source cluster {clusters['c3'].url}" in compared["message"]
