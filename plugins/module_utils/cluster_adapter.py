# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One base, two adapters (after community.docker): modules and plugins share the client and
its errors; only the way a failure leaves differs. Modules end in ``fail_json`` (here),
plugins in ``AnsibleError`` (``plugin_utils/cluster_adapter.py``).
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    client_from_options,
    cluster_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClusterError


class ClusterAdapterBase:
    """Builds clients from option values and turns ``ClusterError`` into ``fail()``."""

    def fail(self, msg, **details):
        raise NotImplementedError

    def connect(self, options, prefix=""):
        """A client for the cluster the options (optionally ``prefix``-ed) describe."""
        if not HAS_REQUESTS:
            self.fail(missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        try:
            return client_from_options(options, prefix=prefix)
        except ClusterError as exc:
            self.fail(str(exc), error=exc.as_dict())
        return None  # not reached: fail() does not return

    @contextmanager
    def reporting(self, action, partial=None, clients=()):
        """Ends the task on an exception raised inside the ``with`` block.

        ``action`` says what was being done ("build and publish X"); ``partial`` is the result
        known so far: a dict, or a callable returning one, read when the failure happens (so
        work already done, such as files copied, is still reported). A ``ClusterError`` ends
        the task with its own message. Anything else is a bug: its text and traceback may hold
        option values, a key among them, and a module's failure is logged at -vvv, so the
        secrets of every client in ``clients`` are masked first.
        """
        try:
            yield
        except ClusterError as exc:
            self.fail(str(exc), error=exc.as_dict(), **_known(partial))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            def redact(text):
                for client in clients:
                    text = client.redact(text)
                return text

            self.fail("Failed to {0}: {1}: {2}".format(action, type(exc).__name__, redact(str(exc))),
                      exception=redact(traceback.format_exc()), **_known(partial))


class ModuleClusterAdapter(ClusterAdapterBase):
    """For modules: failures become ``fail_json`` (the key is never part of the result)."""

    def __init__(self, module):
        self.module = module

    def fail(self, msg, **details):
        self.module.fail_json(msg=msg, **details)


def _known(partial):
    if callable(partial):
        return partial()
    return dict(partial or {})


def cluster_module(argument_spec=None, **kwargs):
    """An ``AnsibleModule`` with the shared connection options merged into its spec.

    The module's own ``argument_spec`` wins on a name clash, so a module can tighten an option.
    """
    spec = cluster_argument_spec()
    spec.update(argument_spec or {})
    return AnsibleModule(argument_spec=spec, **kwargs)
