# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one of the collection's modules inside the task's worker, when that is the same as a new process.

The collection's modules talk to clusters over HTTP and always run on the controller (connection
local). Run the usual way, each task starts a new Python process that unpacks the module and
compiles ansible's module_utils and ours from the zipped payload: about half a second of CPU
per task, most of the controller's work per cluster (a run of four clusters on two cores waits
on it). The worker Ansible forked for the task is already a Python process of the same
interpreter, with ansible imported, so when the module would run on exactly this interpreter on
this machine, ``run_in_process`` runs it here: the same module code, handed the same arguments
(``_update_module_args``, the module profile's JSON encoding) through ``AnsibleModule``'s own
entry, its printed JSON parsed as the normal action parses a module's output. The worker is a
fork made for this one task, so what the module leaves behind (imports, threads, its exit) ends
with it.

Anything else (another connection, async, a task ``environment``, another interpreter) is not
``eligible``, and the caller runs the module the usual way.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import json
import os
import sys
import types

from ansible.module_utils import basic
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

from ansible_collections.algorithmia.testbench.plugins.module_utils import progress

LOCAL = ("local", "ansible.builtin.local")
# The serialization profile Ansible gives a module that declares none (all of ours).
PROFILE = "legacy"
COLLECTION_MODULES = "ansible_collections.algorithmia.testbench.plugins.modules."

display = Display()

# module name -> (its compiled code, its file): compiled once per process (plugin_utils/preload.py
# fills it in ansible-playbook's own process, before the workers are forked)
_CODE = {}


def same_interpreter(action, task_vars):
    """Whether the task's Python interpreter is the one running this worker."""
    configured = (task_vars or {}).get("ansible_python_interpreter")
    if not configured:
        return False  # interpreter discovery: it may pick another Python
    interpreter = action._templar.template(configured)  # pylint: disable=protected-access
    if not isinstance(interpreter, str) or not os.path.isabs(interpreter):
        return False
    return os.path.realpath(interpreter) == os.path.realpath(sys.executable)


def eligible(action, task_vars):
    """Whether the task's module would run on this machine, in this interpreter, with this environment."""
    task = action._task  # pylint: disable=protected-access
    connection = action._connection  # pylint: disable=protected-access
    environment = task.environment if isinstance(task.environment, list) else [task.environment]
    return (connection.transport in LOCAL and not task.async_val and not any(environment)
            and task.action.startswith("algorithmia.testbench.") and same_interpreter(action, task_vars))


def run_in_process(action, task_vars, progress_file=None):
    """The module's result, run in this worker (only when ``eligible``); its progress lines go to
    ``progress_file`` (in a process of its own, the module finds it in its environment when it
    imports module_utils/progress.py: here that was imported already)."""
    task = action._task  # pylint: disable=protected-access
    module_args = dict(task.args)
    action._update_module_args(task.action, module_args, task_vars)  # pylint: disable=protected-access
    module_args["_ansible_tmpdir"] = None  # no remote temporary directory was made for it
    encoded = json.dumps({"ANSIBLE_MODULE_ARGS": module_args},
                         cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode()
    progress.report_progress.path = progress_file
    printed = io.StringIO()
    # where Ansible says "Using module file ..." for a module run in a process of its own
    display.vvv("Running module {0} in this worker ({1}, pid {2})".format(task.action, sys.executable, os.getpid()))
    basic._ANSIBLE_ARGS = encoded  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = PROFILE  # pylint: disable=protected-access
    # What this worker inherited from ansible-playbook is never garbage of the module's: frozen, the
    # collector leaves it alone (a full collection would walk, and copy on write, all of it).
    gc.freeze()
    with contextlib.redirect_stdout(printed):
        try:
            run_as_main(task.action.rsplit(".", 1)[-1])
        except SystemExit:
            pass  # exit_json and fail_json end the module this way, after printing its result
    result = action._parse_returned_data(  # pylint: disable=protected-access
        {"rc": 0, "stdout": printed.getvalue(), "stderr": ""}, PROFILE)
    remove_internal_keys(result)
    return result


def module_code(name):
    """The compiled code of the collection's module ``name`` and its file, once per process."""
    if name not in _CODE:
        spec = importlib.util.find_spec(COLLECTION_MODULES + name)
        if spec is None or spec.loader is None:
            raise ImportError("no module named {0}{1}".format(COLLECTION_MODULES, name))
        _CODE[name] = (spec.loader.get_code(spec.name), spec.origin)
    return _CODE[name]


def run_as_main(name):
    """Run the collection's module ``name`` as ``__main__``, as ``runpy.run_module`` with ``alter_sys``
    does, from its code compiled once (runpy compiles it again each time, and warns when the module
    was imported before, as ``preload.py`` does)."""
    code, origin = module_code(name)
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=origin, __package__=COLLECTION_MODULES.rstrip("."))
    saved_main = sys.modules.get("__main__")
    saved_argv0 = sys.argv[0] if sys.argv else None
    sys.modules["__main__"] = main
    if sys.argv:
        sys.argv[0] = origin
    try:
        exec(code, main.__dict__)  # pylint: disable=exec-used
    finally:
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        if sys.argv:
            sys.argv[0] = saved_argv0
