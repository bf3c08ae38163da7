"""The role on its own (no validation play in front), with three workflows on one cluster: a
workflow whose build fails does not stop the next ones; the summary says which workflow failed at
which step with the build's message; a run_only workflow calls what the previous one built."""

from __future__ import annotations

import json

import pytest

from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import explain, role_alone_play, summary, write_inventory

ROLE_PLAY = role_alone_play("The role alone")


def write_workflows(base):
    workflows, algorithms = base / "workflows", base / "algorithms" / "Broken"
    (algorithms / "src").mkdir(parents=True)
    (algorithms / "requirements.txt").write_text("algorithmia>=2.0,<3\n")
    (algorithms / "src" / "__init__.py").write_text("")
    (algorithms / "src" / "Broken.py").write_text("def apply(input):\n    return (\n")  # a syntax error
    workflows.mkdir()
    broken = {"algorithms": [{"name": "Broken", "language": "python3", "test_payload": 1}]}
    hello = {
        "test_info": {"entrypoint": "hello_world", "tests": [{"name": "basic", "payload": "Algorithmia", "timeout": 30}]},
        "algorithms": [{"name": "hello_world", "language": "python3", "test_payload": "Algorithmia"}],
    }
    run_only = {
        "run_only": True,
        "test_info": {"entrypoint": "hello_world",
                      "tests": [{"name": "again", "payload": "again", "expected_output": "hello again"}]},
        "algorithms": [{"name": "hello_world", "test_payload": "run only"}],
    }
    paths = []
    for name, document in (("broken", broken), ("hello", hello), ("hello_run_only", run_only)):
        path = workflows / f"{name}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    # hello_world's template is the collection's own.
    (base / "algorithms" / "hello_world").symlink_to(ROOT / "algorithms" / "hello_world")
    return paths


@pytest.fixture(scope="module")
def role_run(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("role")
    paths = write_workflows(tmp / "wf")
    reports = tmp / "reports"
    host = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
            "testbench_workflows": paths, "testbench_report_dir": str(reports)}
    inventory = write_inventory(tmp / "inventory.yml", {"dest": host})
    run = run_playbook(ROLE_PLAY, tmp / "run", inventory=inventory)
    return run, reports


def test_a_failing_workflow_does_not_stop_the_next_ones(role_run):
    run, reports = role_run
    assert run.rc != 0, explain(run)
    assert run.stats["dest"]["failures"] == 1
    assert run.stats["dest"]["rescued"] == 1
    outcomes = {w["workflow"]: w for w in summary(reports)["clusters"][0]["workflows"]}
    assert list(outcomes) == ["broken", "hello", "hello_run_only"]
    assert outcomes["broken"]["passed"] is False
    assert outcomes["broken"]["step"] == "build and publish Broken"
    assert "Broken" in outcomes["broken"]["message"]
    assert outcomes["hello"]["passed"] is True, outcomes
    assert outcomes["hello_run_only"]["passed"] is True, outcomes
    # the summary says per algorithm what each workflow did: built by one, only called by the other
    assert [d["published"] for d in outcomes["hello"]["algorithms"]] == ["published 0.1.0"], outcomes
    checked = outcomes["hello_run_only"]["algorithms"]
    assert [(d["built"], d["published"]) for d in checked] == [("not built", "called version 0.1.0")], outcomes
    assert checked[0]["tested"].startswith("test_payload passed"), outcomes
    assert "dest: failed at step build and publish Broken of workflow broken:" in run.stdout
    lines = summary(reports)["lines"]
    assert [line for line in lines if line.startswith(("dest", "  workflow"))] == [
        lines[0], "  workflow broken: failed at step build and publish Broken (python3, 'Python 3.7'): " + outcomes["broken"]["message"].split("\n")[0],
        "  workflow hello: passed", "  workflow hello_run_only: passed"], lines
    assert lines[0].startswith("dest (") and lines[0].endswith("): FAILED"), lines
    # the build log's end in the message stays under its workflow
    log = lines.index("  workflow broken: failed at step build and publish Broken (python3, 'Python 3.7'): " + outcomes["broken"]["message"].split("\n")[0])
    assert lines[log + 1].startswith("      ") and lines[log + 1].strip() in outcomes["broken"]["message"], lines
