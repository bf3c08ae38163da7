"""Right after a git push: the algorithm names the pushed commit, and a call of it says it is building.

The original tool pushes, reads ``version_info.git_hash`` from ``GET /v1/algorithms/<user>/<algo>``
("the Git SHA of the algorithm's most recent version") at once, then calls
``/v1/algo/<user>/<algo>/<hash>``, calling again while the answer is an error naming that version
hash. These tests do exactly that, with the official client and with plain HTTP. The algorithm
sleeps at import, so its build (whose load check imports it) is still running when the first call
arrives; a call may also find the build done, so the tests accept either answer at first and ask
only that the building error names the hash, that the calls end in the result, and that nothing
on the way is a 500 or a 404.
"""

from __future__ import annotations

import time

import pytest
import requests
from Algorithmia.errors import AlgorithmException

from tests.localcluster.git_support import clone, commit_and_push, git_env, wait_for_build

SETTINGS = {"language": "python3-1", "environment": "cpu", "source_visibility": "closed", "license": "apl",
            "network_access": "full", "pipeline_enabled": True}
# Bounds the retry loops only (a build here takes seconds); nothing asserts how long anything took.
GIVE_UP_AFTER = 600


def slow_source(name: str, greeting: str) -> dict[str, str]:
    # The build's load check imports the module: the sleep keeps the build in progress meanwhile.
    return {f"src/{name}.py": f"import time\ntime.sleep(3)\n\n\ndef apply(input):\n    return \"{greeting} {{}}\".format(input)\n"}


@pytest.fixture(scope="module")
def repo(cluster, tmp_path_factory):
    """alice's algorithm Pushed, cloned, with one good build (so a later push has a version before it)."""
    algo = cluster.client().algo(f"{cluster.user}/Pushed")
    algo.create(details={"label": "Pushed"}, settings=SETTINGS)
    home = tmp_path_factory.mktemp("push-then-call")
    env = git_env(home, cluster.user, cluster.key)
    checkout = home / "Pushed"
    clone(cluster.url, cluster.user, "Pushed", checkout, env)
    first = commit_and_push(checkout, env, slow_source("Pushed", "first"), "first")
    assert wait_for_build(algo, first)["status"] == "succeeded"
    return checkout, env, algo


def _algorithm(cluster) -> dict:
    response = requests.get(f"{cluster.url}/v1/algorithms/{cluster.user}/Pushed", headers={"Authorization": cluster.key},
                            timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _requests_made_since(cluster, start: int) -> list[dict]:
    return cluster.request_log()[start:]


def test_the_algorithm_names_the_pushed_commit_at_once_while_it_builds(cluster, repo):
    checkout, env, algo = repo
    sha = commit_and_push(checkout, env, slow_source("Pushed", "second"), "second")
    info = _algorithm(cluster)
    assert info["version_info"]["git_hash"] == sha
    assert "semantic_version" not in info["version_info"]  # this commit is not published
    assert info["build"]["commit_sha"] == sha and info["build"]["status"] == "in-progress"
    assert "finished_at" not in info["build"]
    assert info["compilation"]["successful"] is False
    assert "in progress" in info["compilation"]["output"] and sha in info["compilation"]["output"]
    assert info["self_link"].endswith(f"/versions/{sha}")
    version = algo.info(sha)
    assert version["build"]["status"] == "in-progress" and version["version_info"]["git_hash"] == sha
    assert wait_for_build(algo, sha)["status"] == "succeeded"
    done = _algorithm(cluster)
    assert done["version_info"]["git_hash"] == sha and done["build"]["status"] == "succeeded"
    assert done["compilation"]["successful"] is True and "Build succeeded." in done["compilation"]["output"]


def test_the_original_tools_sequence_with_the_official_client(cluster, repo):
    checkout, env, algo = repo
    client = cluster.client()
    logged_before = len(cluster.request_log())
    commit_and_push(checkout, env, slow_source("Pushed", "third"), "third")
    # As the tool does: the hash from the algorithm right after the push, then calls of that hash.
    git_hash = client.getJsonHelper(f"/v1/algorithms/{cluster.user}/Pushed")["version_info"]["git_hash"]
    building_errors = 0
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        try:
            answer = client.algo(f"{cluster.user}/Pushed/{git_hash}").pipe("tool")
            break
        except AlgorithmException as exc:
            # The tool goes on while the error names the version hash; anything else would end it.
            assert git_hash in exc.message and "still building" in exc.message, exc.message
            building_errors += 1
        assert time.monotonic() < deadline, f"{git_hash} was still building after {GIVE_UP_AFTER} s"
        time.sleep(0.5)
    assert answer.result == "third tool"
    assert building_errors >= 1  # the build sleeps at import: the first call came while it ran
    calls = [e for e in _requests_made_since(cluster, logged_before) if e["path"].startswith("/v1/algo")]
    assert calls and {e["status"] for e in calls} == {200}, calls
    assert wait_for_build(algo, git_hash)["status"] == "succeeded"


def test_the_original_tools_sequence_with_plain_http(cluster, repo):
    checkout, env, algo = repo
    headers = {"Authorization": f"Simple {cluster.key}"}
    sha = commit_and_push(checkout, env, slow_source("Pushed", "fourth"), "fourth")
    git_hash = _algorithm(cluster)["version_info"]["git_hash"]
    assert git_hash == sha
    url = f"{cluster.url}/v1/algo/{cluster.user}/Pushed/{git_hash}"
    # While it builds, every mode names the hash: the envelope (200 with error, as an algorithm's own
    # failure), raw (400 with the error's text), void (refused before it runs, as the envelope).
    raw = requests.post(url, params={"output": "raw"}, data=b"raw", headers=dict(headers, **{"Content-Type": "text/plain"}),
                        timeout=60)
    if raw.status_code == 400:
        assert git_hash in raw.json()["error"]["message"] and raw.json()["error"]["code"] == 2012
    else:
        assert (raw.status_code, raw.text) == (200, "fourth raw")  # the build was already done
    statuses = []
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        response = requests.post(url, json="http", headers=headers, timeout=300)
        statuses.append(response.status_code)
        body = response.json()
        if "result" in body:
            break
        assert git_hash in body["error"]["message"] and "still building" in body["error"]["message"], body
        assert body["error"]["code"] == 2012
        assert time.monotonic() < deadline, f"{git_hash} was still building after {GIVE_UP_AFTER} s"
        time.sleep(0.5)
    assert body["result"] == "fourth http"
    assert set(statuses) == {200}, statuses  # never a 404 (the algorithm is there), never a 500
    assert wait_for_build(algo, sha)["status"] == "succeeded"


def test_a_prefix_of_a_building_hash_is_named_with_its_commit(cluster, repo):
    checkout, env, algo = repo
    sha = commit_and_push(checkout, env, slow_source("Pushed", "fifth"), "fifth")
    response = requests.post(f"{cluster.url}/v1/algo/{cluster.user}/Pushed/{sha[:10]}", json="x",
                             headers={"Authorization": cluster.key}, timeout=300)
    body = response.json()
    if "error" in body:  # still building (the usual case): the prefix asked for and the full commit
        assert response.status_code == 200
        assert f"{sha[:10]} (commit {sha})" in body["error"]["message"]
    else:
        assert body["result"] == "fifth x"
    assert wait_for_build(algo, sha)["status"] == "succeeded"


def test_a_failed_build_leaves_the_last_good_version_and_its_call_is_refused(cluster, repo):
    checkout, env, algo = repo
    good = _algorithm(cluster)["version_info"]["git_hash"]
    sha = commit_and_push(checkout, env, {"src/Pushed.py": "def apply(input)\n    return input\n"}, "broken")
    assert wait_for_build(algo, sha)["status"] == "failed"
    info = _algorithm(cluster)
    assert info["version_info"]["git_hash"] == good and info["compilation"]["successful"] is False
    # A failed build is not "building": the call is refused (a tool must stop calling it).
    response = requests.post(f"{cluster.url}/v1/algo/{cluster.user}/Pushed/{sha}", json="x",
                             headers={"Authorization": cluster.key}, timeout=60)
    assert response.status_code == 404 and "failed" in response.json()["error"]["message"]
    commit_and_push(checkout, env, slow_source("Pushed", "fixed"), "fixed")
