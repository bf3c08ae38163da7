"""The destination cluster is SIGKILLed mid-run and restarted on the same data dir: the re-run
completes green, no partial file is ever visible, and no version is published twice.

Two moments: while a large data file streams into it, and while it builds an algorithm whose
load check takes seconds. The playbook runs as an operator runs it; the kill happens when the
cluster's own state shows the step in progress (an upload file growing, a build running)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time

import pytest

from localcluster.process import LocalClusterProcess
from tests.conftest import running_cluster
from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import (
    PLAYBOOK,
    api,
    cluster_logs,
    explain,
    key_material_in,
    summary,
    write_inventory,
)

BIG = 96 * 1024 * 1024
SLOW_LOAD = 'import time\ntime.sleep(6)  # a slow import: the build\'s load check takes seconds\n\n\n' \
            'def apply(input):\n    return "slow " + str(input)\n'


def wait_for(condition, timeout=120.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def crash_and_restart(proc: LocalClusterProcess) -> None:
    port = proc.port
    proc.kill()
    proc.start(port=port)


@pytest.fixture
def destination_process(tmp_path_factory):
    with running_cluster(tmp_path_factory, "destination") as running:
        yield running


@pytest.fixture(scope="module")
def big_source(source_cluster):
    client = source_cluster.client()
    client.dir("data://.my/big").create()
    content = random.Random(11).randbytes(BIG)
    client.file("data://.my/big/weights.bin").put(content)
    return source_cluster, hashlib.sha256(content).hexdigest()


def project(tmp_path, source, workflow: dict, template: dict | None = None):
    """A user's project: workflows/ and algorithms/ side by side."""
    (tmp_path / "workflows").mkdir(parents=True)
    (tmp_path / "workflows" / "crash.json").write_text(json.dumps(workflow))
    (tmp_path / "algorithms").mkdir()
    (tmp_path / "algorithms" / "hello_world").symlink_to(ROOT / "algorithms" / "hello_world")
    for name, files in (template or {}).items():
        for path, text in files.items():
            target = tmp_path / "algorithms" / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return str(tmp_path / "workflows" / "crash.json")


def assert_no_key_material(runs, tmp_path, clusters):
    places = {f"run {i} {stream}": text for i, run in enumerate(runs)
              for stream, text in (("stdout", run.stdout), ("stderr", run.stderr))}
    places.update({str(p): p.read_text(errors="replace") for p in (tmp_path / "reports").rglob("*") if p.is_file()})
    for cluster in clusters:
        places.update(cluster_logs(cluster))
    keys = [key for cluster in clusters for key in (cluster.key, cluster.admin_key)]
    assert key_material_in(places, keys) == []


def versions(cluster, name):
    response = api(cluster, "GET", f"/v1/algorithms/{cluster.user}/{name}/versions")
    return [v["version_info"]["semantic_version"] for v in response.json()["results"]]


def test_a_kill_during_a_large_data_sync_heals_on_the_next_run(destination_process, big_source, tmp_path):
    source, source_sha = big_source
    dest = destination_process
    workflow = project(tmp_path, source, {
        "source_info": {"cluster_address": source.url},
        "algorithms": [{"name": "hello_world", "language": "python3", "data_files": ["data://.my/big/weights.bin"],
                        "test_payload": "crash"}]})
    inventory = write_inventory(tmp_path / "inventory.yml", {"dest": {
        "testbench_api_address": dest.url, "testbench_api_key": dest.key, "testbench_source_api_key": source.key,
        "testbench_workflows": [workflow], "testbench_report_dir": str(tmp_path / "reports")}})
    uploads = dest.data_dir / "data" / ".uploads"

    def kill_mid_upload():
        def growing():
            return uploads.is_dir() and any(p.is_file() and p.stat().st_size > 8 * 1024 * 1024 for p in uploads.iterdir())
        wait_for(growing, what="the upload of weights.bin to be under way")
        crash_and_restart(dest.proc)

    crashed = run_playbook(PLAYBOOK, tmp_path / "crashed", inventory=inventory, while_running=kill_mid_upload,
                           args=["-vvvv"])
    listing = api(dest, "GET", f"/v1/connector/data/{dest.user}/hello_world")
    names = [f["filename"] for f in listing.json().get("files", [])] if listing.status_code == 200 else []
    if crashed.rc != 0:  # the sync may also have survived the restart through its retries
        assert "weights.bin" not in names or api(dest, "HEAD", f"/v1/data/{dest.user}/hello_world/weights.bin") \
            .headers.get("Content-Length") == str(BIG), "a partial file is visible"

    healed = run_playbook(PLAYBOOK, tmp_path / "healed", inventory=inventory, args=["-vvvv"])
    assert healed.rc == 0, explain(healed)
    stored = api(dest, "GET", f"/v1/data/{dest.user}/hello_world/weights.bin").content
    assert hashlib.sha256(stored).hexdigest() == source_sha
    assert versions(dest, "hello_world") == ["0.1.0"]
    assert summary(tmp_path / "reports")["passed"] is True
    assert_no_key_material([crashed, healed], tmp_path, [dest, source])


def test_a_kill_during_a_build_heals_and_the_verdict_says_rebuilt(destination_process, tmp_path):
    dest = destination_process
    workflow = project(tmp_path, None, {"algorithms": [{"name": "Slow", "language": "python3", "test_payload": 1}]},
                       template={"Slow": {"requirements.txt": "algorithmia>=2.0,<3\n", "src/__init__.py": "",
                                          "src/Slow.py": SLOW_LOAD}})
    inventory = write_inventory(tmp_path / "inventory.yml", {"dest": {
        "testbench_api_address": dest.url, "testbench_api_key": dest.key,
        "testbench_workflows": [workflow], "testbench_report_dir": str(tmp_path / "reports")}})

    def kill_mid_build():
        def building():
            response = api(dest, "GET", f"/v1/algorithms/{dest.user}/Slow/builds")
            return response.status_code == 200 and any(
                b.get("status") == "in-progress" for b in response.json().get("results", []))
        wait_for(building, what="the build of Slow to be under way")
        crash_and_restart(dest.proc)

    crashed = run_playbook(PLAYBOOK, tmp_path / "crashed", inventory=inventory, while_running=kill_mid_build,
                           args=["-vvvv"])
    assert versions(dest, "Slow") == [] or crashed.rc == 0, explain(crashed)

    healed = run_playbook(PLAYBOOK, tmp_path / "healed", inventory=inventory, args=["-vvvv"])
    assert healed.rc == 0, explain(healed)
    assert versions(dest, "Slow") == ["0.1.0"]
    if crashed.rc != 0:
        assert "Slow (python3, 'Python 3.7'): already there; no data files; rebuilt " in healed.stdout, explain(healed)
    assert "slow 1" in str(dest.client().algo(f"{dest.user}/Slow").pipe(1).result)
    assert_no_key_material([crashed, healed], tmp_path, [dest])
    uploads = dest.data_dir / "data" / ".uploads"
    assert not uploads.exists() or os.listdir(uploads) == []  # no upload left half-written
