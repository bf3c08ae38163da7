# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_lease runs as usual, with a progress line every 10 s while it lasts (plugin_utils/progress_action.py)."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.plugin_utils.progress_action import ProgressAction


class ActionModule(ProgressAction):
    pass
