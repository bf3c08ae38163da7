"""``--check --diff`` of the whole playbook on a fresh cluster: it succeeds and says what a run would
create, copy, push and publish, with no mutating request and no algorithm call on either cluster.
Then a real run, and ``--check`` again on the deployed cluster: still no write, no call."""

from __future__ import annotations

import pytest

from tests.integration.modules_support import MUTATING
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    PLAYBOOK,
    algorithm_exists,
    destination,
    explain,
    pipeline_project,
    write_inventory,
)


def writes_and_calls(entries: list[dict]) -> list[dict]:
    """Requests that change something, and algorithm calls (which may write data themselves).
    A git fetch is a POST to git-upload-pack that changes nothing."""
    return [e for e in entries if (e["method"] in MUTATING and not e["path"].endswith("/git-upload-pack"))
            or e["path"].startswith("/v1/algo/")]


@pytest.fixture(scope="module")
def pipeline(cluster, source_cluster, tmp_path_factory):
    """The image pipeline workflow, reading its code archive and data file from the source cluster."""
    tmp = tmp_path_factory.mktemp("check_mode")
    path = pipeline_project(tmp, source_cluster)
    host = destination(cluster, testbench_source_api_key=source_cluster.key, testbench_workflows=[str(path)],
                       testbench_report_dir=str(tmp / "reports"))
    return tmp, write_inventory(tmp / "inventory.yml", {"fresh": host})


def run_and_watch(cluster, source_cluster, tmp, inventory, name, args):
    before = (len(cluster.request_log()), len(source_cluster.request_log()))
    run = run_playbook(PLAYBOOK, tmp / name, inventory=inventory, args=args)
    seen = (cluster.request_log()[before[0]:], source_cluster.request_log()[before[1]:])
    return run, seen


def test_check_on_a_fresh_cluster_says_what_it_would_do_and_changes_nothing(cluster, source_cluster, pipeline):
    tmp, inventory = pipeline
    run, (destination_requests, source_requests) = run_and_watch(
        cluster, source_cluster, tmp, inventory, "check", ["--check", "--diff"])
    assert run.rc == 0, explain(run)
    assert destination_requests, "the check run read nothing from the destination"
    assert writes_and_calls(destination_requests) == [], writes_and_calls(destination_requests)
    assert writes_and_calls(source_requests) == [], writes_and_calls(source_requests)
    text = run.stdout
    for expected in ("ImageThumbnailer (python3, 'Python 3.7'): would be created; data to sync: 1 to copy, 0 already there; "
                     "would push and build; test_payload not called (check mode); would publish a new version",
                     "BoundingBoxDrawer (python3, 'Python 3.7'): would be created; no data files; would push and build",
                     'not run (check mode)'):
        assert expected in text, explain(run)
    # nothing was created by the check run
    assert not algorithm_exists(cluster, "ImageThumbnailer")
    assert not (tmp / "reports" / "summary.json").exists()  # check mode writes no report either


def test_check_on_a_deployed_cluster_neither_writes_nor_calls(cluster, source_cluster, pipeline):
    tmp, inventory = pipeline
    real = run_playbook(PLAYBOOK, tmp / "real", inventory=inventory)
    assert real.rc == 0, explain(real)
    run, (destination_requests, source_requests) = run_and_watch(
        cluster, source_cluster, tmp, inventory, "check-again", ["--check"])
    assert run.rc == 0, explain(run)
    assert writes_and_calls(destination_requests) == [], writes_and_calls(destination_requests)
    assert writes_and_calls(source_requests) == []
    assert "ImageThumbnailer (python3, 'Python 3.7'): already there; data to sync: 0 to copy, 1 already there; already built" in run.stdout, \
        explain(run)
    assert "would call" not in run.stdout and 'not run (check mode)' in run.stdout
    assert run.stats["fresh"]["changed"] == 0, explain(run)
