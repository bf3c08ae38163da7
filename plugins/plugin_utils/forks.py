# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether Ansible's forks are fewer than the clusters of the run, and what to do about it.

Each destination cluster is a host, and Ansible runs a task on at most ``forks`` hosts at a time
(5 unless configured): with more clusters than forks, the clusters beyond them wait for a free
fork at every step, silently. Pure logic over the task's variables; the preflight's action says it.
"""

from __future__ import annotations


def forks_warning(task_vars):
    """The warning of a run with fewer forks than clusters, for the play's first host only (so it is
    said once), else None."""
    hosts = list(task_vars.get("ansible_play_hosts_all") or [])
    forks = task_vars.get("ansible_forks")
    if not hosts or task_vars.get("inventory_hostname") != hosts[0]:
        return None
    try:
        forks = int(forks)
    except (TypeError, ValueError):
        return None
    if forks >= len(hosts):
        return None
    waiting = len(hosts) - forks
    return ("This run checks {0} clusters, but Ansible runs at most {1} at a time (forks = {1}): the other {2} "
            "for a free fork at every step, so the run takes longer than its slowest cluster. Fix: run "
            "with --forks {0} (or set forks = {0} under [defaults] in ansible.cfg); each fork is a process "
            "on this controller (docs/usage.md, \"Sizing forks\").".format(
                len(hosts), forks, "one waits" if waiting == 1 else "{0} wait".format(waiting)))
