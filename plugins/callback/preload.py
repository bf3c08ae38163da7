# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Import the collection's code once in ansible-playbook's own process (plugin_utils/preload.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Import the collection's modules and plugins once, before Ansible forks its workers
description:
  - Prints nothing. When a play starts, it imports the collection's modules, action and lookup plugins (and
    with them requests, urllib3 and the collection's module_utils) in ansible-playbook's own process.
  - Every worker Ansible forks for a task starts as a copy of that process, so no task of the collection pays
    for those imports again. On an unchanged re-run of a fleet, that saved about a quarter of the controller's CPU.
  - The collection's playbooks load it by themselves, from the C(callback_plugins) directory beside them. For a
    playbook of your own that uses the role, enable it in C(ansible.cfg) (see the examples).
author: Algorithmia testbench maintainers (@algorithmiaio)
version_added: 0.1.0
"""

EXAMPLES = r"""
# ansible.cfg of a project whose own playbooks use the role (the collection's playbooks need nothing)
# [defaults]
# callbacks_enabled = algorithmia.testbench.preload

# or for one run
# ANSIBLE_CALLBACKS_ENABLED=algorithmia.testbench.preload ansible-playbook site.yml -i clusters.ini
"""

import os

from ansible.plugins.callback import CallbackBase

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.preload import preload


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "algorithmia.testbench.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_play_start(self, play):
        loaded = preload()
        if loaded is not None:
            self._display.vvv("Imported the collection's modules and plugins in ansible-playbook's process (pid {0}) "
                              "for every worker{1}".format(os.getpid(), "; not imported (their tasks will say why): "
                                                           + ", ".join(loaded["failed"]) if loaded["failed"] else ""))
