"""Real ``git`` against the cluster, and the builds a push starts.

One algorithm (``Greeter``) is shared by the module: its template is cloned once and each test
pushes its own commits, so the module pays for one cold build at most. Builds install
``algorithmia`` from PyPI; every build after the first must be served by the build cache.
"""

from __future__ import annotations

import json

import pytest
import requests

from localcluster.builds.installer import CACHE_HIT, CACHE_MISS
from tests.localcluster.git_support import (
    askpass_env,
    classic_source,
    clone,
    commit_and_push,
    git,
    git_env,
    wait_for_build,
)

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}


@pytest.fixture(scope="module")
def greeter(cluster):
    algo = cluster.client().algo(f"{cluster.user}/Greeter")
    algo.create(details={"label": "Greeter"}, settings=SETTINGS)
    return algo


@pytest.fixture(scope="module")
def checkout(cluster, greeter, tmp_path_factory):
    home = tmp_path_factory.mktemp("git-home")
    env = git_env(home, cluster.user, cluster.key)
    repo = home / "Greeter"
    clone(cluster.url, cluster.user, "Greeter", repo, env)
    return repo, env


@pytest.fixture(scope="module")
def good_build(greeter, checkout):
    repo, env = checkout
    sha = commit_and_push(repo, env, classic_source("Greeter", "hello"), "greet")
    build = wait_for_build(greeter, sha)
    assert build["status"] == "succeeded", greeter.get_build_logs(build["build_id"])["logs"]
    return build


def _api(cluster, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
    return requests.request(method, cluster.url + path, headers={"Authorization": key or cluster.key},
                            timeout=60, **kwargs)


def test_new_repository_holds_the_python_template(checkout):
    repo, env = checkout
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if ".git" not in p.parts and p.is_file())
    assert files == ["requirements.txt", "src/Greeter.py", "src/Greeter_test.py", "src/__init__.py"]
    assert "def apply(input)" in (repo / "src" / "Greeter.py").read_text()
    assert "from . import Greeter" in (repo / "src" / "Greeter_test.py").read_text()
    assert "algorithmia" in (repo / "requirements.txt").read_text()
    assert git(env, "rev-parse", "--abbrev-ref", "HEAD", cwd=repo).stdout.strip() == "master"


def test_push_builds_the_new_commit_with_full_logs(cluster, greeter, good_build):
    assert good_build["resource_type"] == "algorithm_build"
    assert good_build["started_at"].endswith("Z") and good_build["finished_at"].endswith("Z")
    assert greeter.get_build(good_build["build_id"]) == good_build
    logs = greeter.get_build_logs(good_build["build_id"])["logs"]
    assert f"Building {cluster.user}/Greeter at commit {good_build['commit_sha']}" in logs
    assert "algorithmia==" in logs  # the installer's output is in the log
    assert logs.rstrip().endswith("Build succeeded.")
    info = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Greeter").json()
    assert info["compilation"]["successful"] is True
    assert info["version_info"]["git_hash"] == good_build["commit_sha"]
    version = greeter.info(good_build["commit_sha"])
    assert version["compilation"]["output"] == logs
    assert version["build"]["build_id"] == good_build["build_id"]


def test_a_build_of_already_cached_requirements_downloads_nothing(cluster, greeter, checkout, good_build):
    repo, env = checkout
    sha = commit_and_push(repo, env, classic_source("Greeter", "hello"), "same requirements, new commit")
    build = wait_for_build(greeter, sha)
    assert build["status"] == "succeeded"
    logs = greeter.get_build_logs(build["build_id"])["logs"]
    assert CACHE_HIT in logs
    assert CACHE_MISS not in logs and "Downloading" not in logs


def test_built_commit_runs(cluster, good_build):
    client = cluster.client()
    sha = good_build["commit_sha"]
    assert client.algo(f"{cluster.user}/Greeter/{sha}").pipe("git").result == "hello git"


def test_failed_build_keeps_the_last_good_build_current(cluster, greeter, checkout, good_build):
    repo, env = checkout
    last_good = wait_for_build(greeter, git(env, "rev-parse", "HEAD", cwd=repo).stdout.strip())
    sha = commit_and_push(repo, env, {"requirements.txt": "algorithmia\nno-such-package-localcluster-test==9.9.9\n"},
                          "a requirement that does not exist")
    build = wait_for_build(greeter, sha)
    assert build["status"] == "failed"
    logs = greeter.get_build_logs(build["build_id"])["logs"]
    assert "no-such-package-localcluster-test" in logs
    assert "Build failed: Installing requirements.txt failed" in logs
    info = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Greeter").json()
    assert info["compilation"]["successful"] is False  # the latest build
    assert info["version_info"]["git_hash"] == last_good["commit_sha"]  # still the current version
    assert cluster.client().algo(f"{cluster.user}/Greeter/latestPrivate").pipe("x").result == "hello x"
    assert not any(p.name.startswith(".tmp-") for p in (cluster.data_dir / "builds").iterdir())
    # Fix it again for the tests that follow.
    fixed = commit_and_push(repo, env, {"requirements.txt": "algorithmia>=1.0.0,<3.0\n"}, "fix requirements")
    assert wait_for_build(greeter, fixed)["status"] == "succeeded"


def test_syntax_error_fails_the_load_check(cluster, greeter, checkout, good_build):
    repo, env = checkout
    sha = commit_and_push(repo, env, {"src/Greeter.py": "def apply(input)\n    return input\n"}, "broken")
    build = wait_for_build(greeter, sha)
    assert build["status"] == "failed"
    logs = greeter.get_build_logs(build["build_id"])["logs"]
    assert "SyntaxError" in logs and "failed to load" in logs
    commit_and_push(repo, env, classic_source("Greeter", "hello"), "unbroken")


def test_compile_of_a_broken_master_is_an_error_with_the_log(cluster, greeter, checkout, good_build):
    repo, env = checkout
    commit_and_push(repo, env, {"src/Greeter.py": "def apply(input)\n    return input\n"}, "broken again")
    response = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}/Greeter/compile", json={})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "Compilation of alice/Greeter" in message and "SyntaxError" in message
    sha = commit_and_push(repo, env, classic_source("Greeter", "hello"), "unbroken again")
    assert wait_for_build(greeter, sha)["status"] == "succeeded"


def test_logs_are_404_until_the_build_finishes(cluster, greeter, checkout, good_build):
    repo, env = checkout
    sha = commit_and_push(repo, env, {"src/Greeter.py": "import time\ntime.sleep(3)\n\ndef apply(input):\n"
                                                        "    return 'slow {}'.format(input)\n"}, "slow import")
    build = [b for b in greeter.get_builds()["results"] if b["commit_sha"] == sha][0]
    assert build["status"] == "in-progress" and "finished_at" not in build
    response = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Greeter/builds/{build['build_id']}/logs")
    assert response.status_code == 404
    assert "not available until it finishes" in response.json()["error"]["message"]
    assert wait_for_build(greeter, sha)["status"] == "succeeded"
    assert "Build succeeded." in greeter.get_build_logs(build["build_id"])["logs"]


def test_compile_with_the_official_client_builds_master(cluster, greeter, checkout, good_build):
    repo, env = checkout
    head = git(env, "rev-parse", "HEAD", cwd=repo).stdout.strip()
    before = len(greeter.get_builds()["results"])
    compiled = greeter.compile()
    assert compiled["compilation"]["successful"] is True
    assert compiled["version_info"]["git_hash"] == head
    assert "Build succeeded." in compiled["compilation"]["output"]
    assert len(greeter.get_builds()["results"]) == before + 1


def test_publish_minor_major_revision(cluster, greeter, checkout, good_build):
    repo, env = checkout
    first = greeter.publish(settings={"algorithm_callability": "private"},
                            version_info={"version_type": "minor", "release_notes": "first", "sample_input": "x"},
                            details={"label": "Greeter v1"})
    assert first["version_info"]["semantic_version"] == "0.1.0"
    assert first["version_info"]["release_notes"] == "first"
    assert first["build"]["version_info"] == {"semantic_version": "0.1.0"}
    assert first["details"]["label"] == "Greeter v1"

    # The same commit again is refused, as on a real cluster.
    again = _api(cluster, "POST", f"/v1/algorithms/{cluster.user}/Greeter/versions",
                 json={"version_info": {"version_type": "minor"}})
    assert again.status_code == 400
    error = again.json()["error"]
    assert error["code"] == 1007 and "Version already published" in error["message"]

    published = {"0.1.0": first["version_info"]["git_hash"]}
    for greeting, version_type, expected in (("hi", "major", "1.0.0"), ("hey", "revision", "1.0.1"),
                                             ("yo", "minor", "1.1.0")):
        sha = commit_and_push(repo, env, classic_source("Greeter", greeting), greeting)
        assert wait_for_build(greeter, sha)["status"] == "succeeded"
        version = greeter.publish(settings={"algorithm_callability": "public"},
                                  version_info={"version_type": version_type})
        assert version["version_info"]["semantic_version"] == expected
        assert version["version_info"]["git_hash"] == sha
        published[expected] = sha

    listed = greeter.versions(published=True)["results"]
    order = ("1.1.0", "1.0.1", "1.0.0", "0.1.0")
    assert [v["version_info"]["semantic_version"] for v in listed] == list(order)
    assert [v["version_info"]["git_hash"] for v in listed] == [published[v] for v in order]
    assert all(v["compilation"]["successful"] for v in listed)
    # The official client drops published=False (it tests truthiness), so this one goes by hand.
    unpublished = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Greeter/versions",
                       params={"published": "false"}).json()["results"]
    assert unpublished and all("semantic_version" not in v["version_info"] for v in unpublished)
    public = greeter.versions(published=True, callable=True)["results"]
    assert [v["version_info"]["semantic_version"] for v in public] == ["1.1.0", "1.0.1", "1.0.0"]
    assert cluster.client().algo(f"{cluster.user}/Greeter").pipe("you").result == "yo you"
    assert cluster.client().algo(f"{cluster.user}/Greeter/1.0.x").pipe("you").result == "hey you"

    # Paging: one at a time, following the marker.
    seen, marker = [], None
    while True:
        page = greeter.versions(limit=1, marker=marker, published=True)
        seen += [v["version_info"]["semantic_version"] for v in page["results"]]
        marker = page["marker"]
        if marker is None:
            assert page["next_link"] is None
            break
        assert "marker=" in page["next_link"]
    assert seen == ["1.1.0", "1.0.1", "1.0.0", "0.1.0"]

    info = _api(cluster, "GET", f"/v1/algorithms/{cluster.user}/Greeter").json()
    assert info["version_info"]["semantic_version"] == "1.1.0"
    assert info["settings"]["algorithm_callability"] == "public"
    builds = greeter.get_builds()["results"]
    assert any(b.get("version_info") == {"semantic_version": "1.0.0"} for b in builds)


def test_builds_are_paged_newest_first(greeter, good_build):
    everything = greeter.get_builds(limit=50)["results"]
    first = greeter.get_builds(limit=2)
    assert [b["build_id"] for b in first["results"]] == [b["build_id"] for b in everything[:2]]
    second = greeter.get_builds(limit=2, marker=first["marker"])
    assert [b["build_id"] for b in second["results"]] == [b["build_id"] for b in everything[2:4]]


def test_adk_algorithm_builds(cluster, tmp_path):
    algo = cluster.client().algo(f"{cluster.user}/AdkGreeter")
    algo.create(details={"label": "ADK"}, settings=SETTINGS)
    env = git_env(tmp_path, cluster.user, cluster.key)
    repo = tmp_path / "AdkGreeter"
    clone(cluster.url, cluster.user, "AdkGreeter", repo, env)
    git(env, "rm", "-q", "src/AdkGreeter.py", "src/AdkGreeter_test.py", cwd=repo)
    sha = commit_and_push(repo, env, {
        "src/Algorithm.py": ("from Algorithmia import ADK\n\n\ndef load():\n    return {'greeting': 'adk'}\n\n\n"
                             "def apply(input, globals):\n    return '{} {}'.format(globals['greeting'], input)\n\n\n"
                             "algorithm = ADK(apply, load)\nalgorithm.init('local payload')\n"),
    }, "ADK layout")
    build = wait_for_build(algo, sha)
    assert build["status"] == "succeeded", algo.get_build_logs(build["build_id"])["logs"]
    manifest = json.loads((cluster.data_dir / "builds" / build["build_id"] / "manifest.json").read_text())
    assert manifest["style"] == "adk" and manifest["module_file"].endswith("src/Algorithm.py")
    assert manifest["git_hash"] == sha


def test_another_user_can_neither_clone_nor_push(cluster, checkout, good_build, tmp_path):
    bob_key = cluster.new_user("bob_git")
    bob_env = git_env(tmp_path, "bob_git", bob_key)
    denied = clone(cluster.url, cluster.user, "Greeter", tmp_path / "stolen", bob_env, check=False)
    assert denied.returncode != 0 and "403" in denied.stderr

    repo, alice_env = checkout
    head = git(alice_env, "rev-parse", "HEAD", cwd=repo).stdout.strip()
    (repo / "src" / "Greeter.py").write_text("def apply(input):\n    return 'pwned'\n")
    git(alice_env, "commit", "-q", "-am", "not yours", cwd=repo)
    pushed = git(bob_env, "push", "origin", "HEAD:master", cwd=repo, check=False)
    assert pushed.returncode != 0 and "403" in pushed.stderr
    git(alice_env, "reset", "-q", "--hard", head, cwd=repo)
    remote = git(alice_env, "ls-remote", "origin", "refs/heads/master", cwd=repo).stdout.split()[0]
    assert remote == head


def test_git_prompts_for_credentials_after_401(cluster, greeter, good_build, tmp_path):
    response = requests.get(f"{cluster.url}/git/{cluster.user}/Greeter.git/info/refs",
                            params={"service": "git-upload-pack"}, timeout=30)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")

    anonymous = clone(cluster.url, cluster.user, "Greeter", tmp_path / "anon", git_env(tmp_path), check=False)
    assert anonymous.returncode != 0

    home = tmp_path / "askpass-home"
    home.mkdir()
    env = askpass_env(home, cluster.user, cluster.key)
    result = clone(cluster.url, cluster.user, "Greeter", home / "Greeter", env)
    assert cluster.key not in result.stderr + result.stdout
    assert (home / "Greeter" / "src" / "Greeter.py").is_file()

    wrong = askpass_env(tmp_path, cluster.user, "simWrongKey")
    failed = clone(cluster.url, cluster.user, "Greeter", tmp_path / "wrong", wrong, check=False)
    assert failed.returncode != 0 and "Authentication failed" in failed.stderr


def test_push_to_another_branch_does_not_build(cluster, greeter, checkout, good_build):
    repo, env = checkout
    before = len(greeter.get_builds(limit=100)["results"])
    git(env, "push", "-q", "origin", "HEAD:refs/heads/feature", cwd=repo)
    assert len(greeter.get_builds(limit=100)["results"]) == before
