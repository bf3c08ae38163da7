"""A project for the judge's playbook tests: an algorithm that sleeps as long as its payload says
(milliseconds), so a test's latency is its own choice and the machine's noise a small part of it,
and a workflow of one steady test on it."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.integration.playbook import ROOT

SLEEPY_SOURCE = '''import time


def apply(input):
    """Sleeps input milliseconds, then says so: a call whose latency the caller chooses."""
    time.sleep(float(input) / 1000.0)
    return "slept {0}".format(input)
'''
SLEEP_MS = 20
# 200 calls: p(95) and the judge (20 a side) have plenty; two at a time keep a run near 2 s.
TEST = {"name": "steady", "payload": SLEEP_MS, "timeout": 10, "calls": 200, "concurrency": 2}


def workflow(tests=None, source: str = "https://api.algorithmia.com") -> dict:
    return {"source_info": {"cluster_address": source},
            "test_info": {"entrypoint": "sleepy", "tests": tests or [TEST]},
            "algorithms": [{"name": "sleepy", "data_files": [], "environment": "python3", "test_payload": 1}]}


def write_project(directory: Path, document: dict | None = None) -> Path:
    """``workflows/judged.json`` and ``algorithms/sleepy/`` under ``directory``; the workflow's path."""
    source = directory / "algorithms" / "sleepy"
    (source / "src").mkdir(parents=True)
    (source / "src" / "__init__.py").write_text("")
    (source / "src" / "sleepy.py").write_text(SLEEPY_SOURCE)
    (source / "requirements.txt").write_text((ROOT / "algorithms" / "hello_world" / "requirements.txt").read_text())
    (directory / "workflows").mkdir()
    path = directory / "workflows" / "judged.json"
    path.write_text(json.dumps(document or workflow()))
    return path


def set_faults(cluster, *rules) -> None:
    requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)}, timeout=30,
                 headers={"Authorization": f"Simple {cluster.admin_key}"}, verify=cluster.ca_cert or True).raise_for_status()


def slower(cluster, latency_ms: int, algorithm: str = "sleepy") -> dict:
    """A fault rule: ``latency_ms`` more on every call of the algorithm (its call route only)."""
    return {"kind": "latency", "latency_ms": latency_ms, "path_prefix": f"/v1/algo/{cluster.user}/{algorithm}"}
