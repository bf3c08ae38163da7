# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``ClusterModule``: an ``AnsibleModule`` that talks to clusters, and the one way its task fails.

Every module of the collection is shaped the same way::

    module = ClusterModule(own_options, supports_check_mode=True)
    with module.reporting("build and publish hello", partial=lambda: work.result):
        client = module.connect()          # connect
        result = work.run(client)          # plan, act
    module.exit_json(**result)             # report

Whatever ends the task early leaves through ``reporting()``: a ``ClusterError`` (a call failed),
a ``TaskFailed`` (the module explains the failure itself) or any other exception (a bug). Each
becomes ``fail_json`` with the work done so far, and every text in it (message, facts,
traceback) has the key of every client the module connected masked the same way.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    client_from_options,
    cluster_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClusterError, TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.lease import LeaseKeeper
from ansible_collections.algorithmia.testbench.plugins.module_utils.run_record import open_record


class ClusterModule:
    """The shared connection options merged into the module's own ``argument_spec`` (the
    module's own wins on a name clash, so it can tighten an option), clients made from them,
    and ``reporting()``."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = cluster_argument_spec()
        spec.update(argument_spec or {})
        self.ansible = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff
        self._clients = []
        self._shared = {}
        self._keeper = None  # renews the run's lease while the task works (lease option)

    def connect(self, prefix="", options=None):
        """A client for the cluster the options describe (``prefix="source_"``: the source cluster's;
        ``options``: other values than the module's parameters, such as another source address).

        Unusable values raise ``ClientConfigError`` before anything is sent. The client is
        closed, and its key masked in every failure, by the ``reporting()`` block around this call.
        """
        if not HAS_REQUESTS:
            raise TaskFailed(missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        client = client_from_options(self.params if options is None else options, prefix=prefix)
        self._clients.append(client)
        if not prefix and self.params.get("lease") and not self.check_mode and self._keeper is None:
            # a client of the keeper's own: requests' sessions are not for two threads at once
            keeper_client = client_from_options(self.params)
            self._clients.append(keeper_client)
            self._keeper = LeaseKeeper(keeper_client, self.params["lease"]).start()
        return client

    def shared_client(self, prefix, options):
        """One client per cluster and role (``prefix``) for every step of this task (``step()``): the
        steps reuse its connections instead of opening their own. The source's client stays apart
        from the destination's even on one cluster: a data sync reads both at once, in two threads."""
        names = ("api_address", "api_key", "ca_cert", "validate_certs", "timeout")
        key = (prefix,) + tuple(options.get(prefix + name) for name in names)
        if key not in self._shared:
            self._shared[key] = self.connect(prefix, options)
        return self._shared[key]

    def step(self, label, options, values, **constraints):
        """A ``StepModule`` for one step of a module that runs several (algo_deploy).

        ``options`` is the argument spec of the module the step is (algo_create's, say), merged with
        the cluster's; ``values`` are checked against it exactly as that module's task would check
        them (types, defaults, choices, ``constraints``), with those that are None or not among its
        options left out, as a task omits them. Bad values raise ``TaskFailed`` naming
        ``label`` (which algorithm) before anything is sent.
        """
        spec = cluster_argument_spec()
        spec.update(options)
        # As a task omits them: options the step's module does not have, and options not set (None).
        given = {name: value for name, value in values.items() if name in spec and value is not None}
        checked = ArgumentSpecValidator(spec, **constraints).validate(given)
        if checked.error_messages:
            raise TaskFailed("Invalid options for {0}; nothing was sent to any cluster: {1}.".format(
                label, "; ".join(checked.error_messages)))
        return StepModule(self, checked.validated_parameters)

    def record(self, client, owner):
        """The run record this task appends to for ``client``'s cluster (``record_file``), or one that writes nothing."""
        return open_record(self.params.get("record_file"), self.params.get("run_id"), client.api_address, owner)

    def redact(self, value):
        """``value`` (a text, or a dict or list holding texts) with the key of every client masked."""
        if isinstance(value, str):
            for client in self._clients:
                value = client.redact(value)
            return value
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(item) for item in value]
        return value

    @contextmanager
    def reporting(self, action, partial=None):
        """Ends the task on any exception raised inside the ``with`` block; closes the clients.

        ``action`` says what was being done ("build and publish X"), for a bug's message;
        ``partial`` is the result known so far: a dict, or a callable returning one, read when
        the failure happens, so work already done (files copied, a commit pushed) is reported.
        """
        try:
            yield self
        except ClusterError as exc:
            self.name_options(exc)
            self.fail(str(exc), partial, error=exc.as_dict())
        except TaskFailed as exc:
            self.fail(str(exc), partial, **exc.facts)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # A bug: its text and traceback may hold option values, a key among them.
            self.fail("Failed to {0}: {1}: {2}".format(action, type(exc).__name__, exc), partial,
                      exception=traceback.format_exc())
        finally:
            self._stop_keeper()
            for client in self._clients:
                client.close()

    def _stop_keeper(self):
        if self._keeper is not None:
            self._keeper.stop()
            if self._keeper.lost:
                self.warn(self._keeper.lost)
            self._keeper = None

    def name_options(self, error):
        """Spell the options in the error's fix as for the client it came from (``source_ca_cert``);
        left as it is when the source and the destination are the same address (either could be meant)."""
        names = [client.option_names for client in self._clients
                 if client.cluster == error.cluster and client.option_names]
        if names and all(found == names[0] for found in names):
            error.naming(names[0])

    def fail(self, msg, partial=None, **facts):
        result = dict(partial() if callable(partial) else partial or {})
        result.update(facts)
        self.ansible.fail_json(msg=self.redact(msg), **self.redact(result))

    def warn(self, text):
        self.ansible.warn(self.redact(text))

    def exit_json(self, **result):
        self.ansible.exit_json(**result)


class StepModule:
    """What the work of one module (``AlgorithmState``, ``DataSync``, ``BuildPublisher``) needs of
    its module, when it runs as a step of another: the step's own parameters, and the task's
    clients (shared by every step), run record, check and diff modes and warnings."""

    def __init__(self, module, params):
        self.module = module
        self.params = params
        self.check_mode = module.check_mode
        self.diff_mode = module.diff_mode

    def connect(self, prefix="", options=None):
        return self.module.shared_client(prefix, self.params if options is None else options)

    def record(self, client, owner):
        return open_record(self.params.get("record_file"), self.params.get("run_id"), client.api_address, owner)

    def warn(self, text):
        self.module.warn(text)
