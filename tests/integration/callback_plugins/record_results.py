# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only callback: every task result and the final stats, as one JSON file.

ansible-core has no JSON callback of its own (it lives in ansible.posix), and we want the
normal human-readable output too (tests read it for secrets), so this writes beside it to
the file named by ``TESTBENCH_RESULTS_FILE``.

A result goes to the task it is a result of (by the task's id), not to the task started last: under
strategy free, hosts run different tasks at once, and each host's start of a task is announced.
Each task's ``timing`` holds, per host, when its run of the task started and ended (``time.time()``
in this process, as the results arrive: a test can bound how long a step took).
"""

from __future__ import annotations

DOCUMENTATION = """
    name: record_results
    type: aggregate
    short_description: write task results to a JSON file (tests only)
    description: Writes plays, tasks, per-host results and stats to TESTBENCH_RESULTS_FILE.
    requirements: [TESTBENCH_RESULTS_FILE in the environment]
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plays = []
        self.by_task = {}  # task id -> its entry in the current play
        self.started = {}  # (task id, host) -> when the host started the task

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})
        self.by_task = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        if task._uuid not in self.by_task:
            self.by_task[task._uuid] = {"task": {"name": task.get_name()}, "hosts": {}}
            self.plays[-1]["tasks"].append(self.by_task[task._uuid])

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_start(self, host, task):
        self.started[(task._uuid, host.get_name())] = time.time()

    def _record(self, result, **status):
        record = dict(result._result)
        record.update(status)
        entry = self.by_task.get(result._task._uuid) or self.plays[-1]["tasks"][-1]
        host = result._host.get_name()
        entry["hosts"][host] = record
        entry.setdefault("timing", {})[host] = {"start": self.started.get((result._task._uuid, host)), "end": time.time()}

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True, ignored=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        path = os.environ.get("TESTBENCH_RESULTS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as stream:
                json.dump({"plays": self.plays, "stats": summary}, stream, default=str)
