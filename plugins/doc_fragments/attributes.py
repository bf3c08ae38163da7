# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Attribute descriptions shared by all modules; each module states its own support level."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the cluster.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation
        indicates no change.
"""

    # Modules that talk to a cluster are in the action group, so a play sets the connection once.
    ACTIONGROUP_CLUSTER = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/algorithmia.testbench.cluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - algorithmia.testbench.cluster
"""
