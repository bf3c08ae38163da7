"""The preflight: every cluster is checked, read-only, before any change; one problem anywhere stops
every cluster, and all problems of all clusters are reported at once, each naming the cluster, the
field and the fix."""

from __future__ import annotations

import json
import time

import pytest

from localcluster.environments import catalog
from tests.conftest import running_cluster
from tests.integration.docs_examples import assert_shown, usage_example
from tests.integration.modules_support import MUTATING
from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, api, destination, explain, failure_messages, write_inventory

PY37 = next(s for s in catalog.master_catalog("prod") if s.display_name == "Python 3.7")


def writes(cluster, start: int) -> list[dict]:
    """Mutating requests since ``start`` (a git fetch is a POST that changes nothing)."""
    return [e for e in cluster.request_log()[start:]
            if e["method"] in MUTATING and not e["path"].endswith("/git-upload-pack")]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Three destination clusters; the third lacks the Python 3.7 environment, and its user (not
    an admin) cannot sync it."""
    with running_cluster(tmp_path_factory, "east") as east, running_cluster(tmp_path_factory, "west") as west, \
            running_cluster(tmp_path_factory, "north") as north:
        response = api(north, "DELETE", f"/v1/algorithm-environments/edge/environment-specifications/{PY37.spec_id}",
                       key=north.admin_key)
        assert response.status_code == 204, response.text
        # Its log line may land just after the answer: wait for it, so the tests count only theirs.
        deadline = time.monotonic() + 10
        while not any(e["method"] == "DELETE" for e in north.request_log()) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield {"east": east, "west": west, "north": north}


def test_one_cluster_without_the_environment_stops_all_three_before_any_change(three, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.yml",
                                {name: destination(cluster, testbench_workflows=["hello_world"])
                                 for name, cluster in three.items()},
                                {"testbench_report_dir": str(tmp_path / "reports")})
    starts = {name: len(cluster.request_log()) for name, cluster in three.items()}
    run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=inventory, args=["--forks", "3"])
    assert run.rc != 0, explain(run)
    for name, cluster in three.items():
        assert writes(cluster, starts[name]) == [], f"{name} was changed\n{explain(run)}"
        assert cluster.request_log()[starts[name]:], f"{name} was not checked at all"
    messages = "\n".join(message for host in three for message in failure_messages(run, host))
    assert "Preflight found 1 problem; nothing was changed on any cluster" in messages, explain(run)
    north = three["north"]
    assert f"north ({north.url}): workflow hello_world, $.algorithms[0] hello_world (python3, 'Python 3.7'): the environment " \
           "language=python3 ('Python 3.7') is not installed" in messages, messages
    assert "syncing needs an admin API key. Fix: use an admin key as testbench_api_key" in messages, messages
    assert not (tmp_path / "reports" / "summary.json").exists()
    # docs/usage.md shows this message, on its own names
    assert_shown(usage_example("preflight"), messages, {
        "prod-us": "north", "https://api.us.example.com": north.url, "image_benchmark": "hello_world",
        "ImageThumbnailer": "hello_world"})


def test_every_problem_of_every_cluster_is_reported_at_once(three, tmp_path):
    east, west = three["east"], three["west"]
    # on west: an algorithm of the same name that no run of this collection created
    east_client = west.client()
    east_client.algo(f"{west.user}/hello_world").create(
        details={"label": "theirs"}, settings={"language": "python3-1", "source_visibility": "closed",
                                               "license": "apl", "network_access": "full",
                                               "pipeline_enabled": True, "environment": "cpu"})
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "owned.json").write_text(json.dumps({
        "algorithm_owner": "quality", "algorithms": [{"name": "hello_world", "language": "python3"}]}))
    (workflows / "checks.json").write_text(json.dumps({
        "run_only": True, "algorithms": [{"name": "NotDeployed", "test_payload": "x"}]}))
    (tmp_path / "algorithms").symlink_to(ROOT / "algorithms")
    hosts = {"east": destination(east, testbench_workflows=[str(workflows / "owned.json"), str(workflows / "checks.json")]),
             "west": destination(west, testbench_workflows=["hello_world"])}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {"testbench_report_dir": str(tmp_path / "reports")})
    starts = {name: len(three[name].request_log()) for name in hosts}
    run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=inventory)
    assert run.rc != 0, explain(run)
    for name in hosts:
        assert writes(three[name], starts[name]) == [], explain(run)
    messages = "\n".join(message for host in hosts for message in failure_messages(run, host))
    assert "Preflight found 3 problems" in messages, messages
    assert f"east ({east.url}): workflow owned, $.algorithm_owner: the workflow's algorithms belong to quality, " \
           f"but testbench_api_key is a key of {east.user}" in messages
    assert f"east ({east.url}): workflow checks, $.algorithms[0] NotDeployed: the workflow is run_only, but the " \
           "algorithm does not exist on this cluster" in messages
    assert f"west ({west.url}): workflow hello_world, $.algorithms[0] hello_world (python3, 'Python 3.7'): the algorithm exists " \
           "on this cluster and no run record" in messages
    assert "Fix: set testbench_name_suffix to deploy a separate copy" in messages

    # The operator says so: the run adopts it, and the record says it existed (cleanup keeps it).
    adopted = run_playbook(PLAYBOOK, tmp_path / "adopt", inventory=write_inventory(
        tmp_path / "adopt.yml", {"west": destination(west, testbench_workflows=["hello_world"])},
        {"testbench_report_dir": str(tmp_path / "reports"), "testbench_adopt_existing": True}))
    assert adopted.rc == 0, explain(adopted)
    records = [json.loads(line) for path in (tmp_path / "reports" / "runs").rglob("record.jsonl")
               for line in path.read_text().splitlines()]
    assert {"kind": "adopted", "name": "hello_world"}.items() <= next(r for r in records if r["kind"] == "adopted").items()
    assert not any(r["kind"] == "algorithm" and r["name"] == "hello_world" for r in records)
