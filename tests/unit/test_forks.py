"""The warning of a run with fewer forks than clusters: said by the first host only, with the fix."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.forks import forks_warning


def task_vars(host, hosts, forks):
    return {"inventory_hostname": host, "ansible_play_hosts_all": hosts, "ansible_forks": forks}


def test_fewer_forks_than_clusters_is_said_once_with_the_fix():
    hosts = ["c{0}".format(n) for n in range(16)]
    warning = forks_warning(task_vars("c0", hosts, 5))
    assert warning.startswith("This run checks 16 clusters, but Ansible runs at most 5 at a time (forks = 5)")
    assert "the other 11 wait" in warning and "Fix: run with --forks 16" in warning
    assert all(forks_warning(task_vars(host, hosts, 5)) is None for host in hosts[1:])


def test_enough_forks_or_no_figure_says_nothing():
    hosts = ["a", "b", "c"]
    assert forks_warning(task_vars("a", hosts, 3)) is None
    assert forks_warning(task_vars("a", hosts, 50)) is None
    assert forks_warning(task_vars("a", hosts, None)) is None
    assert forks_warning({}) is None


def test_one_cluster_waiting_is_said_in_the_singular():
    assert "the other one waits for a free fork" in forks_warning(task_vars("a", ["a", "b"], 1))
