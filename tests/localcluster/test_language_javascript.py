"""JavaScript on localcluster: package.json + src/<Name>.js built with the host's node and npm, served by
``localcluster/execution/runners/javascript/runner.js`` (``localcluster.builds.languages.javascript``).

One cluster and one build per algorithm for the module: ``JsEcho`` (the official npm client made at
require time, load(), every kind of input, output and error), the starter a real cluster gives, a load
that fails, a Python algorithm to call, and ``JsBroken`` whose commits fail to build. One more cluster,
with TLS, for the call back into the cluster over HTTPS and the worker's end with its server.
"""

from __future__ import annotations

import psutil
import pytest
import requests
from Algorithmia.errors import AlgorithmException

from localcluster.builds.languages import javascript
from localcluster.environments import catalog
from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy, live_worker_pids, process_gone
from tests.localcluster.git_support import clone, commit_and_push, git_env, wait_for_build

NODE_ENVIRONMENT = next(spec.environment_id for spec in catalog.CATALOG
                        if spec.language == "javascript" and spec.master == catalog.DEFAULT_MASTER)
JS_SETTINGS = {"language": "javascript", "algorithm_environment": NODE_ENVIRONMENT}
PACKAGE_JSON = '{\n  "name": "%s",\n  "version": "0.1.0",\n  "dependencies": {"algorithmia": "0.3.x"}\n}\n'

JS_ECHO = r'''
var Algorithmia = require("algorithmia");
var childProcess = require("child_process");

// Made at require time, as the docs do: each call must still use that call's key.
var client = Algorithmia.client();
var loads = 0;
var calls = 0;

exports.load = function () {
  loads += 1;
  return { loadedBy: process.pid };
};

exports.apply = function (input, cb, state) {
  calls += 1;
  if (Buffer.isBuffer(input)) return cb(null, Buffer.from(input).reverse());
  if (typeof input === "string") return cb(null, "hello " + input);
  if (input === null || typeof input !== "object" || Array.isArray(input)) return cb(null, input);
  switch (input.op) {
    case "info":
      return cb(null, { pid: process.pid, loads: loads, calls: calls, loadedBy: state.loadedBy });
    case "print":
      console.log(input.text);
      childProcess.execSync("echo from a child process", { stdio: "inherit" });
      return cb(null, "printed");
    case "fail":
      return cb(new Error(input.message));
    case "fail_text":
      return cb(input.message);
    case "throw":
      throw new TypeError(input.message);
    case "typed":
      var error = new Error(input.message);
      error.error_type = input.error_type;
      return cb(error);
    case "bytes":
      var all = Buffer.alloc(256);
      for (var i = 0; i < 256; i++) all[i] = i;
      return cb(null, all);
    case "die":
      return process.kill(process.pid, "SIGKILL");
    case "promise":
      return new Promise(function (resolve) { setTimeout(function () { resolve({ later: true }); }, 5); });
    case "read":
      return client.file(input.path).get(function (err, data) {
        cb(err, err ? null : { text: data.toString(), key: client.apiKey.replace("Simple ", "") });
      });
    case "nested":
      return client.algo(input.algo).pipe(input.input).then(function (response) {
        if (response.error) return cb(response.error.message);
        cb(null, { called: input.algo, result: response.get() });
      });
  }
  cb(null, input);
};
'''

JS_LOAD_FAILS = '''
console.log("loading the model");
exports.load = async function () {
  throw new Error("the model file is missing");
};
exports.apply = async function (input) {
  return input;
};
'''

# An async apply and a client made in load(): over TLS, both must reach the cluster.
JS_TLS_READER = '''
const Algorithmia = require("algorithmia");
let client;

exports.load = () => { client = Algorithmia.client(); };

exports.apply = async (path) => {
  const text = await new Promise((resolve, reject) =>
    client.file(path).get((err, data) => (err ? reject(new Error(err.message)) : resolve(data.toString()))));
  return { text, pid: process.pid };
};
'''

PY_GREET = 'def apply(input):\n    return "python says hello to {}".format(input)\n'


def js_files(name: str, source: str, package_json: str | None = None) -> dict[str, str]:
    return {"package.json": package_json if package_json is not None else PACKAGE_JSON % name.lower(),
            f"src/{name}.js": source}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("javascript")


@pytest.fixture(scope="module")
def echo(cluster, workdir):
    return deploy(cluster, "JsEcho", js_files("JsEcho", JS_ECHO), workdir, settings=JS_SETTINGS)


@pytest.fixture(scope="module")
def python_greeter(cluster, workdir):
    return deploy(cluster, "PyGreet", {"src/PyGreet.py": PY_GREET, "requirements.txt": ""}, workdir)


@pytest.fixture(scope="module")
def broken(cluster, workdir):
    """An algorithm whose commits fail to build: (algo, checkout, git env)."""
    algo = cluster.client().algo(f"{cluster.user}/JsBroken")
    algo.create(details={"label": "JsBroken"}, settings=dict(JS_SETTINGS, source_visibility="closed", license="apl",
                                                             network_access="full", pipeline_enabled=True))
    home = workdir / "home-JsBroken"
    home.mkdir()
    env = git_env(home, cluster.user, cluster.key)
    checkout = workdir / "checkout-JsBroken"
    clone(cluster.url, cluster.user, "JsBroken", checkout, env)
    return algo, checkout, env


def _build(algo, checkout, env, files: dict[str, str], message: str) -> tuple[dict, str]:
    for stale in checkout.rglob("*.js"):
        stale.unlink()
    sha = commit_and_push(checkout, env, files, message)
    build = wait_for_build(algo, sha)
    return build, algo.get_build_logs(build["build_id"])["logs"]


@pytest.mark.parametrize(("spec", "why"), [
    ("0.3.x", None), ("^1.2.3", None), ("latest", None), ("*", None), (">=1 <3 || 4.x", None),
    ("npm:left-pad@^1.3.0", None), ("https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", None),
    ("file:vendor/left-pad", None), ("./vendor/left-pad", None),
    ("github:stevemao/left-pad", "a git repository"), ("stevemao/left-pad#v1.3.0", "a git repository"),
    ("git+https://github.com/stevemao/left-pad.git", "a git repository"),
    ("https://example.com/left-pad-1.3.0.tgz", "a tarball on example.com, which is not the npm registry"),
    ("file:../elsewhere", "a path outside the algorithm's repository"),
    ("/usr/lib/node_modules/x", "a path outside the algorithm's repository"),
])
def test_which_dependency_specs_come_from_the_npm_registry(tmp_path, spec, why):
    hosts = javascript._RegistryHosts(None, configured="registry.npmjs.org")  # as `npm config get` answers here
    assert javascript._foreign_source(spec, tmp_path, hosts) == why


def test_the_starter_builds_and_answers(cluster, workdir):
    ref = deploy(cluster, "JsHello", javascript.starter("JsHello"), workdir, settings={"language": "javascript"})
    assert cluster.client().algo(ref).pipe("World").result == "Hello World"
    algo = cluster.client().algo(f"{cluster.user}/JsHello")
    logs = algo.get_build_logs(wait_for_build(algo, ref.split("/")[2])["build_id"])["logs"]
    assert "(javascript, Node.js 20)" in logs and "Using the host's Node.js" in logs
    assert "Installing package.json's dependencies with npm" in logs and "added 1 package" in logs
    assert "Checking that the algorithm loads (execution runner, node style)" in logs
    assert logs.rstrip().endswith("Build succeeded.")


def test_text_json_binary_round_trips(cluster, echo):
    algo = cluster.client().algo(echo)
    text = algo.pipe("Neo")
    assert (text.result, text.metadata.content_type) == ("hello Neo", "text")
    as_json = algo.pipe({"op": "echo", "list": [1, 2.5, None], "ü": "ö"})
    assert (as_json.result, as_json.metadata.content_type) == ({"op": "echo", "list": [1, 2.5, None], "ü": "ö"}, "json")
    binary = algo.pipe(bytearray(b"\x00\x01\xfe\xff"))
    assert (binary.result, binary.metadata.content_type) == (b"\xff\xfe\x01\x00", "binary")
    assert algo.pipe({"op": "bytes"}).result == bytes(range(256))
    assert algo.pipe({"op": "promise"}).result == {"later": True}
    assert algo.pipe([3, 1, 2]).result == [3, 1, 2]
    assert algo.pipe(None).result is None


def test_errors_carry_the_message_and_the_algorithms_stack(cluster, echo):
    algo = cluster.client().algo(echo)
    for op, expected_type in (("fail", "Error"), ("throw", "TypeError"), ("fail_text", None)):
        with pytest.raises(AlgorithmException) as caught:
            algo.pipe({"op": op, "message": f"{op} went wrong"})
        error = caught.value
        assert (error.error_type, error.message) == ("AlgorithmError", f"{op} went wrong")
        assert "src/JsEcho.js:" in error.stack_trace  # where it was raised or reported
        assert "runner.js" not in error.stack_trace and "node:internal" not in error.stack_trace
        if expected_type:
            assert error.stack_trace.startswith(f"{expected_type}: {op} went wrong")
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "typed", "message": "no such entity", "error_type": "EntityNotFoundError"})
    assert (caught.value.error_type, caught.value.message) == ("EntityNotFoundError", "no such entity")
    response = requests.post(f"{cluster.url}/v1/algo/{echo}", data=b"{not json", timeout=60,
                             headers={"Authorization": cluster.key, "Content-Type": "application/json"})
    assert response.json()["error"]["error_type"] == "InputError"


def test_stdout_is_returned_to_the_owner_when_asked(cluster, echo):
    response = cluster.client().algo(echo).set_options(stdout=True).pipe({"op": "print", "text": "visible line"})
    assert response.result == "printed"
    assert response.metadata.stdout == "visible line\nfrom a child process\n"
    assert cluster.client().algo(echo).pipe({"op": "print", "text": "x"}).metadata.stdout is None


def test_a_failing_load_is_reported_with_what_it_printed(cluster, workdir):
    ref = deploy(cluster, "JsLoadFails", js_files("JsLoadFails", JS_LOAD_FAILS, "{}\n"), workdir,
                 settings=JS_SETTINGS)
    with pytest.raises(AlgorithmException) as caught:
        cluster.client().algo(ref).set_options(stdout=True).pipe("x")
    assert caught.value.message == "the model file is missing"
    assert "src/JsLoadFails.js:" in caught.value.stack_trace
    response = requests.post(f"{cluster.url}/v1/algo/{ref}", params={"stdout": "true"}, json="x", timeout=60,
                             headers={"Authorization": cluster.key})
    assert response.json()["metadata"]["stdout"] == "loading the model\n"


@pytest.mark.parametrize("case", ["missing main file", "syntax error", "git dependency"])
def test_a_build_that_cannot_succeed_says_why(broken, case):
    algo, checkout, env = broken
    if case == "missing main file":
        files = {"package.json": "{}\n", "src/Other.js": "exports.apply = (input) => input;\n"}
        expected = ["No algorithm entry point: expected src/JsBroken.js exporting apply(input, cb)"]
    elif case == "syntax error":
        files = js_files("JsBroken", 'exports.apply = function (input, cb) {\n  cb(null, "x" + (input;\n};\n', "{}\n")
        expected = ["src/JsBroken.js:2", "SyntaxError: Unexpected token ';'",
                    "The algorithm failed to load (exit code 1)"]
    else:
        package = '{"dependencies": {"algorithmia": "0.3.x", "left-pad": "github:stevemao/left-pad"}}\n'
        files = js_files("JsBroken", "exports.apply = (input) => input;\n", package)
        expected = ["package.json: left-pad 'github:stevemao/left-pad' is a git repository",
                    "this localcluster cannot install these dependencies: it reaches only the npm registry"]
    build, logs = _build(algo, checkout, env, files, case)
    assert build["status"] == "failed", logs
    for text in expected:
        assert text in logs
    assert "Build failed" in logs


def test_a_rebuild_takes_its_dependencies_from_the_machine_wide_cache(cluster, broken, echo):
    algo, checkout, env = broken  # echo's build has put algorithmia 0.3.x in npm's cache
    build, logs = _build(algo, checkout, env, js_files("JsBroken", "exports.apply = (input) => input;\n"), "fixed")
    assert build["status"] == "succeeded", logs
    assert javascript.CACHE_HIT in logs and javascript.CACHE_MISS not in logs
    assert cluster.client().algo(f"{cluster.user}/JsBroken/{build['commit_sha']}").pipe({"n": 1}).result == {"n": 1}


def test_a_client_made_at_require_time_reads_data_with_each_calls_key(cluster, echo):
    client = cluster.client()
    client.dir("data://.my/JsData").create()
    client.file("data://.my/JsData/greeting.txt").put("hello from a data file")
    algo = client.algo(echo)
    first = algo.pipe({"op": "read", "path": "data://.my/JsData/greeting.txt"}).result
    revoked = requests.get(f"{cluster.url}/v1/data/.my/JsData", headers={"Authorization": f"Simple {first['key']}"},
                           timeout=30)
    assert revoked.status_code == 401  # the first call is over: its key no longer works
    second = algo.pipe({"op": "read", "path": "data://.my/JsData/greeting.txt"}).result
    assert first["text"] == second["text"] == "hello from a data file"
    assert second["key"] != first["key"]


def test_a_nested_call_to_a_python_algorithm(cluster, echo, python_greeter):
    result = cluster.client().algo(echo).pipe({"op": "nested", "algo": ".my/PyGreet/latestPrivate",
                                               "input": "JavaScript"}).result
    assert result == {"called": ".my/PyGreet/latestPrivate", "result": "python says hello to JavaScript"}


def test_the_warm_worker_is_reused_and_replaced_once_killed(cluster, echo):
    algo = cluster.client().algo(echo)
    infos = [algo.pipe({"op": "info"}).result for _call in range(3)]
    pid = infos[0]["pid"]
    assert [info["pid"] for info in infos] == [pid] * 3
    assert all(info["loads"] == 1 and info["loadedBy"] == pid for info in infos)
    assert infos[0]["calls"] < infos[1]["calls"] < infos[2]["calls"]  # one process kept its state
    with pytest.raises(AlgorithmException) as caught:
        algo.pipe({"op": "die"})
    assert "worker process was killed by signal SIGKILL while running the call" in caught.value.message
    assert process_gone(pid)
    after = algo.pipe({"op": "info"}).result
    assert after["pid"] != pid and after["loads"] == 1
    assert pid not in live_worker_pids(cluster)


def test_over_tls_the_worker_calls_back_and_ends_with_its_server(tmp_path, no_machine_ca_bundle):
    proc = LocalClusterProcess(tmp_path / "tls", tls=True).start()
    try:
        tls = RunningCluster(proc)
        ref = deploy(tls, "JsTls", js_files("JsTls", JS_TLS_READER), tmp_path, settings=JS_SETTINGS)
        client = tls.client()
        client.dir("data://.my/TlsData").create()
        client.file("data://.my/TlsData/note.txt").put("read over https")
        results = [client.algo(ref).pipe("data://.my/TlsData/note.txt").result for _call in range(2)]
        assert [result["text"] for result in results] == ["read over https"] * 2
        pid = results[0]["pid"]
        assert results[1]["pid"] == pid and psutil.pid_exists(pid)
        proc.kill()  # the worker has its own process group: only the server is hit
        assert process_gone(pid)
    finally:
        proc.stop()
