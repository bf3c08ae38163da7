"""A warm echo algorithm on a localcluster started on a free port, for the driver benchmarks.

``echo_endpoint(workdir)`` starts localcluster, creates a user, deploys ``Echo`` (its ``apply``
returns its input) as ``bench.localcluster_calls`` does, warms it with a few calls, and yields an
``EchoEndpoint``: the cluster URL, the key, and the algorithm's ``owner/name/<git hash>``.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.localcluster_calls import BenchCluster, echo_files
from localcluster.process import LocalClusterProcess
from tests.localcluster.execution_support import deploy

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = {"text": "hello", "numbers": list(range(20))}
WARMUP_CALLS = 20


@dataclass
class EchoEndpoint:
    proc: LocalClusterProcess
    url: str
    key: str
    owner: str
    name: str
    version: str  # the git hash of the build

    @property
    def path(self) -> str:
        return f"/v1/algo/{self.owner}/{self.name}/{self.version}"

    @property
    def call_url(self) -> str:
        return self.url + self.path

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Simple {self.key}", "Content-Type": "application/json"}

    def call(self, payload=None) -> dict:
        response = requests.post(self.call_url, data=json.dumps(PAYLOAD if payload is None else payload),
                                 headers=self.headers, timeout=60)
        response.raise_for_status()
        return response.json()


@contextmanager
def echo_endpoint(workdir: Path, name: str = "Echo"):
    """Yields a warm ``EchoEndpoint``; the cluster and its workers are stopped on exit."""
    proc = LocalClusterProcess(workdir / "cluster").start()
    try:
        key = proc.create_user("bench")
        cluster = BenchCluster(proc, "bench", key)
        owner, algo, version = deploy(cluster, name, echo_files(name), workdir).split("/")
        endpoint = EchoEndpoint(proc, proc.url, key, owner, algo, version)
        for _call in range(WARMUP_CALLS):
            answer = endpoint.call()
            if answer.get("result") != PAYLOAD:
                raise RuntimeError(f"the echo algorithm answered {answer!r}")
        yield endpoint
    finally:
        proc.stop()


def collection_env() -> dict:
    """The environment to run a module of this checkout as Ansible runs it: its Python finds
    ``ansible_collections.algorithmia.testbench`` (the checkout, linked as ``make collections-link``
    does) and no machine-wide CA bundle overrides the module's own settings."""
    link = ROOT / ".collections" / "ansible_collections" / "algorithmia" / "testbench"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../.."))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / ".collections"), str(ROOT)])
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.pop("CURL_CA_BUNDLE", None)
    return env


def module_command(module: str, args_file: Path) -> list[str]:
    """The command that runs ``plugins/modules/<module>.py`` with its arguments in ``args_file``
    (``{"ANSIBLE_MODULE_ARGS": {...}}``), as Ansible's module debugging path does: the same
    module code, module_utils and AnsibleModule as under ansible-playbook, in one process."""
    return [sys.executable, str(ROOT / "plugins" / "modules" / f"{module}.py"), str(args_file)]
