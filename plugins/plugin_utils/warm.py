# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load the collection's code once into the controller's main process, before its workers fork.

Ansible runs each task of each host in a worker forked from its main process for that task alone.
Whatever the worker imports dies with it: a module run in the worker (``in_process.py``) imported
requests, dulwich and the collection's module_utils again for every task, and Ansible compiles a
collection's Python from source on every import. That was a third of the controller's CPU in a
run of four clusters. Imported here, in the main process, every later worker inherits them.

Nothing here may stop a run: whatever fails to load is loaded by its task as before, which then
reports the error as usual.
"""

from __future__ import annotations

import importlib
import os

from ansible.plugins.loader import action_loader, lookup_loader
from ansible.utils.display import Display

COLLECTION = "algorithmia.testbench"
PACKAGE = "ansible_collections.algorithmia.testbench"
MODULES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules")
LOOKUPS = ("workflow",)

display = Display()


def module_names():
    return sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and not name.startswith("_"))


def warm_up():
    """Import every module of the collection (not run: its ``main()`` is not called), its action
    plugin and the lookups, once per process."""
    for name in module_names():
        try:
            importlib.import_module("{0}.plugins.modules.{1}".format(PACKAGE, name))
            action_loader.get("{0}.{1}".format(COLLECTION, name), class_only=True)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            display.vvv("algorithmia.testbench: {0} not loaded ahead: {1}".format(name, exc))
    for name in LOOKUPS:
        try:
            lookup_loader.get("{0}.{1}".format(COLLECTION, name), class_only=True)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            display.vvv("algorithmia.testbench: lookup {0} not loaded ahead: {1}".format(name, exc))
