"""Two destination clusters in one inventory, one with a wrong key, at -vvv: only that cluster
fails, with a message a person can act on; the other completes; the summary and the play recap
name the failed cluster and its step. Neither key shows up anywhere the run wrote."""

from __future__ import annotations

import json

import pytest

from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    BENCHMARK,
    PLAYBOOK,
    destination,
    explain,
    private_temp_env,
    ran_ok,
    summary,
    write_inventory,
)

WRONG_KEY = "sim" + "0123456789abcdefghijklmno"


@pytest.fixture(scope="module")
def two_clusters_run(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("isolation")
    reports = tmp / "reports"
    hosts = {"good": destination(cluster), "wrong_key": destination(source_cluster, key=WRONG_KEY)}
    inventory = write_inventory(tmp / "inventory.yml", hosts,
                                {"testbench_workflows": ["hello_world"], "testbench_report_dir": str(reports)})
    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory, args=["-vvv"], env=private_temp_env(tmp))
    return run, reports, tmp


def test_only_the_cluster_with_the_wrong_key_fails(two_clusters_run, cluster):
    run, reports = two_clusters_run[0], two_clusters_run[1]
    assert run.rc != 0, explain(run)
    assert run.stats["wrong_key"]["failures"] == 1, explain(run)
    assert run.stats["good"]["failures"] == 0, explain(run)
    assert len(ran_ok(run, "good", BENCHMARK)) == 1
    assert algorithm_answers(cluster)

    verdict = {c["cluster"]: c for c in summary(reports)["clusters"]}
    assert verdict["good"]["passed"] is True
    assert verdict["wrong_key"]["passed"] is False
    failed = verdict["wrong_key"]["workflows"][0]
    assert failed["step"] == "create hello_world"
    message = failed["message"]
    assert "key" in message.lower(), message          # what is wrong
    assert "127.0.0.1" in message or "cluster" in message.lower(), message  # where

    # The printed summary and the recap say the same.
    assert "good: passed (hello_world)" in run.stdout
    assert "wrong_key: failed at step create hello_world of workflow hello_world:" in run.stdout
    recap = run.stdout[run.stdout.rindex("PLAY RECAP"):]
    assert any(line.startswith("wrong_key") and "failed=1" in line for line in recap.splitlines()), recap


def algorithm_answers(cluster) -> bool:
    return "Algorithmia" in str(cluster.client().algo(f"{cluster.user}/hello_world").pipe("Algorithmia").result)


def test_no_key_appears_in_output_results_reports_or_files(two_clusters_run, cluster, source_cluster):
    run, reports, tmp = two_clusters_run
    keys = [cluster.key, WRONG_KEY, cluster.admin_key, source_cluster.key, source_cluster.admin_key]
    assert any(reports.rglob("*")), "the run wrote no reports"
    places = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.result)}
    for path in tmp.rglob("*"):
        if path.is_file() and path.name != "inventory.yml":  # the inventory holds them, as a vault would
            places[str(path.relative_to(tmp))] = path.read_bytes().decode("utf-8", "replace")
    for where, text in places.items():
        for key in keys:
            assert key not in text, f"an API key appears in {where}"
    assert "-vvv" in " ".join(run.result.get("argv", [])) or "ESTABLISH LOCAL CONNECTION" in run.stdout
