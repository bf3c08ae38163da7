# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action of the collection's modules: run the module as Ansible's ``normal`` action does
(in this worker when that is the same, ``in_process.py``), and while it runs, print a progress
line every ``PROGRESS_EVERY`` seconds.

Why not ``async`` + ``poll``: polling starts a Python process per check and per host (the
``async_status`` module), and its lines say only ``started=1 finished=0``; a short poll interval
floods the log, a long one makes every quick step wait for its first check. Here the module runs
once, as usual; a timer thread in this worker prints

    [prod-eu] algo_build_publish ImageThumbnailer: 20 s, the build of quality/ImageThumbnailer at 3f2a9c1e: in progress

only when the task is still running 10 s in, so quick steps print nothing. What the module is
doing comes from ``module_utils/progress.py``: when the module runs on the controller (local
connection), it writes its latest line to a private temporary file named in its environment.
The line names things, never values of options: nothing secret reaches the log, with no_log too.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import ENVIRONMENT
from ansible_collections.algorithmia.testbench.plugins.plugin_utils.in_process import eligible, run_in_process

display = Display()

PROGRESS_EVERY = 10.0
# The task argument that names what a module works on, for the progress line.
SUBJECT_ARGUMENTS = ("name", "algorithm")


class ProgressAction(ActionBase):
    """``normal`` plus progress lines; a module's action plugin is ``class ActionModule(ProgressAction)``."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = self._task.async_val and not self._connection.has_native_async
        here = eligible(self, task_vars)
        progress_file = None if wrap_async else self._progress_file(in_task_environment=not here)
        label = "[{0}] {1}{2}".format((task_vars or {}).get("inventory_hostname", "?"),
                                      self._task.action.split(".")[-1], self._subject())
        stop = threading.Event()
        ticker = threading.Thread(target=tick, args=(stop, label, progress_file), name="testbench-progress", daemon=True)
        ticker.start()
        try:
            if here:
                ran = run_in_process(self, task_vars, progress_file)
            else:
                ran = self._execute_module(task_vars=task_vars, wrap_async=wrap_async)
            result = merge_hash(result, ran)
        finally:
            stop.set()
            ticker.join()
            if progress_file:
                remove_quietly(progress_file)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _progress_file(self, in_task_environment=True):
        """A private file the module can write its progress to: only when it runs on this machine
        (named in the task's environment when the module runs in a process of its own)."""
        if self._connection.transport not in ("local", "ansible.builtin.local"):
            return None
        handle, path = tempfile.mkstemp(prefix="testbench-progress-", suffix=".txt")
        os.close(handle)
        if not in_task_environment:
            return path
        environment = self._task.environment
        environments = list(environment) if isinstance(environment, list) else ([environment] if environment else [])
        self._task.environment = environments + [{ENVIRONMENT: path}]
        return path

    def _subject(self):
        for argument in SUBJECT_ARGUMENTS:
            value = self._task.args.get(argument)
            if isinstance(value, str) and value:
                return " " + value
        return ""


def tick(stop, label, progress_file, every=PROGRESS_EVERY, clock=time.monotonic, show=display.display):
    """Until ``stop`` is set: every ``every`` seconds, ``label``, the time elapsed and the module's
    latest progress line."""
    started = clock()
    while not stop.wait(every):
        doing = read_progress(progress_file) or "still running"
        show("{0}: {1:.0f} s, {2}".format(label, clock() - started, doing))


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def read_progress(path, limit=300):
    """The module's latest progress line, or ``""``."""
    if not path:
        return ""
    try:
        with open(path, "r", encoding="utf-8") as stream:
            text = stream.read(limit + 1)
    except OSError:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
