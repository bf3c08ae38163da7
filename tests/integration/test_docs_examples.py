"""The verdict and the run's bundle as docs/usage.md shows them, from a real run.

The run is the README's inventory (examples/clusters: prod-eu and prod-us, image_benchmark
exported from a TLS source) against three TLS localclusters, where prod-us's cluster refuses to
publish ImageThumbnailer (a 500, which is not retried): prod-eu passes, prod-us fails at that
step. The other output examples of docs/usage.md are checked where a run prints them: the
preflight's message in test_playbook_preflight.py, progress lines in test_progress.py, a ratchet
regression and a history file's path in test_playbook_ratchet.py (docs_examples.USAGE_OUTPUT).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import running_cluster
from tests.integration.docs_examples import assert_shown, usage_example
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import PLAYBOOK, api, destination, explain, summary, write_inventory

OWNER = "quality"  # the user the docs' messages name


def set_faults(cluster, *rules) -> None:
    response = api(cluster, "PUT", "/localcluster/faults", key=cluster.admin_key, json={"rules": list(rules)})
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def docs_run(tmp_path_factory, no_machine_ca_bundle):
    from tools.demo import seed_source

    tmp = tmp_path_factory.mktemp("docs_run")
    with running_cluster(tmp_path_factory, "source", tls=True) as source, \
            running_cluster(tmp_path_factory, "prod-eu", tls=True) as eu, \
            running_cluster(tmp_path_factory, "prod-us", tls=True) as us:
        seed_source(source.url, source.key, source.ca_cert)
        hosts = {"prod-eu": destination(eu, key=eu.new_user(OWNER)), "prod-us": destination(us, key=us.new_user(OWNER))}
        inventory = write_inventory(tmp / "inventory.yml", hosts, {
            "testbench_workflows": ["image_benchmark"], "testbench_source_api_address": source.url,
            "testbench_source_api_key": source.key, "testbench_source_ca_cert": source.ca_cert,
            "testbench_report_dir": str(tmp / "reports")})
        set_faults(us, {"kind": "error", "status": 500, "methods": ["POST"],
                        "path_prefix": f"/v1/algorithms/{OWNER}/ImageThumbnailer/versions"})
        run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory)
        names = {"https://api.eu.example.com": eu.url, "https://api.us.example.com": us.url}
        yield {"run": run, "reports": tmp / "reports", "names": names}


def test_the_verdict_is_the_one_the_usage_guide_shows(docs_run):
    run = docs_run["run"]
    assert run.rc != 0 and run.stats["prod-us"]["failures"] == 1 and run.stats["prod-eu"]["failures"] == 0, explain(run)
    assert_shown(usage_example("verdict"), run.stdout, docs_run["names"])


def test_the_verdict_says_each_thing_once(docs_run):
    """One line per cluster and one per workflow: no cluster line that repeats its workflows' verdicts."""
    lines = summary(docs_run["reports"])["lines"]
    assert [line for line in lines if not line.startswith(" ")] == [
        f"prod-eu ({docs_run['names']['https://api.eu.example.com']}): passed",
        f"prod-us ({docs_run['names']['https://api.us.example.com']}): FAILED"], lines
    workflow_lines = [line for line in lines if "image_benchmark" in line]
    assert [line.split(":")[0] for line in workflow_lines] == ["  workflow image_benchmark"] * 2, lines
    assert workflow_lines[0] == "  workflow image_benchmark: passed"
    assert workflow_lines[1].startswith("  workflow image_benchmark: failed at step build and publish ImageThumbnailer (python3, 'Python 3.7'): ")


def bundle_entries(tree: list[str]) -> list[tuple[str, str]]:
    """(path, as the docs write it) of each entry of the docs' bundle tree: an entry is indented two
    spaces per level under the directory above it; lines indented further continue a description."""
    entries, parents = [], []
    for line in tree:
        indent = len(line) - len(line.lstrip(" "))
        if indent >= 10 or not line.strip():
            continue
        name = line.split()[0]
        depth = indent // 2
        parents = parents[:depth] + [name]
        entries.append(("".join(parents), name))
    return entries


def test_the_run_bundle_holds_what_the_usage_guide_lists(docs_run):
    (run_dir,) = (docs_run["reports"] / "runs").iterdir()
    tree = usage_example("bundle")
    assert re.fullmatch(r"reports/runs/\d{8}T\d{6}Z-\d{6}/", tree[0]) and re.fullmatch(
        r"\d{8}T\d{6}Z-\d{6}", run_dir.name), (tree[0], run_dir.name)
    # the docs' placeholders, as this run fills them in
    fill = {"<workflow>": "image_benchmark", "<algorithm>": "ImageBenchmark", "<test>": "*"}
    listed = set()
    for path, _shown in bundle_entries(tree)[1:]:
        pattern = path.split("/", 3)[-1] if path.startswith("reports/runs/") else path
        for placeholder, value in fill.items():
            pattern = pattern.replace(placeholder, value)
        alternatives = re.match(r"(.*)\{(.*)\}$", pattern)
        for one in ([alternatives[1] + ext for ext in alternatives[2].split(",")] if alternatives else [pattern]):
            found = list(run_dir.glob(one.rstrip("/")))
            assert found, f"the docs list {one} in a run's bundle; this run has: " + json.dumps(
                sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")), indent=1)
            if not one.endswith("/"):  # a directory lists nothing below it by itself
                listed.update(found)
    # and nothing of prod-eu's bundle (a cluster that passed) is left out of the list
    unlisted = [str(p.relative_to(run_dir)) for p in (run_dir / "prod-eu").rglob("*")
                if p.is_file() and not any(p == q or q in p.parents for q in listed)]
    assert unlisted == [], unlisted
