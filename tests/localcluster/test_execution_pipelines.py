"""Algorithms that call the cluster back: the Data API (.algo, .session, .my), other algorithms,
two at once from threads, and nested calls beyond the pool's caps without deadlock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import os
import time

from Algorithmia.algorithm import OutputType

from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy
from tests.localcluster.test_execution import ADK_ALGORITHM, ECHO, REQUIREMENTS

PIPELINE = '''
from concurrent.futures import ThreadPoolExecutor

import Algorithmia


def apply(input):
    client = Algorithmia.client()  # inside apply: this call's key
    op = input["op"]
    if op == "data":
        client.file("data://.algo/temp/x").put("algo temp")
        client.file("data://.session/s.txt").put("session data")
        client.file("data://.my/" + input["collection"] + "/from_algo.txt").put("written by the algorithm")
        return {"algo": client.file("data://.algo/temp/x").getString(),
                "session": client.file("data://.session/s.txt").getString()}
    if op == "call":
        return client.algo(input["target"]).pipe(input["payload"]).result
    if op == "parallel":
        def one(target):
            return Algorithmia.client().algo(target).pipe(input["payload"]).result
        with ThreadPoolExecutor(len(input["targets"])) as pool:
            return list(pool.map(one, input["targets"]))
    if op == "session_parent":
        client.file("data://.session/shared.txt").put("from the parent")
        return client.algo(input["self"]).pipe({"op": "session_child"}).result
    if op == "session_child":
        return client.file("data://.session/shared.txt").getString()
    raise ValueError("unknown op " + op)
'''


SOURCES = {
    "Echo": {"src/Echo.py": ECHO, "requirements.txt": REQUIREMENTS},
    "Greeter": {"src/Algorithm.py": ADK_ALGORITHM, "requirements.txt": REQUIREMENTS},
    "Pipeline": {"src/Pipeline.py": PIPELINE, "requirements.txt": REQUIREMENTS},
}


@pytest.fixture(scope="module")
def algos(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pipes")
    return {name.lower(): deploy(cluster, name, files, workdir) for name, files in SOURCES.items()}


def test_algorithm_uses_the_data_api(cluster, algos):
    client = cluster.client()
    client.dir("data://.my/pipes").create()
    result = client.algo(algos["pipeline"]).pipe({"op": "data", "collection": "pipes"}).result
    assert result == {"algo": "algo temp", "session": "session data"}
    # .my inside the algorithm is the calling user (alice), so she sees the file
    assert client.file("data://.my/pipes/from_algo.txt").getString() == "written by the algorithm"
    # the algorithm's temp collection, seen from outside under its full name
    assert client.file("data://.algo/alice/Pipeline/temp/x").getString() == "algo temp"


def test_algorithm_calls_another_algorithm(cluster, algos):
    result = cluster.client().algo(algos["pipeline"]).pipe(
        {"op": "call", "target": algos["echo"], "payload": "from a pipeline"}).result
    assert result == "hello from a pipeline"


def test_pipeline_calls_two_algorithms_in_parallel(cluster, algos):
    result = cluster.client().algo(algos["pipeline"]).pipe(
        {"op": "parallel", "targets": [algos["echo"], algos["greeter"]], "payload": "both"}).result
    assert result[0] == "hello both"
    assert result[1]["text"] == "hello both"


def test_nested_calls_share_the_session(cluster, algos):
    result = cluster.client().algo(algos["pipeline"]).pipe(
        {"op": "session_parent", "self": algos["pipeline"]}).result
    assert result == "from the parent"


@pytest.fixture
def tight_cluster(tmp_path):
    """Two workers in all, one per version: every pipeline call needs more than the caps allow."""
    env = dict(os.environ, LOCALCLUSTER_WORKERS_MAX="2", LOCALCLUSTER_WORKERS_PER_VERSION="1")
    proc = LocalClusterProcess(tmp_path / "tight", env=env).start()
    try:
        yield RunningCluster(proc)
    finally:
        proc.stop()


def test_parallel_pipelines_beyond_the_caps_do_not_deadlock(tight_cluster, tmp_path):
    echo = deploy(tight_cluster, "Echo", SOURCES["Echo"], tmp_path)
    pipeline = deploy(tight_cluster, "Pipeline", SOURCES["Pipeline"], tmp_path)

    def run(i):
        algo = tight_cluster.client().algo(pipeline).set_options(timeout=120)
        return algo.pipe({"op": "parallel", "targets": [echo, echo, echo],
                          "payload": f"n{i}"}).result

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, range(3)))
    assert results == [[f"hello n{i}"] * 3 for i in range(3)]


def test_void_call_runs_to_the_end_in_the_background(cluster, algos):
    client = cluster.client()
    client.dir("data://.my/voidrun").create()
    response = client.algo(algos["pipeline"]).set_options(output=OutputType.void).pipe(
        {"op": "data", "collection": "voidrun"})
    assert response.request_id.startswith("req-")
    written = client.file("data://.my/voidrun/from_algo.txt")
    deadline = time.monotonic() + 120  # a generous bound, not a timing assertion
    while not written.exists():
        assert time.monotonic() < deadline, "the void call never wrote its file"
        time.sleep(0.1)
    assert written.getString() == "written by the algorithm"
