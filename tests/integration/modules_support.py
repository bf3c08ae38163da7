"""Helpers for module tests: a play around one or more module calls, and the cluster's mutating requests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# An algorithm that answers its input, and fails on an input starting with "refuse ".
ECHO_SOURCE = '''def apply(input):
    if isinstance(input, str) and input.startswith("refuse "):
        raise Exception("refused the input " + input)
    return input
'''


def echo_template(parent: Path) -> Path:
    """A template directory ``<parent>/Echo/`` of the echo algorithm."""
    directory = parent / "Echo"
    (directory / "src").mkdir(parents=True)
    (directory / "src" / "__init__.py").write_text("")
    (directory / "src" / "Echo.py").write_text(ECHO_SOURCE)
    (directory / "requirements.txt").write_text("algorithmia>=2.0,<3\n")
    return directory


def run_module(module, args: dict, capsys) -> dict:
    """Run a module's main() in this process as Ansible would; its JSON result.

    As in a module's own process: once any test of this worker has imported Ansible's controller
    code, ``module_utils`` believes it runs on the controller and hands warnings to the display
    instead of the result, so that flag is off while the module runs."""
    from ansible.module_utils import _internal

    capsys.readouterr()
    on_controller, _internal.is_controller = _internal.is_controller, False
    try:
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
    finally:
        _internal.is_controller = on_controller
    return json.loads(capsys.readouterr().out)


def play(tasks: list[dict], *, api_key_var: str = "api_key", extra_defaults: dict | None = None) -> str:
    """A one-play playbook on the controller; the connection comes from module_defaults.

    Keys are variables (from the 0600 vars file), never literals in the playbook.
    """
    defaults = {"api_address": "{{ api_address }}", "api_key": "{{ %s }}" % api_key_var}
    defaults.update(extra_defaults or {})
    return yaml.safe_dump([{
        "name": "Module test",
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": {"group/algorithmia.testbench.cluster": defaults},
        "tasks": tasks,
    }], sort_keys=False)


def task(title: str, module: str, args: dict) -> dict:
    return {"name": title, f"algorithmia.testbench.{module}": args}


class RequestWatch:
    """What reached a cluster since the watch started (its request log is append-only)."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.start = len(cluster.request_log())

    def requests(self) -> list[dict]:
        return self.cluster.request_log()[self.start:]

    def mutating(self) -> list[dict]:
        return [r for r in self.requests() if r["method"] in MUTATING]


def logged(cluster, method, path, at_least=0):
    """Statuses of the cluster's requests ``method path``; waits (bounded) for ``at_least`` of them:
    a dropped request is logged only once the server has cleaned it up, maybe after our next call."""
    for _wait in range(100):
        statuses = [entry["status"] for entry in cluster.request_log()
                    if entry["method"] == method and entry["path"] == path]
        if len(statuses) >= at_least:
            break
        time.sleep(0.02)
    return statuses
