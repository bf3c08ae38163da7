"""The ratchet end to end, on two destination clusters (alpha and beta) in one inventory.

Six runs record a history on both: the first through the playbook (which also creates, builds
and publishes hello_world), the next five through algo_benchmark directly, with the arguments the
role gives it (same cluster, workflow, test and load: the same history files), which is quicker.
A seventh playbook run with 100 ms of latency injected on alpha's algorithm calls fails alpha
only, naming the metric and both figures; beta passes. A run with testbench_accept_baseline on
alpha records the new level, and the next run, the latency still injected, passes on alpha.

The figures of every run are printed (pytest -s) to judge the noise the defaults absorb.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
import yaml

from tests.collection import ensure_importable
from tests.integration.playbook import ROOT, run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, failure_messages, summary, write_inventory

# Enough calls for p(95) to mean something (it needs 20) and to be steady on a loaded machine; two
# at a time keep the runs with 100 ms injected short.
TEST = {"name": "steady", "payload": "Algorithmia", "timeout": 10, "calls": 60, "concurrency": 2}
WORKFLOW = {
    "source_info": {"cluster_address": "https://api.algorithmia.com"},
    "test_info": {"entrypoint": "hello_world", "tests": [TEST]},
    "algorithms": [{"name": "hello_world", "data_files": [], "environment": "python3", "test_payload": "Algorithmia"}],
}
FORKS = ["--forks", "1"]
P95 = "latency p(95)"
P50 = "server p(50)"


def ms(value: float) -> str:
    """Milliseconds as the ratchet's messages write them."""
    ensure_importable()
    from ansible_collections.algorithmia.testbench.plugins.module_utils.ratchet import ms as shown

    return shown(value)


def set_faults(cluster, *rules):
    requests.put(f"{cluster.url}/localcluster/faults", json={"rules": list(rules)}, timeout=30,
                 headers={"Authorization": f"Simple {cluster.admin_key}"}).raise_for_status()


def module_runs(run_ids: list[str]) -> str:
    """algo_benchmark on every destination, once per run id, as tasks/benchmark.yml calls it."""
    return yaml.safe_dump([{
        "name": "Benchmark with the ratchet, as the role does",
        "hosts": "destinations",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [{
            "name": "Benchmark",
            "algorithmia.testbench.algo_benchmark": {
                "api_address": "{{ testbench_api_address }}", "api_key": "{{ testbench_api_key }}",
                "algorithm": "hello_world", "tests": [TEST], "cluster_name": "{{ inventory_hostname }}",
                "workflow": "ratchet", "history_dir": "{{ inventory_dir }}/history", "run_id": "{{ item }}"},
            "loop": run_ids,
            "no_log": True,
        }],
    }], sort_keys=False)


def history(tmp, host: str) -> list[dict]:
    files = list((tmp / "history" / host / "ratchet").glob("steady-*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())["runs"]


def verdicts(reports) -> dict:
    """Per cluster: its verdict, with the ratchet of test "steady"."""
    clusters = {c["cluster"]: c for c in summary(reports)["clusters"]}
    for verdict in clusters.values():
        verdict["steady"] = verdict["ratchet"]["ratchet"]["steady"]
    return clusters


def show(label: str, clusters: dict) -> None:
    for host, verdict in sorted(clusters.items()):
        figures = verdict["steady"]["metrics"]
        print(f"{label} {host}: {verdict['steady']['status']}; " + "; ".join(
            f"{name} {m['current']} ms (level {m['level']}, upper {m['upper']}, {m['runs']} runs)"
            for name, m in sorted(figures.items())))


@pytest.fixture(scope="module")
def project(cluster, source_cluster, tmp_path_factory):
    """The inventory (alpha, beta) and the ratchet workflow, with hello_world's template beside it."""
    tmp = tmp_path_factory.mktemp("ratchet")
    (tmp / "workflows").mkdir()
    (tmp / "workflows" / "ratchet.json").write_text(json.dumps(WORKFLOW))
    (tmp / "algorithms").mkdir()
    (tmp / "algorithms" / "hello_world").symlink_to(ROOT / "algorithms" / "hello_world")
    hosts = {"alpha": destination(cluster), "beta": destination(source_cluster)}
    group = {"testbench_workflows": [str(tmp / "workflows" / "ratchet.json")], "testbench_report_dir": str(tmp / "reports")}

    def inventory(**alpha_vars):
        return write_inventory(tmp / "inventory.yml", dict(hosts, alpha=dict(hosts["alpha"], **alpha_vars)), group)

    return tmp, inventory


def test_a_regression_fails_only_its_cluster_until_its_new_level_is_accepted(project, cluster, source_cluster):
    tmp, inventory = project
    reports = tmp / "reports"

    # 1-6: a history on both clusters (the history directory is the default: beside the inventory)
    first = run_playbook(PLAYBOOK, tmp / "run1", inventory=inventory(), args=FORKS)
    assert first.rc == 0, explain(first)
    show("run 1", verdicts(reports))
    assert {v["steady"]["status"] for v in verdicts(reports).values()} == {"baseline"}
    more = run_playbook(module_runs([f"module-run-{n}" for n in range(2, 7)]), tmp / "runs2-6", inventory=inventory(), args=FORKS)
    assert more.rc == 0, explain(more)
    for host in ("alpha", "beta"):
        runs = history(tmp, host)
        assert len(runs) == 6 and [run["baseline"] for run in runs] == [True] + [False] * 5, runs
        assert set(runs[-1]["metrics"]) == {P95, P50} and runs[-1]["curve"]["p(95)"] > 0, runs[-1]
        print(f"history {host}: " + " | ".join(json.dumps(run["curve"]) for run in runs))

    # 7: 100 ms more on every call of alpha's algorithm; beta unchanged
    set_faults(cluster, {"kind": "latency", "latency_ms": 100, "path_prefix": f"/v1/algo/{cluster.user}/hello_world/"})
    try:
        seventh = run_playbook(PLAYBOOK, tmp / "run7", inventory=inventory(), args=FORKS)
        clusters = verdicts(reports)
        show("run 7", clusters)
        assert seventh.rc != 0, explain(seventh)
        assert seventh.stats["alpha"]["failures"] == 1 and seventh.stats["beta"]["failures"] == 0, explain(seventh)
        alpha, beta = clusters["alpha"], clusters["beta"]
        assert beta["passed"] is True and beta["steady"]["status"] in ("ok", "improved"), beta
        assert alpha["passed"] is False and alpha["steady"]["status"] == "regressed", alpha
        figures = alpha["steady"]["metrics"][P95]
        assert figures["current"] > figures["level"] + 90, figures
        expected = f"regressed: latency p(95) {ms(figures['level'])} ms -> {ms(figures['current'])} ms"
        message = alpha["workflows"][0]["message"]
        assert expected in message and "accept_baseline" in message, message
        assert expected in "\n".join(failure_messages(seventh, "alpha"))
        assert "alpha: failed at step benchmark hello_world of workflow ratchet:" in seventh.stdout
        assert re.search(r'test "steady": FAILED \(60 calls, p50 [\d.]+ ms\); ratchet regressed: latency p\(95\)',
                         seventh.stdout), seventh.stdout[-3000:]
        assert "beta: passed (ratchet)" in seventh.stdout
        assert alpha["steady"]["recorded"] is False and len(history(tmp, "alpha")) == 6
        assert beta["steady"]["recorded"] is True and len(history(tmp, "beta")) == 7

        # 8: alpha's new level accepted on purpose (its host var only)
        accepted = run_playbook(PLAYBOOK, tmp / "run8", inventory=inventory(testbench_accept_baseline=True), args=FORKS)
        clusters = verdicts(reports)
        show("run 8", clusters)
        assert accepted.rc == 0, explain(accepted)
        assert clusters["alpha"]["steady"]["status"] == "accepted" and clusters["alpha"]["steady"]["recorded"]
        assert clusters["beta"]["steady"]["status"] in ("ok", "improved")
        runs = history(tmp, "alpha")
        assert len(runs) == 7 and runs[-1]["baseline"] is True and runs[-1]["metrics"][P95] > 100, runs[-1]
        assert len(history(tmp, "beta")) == 8

        # 9: the same latency is now alpha's level: it passes (warming up from the new baseline)
        after = run_playbook(PLAYBOOK, tmp / "run9", inventory=inventory(), args=FORKS)
        clusters = verdicts(reports)
        show("run 9", clusters)
        assert after.rc == 0, explain(after)
        assert clusters["alpha"]["steady"]["status"] == "warming", clusters["alpha"]["steady"]
        assert clusters["alpha"]["steady"]["metrics"][P95]["runs"] == 1
        assert len(history(tmp, "alpha")) == 8 and len(history(tmp, "beta")) == 9
    finally:
        set_faults(cluster)
