"""Every language of a real cluster's catalog: listed, one environment of each installed on a fresh
cluster, selectable by the pre-AEMS language names; a new algorithm's repository holds its
language's starter; a language localcluster does not build fails its build, saying why; a sync
probes the language's toolchain."""

from __future__ import annotations

import time

import pytest
import requests

from localcluster.environments import catalog
from tests.localcluster.git_support import clone, commit_and_push, git_env, wait_for_build

EDGE = "/v1/algorithm-environments/edge"
SETTINGS = {"source_visibility": "closed", "license": "apl", "network_access": "full", "pipeline_enabled": True}
BUILT = {"python3", "python2", "javascript", "java11", "ruby"}
NOT_BUILT = {"scala-2", "r36", "rust", "csharp-dotnet-core2"}


def _get(cluster, path, key=None):
    response = requests.get(cluster.url + path, headers={"Authorization": key or cluster.key}, timeout=30)
    response.raise_for_status()
    return response.json()


def test_every_language_is_listed_with_one_installed_environment(cluster):
    listed = {lang["name"]: lang for lang in _get(cluster, EDGE + "/languages")}
    assert set(listed) == BUILT | NOT_BUILT
    assert listed["java11"]["display_name"] == "Java OpenJDK 11.0 (Environments)"
    assert listed["scala-2"]["display_name"] == "Scala 2.x & sbt 1.3.x (Environments)"
    for language in sorted(set(listed) - {"python2"}):
        installed = _get(cluster, f"{EDGE}/languages/{language}/environments")
        assert len(installed) == 1, (language, installed)
        assert installed[0]["language"]["name"] == language
    names = {catalog.SHORTHAND_DISPLAY_NAMES[s] for s in ("javascript", "java", "ruby", "scala", "r", "rust", "csharp")}
    installed_names = {e["display_name"] for lang in listed for e in _get(cluster, f"{EDGE}/languages/{lang}/environments")}
    assert names <= installed_names


@pytest.mark.parametrize("language, starter", [
    ("javascript", "package.json"), ("java", "pom.xml"), ("ruby", "Gemfile"), ("scala", "README.md")])
def test_a_new_algorithm_starts_with_its_languages_files(cluster, tmp_path, language, starter):
    name = f"Starter_{language}"
    algo = cluster.client().algo(f"{cluster.user}/{name}")
    created = algo.create(details={"label": name}, settings=dict(SETTINGS, language=language))
    assert created["settings"]["language"] == language
    env = git_env(tmp_path, cluster.user, cluster.key)
    clone(cluster.url, cluster.user, name, tmp_path / name, env)
    assert (tmp_path / name / starter).is_file()


def test_a_language_localcluster_does_not_build_fails_saying_why(cluster, tmp_path):
    algo = cluster.client().algo(f"{cluster.user}/hello_scala")
    algo.create(details={"label": "hello_scala"}, settings=dict(SETTINGS, language="scala"))
    env = git_env(tmp_path, cluster.user, cluster.key)
    clone(cluster.url, cluster.user, "hello_scala", tmp_path / "hello_scala", env)
    sha = commit_and_push(tmp_path / "hello_scala", env, {
        "build.sbt": 'name := "hello_scala"\n',
        "src/main/scala/algorithmia/hello_scala/hello_scala.scala": "class hello_scala { def apply(s: String) = s }\n",
    }, "scala")
    build = wait_for_build(algo, sha)
    assert build["status"] == "failed"
    logs = algo.get_build_logs(build["build_id"])["logs"]
    assert "(scala-2, Scala 2.x)" in logs
    assert "Build failed: this localcluster cannot build scala-2 (Scala 2.x): Scala builds need sbt" in logs


def _sync(cluster, spec):
    response = requests.post(f"{cluster.url}{EDGE}/environment-specifications/{spec.spec_id}/syncs",
                             headers={"Authorization": cluster.admin_key}, timeout=30)
    response.raise_for_status()
    sync_id = response.text.strip().strip('"')
    for _attempt in range(300):
        state = _get(cluster, f"{EDGE}/environment-specifications/{spec.spec_id}/syncs/{sync_id}", cluster.admin_key)
        if state["sync_result"]["status"] != "in-progress":
            return state["sync_result"]
        time.sleep(0.1)
    raise AssertionError("the sync did not finish")


def test_a_sync_probes_the_languages_toolchain(cluster):
    node = next(s for s in catalog.master_catalog("test") if s.language == "javascript")
    result = _sync(cluster, node)
    assert result["status"] == "succeeded", result
    assert result["message"].startswith("Node.js 20 installed (runs on v"), result
    rust = next(s for s in catalog.master_catalog("test") if s.language == "rust")
    result = _sync(cluster, rust)
    assert result["status"] == "succeeded"
    assert "catalogued only: localcluster does not build this language" in result["message"]
