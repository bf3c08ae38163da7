"""Bad input stops the playbook before any request: malformed workflows (the unit corpus in
tests/unit/workflows/bad, each with the error text it must produce in ``x-expect``) and bad
variables. Each error names the field and the fix, and neither cluster's request log grows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, explain, failure_messages, write_inventory

BAD_WORKFLOWS = sorted((ROOT / "tests" / "unit" / "workflows" / "bad").glob("*.json"))


def test_the_corpus_is_big_enough():
    assert len(BAD_WORKFLOWS) + len(BAD_VARIABLES) >= 20


@pytest.fixture(scope="module")
def bad_workflows_run(cluster, source_cluster, tmp_path_factory):
    """One run, one host per bad workflow: every host fails on its own workflow, at the same task,
    so each error is reported and no host gets further."""
    tmp = tmp_path_factory.mktemp("bad_workflows")
    before = (len(cluster.request_log()), len(source_cluster.request_log()))
    hosts = {path.stem: {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
                         "testbench_source_api_address": source_cluster.url,
                         "testbench_source_api_key": source_cluster.key,
                         "testbench_workflows": [str(path)]}
             for path in BAD_WORKFLOWS}
    inventory = write_inventory(tmp / "inventory.yml", hosts, {"testbench_report_dir": str(tmp / "reports")})
    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory, args=["--forks", "10"])
    after = (len(cluster.request_log()), len(source_cluster.request_log()))
    return run, before, after


@pytest.mark.parametrize("path", BAD_WORKFLOWS, ids=lambda p: p.stem)
def test_a_bad_workflow_is_named_with_its_fix(bad_workflows_run, path):
    run = bad_workflows_run[0]
    assert run.rc != 0
    messages = "\n".join(failure_messages(run, path.stem))
    assert messages, explain(run)
    for expected in json.loads(path.read_text())["x-expect"]:
        assert expected in messages, messages
    assert "Fix:" in messages
    assert "nothing was sent to any cluster" in messages


def test_bad_workflows_send_no_request_anywhere(bad_workflows_run):
    run, before, after = bad_workflows_run
    assert after == before, explain(run)
    assert all(stats["changed"] == 0 for stats in run.stats.values())


# (case, host variables to change (None removes one), substrings of the error)
BAD_VARIABLES = [
    ("address_missing", {"testbench_api_address": None}, ["testbench_api_address", "not set", "Fix: set it"]),
    ("address_without_scheme", {"testbench_api_address": "api.example.com"},
     ["testbench_api_address", "found: api.example.com", "Fix:", "https://api.example.com"]),
    ("address_with_credentials", {"testbench_api_address": "https://user:pw@api.example.com"},
     ["testbench_api_address", "no credentials"]),
    ("address_with_v1", {"testbench_api_address": "https://api.example.com/v1/"},
     ["testbench_api_address", "found: https://api.example.com/v1/", "without /v1"]),
    ("key_missing", {"testbench_api_key": None}, ["testbench_api_key", "is not set", "Fix: put", "vault"]),
    ("key_with_spaces", {"testbench_api_key": "sim key with spaces"},
     ["testbench_api_key", "not a single word", "Fix:"]),
    ("key_empty", {"testbench_api_key": ""}, ["testbench_api_key", "Fix:"]),
    ("ca_cert_missing_file", {"testbench_ca_cert": "/nonexistent/ca.pem"},
     ["testbench_ca_cert", "neither PEM text nor the path", "/nonexistent/ca.pem", "Fix:"]),
    ("source_ca_cert_garbage", {"testbench_source_ca_cert": "not a certificate"},
     ["testbench_source_ca_cert", "Fix:"]),
    ("aems_master_unknown", {"testbench_aems_master": "staging"}, ["testbench_aems_master", "test, prod"]),
    ("version_type_unknown", {"testbench_version_type": "patch"},
     ["testbench_version_type", "major, minor, revision"]),
    ("validate_certs_not_bool", {"testbench_validate_certs": "perhaps"}, ["testbench_validate_certs", "bool"]),
    ("suffix_with_dash", {"testbench_name_suffix": "-nightly"},
     ["testbench_name_suffix", "found: -nightly", "Fix:", "_nightly"]),
    ("report_dir_empty", {"testbench_report_dir": ""}, ["testbench_report_dir", "Fix:"]),
    ("workflows_missing", {"testbench_workflows": None}, ["testbench_workflows", "not set", "Fix: set it"]),
    ("workflows_empty", {"testbench_workflows": []}, ["testbench_workflows", "Fix:", "hello_world"]),
    ("workflow_unknown", {"testbench_workflows": ["hello_wrold"]},
     ["'hello_wrold' not found", "Fix: use one of", "hello_world"]),
    ("workflow_twice", {"testbench_workflows": ["hello_world", "hello_world"]},
     ["names a workflow twice", "Fix: list each workflow once"]),
    ("source_key_missing", {"testbench_workflows": ["image_benchmark"], "testbench_source_api_key": None},
     ["image_benchmark", "testbench_source_api_key, which is not set", "Fix: put testbench_source_api_key"]),
    ("source_address_not_http", {"testbench_workflows": ["image_benchmark"], "testbench_source_api_address": "ftp://x"},
     ["image_benchmark", "testbench_source_api_address", "Fix:"]),
    ("source_address_with_v1", {"testbench_workflows": ["image_benchmark"],
                                "testbench_source_api_address": "https://api.example.com/v1"},
     ["image_benchmark", "testbench_source_api_address", "without /v1"]),
]


@pytest.mark.parametrize("case, changes, expected", BAD_VARIABLES, ids=[case[0] for case in BAD_VARIABLES])
def test_a_bad_variable_is_named_with_its_fix_and_nothing_is_sent(cluster, source_cluster, tmp_path, case, changes,
                                                                  expected):
    host = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
            "testbench_source_api_address": source_cluster.url, "testbench_source_api_key": source_cluster.key,
            "testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp_path / "reports")}
    for name, value in changes.items():
        if value is None:
            host.pop(name)
        else:
            host[name] = value
    # A second, good cluster in the same inventory: bad input on one host stops every host.
    good = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
            "testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp_path / "reports")}
    inventory = write_inventory(tmp_path / "inventory.yml", {"bad": host, "good": good})
    before = (len(cluster.request_log()), len(source_cluster.request_log()))
    run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=inventory)
    after = (len(cluster.request_log()), len(source_cluster.request_log()))
    assert run.rc != 0, explain(run)
    messages = "\n".join(failure_messages(run, "bad"))
    for text in expected:
        assert text in messages, messages
    assert after == before, f"{case}: a request reached a cluster\n{explain(run)}"
    assert not failure_messages(run, "good")
    assert not Path(tmp_path / "reports").exists()
