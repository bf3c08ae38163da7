"""Java algorithms on localcluster: the javac build, the Java runner's protocol, TLS.

One cluster and one build of the probe (``tests/localcluster/templates/java/Probe``: an apply for
text, one for JSON, one for bytes, and a client built in ``load()`` over java.net.http) are shared
by the module. Failing builds go to algorithms of their own, and are quick: they fail before or at
javac.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
import requests
from Algorithmia.errors import AlgorithmException

from localcluster.builds.languages import java
from localcluster.environments import catalog
from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy
from tests.localcluster.git_support import clone, commit_and_push, git, git_env, wait_for_build

TEMPLATE = Path(__file__).parent / "templates" / "java" / "Probe"
JAVA_ENVIRONMENT = next(spec.environment_id for spec in catalog.CATALOG
                        if spec.master == "prod" and spec.display_name == "Java 11.0")
SETTINGS = {"algorithm_environment": JAVA_ENVIRONMENT, "source_visibility": "closed", "license": "apl",
            "network_access": "full", "pipeline_enabled": True}
PYTHON_ECHO = "def apply(input):\n    return {'python': input}\n"

LOAD_FAILS = """package algorithmia.LoadFails;

public class LoadFails {
    public void load() {
        System.out.println("loading ...");
        throw new IllegalStateException("the model is missing");
    }

    public String apply(String input) {
        return input;
    }
}
"""


def template(name: str) -> dict[str, str]:
    """The probe's files for an algorithm called ``name`` (paths and the whole word Probe renamed)."""
    return {path.relative_to(TEMPLATE).as_posix().replace("Probe", name): re.sub(r"\bProbe\b", name, path.read_text())
            for path in TEMPLATE.rglob("*") if path.is_file()}


class JavaRepo:
    """A Java algorithm of the cluster and a clone of its repository, to push commits to."""

    def __init__(self, cluster, name: str, workdir: Path) -> None:
        self.cluster, self.name = cluster, name
        self.algo = cluster.client().algo(f"{cluster.user}/{name}")
        self.algo.create(details={"label": name}, settings=SETTINGS)
        home = workdir / f"home-{name}"
        home.mkdir(parents=True, exist_ok=True)
        self.env = git_env(home, cluster.user, cluster.key, cluster.ca_cert)
        self.checkout = workdir / name
        clone(cluster.url, cluster.user, name, self.checkout, self.env)

    def push(self, files: dict[str, str], message: str, remove: tuple[str, ...] = ()) -> tuple[dict, str]:
        """Push ``files`` (removing ``remove``); the finished build and its log."""
        for path in remove:
            git(self.env, "rm", "-q", "-r", "--ignore-unmatch", path, cwd=self.checkout)
        sha = commit_and_push(self.checkout, self.env, files, message)
        build = wait_for_build(self.algo, sha)
        return build, self.algo.get_build_logs(build["build_id"])["logs"]

    def built(self, build: dict):
        """The algorithm at the commit ``build`` built (unpublished versions are called by hash)."""
        return self.cluster.client().algo(f"{self.cluster.user}/{self.name}/{build['commit_sha']}")


@pytest.fixture(scope="module")
def probe(cluster, tmp_path_factory):
    repo = JavaRepo(cluster, "Probe", tmp_path_factory.mktemp("java"))
    started = time.monotonic()
    build, logs = repo.push(template("Probe"), "the Java probe")
    assert build["status"] == "succeeded", logs
    print(f"\ncold Java build of Probe: {time.monotonic() - started:.1f} s")
    return f"{cluster.user}/Probe/{build['commit_sha']}", logs


@pytest.fixture(scope="module")
def python_echo(cluster, tmp_path_factory):
    return deploy(cluster, "PyEcho", {"src/PyEcho.py": PYTHON_ECHO}, tmp_path_factory.mktemp("python"))


def _raw_call(cluster, ref: str, data: bytes, content_type: str) -> requests.Response:
    return requests.post(f"{cluster.url}/v1/algo/{ref}", data=data, timeout=60, verify=cluster.ca_cert or True,
                         headers={"Authorization": cluster.key, "Content-Type": content_type})


def test_the_build_compiles_with_debian_gson_and_says_how(probe):
    _ref, logs = probe
    assert "Dependency com.google.code.gson:gson:2.8.0: /usr/share/java/gson.jar" in logs
    assert "junit:junit:3.8.1 (test scope): skipped" in logs
    assert "Compiling 2 Java source files of src/main/java (javac --release 11)" in logs
    assert "Packaged target/algorithm.jar" in logs
    assert "Compiling the localcluster Java runner" in logs or "The localcluster Java runner, compiled before" in logs
    assert logs.rstrip().endswith("Build succeeded.")


def test_text_json_and_binary_round_trips(cluster, probe):
    ref, _logs = probe
    algo = cluster.client().algo(ref)
    assert algo.pipe("Jane").result == "Hello Jane"
    assert algo.pipe({"op": "echo", "list": [1, "two", None], "nested": {"ok": True}}).result == \
        {"op": "echo", "list": [1, "two", None], "nested": {"ok": True}}
    assert algo.pipe(bytes([0, 1, 2, 255])).result == bytes([255, 2, 1, 0])
    text = _raw_call(cluster, ref, "Zoë".encode(), "text/plain").json()
    assert text["result"] == "Hello Zoë" and text["metadata"]["content_type"] == "text"
    binary = _raw_call(cluster, ref, b"\x00abc", "application/octet-stream").json()
    assert binary["metadata"]["content_type"] == "binary"


def test_bad_json_is_an_input_error(cluster, probe):
    ref, _logs = probe
    reply = _raw_call(cluster, ref, b"{not json", "application/json").json()
    assert reply["error"]["error_type"] == "InputError"
    assert "Invalid JSON input" in reply["error"]["message"]


def test_an_algorithm_error_carries_its_message_and_stack_trace(cluster, probe):
    ref, _logs = probe
    with pytest.raises(AlgorithmException) as caught:
        cluster.client().algo(ref).pipe({"op": "fail", "message": "no such model"})
    assert caught.value.error_type == "AlgorithmError"
    assert caught.value.message == "no such model"
    trace = caught.value.stack_trace
    assert trace.startswith("java.lang.IllegalStateException: no such model")
    assert "at algorithmia.Probe.Probe.fail(Probe.java:" in trace
    assert "at algorithmia.Probe.Probe.apply(Probe.java:" in trace
    assert "localcluster.runner" not in trace and "reflect" not in trace


def test_prints_go_to_the_owner_and_never_into_the_pipe(cluster, probe):
    ref, _logs = probe
    algo = cluster.client().algo(ref)
    shown = algo.set_options(stdout=True).pipe({"op": "print", "text": "hi there"})
    assert shown.result == {"printed": True}
    # System.out and a child process that inherits stdout: both are the call's prints.
    assert shown.metadata.stdout == "hi there\nchild says hi there\n"
    assert cluster.client().algo(ref).pipe({"op": "print", "text": "quiet"}).metadata.stdout is None


def test_a_client_made_at_load_time_reads_data_with_each_calls_key(cluster, probe):
    ref, _logs = probe
    cluster.client().dir("data://.my/probe_data").create()
    cluster.client().file("data://.my/probe_data/greeting.txt").put("hello from the data API")
    algo = cluster.client().algo(ref)
    first = algo.pipe({"op": "read", "file": "data://.my/probe_data/greeting.txt"}).result
    second = algo.pipe({"op": "read", "file": "data://.my/probe_data/greeting.txt"}).result
    assert first["text"] == second["text"] == "hello from the data API"
    assert first["key"] != second["key"]  # each call's own key; the first one was revoked when its call ended


def test_a_nested_call_to_a_python_algorithm(cluster, probe, python_echo):
    ref, _logs = probe
    nested = {"op": "nested", "algo": "algo://.my/PyEcho/latestPrivate", "input": {"from": "java"}}
    reply = cluster.client().algo(ref).pipe(nested).result
    assert reply == {"nested": '{"python":{"from":"java"}}'}


def test_the_worker_is_reused_and_replaced_when_killed(cluster, probe):
    ref, _logs = probe
    algo = cluster.client().algo(ref)
    first = algo.pipe({"op": "info"}).result
    second = algo.pipe({"op": "info"}).result
    assert second["pid"] == first["pid"] and second["loads"] == 1 and second["calls"] == first["calls"] + 1
    os.kill(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(first["pid"]) and time.monotonic() < deadline:  # until the server has reaped it
        time.sleep(0.05)
    time.sleep(0.2)
    third = algo.pipe({"op": "info"}).result
    assert third["pid"] != first["pid"] and third["loads"] == 1 and third["calls"] == 1


def test_a_load_failure_is_the_callers_error(cluster, tmp_path):
    repo = JavaRepo(cluster, "LoadFails", tmp_path)
    build, logs = repo.push({"pom.xml": template("LoadFails")["pom.xml"],
                             "src/main/java/algorithmia/LoadFails/LoadFails.java": LOAD_FAILS}, "load() fails")
    assert build["status"] == "succeeded", logs  # the check does not call load()
    for _attempt in range(2):  # each new worker tries again
        with pytest.raises(AlgorithmException) as caught:
            repo.built(build).pipe("x")
        assert caught.value.message == "the model is missing"
        assert "at algorithmia.LoadFails.LoadFails.load(LoadFails.java:6)" in caught.value.stack_trace
    response = requests.post(f"{cluster.url}/v1/algo/{cluster.user}/LoadFails/{build['commit_sha']}",
                             params={"stdout": "true"}, data="x", timeout=60,
                             headers={"Authorization": cluster.key, "Content-Type": "text/plain"})
    assert response.json()["metadata"]["stdout"] == "loading ...\n"


def test_builds_that_fail_say_why(cluster, tmp_path):
    repo = JavaRepo(cluster, "Broken", tmp_path)
    files = template("Broken")
    main = "src/main/java/algorithmia/Broken/Broken.java"

    build, logs = repo.push({"pom.xml": files["pom.xml"]}, "no main file", remove=("src",))
    assert build["status"] == "failed"
    assert f"expected {main}" in logs

    broken = files[main].replace('return "Hello " + input;', 'return "Hello " + input')
    build, logs = repo.push(dict(files, **{main: broken}), "a syntax error")
    assert build["status"] == "failed"
    assert f"{main}:" in logs and "error: ';' expected" in logs  # javac's own message, with file and line
    assert "Compiling src/main/java failed (javac exit code 1)" in logs

    pom = files["pom.xml"].replace("<dependencies>", "<dependencies><dependency><groupId>com.algorithmia</groupId>"
                                   "<artifactId>algorithmia-client</artifactId><version>[1.0.11,)</version></dependency>")
    build, logs = repo.push(dict(files, **{"pom.xml": pom}), "the Algorithmia client from Maven Central")
    assert build["status"] == "failed"
    assert "com.algorithmia:algorithmia-client:[1.0.11,)" in logs and "Maven Central" in logs
    assert "java.net.http" in logs


def test_tls_cluster_calls_back_and_workers_die_with_the_server(tmp_path, no_machine_ca_bundle):
    proc = LocalClusterProcess(tmp_path / "tls", tls=True).start()
    try:
        tls = RunningCluster(proc)
        repo = JavaRepo(tls, "Probe", tmp_path)
        build, logs = repo.push(template("Probe"), "the Java probe over TLS")
        assert build["status"] == "succeeded", logs
        tls.client().dir("data://.my/probe_data").create()
        tls.client().file("data://.my/probe_data/tls.txt").put("over tls")
        algo = repo.built(build)
        assert algo.pipe({"op": "read", "file": "data://.my/probe_data/tls.txt"}).result["text"] == "over tls"
        pid = algo.pipe({"op": "info"}).result["pid"]
        proc.kill()  # SIGKILL: the worker notices its parent is gone
        try:
            psutil.Process(pid).wait(10)
        except psutil.NoSuchProcess:
            pass
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        proc.stop()


def test_the_starter_builds_and_answers(cluster, tmp_path):
    files = java.starter("Starter")
    assert sorted(files) == ["pom.xml", "src/main/java/algorithmia/Starter/Starter.java",
                             "src/test/java/algorithmia/Starter/StarterTest.java"]
    assert "algorithmia-client" not in files["pom.xml"]
    repo = JavaRepo(cluster, "Starter", tmp_path)
    build, logs = repo.push(files, "the starter")
    assert build["status"] == "succeeded", logs
    assert repo.built(build).pipe("Jane").result == "Hello Jane"
