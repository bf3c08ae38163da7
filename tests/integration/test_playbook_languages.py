"""Every language localcluster builds, as an operator runs them: playbooks/testbench.yml on the
hello_<language> workflows and the polyglot pipeline (a JavaScript entrypoint calling a Python and
a Java algorithm in parallel), their data file copied from a source cluster; a second run changes
nothing. A language localcluster does not build (Scala) fails at "build and publish" with the
build log's reason in the verdict and in the cluster's report, and the other cluster goes on."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, summary, write_inventory

WORKFLOWS = ("hello_javascript", "hello_java", "hello_ruby", "polyglot_pipeline")
LANGUAGES = {"hello_javascript": "javascript", "hello_java": "java", "hello_ruby": "ruby"}


def project(directory, source, names):
    """workflows/<name>.json of the collection, reading their data files from ``source``, with the
    collection's templates as algorithms/ beside them."""
    from tools.demo import seed_source

    seed_source(source.url, source.key, source.ca_cert)
    (directory / "workflows").mkdir(parents=True)
    paths = []
    for name in names:
        workflow = json.loads((ROOT / "workflows" / f"{name}.json").read_text())
        workflow["source_info"]["cluster_address"] = source.url
        path = directory / "workflows" / f"{name}.json"
        path.write_text(json.dumps(workflow))
        paths.append(str(path))
    (directory / "algorithms").mkdir()
    for template in (ROOT / "algorithms").iterdir():
        (directory / "algorithms" / template.name).symlink_to(template)
    return paths


@pytest.fixture(scope="module")
def runs(cluster, source_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("languages")
    paths = project(tmp / "project", source_cluster, WORKFLOWS)
    reports = tmp / "reports"
    host = destination(cluster, testbench_source_api_key=source_cluster.key)
    inventory = write_inventory(tmp / "inventory.yml", {"dest": host},
                                {"testbench_workflows": paths, "testbench_report_dir": str(reports)})
    first = run_playbook(PLAYBOOK, tmp / "run1", inventory=inventory)
    first_summary = summary(reports)  # the second run rewrites it
    second = run_playbook(PLAYBOOK, tmp / "run2", inventory=inventory)
    return first, second, first_summary, summary(reports), reports


def outcomes(verdict):
    return {w["workflow"]: w for w in verdict["clusters"][0]["workflows"]}


def test_every_language_deploys_tests_benchmarks_and_passes(runs, cluster):
    first, _second, verdict, _again, _reports = runs
    assert first.rc == 0, explain(first)
    found = outcomes(verdict)
    assert list(found) == list(WORKFLOWS)
    for name, language in LANGUAGES.items():
        workflow = found[name]
        assert workflow["passed"] is True, workflow
        (deployed,) = workflow["algorithms"]
        assert deployed["published"] == "published 0.1.0", workflow
        # every test ran: the data file's greeting came back, and the benchmark made its calls
        assert [t["passed"] for t in workflow["tests"]] == [True, True], workflow
        assert workflow["tests"][1]["calls"] >= 40, workflow
        # the verdict names the language
        assert f"{name} ({language}" in first.stdout, first.stdout
        answer = cluster.client().algo(f"{cluster.user}/{name}").pipe("operator").result
        assert answer == f"Hello, operator ({name.removeprefix('hello_')})"


def test_the_polyglot_pipeline_answers_with_three_languages(runs, cluster):
    first, _second, verdict, _again, _reports = runs
    assert outcomes(verdict)["polyglot_pipeline"]["passed"] is True, explain(first)
    answer = cluster.client().algo(f"{cluster.user}/polyglot_pipeline").pipe("operator").result
    assert answer == {"javascript": "hello operator (javascript)", "python": "hello operator",
                      "java": "Hello, operator (java)"}


def test_a_second_run_changes_nothing(runs):
    _first, second, _verdict, again, _reports = runs
    assert second.rc == 0, explain(second)
    assert second.stats["dest"]["changed"] == 0, explain(second)
    assert all(w["passed"] for w in outcomes(again).values())


SCALA_SOURCE = """package algorithmia.hello_scala

// Greets its input: Scala, which a real cluster builds with sbt and this localcluster does not.
class hello_scala {
  def apply(input: String): String = s"Hello, $input (scala)"
}
"""


def scala_template(algorithms):
    template = algorithms / "hello_scala"
    (template / "src/main/scala/algorithmia/hello_scala").mkdir(parents=True)
    (template / "build.sbt").write_text('name := "hello_scala"\nscalaVersion := "2.13.12"\n')
    (template / "src/main/scala/algorithmia/hello_scala/hello_scala.scala").write_text(SCALA_SOURCE)


def test_a_language_the_cluster_cannot_build_fails_at_build_and_publish(
        runs, cluster, fresh_cluster, source_cluster, tmp_path):
    """Two clusters in one run: the one given a Scala workflow fails at its build with the build
    log's reason; the other goes on and passes (the run records of ``runs``, which deployed hello_ruby
    there, are in the report directory, so its preflight knows the collection made it)."""
    paths = project(tmp_path / "project", source_cluster, ["hello_ruby"])
    scala = tmp_path / "project" / "workflows" / "hello_scala.json"
    scala.write_text(json.dumps({"algorithms": [{"name": "hello_scala", "language": "scala",
                                                 "test_payload": "Algorithmia"}]}))
    algorithms = tmp_path / "project" / "algorithms"
    shutil.rmtree(algorithms)
    algorithms.mkdir()
    (algorithms / "hello_ruby").symlink_to(ROOT / "algorithms" / "hello_ruby")
    scala_template(algorithms)
    reports = runs[4]
    inventory = write_inventory(tmp_path / "inventory.yml", {
        "scala_dest": destination(fresh_cluster, testbench_workflows=[str(scala)]),
        "ruby_dest": destination(cluster, testbench_source_api_key=source_cluster.key, testbench_workflows=paths),
    }, {"testbench_report_dir": str(reports)})
    run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=inventory)
    assert run.rc != 0, explain(run)
    assert (reports / "summary.json").is_file(), explain(run)
    clusters = {c["cluster"]: c for c in summary(reports)["clusters"]}
    (failed,) = clusters["scala_dest"]["workflows"]
    assert failed["passed"] is False and failed["step"] == "build and publish hello_scala", failed
    reason = "this localcluster cannot build scala-2"
    assert reason in failed["message"], failed
    assert [w["passed"] for w in clusters["ruby_dest"]["workflows"]] == [True], clusters["ruby_dest"]
    verdict = [line for line in summary(reports)["lines"] if "workflow hello_scala" in line]
    assert verdict and reason in verdict[0], summary(reports)["lines"]
    run_id = summary(reports)["run_id"]
    pages = [page for page in (reports / "runs" / run_id).rglob("*.html") if "scala_dest" in page.read_text(errors="replace")]
    assert any(reason in page.read_text() for page in pages), [str(p) for p in pages]
