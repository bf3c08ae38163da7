"""Cleanup deletes exactly what the run records say this collection created.

The destination already holds things the testbench must never touch: an algorithm with a published
version (which a run_only workflow calls), a file inside the collection that the image pipeline copies
its data file to, and an unrelated collection. After a run of both workflows and a cleanup, all of
that is byte-for-byte as before, and everything the run created is gone."""

from __future__ import annotations

import pytest

from tests.integration.modules_support import MUTATING
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    CLEANUP,
    PLAYBOOK,
    algorithm_exists,
    api,
    destination,
    explain,
    pipeline_project,
    write_inventory,
)

PIPELINE = ("ImageThumbnailer", "BoundingBoxDrawer", "ImageBenchmark")


def state_of(cluster) -> dict:
    """What a user would compare: algorithms with their versions, and every file's bytes."""
    client = cluster.client()
    algorithms = {}
    for name in ("hello_world",) + PIPELINE:
        response = api(cluster, "GET", f"/v1/algorithms/{cluster.user}/{name}/versions")
        algorithms[name] = None if response.status_code == 404 else sorted(
            (v["version_info"]["semantic_version"], v["version_info"]["git_hash"]) for v in response.json()["results"])
    files = {}
    for collection in ("ImageThumbnailer", "keep"):
        folder = client.dir(f"data://{cluster.user}/{collection}")
        files[collection] = None if not folder.exists() else {
            f.getName(): client.file(f"data://{cluster.user}/{collection}/{f.getName()}").getBytes()
            for f in folder.files()}
    return {"algorithms": algorithms, "files": files}


@pytest.fixture(scope="module")
def scene(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cleanup")
    pipeline = pipeline_project(tmp, source_cluster, extra_workflows={
        "checks": {"run_only": True, "algorithms": [{"name": "hello_world", "test_payload": "cleanup"}]}})
    # What was there before: hello_world, deployed and published by someone else (another report dir,
    # so no record of this run's report dir knows it), a file in the collection the pipeline copies
    # into, and a collection of its own.
    before_inventory = write_inventory(tmp / "before.yml", {"dest": destination(cluster, testbench_workflows=["hello_world"])},
                                       {"testbench_report_dir": str(tmp / "someone-elses-reports")})
    deployed = run_playbook(PLAYBOOK, tmp / "before", inventory=before_inventory)
    assert deployed.rc == 0, explain(deployed)
    client = cluster.client()
    for collection, name, content in (("ImageThumbnailer", "theirs.txt", b"not the testbench's"),
                                      ("keep", "other.bin", bytes(range(256)) * 8)):
        folder = client.dir(f"data://{cluster.user}/{collection}")
        if not folder.exists():
            folder.create()
        client.file(f"data://{cluster.user}/{collection}/{name}").put(content)

    inventory = write_inventory(tmp / "inventory.yml", {"dest": destination(
        cluster, testbench_source_api_key=source_cluster.key,
        testbench_workflows=[str(pipeline.parent / "checks.json"), str(pipeline)])},
        {"testbench_report_dir": str(tmp / "reports")})
    return tmp, inventory


def test_cleanup_removes_what_the_run_made_and_nothing_that_was_there(cluster, scene):
    tmp, inventory = scene
    before = state_of(cluster)
    assert before["algorithms"]["hello_world"] and before["files"]["ImageThumbnailer"] == {"theirs.txt": b"not the testbench's"}

    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory)
    assert run.rc == 0, explain(run)
    during = state_of(cluster)
    assert all(during["algorithms"][name] for name in PIPELINE)
    assert set(during["files"]["ImageThumbnailer"]) == {"theirs.txt", "landscape.png", "_testbench_manifest.json"}

    start = len(cluster.request_log())
    checked = run_playbook(CLEANUP, tmp / "check", inventory=inventory, args=["--check"])
    assert checked.rc == 0, explain(checked)
    assert [e for e in cluster.request_log()[start:] if e["method"] in MUTATING] == []
    assert "would delete 3 algorithm(s), 2 data file(s), 0 collection(s)" in checked.stdout, explain(checked)

    cleaned = run_playbook(CLEANUP, tmp / "clean", inventory=inventory)
    assert cleaned.rc == 0, explain(cleaned)
    assert "deleted 3 algorithm(s), 2 data file(s), 0 collection(s)" in cleaned.stdout, explain(cleaned)
    assert f"data://{cluster.user}/ImageThumbnailer/landscape.png" in cleaned.stdout
    assert state_of(cluster) == before  # byte for byte, and the pipeline's algorithms are gone
    assert not any(algorithm_exists(cluster, name) for name in PIPELINE)

    again = run_playbook(CLEANUP, tmp / "again", inventory=inventory)
    assert again.rc == 0 and again.stats["dest"]["changed"] == 0, explain(again)
    assert "deleted 0 algorithm(s), 0 data file(s), 0 collection(s)" in again.stdout
