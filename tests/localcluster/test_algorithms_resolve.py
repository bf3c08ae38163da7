"""``resolve_runnable``: the contract execution codes against (resolution.py's docstring).

Six commits of one algorithm are pushed and built on a running cluster:

    A 0.1.0 private   B 0.2.0 private   C 1.0.0 public   D 1.0.1 public   E unpublished   F build failed

then the backends are opened in this process over the same data directory and asked directly,
so the exception types and messages are checked; a few calls also go through ``/v1/algo``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from localcluster.algorithms.backend import AlgorithmBackend
from localcluster.builds.backend import BuildBackend
from localcluster.db import Database
from localcluster.environments.backend import EnvironmentBackend
from localcluster.errors import BadRequest, Forbidden, NotFound
from localcluster.settings import Settings
from localcluster.users.backend import Caller, UserBackend
from tests.localcluster.git_support import classic_source, clone, commit_and_push, git_env, wait_for_build

SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}
ALICE, BOB, ADMIN = Caller("alice"), Caller("bob_r"), Caller("admin", is_admin=True)


@pytest.fixture(scope="module")
def shas(cluster, tmp_path_factory):
    cluster.new_user("bob_r")
    algo = cluster.client().algo("alice/Versions")
    algo.create(details={"label": "Versions"}, settings=SETTINGS)
    cluster.client().algo("alice/Unpublished").create(details={"label": "u"}, settings=SETTINGS)
    home = tmp_path_factory.mktemp("resolve")
    env = git_env(home, "alice", cluster.key)
    clone(cluster.url, "alice", "Versions", home / "Versions", env)
    commits = {}
    plan = (("A", "minor", "private"), ("B", "minor", "private"), ("C", "major", "public"),
            ("D", "revision", "public"), ("E", None, None))
    for label, version_type, callability in plan:
        sha = commit_and_push(home / "Versions", env, classic_source("Versions", label), label)
        assert wait_for_build(algo, sha)["status"] == "succeeded"
        if version_type:
            algo.publish(settings={"algorithm_callability": callability}, version_info={"version_type": version_type})
        commits[label] = sha
    commits["F"] = commit_and_push(home / "Versions", env, {"src/Versions.py": "def apply(:\n"}, "F")
    assert wait_for_build(algo, commits["F"])["status"] == "failed"
    return commits


@pytest.fixture(scope="module")
def backend(cluster, shas):
    """The cluster's own state, opened in-process (no build is running, so nothing is recovered)."""
    settings = Settings(data_dir=cluster.data_dir, python=sys.executable)
    db = Database(settings.db_path)
    builds = BuildBackend(db, settings.data_dir, sys.executable)
    algorithms = AlgorithmBackend(db, settings.data_dir, UserBackend(db), EnvironmentBackend(db, sys.executable),
                                  builds)
    yield algorithms
    builds.stop()


def _resolve(backend, caller, version, name="Versions", owner="alice"):
    return backend.resolve_runnable(caller, owner, name, version)


@pytest.mark.parametrize("version, label, semantic", [
    (None, "D", "1.0.1"), ("0.1.0", "A", "0.1.0"), ("0.2.0", "B", "0.2.0"), ("1.0.0", "C", "1.0.0"),
    ("0.1.x", "A", "0.1.0"), ("0.x", "B", "0.2.0"), ("0.*", "B", "0.2.0"), ("1.0.*", "D", "1.0.1"),
    ("1.x", "D", "1.0.1"), ("latestPrivate", "E", None),
])
def test_owner_resolves_versions_and_ranges(backend, shas, version, label, semantic):
    runnable = _resolve(backend, ALICE, version)
    assert runnable.git_hash == shas[label]
    assert runnable.semantic_version == semantic
    assert runnable.owner == "alice" and runnable.name == "Versions"


def test_runnable_points_at_a_complete_build(backend, shas):
    runnable = _resolve(backend, ALICE, "0.2.0")
    assert (runnable.build_dir / "manifest.json").is_file()
    assert runnable.module_file.is_file() and runnable.language == "python3"
    assert Path(runnable.worker_command()[0]).is_file()  # the build venv's python
    assert runnable.module_file == runnable.src_dir / "src" / "Versions.py"
    assert runnable.style == "classic"
    assert runnable.settings["algorithm_callability"] == "private"  # the version's own settings
    assert _resolve(backend, ALICE, None).settings["algorithm_callability"] == "public"


def test_git_hashes_full_and_prefix(backend, shas):
    assert _resolve(backend, ALICE, shas["A"]).semantic_version == "0.1.0"
    assert _resolve(backend, ALICE, shas["A"][:8]).git_hash == shas["A"]
    unpublished = _resolve(backend, ALICE, shas["E"])
    assert unpublished.git_hash == shas["E"] and unpublished.semantic_version is None
    assert _resolve(backend, ADMIN, shas["E"]).git_hash == shas["E"]


def test_other_users_get_public_versions_only(backend, shas):
    assert _resolve(backend, BOB, None).git_hash == shas["D"]
    assert _resolve(backend, BOB, "1.x").git_hash == shas["D"]
    assert _resolve(backend, BOB, shas["C"]).semantic_version == "1.0.0"
    for version, text in (("0.2.0", "is private"), ("0.x", "only private versions match"),
                          (shas["E"], "is unpublished"), (shas["A"], "is private"),
                          ("latestPrivate", "callable by its owner only")):
        with pytest.raises(Forbidden, match=text):
            _resolve(backend, BOB, version)


def test_errors_say_what_is_missing(backend, shas):
    with pytest.raises(NotFound, match=r"Version 2\.0\.0 of alice/Versions is not published \(published: 1\.0\.1"):
        _resolve(backend, ALICE, "2.0.0")
    with pytest.raises(NotFound, match="no published version matches"):
        _resolve(backend, ALICE, "3.x")
    with pytest.raises(NotFound, match="has no successful build"):
        _resolve(backend, ALICE, shas["F"])
    with pytest.raises(NotFound, match="No build of alice/Versions at commit deadbeef"):
        _resolve(backend, ALICE, "deadbeef")
    with pytest.raises(BadRequest, match="Cannot read version 'banana'"):
        _resolve(backend, ALICE, "banana")
    with pytest.raises(NotFound, match="No such algorithm: alice/Nope"):
        _resolve(backend, ALICE, None, name="Nope")


def test_algorithm_without_published_versions(backend, shas):
    with pytest.raises(NotFound, match="no published version yet.*latestPrivate"):
        _resolve(backend, ALICE, None, name="Unpublished")
    with pytest.raises(NotFound, match="has no successful build"):
        _resolve(backend, ALICE, "latestPrivate", name="Unpublished")


def test_by_algorithm_uuid(backend, shas):
    algorithm_id = backend.find("alice", "Versions")["id"]
    assert _resolve(backend, BOB, None, owner=None, name=algorithm_id).git_hash == shas["D"]


def test_calls_through_the_algo_endpoint(cluster, shas):
    bob = cluster.client(cluster.new_user("carol_r"))
    alice = cluster.client()
    assert alice.algo("alice/Versions/0.1.x").pipe("x").result == "A x"
    assert alice.algo(f"alice/Versions/{shas['E']}").pipe("x").result == "E x"
    assert bob.algo("alice/Versions").pipe("x").result == "D x"
    denied = requests.post(f"{cluster.url}/v1/algo/alice/Versions/0.2.0", json="x", timeout=60,
                           headers={"Authorization": bob.apiKey})
    assert denied.status_code == 403
    assert "Version 0.2.0 of alice/Versions is private" in denied.json()["error"]["message"]
