# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the collection waits for a cluster: poll with a deadline and a growing pause.

``Deadline`` is also the total deadline of one call's attempts (``retries.Attempts``).

Builds and environment syncs both take from seconds to many minutes; polling starts quickly
(a warm build is done in under a second) and backs off to one read every 5 s, so a long wait
costs a few reads a minute. Plain logic with an injectable clock, tested without a cluster.
"""

from __future__ import annotations

import time

from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import report_progress

FIRST_PAUSE = 0.5
PAUSE_GROWTH = 1.5
LONGEST_PAUSE = 5.0


class Deadline:
    """``seconds`` from now: ``wait()`` sleeps a little longer each time (0.5 s up to 5 s), never past the end."""

    def __init__(self, seconds, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self.seconds = seconds
        self._end = clock() + seconds
        self._pause = FIRST_PAUSE

    def expired(self):
        return self._clock() >= self._end

    def remaining(self):
        """Seconds left (0 once it has passed)."""
        return max(0.0, self._end - self._clock())

    def wait(self):
        remaining = self._end - self._clock()
        if remaining > 0:
            self._sleep(min(self._pause, remaining))
        self._pause = min(self._pause * PAUSE_GROWTH, LONGEST_PAUSE)


def poll(fetch, finished, deadline, describe=None):
    """Call ``fetch()`` until ``finished(value)`` or the deadline; the last value either way.

    ``describe(value)``: a line saying what is awaited and its state, reported as the task's
    progress (``progress.report_progress``) while it is not finished.
    """
    while True:
        value = fetch()
        if finished(value) or deadline.expired():
            return value
        if describe is not None:
            report_progress(describe(value))
        deadline.wait()
