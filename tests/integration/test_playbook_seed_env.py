"""The seed tool's environment variables alone drive a full run, with no inventory file: the
image pipeline (code_path archive and data file from a source localcluster, three builds, the
parallel entrypoint's benchmark) into a destination localcluster."""

from __future__ import annotations

import pytest

from tests.integration.testbench_support import (
    BENCHMARK,
    DEPLOY,
    explain,
    pipeline_project,
    ran_ok,
    run_without_inventory,
    summary,
)


@pytest.fixture(scope="module")
def seed_runs(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed")
    # The seed's workflows name their source in source_info (there is no SOURCE_API_ADDRESS).
    pipeline = pipeline_project(tmp, source_cluster)
    reports = tmp / "reports"
    env = {
        "DESTINATION_API_ADDRESS": cluster.url,
        "DESTINATION_API_KEY": cluster.key,
        "SOURCE_API_KEY": source_cluster.key,
        "WORKFLOW_NAME": str(pipeline),
    }
    args = ["-e", f"testbench_report_dir={reports}"]
    first = run_without_inventory(tmp / "run1", env, args)
    second = run_without_inventory(tmp / "run2", env, args)
    return first, second, reports


def test_the_seed_variables_alone_run_the_whole_pipeline(seed_runs, cluster):
    first, reports = seed_runs[0], seed_runs[2]
    assert first.rc == 0, explain(first)
    host = "127.0.0.1"
    assert len(ran_ok(first, host, DEPLOY)) == 1
    assert len(ran_ok(first, host, BENCHMARK)) == 1
    verdict = summary(reports)
    assert verdict["passed"] is True, verdict
    assert verdict["clusters"][0]["workflows"][0]["workflow"] == "pipeline"
    # each algorithm created and built, the one with a data file synced (summary.json is the re-run's by now)
    assert "    ImageThumbnailer (python3, 'Python 3.7'): created; data synced: 1 copied, 0 already there; pushed and built " in first.stdout
    for name in ("BoundingBoxDrawer", "ImageBenchmark"):
        assert f"    {name} (python3, 'Python 3.7'): created; no data files; pushed and built " in first.stdout, explain(first)
    # The data file reached the destination, in the collection named after its algorithm.
    listing = cluster.client().dir(f"data://{cluster.user}/ImageThumbnailer").files()
    assert "landscape.png" in [f.getName() for f in listing]


def test_a_second_seed_run_changes_nothing(seed_runs):
    second = seed_runs[1]
    assert second.rc == 0, explain(second)
    assert second.stats["127.0.0.1"]["changed"] == 0, explain(second)


def test_without_inventory_or_variables_the_playbook_says_what_to_set(tmp_path):
    run = run_without_inventory(tmp_path, {})
    assert run.rc != 0
    assert "No destination cluster" in run.stdout, explain(run)
    assert "DESTINATION_API_ADDRESS" in run.stdout
