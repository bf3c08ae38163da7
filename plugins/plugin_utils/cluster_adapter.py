# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin side of the client's two adapters: failures raise ``AnsibleError``."""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_adapter import ClusterAdapterBase


class PluginClusterAdapter(ClusterAdapterBase):
    """For lookup, filter and inventory plugins running on the controller."""

    def fail(self, msg, **details):
        raise AnsibleError(msg)
