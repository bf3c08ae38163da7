"""Fault soak: the image pipeline on two TLS clusters that misbehave like a busy load balancer.

On every path the collection's client calls on either cluster (the algorithms API, the Data API,
environments and git): 200 ms of latency on 20% of requests, 503 on 10%, a reset before any answer
on 2%, and on 5% of mutating requests the request is applied and then its reply is lost; on the
first run also, certainly, the reply of one create, collection, upload, push and publish each. Calls to
algorithms (/v1/algo/...) are kept out: the benchmark counts every failure and never retries, and the
algorithms' own calls to each other and to the Data API run inside the cluster.

Three runs in a row, each with another seed, must be green; no version may be published twice, and
every copied file must be byte-identical to its source. Apart: a 300 MiB data file whose upload and
read-back are both cut mid-stream arrives whole."""

from __future__ import annotations

import hashlib
import random

import pytest
import requests

from tests.conftest import running_cluster
from tests.integration.modules_support import play, task
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import (
    PLAYBOOK,
    api,
    cluster_logs,
    destination,
    explain,
    key_material_in,
    pipeline_project,
    summary,
    write_inventory,
)

CLIENT_PATHS = ("/v1/algorithms", "/v1/connector", "/v1/algorithm-environments", "/git")
PIPELINE = ("ImageThumbnailer", "BoundingBoxDrawer", "ImageBenchmark")
MIB = 1024 * 1024
BIG = 300 * MIB


def soak_rules() -> list[dict]:
    rules = []
    for prefix in CLIENT_PATHS:
        rules += [{"kind": "latency", "latency_ms": 200, "rate": 0.2, "path_prefix": prefix},
                  {"kind": "error", "status": 503, "rate": 0.1, "path_prefix": prefix},
                  {"kind": "drop", "rate": 0.02, "path_prefix": prefix},
                  {"kind": "lost_reply", "methods": ["POST", "PUT", "PATCH", "DELETE"], "rate": 0.05,
                   "path_prefix": prefix}]
    return rules


def lost_replies(user: str) -> list[dict]:
    """On the first run, each kind of change certainly applied and its reply lost once: create an
    algorithm, create a collection, upload a file, push over git, publish."""
    return [{"kind": "lost_reply", "methods": [method], "path_prefix": prefix, "times": 1} for method, prefix in (
        ("POST", f"/v1/algorithms/{user}/ImageBenchmark/versions"),
        ("POST", f"/git/{user}/BoundingBoxDrawer.git/git-receive-pack"),
        ("PUT", f"/v1/connector/data/{user}/ImageThumbnailer/landscape.png"),
        ("POST", f"/v1/connector/data/{user}"),
        ("POST", f"/v1/algorithms/{user}"))]


def certain_errors(user: str) -> list[dict]:
    """On every run, a read each run makes answered 503 once (to be retried): the seeded rates alone
    may spare a re-run's few requests to the destination."""
    return [{"kind": "error", "status": 503, "methods": ["GET"], "path_prefix": f"/v1/algorithms/{user}/ImageBenchmark",
             "times": 1}]


def set_faults(cluster, rules: list[dict], seed: int | None = None) -> None:
    body = {"rules": rules} if seed is None else {"rules": rules, "seed": seed}
    response = requests.put(f"{cluster.url}/localcluster/faults", json=body, timeout=30, verify=cluster.ca_cert,
                            headers={"Authorization": f"Simple {cluster.admin_key}"})
    response.raise_for_status()


def injected(cluster, start: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in cluster.request_log()[start:]:
        if entry.get("fault"):
            counts[entry["fault"]] = counts.get(entry["fault"], 0) + 1
    return counts


@pytest.fixture(scope="module", autouse=True)
def _no_machine_ca_bundle():
    """As tests/conftest.py does per test, for this module's fixtures too: a machine-wide CA bundle
    would replace the clusters' CA in the official client that seeds the source."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    with running_cluster(tmp_path_factory, "soak_source", tls=True) as source, \
            running_cluster(tmp_path_factory, "soak_destination", tls=True) as dest:
        yield source, dest


@pytest.fixture(scope="module")
def soak_runs(tls_pair, tmp_path_factory):
    source, dest = tls_pair
    tmp = tmp_path_factory.mktemp("soak")
    pipeline = pipeline_project(tmp, source)
    inventory = write_inventory(tmp / "inventory.yml", {"dest": destination(
        dest, testbench_source_api_key=source.key, testbench_source_ca_cert=source.ca_cert,
        testbench_workflows=[str(pipeline)],
        testbench_report_dir=str(tmp / "reports"))})
    runs, faults = [], []
    try:
        for seed in (1, 2, 3):
            starts = (len(source.request_log()), len(dest.request_log()))
            set_faults(source, soak_rules(), seed=seed)
            set_faults(dest, (lost_replies(dest.user) if seed == 1 else []) + certain_errors(dest.user) + soak_rules(),
                       seed=seed)
            runs.append(run_playbook(PLAYBOOK, tmp / f"run{seed}", inventory=inventory, args=["-vvvv"]))
            faults.append((injected(source, starts[0]), injected(dest, starts[1])))
    finally:
        for cluster in (source, dest):
            set_faults(cluster, [])
    return runs, faults, tmp


def test_three_runs_in_a_row_are_green_under_faults(soak_runs):
    runs, faults, _tmp = soak_runs
    print("faults injected per run (source, destination):", faults)  # shown with pytest -rP
    for run, (on_source, on_destination) in zip(runs, faults):
        assert run.rc == 0, explain(run)
        # the faults really happened, on both clusters
        assert on_destination.get("error", 0) + on_destination.get("drop", 0) > 0, faults
    assert faults[0][1].get("lost_reply", 0) >= 5, faults  # at least the five certain ones
    assert sum(f[0].get("error", 0) + f[0].get("drop", 0) for f in faults) > 0, faults


def test_no_version_is_published_twice(soak_runs, tls_pair):
    _source, dest = tls_pair
    for name in PIPELINE:
        response = api(dest, "GET", f"/v1/algorithms/{dest.user}/{name}/versions")
        published = [v["version_info"]["git_hash"] for v in response.json()["results"]]
        assert len(published) == len(set(published)) == 1, (name, published)


def test_every_copied_file_is_identical_to_its_source(soak_runs, tls_pair):
    source, dest = tls_pair
    original = api(source, "GET", f"/v1/data/{source.user}/testbench_assets/landscape.png").content
    copied = api(dest, "GET", f"/v1/data/{dest.user}/ImageThumbnailer/landscape.png").content
    assert hashlib.sha256(copied).hexdigest() == hashlib.sha256(original).hexdigest()


def test_the_soak_leaks_no_key(soak_runs, tls_pair):
    runs, _faults, tmp = soak_runs
    source, dest = tls_pair
    places = {f"run {i}": run.stdout + run.stderr for i, run in enumerate(runs)}
    places.update({str(p): p.read_text(errors="replace") for p in (tmp / "reports").rglob("*") if p.is_file()})
    places.update(cluster_logs(source))
    places.update(cluster_logs(dest))
    assert key_material_in(places, [source.key, source.admin_key, dest.key, dest.admin_key]) == []
    assert summary(tmp / "reports")["passed"] is True


def test_a_300_mib_file_cut_on_its_upload_and_on_its_read_back_arrives_whole(tls_pair, tmp_path):
    source, dest = tls_pair
    content_seed = random.Random(300)

    def chunks():
        for _chunk in range(BIG // MIB):
            yield content_seed.randbytes(MIB)

    digest = hashlib.sha256()
    source.client().dir("data://.my/soak_big").create()

    def hashed():
        for chunk in chunks():
            digest.update(chunk)
            yield chunk

    put = requests.put(f"{source.url}/v1/connector/data/{source.user}/soak_big/big.bin", data=hashed(), timeout=300,
                       verify=source.ca_cert, headers={"Authorization": f"Simple {source.key}"})
    put.raise_for_status()
    target = f"/v1/connector/data/{dest.user}/BigData/big.bin"
    set_faults(dest, [{"kind": "drop", "methods": ["PUT"], "path_prefix": target, "after_bytes": 64 * MIB, "times": 1},
                      {"kind": "drop", "methods": ["GET"], "path_prefix": target, "after_bytes": 128 * MIB,
                       "times": 1}])
    set_faults(source, [{"kind": "drop", "methods": ["GET"], "after_bytes": 200 * MIB, "times": 1,
                         "path_prefix": f"/v1/connector/data/{source.user}/soak_big/big.bin"}])
    start = len(dest.request_log())
    try:
        run = run_playbook(play([task("Sync", "algo_data_sync", {
            "algorithm": "BigData", "files": ["data://.my/soak_big/big.bin"], "verify": "full",
            "source_api_address": "{{ source_url }}", "source_api_key": "{{ source_key }}",
            "source_ca_cert": "{{ source_ca }}"})], extra_defaults={"ca_cert": "{{ dest_ca }}"}),
            tmp_path, extra_vars={"api_address": dest.url, "api_key": dest.key, "dest_ca": dest.ca_cert,
                                  "source_url": source.url, "source_key": source.key, "source_ca": source.ca_cert})
    finally:
        set_faults(dest, [])
        set_faults(source, [])
    result = run.task("Sync")
    assert not result.get("failed"), result.get("msg")
    assert injected(dest, start).get("drop", 0) == 2  # the cut upload and the cut read-back
    (entry,) = result["files"]
    assert entry["action"] == "copied" and entry["sha256"] == digest.hexdigest()
    assert entry["transfer"]["attempts"] >= 2
    stored = hashlib.sha256()
    with requests.get(f"{dest.url}/v1/data/{dest.user}/BigData/big.bin", stream=True, timeout=300,
                      verify=dest.ca_cert, headers={"Authorization": f"Simple {dest.key}"}) as response:
        for chunk in response.iter_content(MIB):
            stored.update(chunk)
    assert stored.hexdigest() == digest.hexdigest()
