# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""algo_preflight runs as usual, with a progress line every 10 s while it lasts (plugin_utils/progress_action.py).

It also warns, once for the play, when Ansible's forks are fewer than the clusters of the run
(plugin_utils/forks.py): the preflight is the first task that works on every cluster. The warning
is displayed here, not returned, since the task's result is hidden (no_log).
"""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.forks import forks_warning
from ansible_collections.algorithmia.testbench.plugins.plugin_utils.progress_action import ProgressAction

display = Display()


class ActionModule(ProgressAction):

    def run(self, tmp=None, task_vars=None):
        warning = forks_warning(task_vars or {})
        if warning:
            display.warning(warning)
        return super().run(tmp, task_vars)
