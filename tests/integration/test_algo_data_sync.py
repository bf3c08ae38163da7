"""algo_data_sync between two running localclusters: streamed copies, skips, re-copies, errors."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

import pytest
import requests

from tests.integration.modules_support import RequestWatch, play, task
from tests.integration.playbook import ROOT, ansible_env, ensure_collection_link

TEXT = "Hello from the source cluster\n" * 100
BINARY = bytes(range(256)) * 64
BIG_SIZE = 48 * 1024 * 1024
MIB = 1024 * 1024
MANIFEST = "_testbench_manifest.json"


def big_content(size=BIG_SIZE):
    return random.Random(7).randbytes(size)


@pytest.fixture(scope="module")
def source_files(source_cluster):
    """data://alice/models on the source: a text file, a binary file and a big one."""
    client = source_cluster.client()
    client.dir("data://.my/models").create()
    client.file("data://.my/models/greeting.txt").put(TEXT)
    client.file("data://.my/models/weights.bin").put(BINARY)
    big = big_content()
    client.file("data://.my/models/big.bin").put(big)
    return {"greeting.txt": hashlib.sha256(TEXT.encode()).hexdigest(),
            "weights.bin": hashlib.sha256(BINARY).hexdigest(),
            "big.bin": hashlib.sha256(big).hexdigest()}


@pytest.fixture(scope="module")
def keys(cluster, source_cluster):
    return {"api_address": cluster.url, "api_key": cluster.key,
            "source_api_address": source_cluster.url, "source_api_key": source_cluster.key}


def sync_args(algorithm, files, **extra):
    args = {"source_api_address": "{{ source_api_address }}", "source_api_key": "{{ source_api_key }}",
            "algorithm": algorithm, "files": files}
    args.update(extra)
    return args


def run_sync(run_playbook, keys, algorithm, files, *, check=False, **extra):
    run = run_playbook(play([task("Sync", "algo_data_sync", sync_args(algorithm, files, **extra))]),
                       extra_vars=keys, args=["--check"] if check else [])
    return run, run.task("Sync")


def destination_sha(cluster, uri_path):
    response = requests.get(f"{cluster.url}/v1/connector/data/{uri_path}",
                            headers={"Authorization": f"Simple {cluster.key}"}, stream=True, timeout=60)
    response.raise_for_status()
    digest = hashlib.sha256()
    for chunk in response.iter_content(MIB):
        digest.update(chunk)
    return digest.hexdigest()


def file_reads(watch, name):
    """The module's GETs of one data file (not of listings). The module calls /v1/connector/data,
    the official client (this test's own checks) /v1/data, so a late log line of a check never counts."""
    return [r for r in watch.requests() if r["method"] == "GET" and r["path"].startswith("/v1/connector/data/")
            and r["path"].endswith("/" + name)]


FILES = ["data://.my/models/greeting.txt", "data://.my/models/weights.bin", "data://.my/models/big.bin"]


def test_check_mode_then_copy_then_skip(cluster, source_cluster, source_files, keys, run_playbook):
    dest_watch, source_watch = RequestWatch(cluster), RequestWatch(source_cluster)
    run, result = run_sync(run_playbook, keys, "Classifier", FILES, check=True)
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    assert [f["action"] for f in result["files"]] == ["copied"] * 3
    assert dest_watch.mutating() == [] and source_watch.mutating() == []
    assert requests.get(f"{cluster.url}/v1/connector/data/{cluster.user}/Classifier",
                        headers={"Authorization": cluster.key}, timeout=30).status_code == 404

    run, result = run_sync(run_playbook, keys, "Classifier", FILES)
    assert run.rc == 0, run.stdout
    assert result["changed"] is True
    assert result["collection"] == f"data://{cluster.user}/Classifier"
    by_name = {f["destination"].rsplit("/", 1)[1]: f for f in result["files"]}
    for name, sha in source_files.items():
        entry = by_name[name]
        assert entry["source"] == f"data://{source_cluster.user}/models/{name}"  # .my resolved
        assert entry["destination"] == f"data://{cluster.user}/Classifier/{name}"
        assert entry["action"] == "copied" and entry["transfer"]["verified"] == "size"
        assert entry["sha256"] is None  # checked by size (the default): no hash was needed
        assert destination_sha(cluster, f"{cluster.user}/Classifier/{name}") == sha
    assert by_name["weights.bin"]["size"] == len(BINARY)
    big = by_name["big.bin"]["transfer"]
    # Streamed: many chunks of at most 1 MiB, never the whole file at once.
    assert big["bytes"] == BIG_SIZE and big["chunks"] >= BIG_SIZE // MIB and big["largest_chunk"] <= MIB
    # The official client sees the copy as a normal file.
    assert cluster.client().file("data://.my/Classifier/greeting.txt").getString() == TEXT

    dest_watch, source_watch = RequestWatch(cluster), RequestWatch(source_cluster)
    run, result = run_sync(run_playbook, keys, "Classifier", FILES)
    assert run.rc == 0, run.stdout
    assert result["changed"] is False
    assert [f["action"] for f in result["files"]] == ["skipped"] * 3
    assert all("manifest" in f["reason"] for f in result["files"])
    # The cheap path: listings only, no file content read on either side, nothing written.
    for name in source_files:
        assert file_reads(dest_watch, name) == [] and file_reads(source_watch, name) == []
    assert dest_watch.mutating() == [] and source_watch.mutating() == []


def test_recopy_when_the_destination_changed_behind_its_back(cluster, source_files, keys, run_playbook):
    files = FILES[:2]
    assert run_sync(run_playbook, keys, "Tampered", files)[1]["changed"] is True
    dest = cluster.client()
    # Same size, different bytes: only hashing can tell.
    dest.file("data://.my/Tampered/weights.bin").put(bytes(reversed(BINARY)))
    dest.file("data://.my/Tampered/greeting.txt").put("short")
    run, result = run_sync(run_playbook, keys, "Tampered", files)
    assert result["changed"] is True, run.stdout
    greeting, weights = result["files"]
    assert greeting["action"] == "copied" and greeting["reason"].startswith("size differs")
    assert weights["action"] == "copied" and weights["reason"] == "same size, different SHA-256"
    assert destination_sha(cluster, f"{cluster.user}/Tampered/weights.bin") == source_files["weights.bin"]
    assert dest.file("data://.my/Tampered/greeting.txt").getString() == TEXT
    assert run_sync(run_playbook, keys, "Tampered", files)[1]["changed"] is False


def test_lost_manifest_falls_back_to_hashing(cluster, source_files, keys, run_playbook):
    files = FILES[:2]
    assert run_sync(run_playbook, keys, "NoManifest", files)[1]["changed"] is True
    cluster.client().file(f"data://.my/NoManifest/{MANIFEST}").delete()
    watch = RequestWatch(cluster)
    run, result = run_sync(run_playbook, keys, "NoManifest", files)
    assert result["changed"] is False, run.stdout
    assert [f["reason"] for f in result["files"]] == ["same SHA-256"] * 2
    assert file_reads(watch, "weights.bin")  # compared by reading it
    assert [r["path"].rsplit("/", 1)[1] for r in watch.mutating()] == [MANIFEST]  # only the manifest rewritten
    run, result = run_sync(run_playbook, keys, "NoManifest", files)
    assert all("manifest" in f["reason"] for f in result["files"]), run.stdout


def test_missing_source_file_fails_before_any_write(cluster, source_cluster, source_files, keys, run_playbook):
    watch = RequestWatch(cluster)
    missing = "data://.my/models/nope.bin"
    run, result = run_sync(run_playbook, keys, "Missing", [FILES[0], missing])
    assert run.rc != 0 and result["failed"] is True
    msg = result["msg"]
    assert f"data://{source_cluster.user}/models/nope.bin" in msg and "no such file" in msg
    assert source_cluster.url in msg and "source" in msg
    assert watch.mutating() == []
    run, result = run_sync(run_playbook, keys, "Missing", ["data://.my/no_collection/x.bin"])
    assert "does not exist" in result["msg"], run.stdout


def test_wrong_source_key_is_reported_without_the_key(cluster, source_files, keys, run_playbook):
    wrong = "sim" + "Q" * 25
    run, result = run_sync(run_playbook, dict(keys, source_api_key=wrong), "WrongKey", FILES[:1])
    assert result["failed"] is True, run.stdout
    assert "401" in result["msg"] and "source key" in result["msg"] and "check source_api_key" in result["msg"]
    assert wrong not in json.dumps(result) and wrong not in run.stdout and wrong not in run.stderr


def test_failed_uploads_are_retried_from_a_fresh_download(cluster, source_files, keys, run_playbook):
    target = f"/v1/connector/data/{cluster.user}/Retried/weights.bin"
    faults = requests.put(f"{cluster.url}/localcluster/faults", headers={"Authorization": cluster.admin_key},
                          json={"rules": [{"kind": "drop", "path_prefix": target, "methods": ["PUT"], "times": 2}]},
                          timeout=30)
    assert faults.status_code == 200, faults.text
    try:
        run, result = run_sync(run_playbook, keys, "Retried", FILES[1:2])
    finally:
        requests.delete(f"{cluster.url}/localcluster/faults", headers={"Authorization": cluster.admin_key},
                        timeout=30)
    assert result["changed"] is True, run.stdout
    entry = result["files"][0]
    assert entry["transfer"]["attempts"] == 3
    assert destination_sha(cluster, f"{cluster.user}/Retried/weights.bin") == source_files["weights.bin"]
    # Nothing half-written is visible: the collection holds the file and the manifest only.
    listing = cluster.client().dir("data://.my/Retried").list()
    assert sorted(item.getName() for item in listing) == [MANIFEST, "weights.bin"]


def test_duplicate_file_names_fail_before_any_request(cluster, source_files, keys, run_playbook):
    files = ["data://.my/models/weights.bin", "data://.my/other/weights.bin"]
    run, result = run_sync(run_playbook, keys, "Dupes", files)
    assert result["failed"] is True and "each file needs its own name" in result["msg"], run.stdout


def removal_args(algorithm, files):
    # No source options: removing never contacts the source cluster.
    return {"algorithm": algorithm, "files": files, "state": "absent"}


def run_removal(run_playbook, keys, algorithm, files, *, check=False):
    run = run_playbook(play([task("Remove", "algo_data_sync", removal_args(algorithm, files))]),
                       extra_vars={"api_address": keys["api_address"], "api_key": keys["api_key"]},
                       args=["--check"] if check else [])
    return run, run.task("Remove")


def test_absent_deletes_only_the_copies_it_names_then_the_emptied_collection(cluster, source_cluster, source_files,
                                                                             keys, run_playbook):
    copied = FILES[:2]
    run, _result = run_sync(run_playbook, keys, "Removed", copied)
    assert run.rc == 0, run.stdout
    theirs = cluster.client().file(f"data://{cluster.user}/Removed/theirs.txt")
    theirs.put("not copied by the testbench")

    watch = RequestWatch(cluster)
    run, result = run_removal(run_playbook, keys, "Removed", copied, check=True)
    assert run.rc == 0 and result["changed"] is True and result["collection_removed"] is False, run.stdout
    assert [f["action"] for f in result["files"]] == ["deleted", "deleted"]
    assert watch.mutating() == []

    source_requests = len(source_cluster.request_log())
    run, result = run_removal(run_playbook, keys, "Removed", copied)
    assert run.rc == 0 and result["changed"] is True, run.stdout
    listing = {f.getName() for f in cluster.client().dir(f"data://{cluster.user}/Removed").files()}
    assert listing == {"theirs.txt"}  # the file the run did not copy stays; the emptied manifest is gone
    assert theirs.getString() == "not copied by the testbench" and result["collection_removed"] is False
    assert len(source_cluster.request_log()) == source_requests  # the source was never contacted

    run, result = run_removal(run_playbook, keys, "Removed", copied)
    assert run.rc == 0 and result["changed"] is False
    assert [f["action"] for f in result["files"]] == ["absent", "absent"]

    theirs.delete()
    run, _result = run_sync(run_playbook, keys, "Removed", copied[:1])
    run, result = run_removal(run_playbook, keys, "Removed", copied[:1])
    assert result["changed"] is True and result["collection_removed"] is True, run.stdout
    assert not cluster.client().dir(f"data://{cluster.user}/Removed").exists()


# Runs a command and prints its peak RSS. A forked child's high-water mark starts at its parent's
# size (the pages it shares before exec), so the module is started from this small launcher, not
# from pytest, which holds the big test file.
RSS_LAUNCHER = """
import json, os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    proc = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
    _pid, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}))
"""


def peak_rss(tmp_path, command):
    """``(output, peak RSS in bytes)`` of ``command``, read from wait4: no polling, no timing."""
    out_path = tmp_path / "out.txt"
    env = ansible_env({"PYTHONPATH": str(ROOT / ".collections")})
    launched = subprocess.run([sys.executable, "-c", RSS_LAUNCHER, str(out_path), *command], capture_output=True,
                              text=True, env=env, cwd=tmp_path, check=True)
    return out_path.read_text(), json.loads(launched.stdout)["maxrss_kib"] * 1024  # KiB on Linux


def module_peak_rss(tmp_path, args):
    """The module process alone, as Ansible runs it minus its wrapper (arguments in a 0600 file)."""
    ensure_collection_link()
    tmp_path.mkdir(parents=True)
    args_file = tmp_path / "args.json"
    fd = os.open(args_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    module = "ansible_collections.algorithmia.testbench.plugins.modules.algo_data_sync"
    output, rss = peak_rss(tmp_path, [sys.executable, "-m", module, str(args_file)])
    return json.loads(output), rss


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units are Linux's")
def test_big_file_memory_stays_flat(cluster, source_cluster, source_files, keys, tmp_path):
    base = {"api_address": cluster.url, "api_key": cluster.key, "source_api_address": source_cluster.url,
            "source_api_key": source_cluster.key}
    small, small_rss = module_peak_rss(tmp_path / "small", dict(base, algorithm="MemSmall", files=FILES[:1]))
    big, big_rss = module_peak_rss(tmp_path / "big", dict(base, algorithm="MemBig", files=FILES[2:]))
    assert small["changed"] is True and big["changed"] is True, (small, big)
    assert destination_sha(cluster, f"{cluster.user}/MemBig/big.bin") == source_files["big.bin"]
    # Copying (and verifying) 48 MiB costs the module less than a quarter of the file in memory...
    assert big_rss - small_rss < BIG_SIZE // 4, (small_rss, big_rss)
    # ...while the same measurement does see a process that holds the file whole.
    (tmp_path / "whole").mkdir()
    hold_it_all = f"data = b'x' * {BIG_SIZE}; print(len(data))"
    _out, whole_rss = peak_rss(tmp_path / "whole", [sys.executable, "-c", hold_it_all])
    assert whole_rss > BIG_SIZE, whole_rss
