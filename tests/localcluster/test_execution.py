"""Calling algorithms through the official client: inputs and outputs, options, warm workers,
load() once, timeouts and crashes, errors, access, the ADK, and the ``algo run`` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import toml
from Algorithmia.algorithm import OutputType
from Algorithmia.errors import AlgorithmException

from tests.localcluster.execution_support import deploy, live_worker_pids, process_gone

ECHO = '''
import os
import time

import Algorithmia
from Algorithmia.errors import AlgorithmException

LOADS = []
# Built at import time, as the docs suggest (in load()): it must follow each call's key.
CLIENT = Algorithmia.client()


def load():
    LOADS.append(os.getpid())
    return {"calls": 0}


def apply(input, state):
    state["calls"] += 1
    if isinstance(input, bytes):
        return input[::-1]
    if isinstance(input, str):
        return "hello " + input
    if not isinstance(input, dict):
        return input
    op = input["op"]
    if op == "info":
        time.sleep(input.get("sleep", 0))
        return {"pid": os.getpid(), "loads": len(LOADS), "calls": state["calls"]}
    if op == "print":
        print(input["text"])
        return "printed"
    if op == "sleep":
        if "pid_file" in input:
            with open(input["pid_file"], "w") as fh:
                fh.write(str(os.getpid()))
        time.sleep(input["seconds"])
        return "woke"
    if op == "crash":
        with open(input["pid_file"], "w") as fh:
            fh.write(str(os.getpid()))
        os._exit(3)
    if op == "raise":
        raise AlgorithmException(input["message"], error_type=input["error_type"])
    if op == "fail":
        raise ValueError(input["message"])
    if op == "bytes":
        return bytes(range(256))
    if op == "list_my_data":
        # the import-time client, on a later call whose key is new
        return [d.path for d in CLIENT.dir("data://.my").dirs()]
    return input
'''

ADK_ALGORITHM = '''
import os

from Algorithmia import ADK


def load():
    return {"pid": os.getpid(), "greeting": "hello"}


def apply(input, state):
    if input == "fail":
        raise RuntimeError("adk failure")
    return {"text": state["greeting"] + " " + str(input), "load_pid": state["pid"], "pid": os.getpid()}


algorithm = ADK(apply, load)
algorithm.init("local payload")
'''


REQUIREMENTS = "algorithmia>=2.0,<3.0\n"


@pytest.fixture(scope="module")
def echo(cluster, tmp_path_factory):
    return deploy(cluster, "Echo", {"src/Echo.py": ECHO, "requirements.txt": REQUIREMENTS},
                  tmp_path_factory.mktemp("echo"))


@pytest.fixture(scope="module")
def adk_algo(cluster, tmp_path_factory):
    return deploy(cluster, "Greeter", {"src/Algorithm.py": ADK_ALGORITHM, "requirements.txt": REQUIREMENTS},
                  tmp_path_factory.mktemp("greeter"))


def test_text_json_binary_in_and_out(cluster, echo):
    algo = cluster.client().algo(echo)
    text = algo.pipe("Neo")
    assert (text.result, text.metadata.content_type) == ("hello Neo", "text")
    assert text.metadata.duration >= 0
    as_json = algo.pipe({"op": "echo", "list": [1, 2.5, None], "ü": "ö"})
    assert as_json.result == {"op": "echo", "list": [1, 2.5, None], "ü": "ö"}
    assert as_json.metadata.content_type == "json"
    binary = algo.pipe(bytearray(b"\x00\x01\xfe\xff"))
    assert (binary.result, binary.metadata.content_type) == (b"\xff\xfe\x01\x00", "binary")
    assert algo.pipe({"op": "bytes"}).result == bytes(range(256))
    assert algo.pipe(None).result is None  # JSON null in, JSON null out


def test_raw_output(cluster, echo):
    algo = cluster.client().algo(echo).set_options(output=OutputType.raw)
    assert algo.pipe("raw") == "hello raw"
    assert algo.pipe({"op": "echo", "n": 1}) == '{"op": "echo", "n": 1}'
    # 2.0.5 raises before its own 400/500 branches: a generic error naming the status.
    with pytest.raises(Exception, match="400"):
        algo.pipe({"op": "fail", "message": "raw failure"})


def test_void_output_runs_in_the_background(cluster, echo):
    client = cluster.client()
    client.dir("data://.my/void").create()
    response = client.algo(echo).set_options(output=OutputType.void).pipe({"op": "echo"})
    assert response.async_protocol == "void"
    assert response.request_id.startswith("req-")


def test_stdout_for_the_owner_only(cluster, echo):
    algo = cluster.client().algo(echo).set_options(stdout=True)
    response = algo.pipe({"op": "print", "text": "visible line"})
    assert response.metadata.stdout == "visible line\n"
    assert cluster.client().algo(echo).pipe({"op": "print", "text": "x"}).metadata.stdout is None


def test_load_runs_once_per_worker(cluster, echo):
    algo = cluster.client().algo(echo)
    infos = [algo.pipe({"op": "info"}).result for _call in range(5)]
    for info in infos:
        assert info["loads"] == 1
    one_pid = [i for i in infos if i["pid"] == infos[-1]["pid"]]
    # the same warm worker kept its loaded state across calls
    assert [i["calls"] for i in one_pid] == sorted(i["calls"] for i in one_pid)
    assert len(one_pid) >= 2


def test_parallel_calls_use_several_workers(cluster, echo):
    algo_ref = echo

    def call(_index):
        return cluster.client().algo(algo_ref).pipe({"op": "info", "sleep": 0.5}).result

    with ThreadPoolExecutor(8) as pool:
        infos = list(pool.map(call, range(8)))
    pids = {i["pid"] for i in infos}
    assert 2 <= len(pids) <= 4  # grows on demand, capped per version
    assert all(i["loads"] == 1 for i in infos)
    assert pids <= live_worker_pids(cluster)


def test_timeout_kills_the_worker_and_the_next_call_works(cluster, echo, tmp_path):
    pid_file = tmp_path / "pid"
    slow = cluster.client().algo(echo).set_options(timeout=1)
    with pytest.raises(AlgorithmException) as caught:
        slow.pipe({"op": "sleep", "seconds": 60, "pid_file": str(pid_file)})
    assert caught.value.error_type == "TimeoutError"
    assert "1 seconds" in caught.value.message
    killed = int(pid_file.read_text())
    assert process_gone(killed)
    assert killed not in live_worker_pids(cluster)
    assert cluster.client().algo(echo).pipe("again").result == "hello again"


# The one 500 localcluster gives on purpose: with output=raw a timed-out call answers 500, as real
# clusters do (the official client raises ApiInternalError for it).
@pytest.mark.server_errors_allowed("POST", "/v1/algo/alice/Echo/", reason="output=raw answers a timeout 500")
def test_raw_timeout_is_an_internal_error(cluster, echo):
    slow = cluster.client().algo(echo).set_options(timeout=1, output=OutputType.raw)
    with pytest.raises(Exception, match="500"):
        slow.pipe({"op": "sleep", "seconds": 30})
    response = requests.post(f"{cluster.url}/v1/algo/{echo}", params={"output": "raw", "timeout": 1},
                             json={"op": "sleep", "seconds": 30}, headers={"Authorization": cluster.key}, timeout=60)
    assert response.status_code == 500
    assert response.json()["error"]["error_type"] == "TimeoutError"


def test_crash_is_reported_and_the_worker_replaced(cluster, echo, tmp_path):
    pid_file = tmp_path / "pid"
    algo = cluster.client().algo(echo)
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "crash", "pid_file": str(pid_file)})
    assert "worker process exited with code 3" in caught.value.message
    crashed = int(pid_file.read_text())
    assert crashed not in live_worker_pids(cluster)
    after = algo.pipe({"op": "info"}).result
    assert after["pid"] != crashed and after["loads"] == 1


def test_a_worker_killed_while_idle_does_not_fail_the_next_call(cluster, echo):
    """Killed from outside (an OOM killer, an operator) while idle: the next call goes to a live
    worker (also before the server has noticed the death: tests/localcluster/test_worker_gone.py).
    A call that meets a worker in the instant it is being killed fails as a crash would."""
    algo = cluster.client().algo(echo)
    before = algo.pipe({"op": "info"}).result["pid"]
    killed = live_worker_pids(cluster)
    for pid in killed:
        os.kill(pid, 9)
    assert all(process_gone(pid) for pid in killed)
    after = algo.pipe({"op": "info"}).result
    assert after["pid"] != before and after["loads"] == 1


def test_algorithm_errors_keep_their_type(cluster, echo):
    algo = cluster.client().algo(echo)
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "raise", "message": "no such entity", "error_type": "EntityNotFoundError"})
    assert caught.value.error_type == "EntityNotFoundError"
    assert caught.value.message == "no such entity"
    assert "src/Echo.py" in caught.value.stack_trace  # the owner may read the source
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "fail", "message": "plain failure"})
    assert (caught.value.error_type, caught.value.message) == ("AlgorithmError", "plain failure")


def test_invalid_json_input_is_an_input_error(cluster, echo):
    response = requests.post(f"{cluster.url}/v1/algo/{echo}", data=b"{not json",
                             headers={"Authorization": cluster.key, "Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 200
    assert response.json()["error"]["error_type"] == "InputError"


def test_import_time_client_follows_the_call_key(cluster, echo):
    cluster.client().dir("data://.my/followed").create()
    algo = cluster.client().algo(echo)
    for _call in range(3):  # later calls on a warm worker carry new keys; the old ones are revoked
        assert ".my/followed" in algo.pipe({"op": "list_my_data"}).result


def test_auth_and_access(cluster, echo):
    url = f"{cluster.url}/v1/algo/{echo}"
    assert requests.post(url, data="x", headers={"Content-Type": "text/plain"}, timeout=30).status_code == 401
    assert requests.post(url, data="x", headers={"Authorization": "simNOPE", "Content-Type": "text/plain"},
                         timeout=30).status_code == 401
    bob = cluster.new_user("bob_exec")
    response = requests.post(url, data="x", headers={"Authorization": bob, "Content-Type": "text/plain"}, timeout=30)
    assert response.status_code in (403, 404)
    assert response.json()["error"]["message"]
    missing = requests.post(f"{cluster.url}/v1/algo/alice/NoSuchAlgo", data="x",
                            headers={"Authorization": cluster.key, "Content-Type": "text/plain"}, timeout=30)
    assert missing.status_code == 404


def test_bad_options_are_refused(cluster, echo):
    url = f"{cluster.url}/v1/algo/{echo}"
    headers = {"Authorization": cluster.key, "Content-Type": "text/plain"}
    for timeout in ("soon", "0", "-1", "nan"):
        assert requests.post(url, params={"timeout": timeout}, data="x", headers=headers, timeout=30).status_code == 400
    assert requests.post(url, params={"output": "xml"}, data="x", headers=headers, timeout=30).status_code == 400


def test_adk_algorithm(cluster, adk_algo):
    algo = cluster.client().algo(adk_algo)
    first = algo.pipe("world").result
    second = algo.pipe(42).result
    assert first["text"] == "hello world" and second["text"] == "hello 42"
    assert first["load_pid"] == first["pid"]  # load() ran in the worker, not at build time
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe("fail")
    assert (caught.value.error_type, caught.value.message) == ("AlgorithmError", "adk failure")


def test_algo_run_cli(cluster, echo, tmp_path):
    home = tmp_path / "home"
    (home / ".algorithmia").mkdir(parents=True)
    config = {"profiles": {"default": {"api_key": cluster.key, "api_server": cluster.url, "ca_cert": "",
                                       "bearer_token": ""}}}
    with open(home / ".algorithmia" / "config", "w") as fh:
        toml.dump(config, fh)
    algo = Path(sys.executable).parent / "algo"
    env = dict(os.environ, HOME=str(home))
    for flag in ("-d", "-t"):
        done = subprocess.run([str(algo), "run", echo, flag, "CLI"], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "hello CLI"
