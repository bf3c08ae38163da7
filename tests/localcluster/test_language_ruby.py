"""Ruby algorithms on localcluster: the starter, the build (ruby -c, the Gemfile from this machine's
gems, the load check), and the runner's side of the worker protocol (runners/ruby/runner.rb).

The module shares one cluster, one build of the test algorithm (templates/ruby/RubyEcho: every
operation behind {"op": ...}) and one Python algorithm for the nested call; the TLS test has a
cluster of its own, and ends by killing it to see the worker go with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from Algorithmia.errors import AlgorithmException

from localcluster.environments import catalog
from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy, live_worker_pids, process_gone
from tests.localcluster.git_support import clone, commit_and_push, git, git_env, wait_for_build

RUBY_ENVIRONMENT = next(spec.environment_id for spec in catalog.master_catalog("prod") if spec.language == "ruby")
RUBY = {"language": "ruby"}
TEMPLATE = Path(__file__).parent / "templates" / "ruby" / "RubyEcho"
DATA_FILE = "data://.my/RubyData/greeting.txt"
GREETING = "grüße from the data API"


def template_files(name: str) -> dict[str, str]:
    """The test algorithm's files, renamed to ``name`` as the testbench renames a template."""
    files = {}
    for path in sorted(TEMPLATE.rglob("*")):
        if path.is_file():
            rel = path.relative_to(TEMPLATE).as_posix().replace("RubyEcho", name)
            files[rel] = path.read_text().replace("RubyEcho", name)
    return files


def _call(cluster, ref: str, body, content_type: str = "application/json") -> dict:
    data = json.dumps(body) if content_type == "application/json" else body
    response = requests.post(f"{cluster.url}/v1/algo/{ref}", data=data, timeout=60,
                             headers={"Authorization": cluster.key, "Content-Type": content_type},
                             verify=cluster.ca_cert or True)
    assert response.status_code == 200, response.text
    return response.json()


def _put_data_file(cluster) -> None:
    client = cluster.client()
    client.dir("data://.my/RubyData").create()
    client.file(DATA_FILE).put(GREETING)


@pytest.fixture(scope="module")
def python_double(cluster, tmp_path_factory):
    return deploy(cluster, "PyDouble", {"src/PyDouble.py": "def apply(input):\n    return {'python': input * 2}\n",
                                        "requirements.txt": ""}, tmp_path_factory.mktemp("pydouble"))


@pytest.fixture(scope="module")
def echo(cluster, tmp_path_factory):
    return deploy(cluster, "RubyEcho", template_files("RubyEcho"), tmp_path_factory.mktemp("rubyecho"),
                  settings=RUBY)


@pytest.fixture(scope="module")
def broken(cluster, tmp_path_factory):
    """An algorithm for the failures, with its checkout: each test pushes its own commits."""
    home = tmp_path_factory.mktemp("broken")
    algo = cluster.client().algo(f"{cluster.user}/RubyBroken")
    algo.create(details={"label": "RubyBroken"}, settings={"algorithm_environment": RUBY_ENVIRONMENT})
    env = git_env(home, cluster.user, cluster.key)
    repo = home / "RubyBroken"
    clone(cluster.url, cluster.user, "RubyBroken", repo, env)
    return algo, repo, env


def _failed_build_log(algo, repo: Path, env: dict, files: dict[str, str], message: str,
                      remove: tuple[str, ...] = ()) -> str:
    for rel in remove:
        git(env, "rm", "-q", rel, cwd=repo)
    build = wait_for_build(algo, commit_and_push(repo, env, files, message))
    logs = algo.get_build_logs(build["build_id"])["logs"]
    assert build["status"] == "failed", logs
    return logs


def test_a_new_ruby_algorithm_starts_from_a_starter_that_builds_and_answers(cluster, tmp_path):
    algo = cluster.client().algo(f"{cluster.user}/Hello")
    algo.create(details={"label": "Hello"}, settings={"algorithm_environment": RUBY_ENVIRONMENT})
    env = git_env(tmp_path, cluster.user, cluster.key)
    repo = tmp_path / "Hello"
    clone(cluster.url, cluster.user, "Hello", repo, env)
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if ".git" not in p.parts and p.is_file())
    assert files == ["Gemfile", "src/Hello.rb", "src/Hello_test.rb"]
    # The starter's own test passes on the host's ruby (minitest is one of Ruby's gems).
    tested = subprocess.run(["ruby", "src/Hello_test.rb"], cwd=repo, capture_output=True, text=True, timeout=60,
                            check=False)
    assert tested.returncode == 0 and "1 runs, 1 assertions, 0 failures" in tested.stdout, tested.stdout

    build = wait_for_build(algo, commit_and_push(repo, env, {}, "build the starter"))
    logs = algo.get_build_logs(build["build_id"])["logs"]
    assert build["status"] == "succeeded", logs
    assert "(ruby, Ruby 3.1)" in logs and "ruby 3.1" in logs
    assert "Syntax OK" in logs and "the Gemfile asks for no gems" in logs
    assert logs.rstrip().endswith("Build succeeded.")
    manifest = json.loads((cluster.data_dir / "builds" / build["build_id"] / "manifest.json").read_text())
    assert (manifest["style"], manifest["language"]) == ("ruby", "ruby")
    assert manifest["module_file"].endswith("/src/src/Hello.rb")
    response = cluster.client().algo(f"{cluster.user}/Hello/{build['commit_sha']}").pipe("Jane")
    assert (response.result, response.metadata.content_type) == ("hello Jane", "text")


def test_text_json_and_binary_round_trips(cluster, echo):
    algo = cluster.client().algo(echo)
    text = algo.pipe("Matz")
    assert (text.result, text.metadata.content_type) == ("hello Matz", "text")
    assert algo.pipe("ünïcödé ✓").result == "hello ünïcödé ✓"
    value = {"op": "echo", "list": [1, 2.5, None, True], "ü": "ö", "nested": {"a": []}}
    as_json = algo.pipe(value)
    assert (as_json.result, as_json.metadata.content_type) == (value, "json")
    assert algo.pipe([3, 1, 2]).result == [3, 1, 2]
    assert algo.pipe(None).result is None  # JSON null in, JSON null out
    binary = algo.pipe(bytearray(b"\x00\x01\xfe\xff"))
    assert (binary.result, binary.metadata.content_type) == (b"\xff\xfe\x01\x00", "binary")
    assert algo.pipe({"op": "bytes"}).result == bytes(range(256))
    assert algo.pipe({"op": "csv", "text": "a,b\n1,2\n"}).result == [["a", "b"], ["1", "2"]]  # a Gemfile gem
    info = algo.pipe({"op": "info"}).result
    assert info["ruby"].startswith("3.1") and info["encoding"] == "UTF-8"
    assert algo.pipe({"op": "info"}).metadata.duration >= 0


def test_errors_carry_the_message_and_the_algorithms_stack_trace(cluster, echo):
    algo = cluster.client().algo(echo)
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "fail", "message": "plain failure"})
    assert (caught.value.error_type, caught.value.message) == ("AlgorithmError", "plain failure")
    trace = caught.value.stack_trace
    assert "src/RubyEcho.rb" in trace and "in `fail_deep': plain failure (ArgumentError)" in trace
    assert "in `apply'" in trace
    assert "runner.rb" not in trace  # the runner's frames are not the algorithm's
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "unsupported", "message": "not that"})
    assert (caught.value.error_type, caught.value.message) == ("UnsupportedError", "not that")
    bad = requests.post(f"{cluster.url}/v1/algo/{echo}", data=b"{not json", timeout=60,
                        headers={"Authorization": cluster.key, "Content-Type": "application/json"})
    assert bad.status_code == 200 and bad.json()["error"]["error_type"] == "InputError"
    assert algo.pipe("still fine").result == "hello still fine"


def test_stdout_of_the_call_for_the_owner(cluster, echo):
    printed = cluster.client().algo(echo).set_options(stdout=True).pipe({"op": "print", "text": "visible line"})
    assert printed.result == "printed"
    # print, $stdout, STDOUT and a child process's writes, in order; stderr goes to the worker log;
    # load()'s print belongs to no call.
    assert printed.metadata.stdout == "visible line\nthrough $stdout\nthrough STDOUT\nfrom a child process\n"
    assert cluster.client().algo(echo).pipe({"op": "print", "text": "x"}).metadata.stdout is None
    assert cluster.client().algo(echo).set_options(stdout=True).pipe("quiet").metadata.stdout == ""


def test_data_file_with_each_calls_key_and_a_client_made_in_load(cluster, echo):
    _put_data_file(cluster)
    algo = cluster.client().algo(echo)
    assert algo.pipe({"op": "remember_key"}).result == "remembered"
    for _call in range(2):
        assert algo.pipe({"op": "read", "uri": DATA_FILE}).result == GREETING
        # made in load() with the first call's key, which has been revoked since
        assert algo.pipe({"op": "read_with_loaded_client", "uri": DATA_FILE}).result == GREETING
    later = algo.pipe({"op": "first_key_now", "uri": DATA_FILE}).result
    assert later == {"same_key": False, "status": 401}


def test_nested_call_to_a_python_algorithm(cluster, echo, python_double):
    assert cluster.client().algo(echo).pipe({"op": "nested", "algo": python_double, "input": 21}).result == \
        {"python": 42}


def test_the_worker_is_warm_loads_once_and_is_replaced_when_killed(cluster, echo):
    algo = cluster.client().algo(echo)
    infos = [algo.pipe({"op": "info"}).result for _call in range(5)]
    assert all(info["loads"] == 1 for info in infos)
    pid = infos[-1]["pid"]
    same = [info["calls"] for info in infos if info["pid"] == pid]
    assert len(same) >= 2 and same == sorted(same)
    assert pid in live_worker_pids(cluster)
    os.kill(pid, signal.SIGKILL)
    assert process_gone(pid)
    after = algo.pipe({"op": "info"}).result
    assert after["pid"] != pid and after["loads"] == 1


def test_build_failures_say_why(cluster, broken):
    algo, repo, env = broken
    logs = _failed_build_log(algo, repo, env, {"src/RubyBroken.rb": "def apply(input)\n  input\n"}, "syntax error")
    assert "Checking the syntax of src/RubyBroken.rb (ruby -c)" in logs
    assert "syntax error, unexpected end-of-input" in logs  # ruby's own message
    assert "Build failed: src/RubyBroken.rb does not compile" in logs

    logs = _failed_build_log(algo, repo, env, {"src/Other.rb": "def apply(input)\n  input\nend\n"}, "no main file",
                             remove=("src/RubyBroken.rb",))
    assert "expected src/RubyBroken.rb defining apply(input)" in logs

    main = {"src/RubyBroken.rb": "def apply(input)\n  input\nend\n"}
    logs = _failed_build_log(algo, repo, env, dict(main, Gemfile='source "https://rubygems.org"\ngem "json"\n'
                                                   'gem "phony", "~> 2.15.41"\ngem "algorithmia"\n'), "gems")
    assert "json 2." in logs  # found on this machine
    assert "gem 'phony' (~> 2.15.41), Gemfile line 3: it is not installed on this machine" in logs
    assert "RubyGems, which this machine cannot reach" in logs and "apt-get install ruby-phony" in logs
    assert "gem 'algorithmia' (>= 0), Gemfile line 4" in logs and "net/http" in logs
    assert "Build failed: The Gemfile asks for gems this machine does not have: phony (~> 2.15.41), algorithmia. " \
           "They would come from RubyGems" in logs

    logs = _failed_build_log(algo, repo, env, {"Gemfile": 'source "https://rubygems.org"\n',
                                               "src/RubyBroken.rb": "require 'algorithmia'\n\ndef apply(input)\n"
                                                                    "  input\nend\n"}, "requires a missing gem")
    assert "cannot load such file -- algorithmia (LoadError)" in logs and "failed to load" in logs
    assert "call the API with net/http" in logs

    logs = _failed_build_log(algo, repo, env, {"src/RubyBroken.rb": "def answer(input)\n  input\nend\n"}, "no apply")
    assert "src/RubyBroken.rb does not define a method apply(input) at the top level" in logs


def test_a_load_failure_is_the_calls_error(cluster, broken):
    algo, repo, env = broken
    sha = commit_and_push(repo, env, {"Gemfile": 'source "https://rubygems.org"\n', "src/RubyBroken.rb": (
        "def load\n  puts 'looking for the model'\n  raise IOError, 'no model here'\nend\n\n"
        "def apply(input)\n  input\nend\n")}, "load fails")
    build = wait_for_build(algo, sha)
    assert build["status"] == "succeeded", algo.get_build_logs(build["build_id"])["logs"]  # load() is not built
    for _attempt in range(2):  # every new worker tries again
        answer = _call(cluster, f"{cluster.user}/RubyBroken/{sha}", "x")
        assert answer["error"]["message"] == "no model here"
        assert answer["error"]["error_type"] == "AlgorithmError"
        assert "in `load': no model here (IOError)" in answer["error"]["stacktrace"]


def test_tls_cluster_worker_trusts_its_ca_and_ends_with_the_server(tmp_path, no_machine_ca_bundle):
    proc = LocalClusterProcess(tmp_path / "tls", tls=True).start()
    try:
        tls = RunningCluster(proc)
        ref = deploy(tls, "RubyEcho", template_files("RubyEcho"), tmp_path, settings=RUBY)
        _put_data_file(tls)
        algo = tls.client().algo(ref)
        assert algo.pipe({"op": "read", "uri": DATA_FILE}).result == GREETING
        assert algo.pipe({"op": "read_with_loaded_client", "uri": DATA_FILE}).result == GREETING
        pid = algo.pipe({"op": "info"}).result["pid"]
        proc.kill()  # SIGKILL: the server cannot stop its workers; they must notice alone
        assert process_gone(pid)
    finally:
        proc.stop()
