# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: warm_linear
short_description: The linear strategy, with the collection's code loaded into the controller first
version_added: 0.1.0
description:
  - Runs the play exactly as P(ansible.builtin.linear#strategy) does.
  - Before the play, it imports the collection's modules, action plugins and lookups into the
    controller's main process, once. Every task's worker is forked from that process, so it
    inherits them instead of importing them again, and the collection's modules, which run in
    the task's worker (see the README), start at once. The playbooks set it on their first play,
    so every later play of the run gains from it.
author: Algorithmia testbench maintainers (@algorithmiaio)
"""

EXAMPLES = r"""
# The first play of a playbook that runs the collection's modules on many hosts
- name: Name this run
  hosts: localhost
  gather_facts: false
  strategy: algorithmia.testbench.warm_linear
  tasks:
    - name: Name this run
      ansible.builtin.set_fact:
        testbench_run_id: "{{ now(utc=true).strftime('%Y%m%dT%H%M%SZ') }}"
"""

from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.warm import warm_up


class StrategyModule(LinearStrategyModule):
    def run(self, iterator, play_context):
        warm_up()
        return super().run(iterator, play_context)
