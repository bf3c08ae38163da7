"""Fewer forks than clusters: the run says so once, with the fix, as docs/usage.md ("Sizing forks")
shows it. That enough forks say nothing is tests/unit/test_forks.py's."""

from __future__ import annotations

import re

from tests.integration.docs_examples import assert_shown, usage_example
from tests.integration.playbook import run_playbook
from tests.integration.testbench_support import PLAYBOOK, destination, explain, output, write_inventory

# Ansible wraps a warning to the terminal's width: the warning is read with its whitespace joined.
WARNING = re.compile(r"\[WARNING\]: This run checks .*?\(docs/usage\.md, \"Sizing forks\"\)\.")


def test_fewer_forks_than_clusters_warns_once(cluster, tmp_path):
    hosts = {name: destination(cluster) for name in ("c1", "c2", "c3", "c4")}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {
        "testbench_workflows": ["hello_world"], "testbench_report_dir": str(tmp_path / "reports")})
    run = run_playbook(PLAYBOOK, tmp_path / "few", inventory=inventory, args=["--check", "--forks", "2"])
    assert run.rc == 0, explain(run)
    warnings = WARNING.findall(" ".join(output(run).split()))
    assert len(warnings) == 1, output(run)
    assert "4 clusters, but Ansible runs at most 2 at a time (forks = 2): the other 2 wait" in warnings[0]
    assert "Fix: run with --forks 4" in warnings[0]
    assert_shown(usage_example("forks"), warnings)
