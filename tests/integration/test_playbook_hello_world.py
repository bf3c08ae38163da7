"""playbooks/testbench.yml on the hello_world workflow against one localcluster: every step
runs, a second run changes nothing, a name suffix makes a second copy beside the first, and
playbooks/cleanup.yml removes only what the suffixed run made."""

from __future__ import annotations

import pytest

from tests.integration.testbench_support import (
    BENCHMARK,
    CLEANUP,
    DEPLOY,
    algorithm_exists,
    PLAYBOOK,
    destination,
    explain,
    ran_ok,
    summary,
    write_inventory,
)


@pytest.fixture(scope="module")
def first_runs(cluster, tmp_path_factory):
    """The playbook run twice on a fresh cluster (shared by the tests of this module)."""
    from tests.integration.playbook import run_playbook

    tmp = tmp_path_factory.mktemp("hello")
    reports = tmp / "reports"
    inventory = write_inventory(tmp / "inventory.yml", {"dest": destination(cluster)},
                                {"testbench_workflows": ["hello_world"], "testbench_report_dir": str(reports)})
    first = run_playbook(PLAYBOOK, tmp / "run1", inventory=inventory)
    before = len(cluster.request_log())
    second = run_playbook(PLAYBOOK, tmp / "run2", inventory=inventory)
    return first, second, reports, inventory, tmp, cluster.request_log()[before:]


def test_first_run_creates_builds_publishes_and_benchmarks(first_runs, cluster):
    first, reports = first_runs[0], first_runs[2]
    assert first.rc == 0, explain(first)
    deployed = ran_ok(first, "dest", DEPLOY)
    benchmarked = ran_ok(first, "dest", BENCHMARK)
    assert len(deployed) == len(benchmarked) == 1
    assert first.stats["dest"]["changed"] > 0
    assert first.stats["dest"]["failures"] == 0
    verdict = summary(reports)
    assert verdict["passed"] is True
    assert verdict["clusters"][0]["cluster"] == "dest"
    assert f"dest ({cluster.url}): passed" in first.stdout
    assert "  workflow hello_world: passed" in first.stdout
    # the summary says what each step did for each algorithm, and how each entrypoint test went
    assert "    hello_world (python3, 'Python 3.7'): created; no data files; pushed and built " in first.stdout
    assert "test_payload passed in " in first.stdout and "; published 0.1.0" in first.stdout
    # The algorithm is really there, published, and answers.
    result = cluster.client().algo(f"{cluster.user}/hello_world").pipe("Algorithmia").result
    assert "Algorithmia" in str(result)


def test_second_run_changes_nothing(first_runs):
    second = first_runs[1]
    assert second.rc == 0, explain(second)
    assert second.stats["dest"]["changed"] == 0, explain(second)
    assert "    hello_world (python3, 'Python 3.7'): already there; no data files; already built " in second.stdout
    assert "already published as 0.1.0" in second.stdout
    # summary.json (rewritten by the second run, without counting as a change) says the same
    workflow = summary(first_runs[2])["clusters"][0]["workflows"][0]
    assert [(d["algorithm"], d["created"], d["published"]) for d in workflow["algorithms"]] == [
        ("hello_world", "already there", "already published as 0.1.0")]
    assert workflow["tests"] and all(test["passed"] and test["calls"] >= 1 for test in workflow["tests"])
    assert second.stats["dest"]["failures"] == 0


def test_the_lease_is_all_an_unchanged_re_run_changes(first_runs, cluster):
    """Its take (the next generation's folder, its lease.json) and its release; no other change."""
    logged = first_runs[5]
    changing = [(e["method"], e["path"]) for e in logged if e["method"] in ("POST", "PUT", "PATCH", "DELETE")
                and not e["path"].startswith("/v1/algo/") and not e["path"].endswith("/git-upload-pack")]
    leases = f"/v1/connector/data/{cluster.user}/testbench_leases"
    assert [method for method, _path in changing] == ["POST", "PUT", "DELETE"], changing
    assert all(path.startswith(leases) for _method, path in changing), changing
    reads = [e for e in logged if e["path"].startswith(leases) and e["method"] == "GET"]
    print(f"an unchanged re-run: {len(logged)} requests, of them the lease's {len(changing)} changes and {len(reads)} reads")


def test_a_name_suffix_makes_a_separate_copy_and_cleanup_removes_only_it(first_runs, cluster):
    from tests.integration.playbook import run_playbook

    inventory, tmp = first_runs[3], first_runs[4]
    suffixed = run_playbook(PLAYBOOK, tmp / "run3", inventory=inventory,
                            extra_vars={"testbench_name_suffix": "_second"})
    assert suffixed.rc == 0, explain(suffixed)
    client = cluster.client()
    assert "Algorithmia" in str(client.algo(f"{cluster.user}/hello_world_second").pipe("Algorithmia").result)

    cleaned = run_playbook(CLEANUP, tmp / "run4", inventory=inventory,
                           extra_vars={"testbench_name_suffix": "_second"})
    assert cleaned.rc == 0, explain(cleaned)
    assert cleaned.stats["dest"]["changed"] > 0
    assert not algorithm_exists(cluster, "hello_world_second")
    assert algorithm_exists(cluster, "hello_world")

    again = run_playbook(CLEANUP, tmp / "run5", inventory=inventory,
                         extra_vars={"testbench_name_suffix": "_second"})
    assert again.rc == 0, explain(again)
    assert again.stats["dest"]["changed"] == 0
