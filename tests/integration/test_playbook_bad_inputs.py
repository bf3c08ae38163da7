"""Bad input stops the playbook before any change: malformed workflows (the unit corpus in
tests/unit/workflows/bad, each with the error text it must produce in ``x-expect``, and workflows
too big or not text, written at test time), bad variables, and what only the clusters can tell
(bad code archives, missing source files, CA certificates that do not fit, owners, run_only
targets, environments), which the preflight catches. Each error names the field and the fix;
validation sends no request at all, and the preflight no mutating one."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import running_cluster
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
    # the judge's baselines and settings (docs/usage.md, "Checking an upgrade")
    ("baseline_unknown", {"testbench_baseline_run": "before-upgrade"},
     ["testbench_baseline_run of bad (before-upgrade)", "neither a snapshot of this cluster", "Fix: name",
      "a snapshot kept by testbench_snapshot", "previous"]),
    ("baseline_not_a_name", {"testbench_baseline_run": "../runs"}, ["testbench_baseline_run", "not a name of 1 to 100", "Fix:"]),
    ("snapshot_with_a_space", {"testbench_snapshot": "before upgrade"},
     ["testbench_snapshot", "found: before upgrade", "Fix: give a name such as before-upgrade-2026-12"]),
    ("canary_group_unknown", {"testbench_canary_group": "canaries"},
     ["testbench_canary_group of bad (canaries) names no inventory group", "Fix: name an inventory group"]),
    ("canary_group_of_every_cluster", {"testbench_canary_group": "all"},
     ["holds every cluster of this run, which leaves no peer", "Fix:"]),
    ("canary_group_of_no_cluster", {"testbench_canary_group": "ungrouped"}, ["a group with none of the clusters of this run", "Fix:"]),
    ("judge_tolerance_negative", {"testbench_judge_tolerance": -0.1},
     ["testbench_judge_tolerance must be a fraction from 0 to 10 (found: -0.1)", "Fix:"]),
    ("judge_run_noise_in_percent", {"testbench_judge_run_noise": 3}, ["testbench_judge_run_noise a fraction from 0 to 1", "found: 3"]),
    ("judge_scores_crossed", {"testbench_judge_pass_score": 70, "testbench_judge_marginal_score": 80},
     ["the marginal one at most the pass one", "found: 70", "and 80", "Fix:"]),
    ("source_max_calls_zero", {"testbench_source_max_calls": 0}, ["testbench_source_max_calls a whole number", "found: 0", "Fix:"]),
    ("compare_with_source_without_key", {"testbench_compare_with_source": True, "testbench_source_api_key": None},
     ["Workflow hello_world", "is compared with it", "testbench_source_api_key, which is not set"]),
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


# ---- what only the clusters can tell: caught by the preflight, before any change ---------------

GOOD_MEMBERS = [("requirements.txt", b"algorithmia>=2.0,<3\n"), ("src/__init__.py", b""),
                ("src/Alpha.py", b"def apply(input):\n    return input\n")]


def archive(extra: list[tuple[str, str, object]]) -> bytes:
    """A .tar.gz of a good source plus ``extra`` members: (name, kind, payload)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in GOOD_MEMBERS:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, kind, payload in extra:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            if kind == "zeros":  # a decompression bomb: a few hundred KiB that inflate to payload bytes
                info.size = payload
                tar.addfile(info, io.BytesIO(bytes(payload)))
                continue
            info.type, info.linkname = {"symlink": (tarfile.SYMTYPE, str(payload)),
                                        "hardlink": (tarfile.LNKTYPE, str(payload)),
                                        "device": (tarfile.CHRTYPE, "")}[kind]
            tar.addfile(info)
    return out.getvalue()


BAD_ARCHIVES = {
    "archive_climbs_out": ([("../evil.py", "file", b"x")], "climbs out of the archive with '..'"),
    "archive_absolute_path": ([("/etc/cron.d/evil", "file", b"x")], "has an absolute path"),
    "archive_symlink": ([("src/passwd", "symlink", "/etc/passwd")], "is a symbolic link"),
    "archive_hardlink": ([("src/again.py", "hardlink", "src/Alpha.py")], "is a hard link"),
    "archive_device": ([("src/tty", "device", None)], "is a device"),
    "archive_20000_entries": ([(f"src/f{i}.py", "file", b"") for i in range(20000)], "more than 5000 members"),
    "archive_decompression_bomb": ([("src/model.bin", "zeros", 160 * 1024 * 1024)], "more than the limit"),
}


def ca_pem(expired: bool) -> str:
    """A CA certificate that did not sign the cluster's certificate; expired ten years ago if asked."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old testbench CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=3650), now - datetime.timedelta(days=3000)) if expired \
        else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory, "tls", tls=True) as running:
        yield running


@pytest.fixture(scope="module")
def preflight_cases(cluster, source_cluster, tls_cluster, tmp_path_factory):
    """One host per case, all in one run: the preflight reports every case's problem at once."""
    tmp = tmp_path_factory.mktemp("preflight_cases")
    source = source_cluster.client()
    source.dir("data://.my/bad_archives").create()
    workflows = tmp / "workflows"
    workflows.mkdir()
    (tmp / "algorithms").symlink_to(ROOT / "algorithms")  # hello_world's template, beside workflows/
    base = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
            "testbench_source_api_address": source_cluster.url, "testbench_source_api_key": source_cluster.key}
    hosts, expected = {}, {}

    def workflow(case: str, document: dict) -> list[str]:
        path = workflows / f"{case}.json"
        path.write_text(json.dumps(document))
        return [str(path)]

    for case, (members, words) in BAD_ARCHIVES.items():
        source.file(f"data://.my/bad_archives/{case}.tar.gz").put(archive(members))
        hosts[case] = dict(base, testbench_workflows=workflow(case, {"algorithms": [
            {"name": "Alpha", "language": "python3", "code_path": f"data://.my/bad_archives/{case}.tar.gz"}]}))
        expected[case] = ["$.algorithms[0].code_path", "Refused the code archive", words, "Fix:"]
    hosts["source_file_missing"] = dict(base, testbench_workflows=workflow("source_file_missing", {"algorithms": [
        {"name": "hello_world", "language": "python3", "data_files": ["data://.my/bad_archives/no_such.bin"]}]}))
    expected["source_file_missing"] = ["$.algorithms[0].data_files[0]", "no such file", "Fix: check the files entry"]
    hosts["code_path_missing"] = dict(base, testbench_workflows=workflow("code_path_missing", {"algorithms": [
        {"name": "Alpha", "language": "python3", "code_path": "data://.my/nowhere/Alpha.tar.gz"}]}))
    expected["code_path_missing"] = ["$.algorithms[0].code_path", "does not exist", "Fix:"]
    hosts["algorithm_owner_mismatch"] = dict(base, testbench_workflows=workflow("algorithm_owner_mismatch", {
        "algorithm_owner": "quality", "algorithms": [{"name": "hello_world", "language": "python3"}]}))
    expected["algorithm_owner_mismatch"] = ["$.algorithm_owner", "belong to quality", "Fix: use an API key of quality"]
    hosts["run_only_target_missing"] = dict(base, testbench_workflows=workflow("run_only_target_missing", {
        "run_only": True, "algorithms": [{"name": "NeverDeployed", "test_payload": 1}]}))
    expected["run_only_target_missing"] = ["NeverDeployed", "does not exist on this cluster", "Fix: deploy it first"]
    hosts["environment_missing_no_sync"] = dict(base, testbench_sync_environment=False, testbench_workflows=workflow(
        "environment_missing_no_sync", {"algorithms": [{"name": "hello_world", "environment_name": "Python 3.99"}]}))
    expected["environment_missing_no_sync"] = ["environment_name='Python 3.99'", "is not installed",
                                               "Fix: pick one of those"]
    hosts["source_key_refused"] = dict(base, testbench_source_api_key="sim" + "W" * 25, testbench_workflows=workflow(
        "source_key_refused", {"algorithms": [{"name": "hello_world", "language": "python3",
                                               "data_files": ["data://.my/bad_archives/archive_device.tar.gz"]}]}))
    expected["source_key_refused"] = ["testbench_source_api_key", "refused it (401", "Fix:"]
    tls = {"testbench_api_address": tls_cluster.url, "testbench_api_key": tls_cluster.key,
           "testbench_workflows": ["hello_world"]}
    hosts["ca_cert_wrong_ca"] = dict(tls, testbench_ca_cert=ca_pem(expired=False))
    expected["ca_cert_wrong_ca"] = ["testbench_ca_cert", "TLS handshake", "Fix: set testbench_ca_cert to the CA"]
    hosts["ca_cert_expired"] = dict(tls, testbench_ca_cert=ca_pem(expired=True))
    expected["ca_cert_expired"] = ["testbench_ca_cert", "TLS handshake", "Fix: set testbench_ca_cert to the CA"]
    hosts["ca_cert_missing_for_tls"] = dict(tls)
    expected["ca_cert_missing_for_tls"] = ["testbench_ca_cert", "TLS handshake", "Fix:"]

    inventory = write_inventory(tmp / "inventory.yml", hosts, {"testbench_report_dir": str(tmp / "reports")})
    clusters = (cluster, source_cluster, tls_cluster)
    before = [len(c.request_log()) for c in clusters]
    run = run_playbook(PLAYBOOK, tmp / "run", inventory=inventory, args=["--forks", "10"])
    seen = [c.request_log()[start:] for c, start in zip(clusters, before)]
    return run, seen, expected


PREFLIGHT_CASES = list(BAD_ARCHIVES) + ["source_file_missing", "code_path_missing", "algorithm_owner_mismatch",
                                        "run_only_target_missing", "environment_missing_no_sync",
                                        "source_key_refused", "ca_cert_wrong_ca", "ca_cert_expired",
                                        "ca_cert_missing_for_tls"]


@pytest.mark.parametrize("case", PREFLIGHT_CASES)
def test_the_preflight_names_each_clusters_problem_with_its_fix(preflight_cases, case):
    run, _seen, expected = preflight_cases
    assert run.rc != 0, explain(run)
    # The run stops once for all hosts, with every host's problems in one message.
    messages = "\n".join(message for host in PREFLIGHT_CASES for message in failure_messages(run, host))
    assert "nothing was changed on any cluster" in messages, explain(run)
    line = next((text for text in messages.split("\n- ") if text.startswith(case + " (")), None)
    assert line is not None, messages
    for words in expected[case]:
        assert words in line, line


def test_the_preflight_cases_change_nothing_anywhere(preflight_cases):
    run, seen, _expected = preflight_cases
    for requests_seen in seen:
        writes = [e for e in requests_seen if e["method"] in ("POST", "PUT", "PATCH", "DELETE")
                  and not e["path"].endswith("/git-upload-pack")]
        assert writes == [], explain(run)
    assert not any(e["path"].startswith("/v1/algo/") for requests_seen in seen for e in requests_seen)


# ---- workflows too big or not text, written at test time -------------------------------------------

GENERATED_WORKFLOWS = {
    "payload_50_mib": (lambda: json.dumps({"algorithms": [{"name": "Alpha", "language": "python3"}],
                                           "test_info": {"entrypoint": "Alpha",
                                                         "tests": [{"name": "big", "payload": "x" * (50 << 20)}]}}
                                          ).encode(),
                       ["$: the file is larger than 8 MiB", "Fix: keep large inputs out of the workflow"]),
    "payload_3_mib": (lambda: json.dumps({"algorithms": [{"name": "Alpha", "language": "python3",
                                                          "test_payload": {"pixels": [255] * (700 * 1024)}}]}).encode(),
                      ["$.algorithms[0].test_payload: is 3.4 MiB; at most 1 MiB is sent as a payload",
                       "Fix: put the input in a data file"]),
    "payload_binary": (lambda: b'{"algorithms": [{"name": "Alpha", "language": "python3", "test_payload": "\x89PNG\r\n\x1a\n\xff"}]}',
                       ["$: is not UTF-8 text (binary data at byte", "Fix: save the workflow as UTF-8 JSON"]),
}


@pytest.mark.parametrize("case", sorted(GENERATED_WORKFLOWS))
def test_a_generated_bad_workflow_is_refused_before_any_request(cluster, tmp_path, case):
    make, expected = GENERATED_WORKFLOWS[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(make())
    host = {"testbench_api_address": cluster.url, "testbench_api_key": cluster.key,
            "testbench_workflows": [str(path)], "testbench_report_dir": str(tmp_path / "reports")}
    before = len(cluster.request_log())
    run = run_playbook(PLAYBOOK, tmp_path / "run", inventory=write_inventory(tmp_path / "inventory.yml", {case: host}))
    assert run.rc != 0 and len(cluster.request_log()) == before, explain(run)
    messages = "\n".join(failure_messages(run, case))
    for words in expected:
        assert words in messages, messages


def test_the_whole_corpus_has_at_least_80_cases():
    assert len(BAD_WORKFLOWS) + len(BAD_VARIABLES) + len(PREFLIGHT_CASES) + len(GENERATED_WORKFLOWS) >= 80
