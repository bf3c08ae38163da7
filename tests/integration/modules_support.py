"""Helpers for module tests: a play around one or more module calls, and the cluster's mutating requests."""

from __future__ import annotations

import time

import yaml

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


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
