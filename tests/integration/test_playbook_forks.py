"""Fewer forks than clusters: the run says so once, with the fix (docs/usage.md, "Sizing forks").
That enough forks say nothing is tests/unit/test_forks.py's."""

from __future__ import annotations

from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, output, write_inventory

WARNING = "This run checks 3 clusters, but Ansible runs at most 2 at a time (forks = 2)"


def test_fewer_forks_than_clusters_warns_once(cluster, tmp_path):
    hosts = {name: destination(cluster) for name in ("c1", "c2", "c3")}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {
        "testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp_path / "reports")})
    few = run_playbook(PLAYBOOK, tmp_path / "few", inventory=inventory, args=["--check", "--forks", "2"])
    assert few.rc == 0, explain(few)
    text = " ".join(output(few).split())  # the warning is wrapped to the terminal's width
    assert text.count(WARNING) == 1, output(few)
    assert "Fix: run with --forks 3" in text
