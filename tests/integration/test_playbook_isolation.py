"""Two destination clusters in one inventory, at -vvv.

A fault the preflight can see (a wrong key) stops both clusters before any change, naming the
cluster and the fix. A fault it cannot see (the cluster fails while publishing) fails only that
cluster: the other completes, and the summary and the play recap name the failed cluster and its
step. At -vvvv, no key, nor any 8-character slice of one, shows up anywhere either run or the
clusters wrote."""

from __future__ import annotations

import json

import pytest
import requests

from tests.integration.modules_support import MUTATING
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    BENCHMARK,
    PLAYBOOK,
    destination,
    cluster_logs,
    explain,
    failure_messages,
    key_material_in,
    private_temp_env,
    ran_ok,
    summary,
    write_inventory,
)

WRONG_KEY = "sim" + "0123456789abcdefghijklmno"


def set_faults(cluster, *rules):
    requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)}, timeout=30,
                 headers={"Authorization": f"Simple {cluster.admin_key}"}).raise_for_status()


@pytest.fixture(scope="module")
def wrong_key_run(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wrong_key")
    hosts = {"good": destination(cluster), "wrong_key": destination(source_cluster, key=WRONG_KEY)}
    inventory = write_inventory(tmp / "inventory.yml", hosts,
                                {"testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp / "reports")})
    start = len(cluster.request_log())
    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory, args=["-vvvv"], env=private_temp_env(tmp))
    return run, cluster.request_log()[start:], tmp


@pytest.fixture(scope="module")
def two_clusters_run(cluster, source_cluster, tmp_path_factory):
    """good and faulty, where faulty's cluster refuses every publish with a 500 (not retried)."""
    tmp = tmp_path_factory.mktemp("isolation")
    reports = tmp / "reports"
    hosts = {"good": destination(cluster), "faulty": destination(source_cluster)}
    inventory = write_inventory(tmp / "inventory.yml", hosts,
                                {"testbench_workflows": ["hello_world"], "testbench_report_dir": str(reports)})
    set_faults(source_cluster, {"kind": "error", "status": 500, "methods": ["POST"],
                                "path_prefix": f"/v1/algorithms/{source_cluster.user}/hello_world/versions"})
    try:
        run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory, args=["-vvvv"], env=private_temp_env(tmp))
    finally:
        set_faults(source_cluster)
    return run, reports, tmp


def test_a_wrong_key_stops_every_cluster_before_any_change(wrong_key_run):
    run, good_requests, _tmp = wrong_key_run
    assert run.rc != 0, explain(run)
    assert good_requests, "the good cluster was not checked"
    assert [e for e in good_requests if e["method"] in MUTATING] == [], explain(run)
    messages = "\n".join(failure_messages(run, "good") + failure_messages(run, "wrong_key"))
    assert "wrong_key (" in messages and "testbench_api_key" in messages and "401" in messages, messages
    assert "Fix: use a valid, unrevoked API key of this cluster" in messages


def test_only_the_cluster_that_fails_mid_run_fails(two_clusters_run, cluster):
    run, reports = two_clusters_run[0], two_clusters_run[1]
    assert run.rc != 0, explain(run)
    assert run.stats["faulty"]["failures"] == 1, explain(run)
    assert run.stats["good"]["failures"] == 0, explain(run)
    assert len(ran_ok(run, "good", BENCHMARK)) == 1
    assert algorithm_answers(cluster)

    verdict = {c["cluster"]: c for c in summary(reports)["clusters"]}
    assert verdict["good"]["passed"] is True
    assert verdict["faulty"]["passed"] is False
    failed = verdict["faulty"]["workflows"][0]
    assert failed["step"] == "build and publish hello_world"
    message = failed["message"]
    assert "publish" in message and "500" in message, message  # what went wrong
    assert "127.0.0.1" in message, message                     # where

    # The printed summary and the recap say the same.
    assert f"good ({cluster.url}): passed" in run.stdout
    assert "faulty: failed at step build and publish hello_world of workflow hello_world:" in run.stdout
    recap = run.stdout[run.stdout.rindex("PLAY RECAP"):]
    assert any(line.startswith("faulty") and "failed=1" in line for line in recap.splitlines()), recap


def algorithm_answers(cluster) -> bool:
    return "Algorithmia" in str(cluster.client().algo(f"{cluster.user}/hello_world").pipe("Algorithmia").result)


@pytest.mark.parametrize("which", ["wrong_key_run", "two_clusters_run"])
def test_no_key_appears_in_output_results_reports_or_files(which, request, cluster, source_cluster):
    run, tmp = request.getfixturevalue(which)[0], request.getfixturevalue(which)[-1]
    keys = [cluster.key, WRONG_KEY, cluster.admin_key, source_cluster.key, source_cluster.admin_key]
    if which == "two_clusters_run":
        assert any((tmp / "reports").rglob("record.jsonl")), "the run wrote no reports"
    places = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.result)}
    for path in tmp.rglob("*"):
        if path.is_file() and path.name != "inventory.yml":  # the inventory holds them, as a vault would
            places[str(path.relative_to(tmp))] = path.read_bytes().decode("utf-8", "replace")
    places.update(cluster_logs(cluster))
    places.update(cluster_logs(source_cluster))
    assert key_material_in(places, keys) == []  # no key, nor any 8-character slice of one
    assert "Running module algorithmia.testbench.algo_preflight in this worker" in run.stdout  # it really ran at -vvvv
