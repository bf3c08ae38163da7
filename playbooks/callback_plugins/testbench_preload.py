# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's callback algorithmia.testbench.preload, loaded by the playbooks beside it without
being enabled (Ansible loads a playbook's adjacent callback_plugins/ that do not need enabling): it
imports the collection's code once, before Ansible forks a worker per task and host."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.callback.preload import CallbackModule as PreloadCallback


class CallbackModule(PreloadCallback):
    CALLBACK_NAME = "testbench_preload"
    CALLBACK_NEEDS_ENABLED = False
