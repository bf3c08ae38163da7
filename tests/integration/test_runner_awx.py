"""playbooks/testbench.yml run as AWX runs a job: ``ansible_runner.run()`` on a private data dir
laid out as AWX lays it out, against two destination localclusters.

The private data dir of each job (fresh per job, as AWX makes it):

    project/testbench.yml         the project's playbook: imports algorithmia.testbench.testbench
    project/summary.yml           imports algorithmia.testbench.summary
    project/workflows/            the project's own workflow files (found in the job's working directory),
    project/algorithms/           and the algorithm templates they use
    requirements_collections/     the collection, where AWX installs a project's collections
    inventory/hosts               the job's inventory (for a slice: only the slice's hosts)
    inventory/host_vars/<host>/   each cluster's address, and its key in a file encrypted with ansible-vault
    env/extravars                 the job template's extra variables
    env/envvars                   the job's environment
    env/cmdline, env/passwords    --ask-vault-pass, and the answer to its prompt: how AWX hands a
                                  vault credential to ansible-runner (never on a command line)

A job slice gets the hosts of the inventory AWX gives it, ``hosts[number - 1::count]``. Each slice
writes its own run bundle into a report directory they share, its verdict per cluster into the
job's artifacts (set_stats), and the summary playbook merges the slices into one verdict.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.playbook import ROOT, VENV_BIN, ensure_collection_link
from tests.integration.testbench_support import key_material_in, write_private

VAULT_PASSWORD = "awx-vault-credential-0001"
WRONG_WORKFLOW = {  # hello_world, with a test that expects what the algorithm does not answer
    "source_info": {"cluster_address": "https://api.algorithmia.com"},
    "test_info": {"entrypoint": "hello_world", "tests": [
        {"name": "greets in french", "payload": "Algorithmia", "timeout": 10, "expected_output": "bonjour Algorithmia"}]},
    "algorithms": [{"name": "hello_world", "data_files": [], "environment": "python3", "test_payload": "Algorithmia"}],
}


def encrypted(text: str) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(text).decode()


class Job:
    """One AWX-style job: its private data dir, and what ansible-runner gave back."""

    def __init__(self, runner, private_data_dir: Path) -> None:
        self.runner = runner
        self.private_data_dir = private_data_dir
        self.events = list(runner.events)

    @property
    def artifact_data(self) -> dict:
        """The set_stats data of the run, from the stats event (what AWX keeps as the job's artifacts)."""
        stats = [e for e in self.events if e.get("event") == "playbook_on_stats"]
        assert len(stats) == 1, self.explain()
        return stats[0]["event_data"].get("artifact_data") or {}

    @property
    def artifact_data_on_disk(self) -> dict:
        """The same, read from the job's artifacts directory as another process would."""
        events = [json.loads(path.read_text()) for path in sorted(self.artifacts_dir.glob("job_events/*.json"))]
        stats = [e for e in events if e.get("event") == "playbook_on_stats"]
        assert len(stats) == 1, self.explain()
        return stats[0]["event_data"].get("artifact_data") or {}

    @property
    def artifacts_dir(self) -> Path:
        return Path(self.runner.config.artifact_dir)

    @property
    def stdout(self) -> str:
        return (self.artifacts_dir / "stdout").read_text(errors="replace")

    def failure_messages(self) -> list[str]:
        """The ``msg`` of every failed task (of each failed item, for a loop)."""
        messages = []
        for event in self.events:
            if event.get("event") == "runner_on_failed" and not event["event_data"].get("ignore_errors"):
                result = event["event_data"]["res"]
                messages.append(str(result.get("msg", "")))
                messages.extend(str(item.get("msg", "")) for item in result.get("results", []) if item.get("failed"))
        return messages

    def explain(self) -> str:
        return f"status={self.runner.status} rc={self.runner.rc}\n--- stdout\n{self.stdout[-6000:]}"


def run_job(tmp: Path, name: str, playbook: str, hosts: dict[str, dict] | None = None,
            extravars: dict | None = None, check: bool = False) -> Job:
    """An AWX job in a fresh private data dir ``tmp/name``: ``hosts`` is the job's inventory
    (name: host vars; ``testbench_api_key`` goes into the host's vaulted file); ``check``: the
    job template's check job type."""
    import ansible_runner

    ensure_collection_link()
    base = tmp / name
    project = base / "project"
    (project / "workflows").mkdir(parents=True)
    for entry in ("testbench", "summary"):
        (project / f"{entry}.yml").write_text(
            f"---\n- name: The collection's {entry} playbook\n  ansible.builtin.import_playbook: algorithmia.testbench.{entry}\n")
    (project / "workflows" / "hello_wrong.json").write_text(json.dumps(WRONG_WORKFLOW))
    (project / "algorithms").symlink_to(ROOT / "algorithms")  # the templates the project's workflows use
    collection = base / "requirements_collections" / "ansible_collections" / "algorithmia" / "testbench"
    collection.parent.mkdir(parents=True)
    collection.symlink_to(ROOT)

    inventory = base / "inventory"
    lines = ["[destinations]"] + [f"{host} ansible_connection=local" for host in hosts or {}]
    write_private(inventory / "hosts", "\n".join(lines) + "\n")
    for host, values in (hosts or {}).items():
        plain = {k: v for k, v in values.items() if k != "testbench_api_key"}
        write_private(inventory / "host_vars" / host / "main.yml", json.dumps(plain) + "\n")
        if "testbench_api_key" in values:
            write_private(inventory / "host_vars" / host / "vault.yml",
                          encrypted(f"testbench_api_key: {json.dumps(values['testbench_api_key'])}\n"))

    env = base / "env"
    write_private(env / "extravars", json.dumps(extravars or {}))
    write_private(env / "envvars", json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": str(collection.parents[2]),
        "ANSIBLE_LOCAL_TEMP": str(base / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(base / "ansible-remote"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }))
    write_private(env / "cmdline", "--ask-vault-pass" + (" --check" if check else ""))
    write_private(env / "passwords", json.dumps({r"^Vault password:\s*?$": VAULT_PASSWORD}))
    runner = ansible_runner.run(private_data_dir=str(base), playbook=playbook, ident=name, quiet=True, timeout=1200)
    return Job(runner, base)


def slice_hosts(hosts: dict[str, dict], number: int, count: int) -> dict[str, dict]:
    """The hosts of slice ``number`` of ``count``, as AWX splits an inventory for job slicing."""
    names = list(hosts)[number - 1::count]
    return {name: hosts[name] for name in names}


def destination(cluster, **values) -> dict:
    host = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key, "testbench_workflows": ["hello_world"]}
    host.update(values)
    return host


@pytest.fixture(scope="module")
def awx(cluster, source_cluster, tmp_path_factory):
    """Two destination clusters (east, west), a report directory every job shares, and the jobs:
    the whole inventory in one job, then the same inventory as two slices."""
    tmp = tmp_path_factory.mktemp("awx")
    hosts = {"east": destination(cluster), "west": destination(source_cluster)}
    # extra variables win over the inventory's: the workflows stay host variables, so that a job can change them per host
    extravars = {"testbench_report_dir": str(tmp / "shared" / "reports")}
    whole = run_job(tmp, "whole", "testbench.yml", hosts, extravars)
    slices = [run_job(tmp, f"slice{n}", "testbench.yml", slice_hosts(hosts, n, 2), extravars) for n in (1, 2)]
    return {"tmp": tmp, "hosts": hosts, "extravars": extravars, "whole": whole, "slices": slices,
            "keys": [cluster.key, cluster.admin_key, source_cluster.key, source_cluster.admin_key]}


def test_a_job_leaves_each_clusters_verdict_and_bundle_in_its_artifacts(awx):
    job = awx["whole"]
    assert job.runner.status == "successful" and job.runner.rc == 0, job.explain()
    clusters = job.artifact_data["testbench_clusters"]
    assert sorted(clusters) == ["east", "west"], clusters
    assert job.artifact_data_on_disk == job.artifact_data
    run_ids = {entry["run_id"] for entry in clusters.values()}
    assert len(run_ids) == 1, clusters  # one run, one bundle for both clusters
    for name, entry in clusters.items():
        assert entry["status"] == "passed", entry
        bundle = Path(entry["bundle"])
        assert bundle.name == entry["run_id"] and bundle.parent == Path(awx["extravars"]["testbench_report_dir"]) / "runs"
        results = json.loads((bundle / name / "results.json").read_text())
        assert (results["cluster"], results["status"], results["run_id"]) == (name, "passed", entry["run_id"])
        assert (bundle / name / "report.html").is_file() and (bundle / name / "junit.xml").is_file()
    assert (bundle / "index.html").is_file()


def test_each_slice_writes_its_own_bundle_and_artifacts(awx):
    seen = {}
    for number, job in enumerate(awx["slices"], start=1):
        assert job.runner.status == "successful" and job.runner.rc == 0, job.explain()
        clusters = job.artifact_data["testbench_clusters"]
        assert list(clusters) == list(slice_hosts(awx["hosts"], number, 2)), clusters
        for name, entry in clusters.items():
            assert entry["status"] == "passed"
            assert json.loads((Path(entry["bundle"]) / name / "results.json").read_text())["status"] == "passed"
            seen[name] = entry
    assert sorted(seen) == ["east", "west"]
    assert seen["east"]["bundle"] != seen["west"]["bundle"]  # a run id of each slice's own
    # each slice's own index and summary.json cover only its cluster
    west_index = json.loads((Path(seen["west"]["bundle"]) / "input.json").read_text())
    assert list(west_index["clusters"]) == ["west"]


def test_the_summary_merges_the_slices_artifacts_into_one_verdict(awx):
    tmp = awx["tmp"]
    artifacts = {}
    for job in awx["slices"]:  # what the workflow node after the sliced job receives
        artifacts.update(job.artifact_data["testbench_clusters"])
    merged_dir = tmp / "shared" / "merged"
    extravars = {"testbench_clusters": artifacts, "testbench_summary_dir": str(merged_dir)}
    checked = run_job(tmp, "summary-check", "summary.yml", extravars=extravars, check=True)
    assert checked.runner.status == "successful", checked.explain()
    assert f"east: passed (hello_world; run {artifacts['east']['run_id']})" in checked.stdout, checked.explain()
    assert not merged_dir.exists()  # check mode tells the verdict and writes nothing

    job = run_job(tmp, "summary", "summary.yml", extravars=extravars)
    assert job.runner.status == "successful" and job.runner.rc == 0, job.explain()
    summary = json.loads((merged_dir / "summary.json").read_text())
    assert summary["status"] == "passed" and summary["passed"] is True
    assert [(c["cluster"], c["status"]) for c in summary["clusters"]] == [("east", "passed"), ("west", "passed")]
    assert {c["bundle"] for c in summary["clusters"]} == {entry["bundle"] for entry in artifacts.values()}
    assert len(summary["bundles"]) == 2
    for cluster in ("east", "west"):
        assert f"{cluster}: passed (hello_world; run {artifacts[cluster]['run_id']})" in job.stdout
    index = (merged_dir / "index.html").read_text()
    assert "2 clusters: 2 passed" in index
    for entry in summary["clusters"]:  # each cluster links to its page in its slice's bundle
        href = os.path.relpath(Path(entry["bundle"]) / entry["cluster"] / "report.html", merged_dir)
        assert f'href="{href}"' in index and (merged_dir / href).is_file()


@pytest.fixture(scope="module")
def failing_slice(awx):
    """Slice 1 again, where east's workflow expects an answer hello_world does not give."""
    hosts = slice_hosts(awx["hosts"], 1, 2)
    hosts["east"] = dict(hosts["east"], testbench_workflows=["hello_wrong"])
    return run_job(awx["tmp"], "slice1-failing", "testbench.yml", hosts, awx["extravars"])


def test_a_failing_cluster_in_one_slice_fails_the_merged_verdict_naming_it(awx, failing_slice):
    tmp = awx["tmp"]
    assert failing_slice.runner.status == "failed" and failing_slice.runner.rc != 0, failing_slice.explain()
    east = failing_slice.artifact_data["testbench_clusters"]["east"]
    assert east["status"] == "failed"
    west = awx["slices"][1].artifact_data["testbench_clusters"]["west"]

    merged_dir = tmp / "shared" / "merged-failing"
    job = run_job(tmp, "summary-failing", "summary.yml", extravars={
        "testbench_summary_bundles": [east["bundle"], west["bundle"]], "testbench_summary_dir": str(merged_dir)})
    assert job.runner.status == "failed" and job.runner.rc != 0, job.explain()
    assert job.failure_messages() and "Failed clusters: east " in job.failure_messages()[-1], job.explain()
    assert f"east: failed (run {east['run_id']}): failed at step benchmark" in job.stdout, job.explain()
    assert "greets in french" in job.stdout
    assert f"west: passed (hello_world; run {west['run_id']})" in job.stdout
    summary = json.loads((merged_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["passed"] is False
    assert {c["cluster"]: c["status"] for c in summary["clusters"]} == {"east": "failed", "west": "passed"}


def test_the_summary_refuses_two_slices_that_disagree_on_a_cluster(awx, failing_slice):
    passed = awx["slices"][0].artifact_data["testbench_clusters"]["east"]
    failed = failing_slice.artifact_data["testbench_clusters"]["east"]
    merged_dir = awx["tmp"] / "shared" / "merged-conflict"
    job = run_job(awx["tmp"], "summary-conflict", "summary.yml", extravars={
        "testbench_summary_bundles": [passed["bundle"], failed["bundle"]], "testbench_summary_dir": str(merged_dir)})
    assert job.runner.status == "failed", job.explain()
    message = job.failure_messages()[-1]
    assert "cluster east is passed in " in message and " but failed in " in message, message
    assert "Fix: " in message
    assert not merged_dir.exists()  # refused before anything was written


@pytest.mark.parametrize(("bundles", "expected"), [
    (["missing"], ["testbench_summary_bundles[0]", "is not a directory", "Fix: give the run bundle"]),
    (["empty"], ["bundles[0]", "holds no cluster", "Fix: give the run bundle"]),
    ([], ["testbench_summary_bundles must be a non-empty list", "Fix: "]),
])
def test_the_summary_names_the_variable_and_the_fix_for_bad_bundles(awx, bundles, expected):
    tmp = awx["tmp"]
    (tmp / "shared" / "empty").mkdir(exist_ok=True)
    paths = [str(tmp / "shared" / name) for name in bundles]
    job = run_job(tmp, f"summary-bad-{'-'.join(bundles) or 'none'}", "summary.yml", extravars={
        "testbench_summary_bundles": paths, "testbench_summary_dir": str(tmp / "shared" / "merged-bad")})
    assert job.runner.status == "failed", job.explain()
    message = "\n".join(job.failure_messages())
    assert all(part in message for part in expected), message


def test_no_key_in_any_jobs_artifacts_or_reports(awx, failing_slice):
    places = {}
    for path in list(awx["tmp"].rglob("artifacts/**/*")) + list((awx["tmp"] / "shared").rglob("*")):
        if path.is_file():
            places[str(path.relative_to(awx["tmp"]))] = path.read_bytes().decode("utf-8", "replace")
    assert any(name.endswith("job_events") or "/job_events/" in name for name in places)
    assert key_material_in(places, awx["keys"] + [VAULT_PASSWORD]) == []
