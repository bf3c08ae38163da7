# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a long-running module is doing now, for the progress lines of its action plugin.

A module prints nothing until it ends, and a build wait, an environment sync or a benchmark can
last minutes: an AWX job log would stand still. The collection's action plugins
(``plugin_utils/progress_action.py``) name a file in ``TESTBENCH_PROGRESS_FILE`` when the module
runs on the controller; the module writes one line there (``report_progress("build 3f2a9c1e:
in progress")``) and the action plugin shows it every 10 s with the time elapsed. Without the
variable (a remote host, a test calling the module directly), reporting does nothing.

Lines are written at most once a second, by a rename (a reader never sees half a line), and
must never hold a key: callers write what they composed (names, states, counts), never a
server's text.
"""

from __future__ import annotations

import os
import threading
import time

ENVIRONMENT = "TESTBENCH_PROGRESS_FILE"
MIN_INTERVAL_S = 1.0


class ProgressFile:
    """Writes the latest progress line to ``path`` (nothing when ``path`` is None)."""

    def __init__(self, path, clock=time.monotonic, min_interval_s=MIN_INTERVAL_S):
        self.path = path
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._last_write = None
        self._lock = threading.Lock()

    def __call__(self, text, force=False):
        if not self.path:
            return False
        with self._lock:  # benchmark calls report from many threads
            now = self._clock()
            if not force and self._last_write is not None and now - self._last_write < self._min_interval_s:
                return False
            self._last_write = now
            partial = "{0}.{1}.tmp".format(self.path, os.getpid())
            try:
                with open(partial, "w", encoding="utf-8") as stream:
                    stream.write(" ".join(str(text).split()))
                os.replace(partial, self.path)
            except OSError:
                return False  # progress is a courtesy: never fail the task over it
            return True


report_progress = ProgressFile(os.environ.get(ENVIRONMENT))
