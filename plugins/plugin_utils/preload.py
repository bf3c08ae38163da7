# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Import the collection's modules, action and lookup plugins once, in ansible-playbook's own process.

Ansible forks a worker for every task of every host, and a worker starts as a copy of the main
process: what the main process has imported, every worker has for free; what it has not, each
worker imports again (and the collection loader compiles a collection's Python from its source
each time: it keeps no bytecode). The collection's modules run inside their worker
(``in_process.py``), so every one of those tasks paid for importing ssl, urllib3, requests and the
module's module_utils, about 0.1 s of CPU: a quarter of the controller's CPU on an unchanged re-run of
a fleet (bench/fleet.py). ``preload`` imports all of them, and compiles each module once for
``in_process.run_as_main``, before the first worker is forked; the callback plugin
``algorithmia.testbench.preload`` calls it when a play starts.

Importing a module file runs only its top level (imports and its documentation strings): a module's
``main()`` runs only as ``__main__``. A plugin that cannot be imported here is left to its worker,
which reports the error where it belongs: on its task.
"""

from __future__ import annotations

import importlib
import os

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.in_process import COLLECTION_MODULES, module_code

PACKAGE = "ansible_collections.algorithmia.testbench.plugins"
# the plugin types whose code runs in workers, by directory under plugins/
KINDS = ("modules", "action", "lookup")

_done = []


def plugin_names(kind, plugins_dir=None):
    """The import names of the collection's plugins of one kind (a directory under plugins/)."""
    plugins_dir = plugins_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        files = sorted(os.listdir(os.path.join(plugins_dir, kind)))
    except OSError:
        return []
    return ["{0}.{1}.{2}".format(PACKAGE, kind, name[:-3]) for name in files
            if name.endswith(".py") and not name.startswith("_")]


def preload(import_module=importlib.import_module):
    """Import every module, action and lookup plugin of the collection, once per process: None when
    done before, else ``{"imported": [...], "failed": [...]}`` (the import names; a failed one's
    worker will say why)."""
    if _done:
        return None
    _done.append(True)
    imported, failed = [], []
    for kind in KINDS:
        for name in plugin_names(kind):
            try:
                import_module(name)
                if name.startswith(COLLECTION_MODULES):
                    module_code(name[len(COLLECTION_MODULES):])  # what in_process.run_as_main runs
            except Exception:  # pylint: disable=broad-except
                failed.append(name)
            else:
                imported.append(name)
    return {"imported": imported, "failed": failed}
