# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One algorithm brought to its wanted state (algo_create, algo_deploy): created, updated or deleted."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import (
    SHORTHANDS,
    ClusterEnvironments,
    EnvironmentChoiceError,
    Wanted,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import BadRequest, Conflict, TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME

# The update call documents these settings as required, so an update always sends them.
REQUIRED_SETTINGS = ("source_visibility", "license", "network_access", "pipeline_enabled")

# The modules' ``language`` choices (their DOCUMENTATION lists the same, in this order).
LANGUAGES = list(SHORTHANDS)


def create_options():
    """algo_create's own options (without the cluster's and the run record's)."""
    return dict(
        name=dict(type="str", required=True),
        owner=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        language=dict(type="str", choices=LANGUAGES),
        environment_name=dict(type="str"),
        environment_id=dict(type="str"),
        aems_master=dict(type="str", choices=["test", "prod"], default="prod"),
        sync_environment=dict(type="bool", default=True),
        sync_timeout=dict(type="int", default=900),
        details=dict(type="dict", options=dict(
            label=dict(type="str"),
            summary=dict(type="str"),
            tagline=dict(type="str"),
        )),
        settings=dict(type="dict", default={}, options=dict(
            source_visibility=dict(type="str", choices=["open", "closed"], default="closed"),
            license=dict(type="str", choices=["apl", "apache2", "gpl3", "mit"], default="apl"),
            network_access=dict(type="str", choices=["full", "isolated"], default="full"),
            pipeline_enabled=dict(type="bool", default=True),
            algorithm_callability=dict(type="str", choices=["public", "private"]),
        )),
    )


CREATE_CONSTRAINTS = dict(
    mutually_exclusive=[("language", "environment_name", "environment_id")],
    required_if=[("state", "present", ("language", "environment_name", "environment_id"), True)],
)


def check_algorithm_name(name):
    if not ALGORITHM_NAME.match(name or ""):
        raise TaskFailed("Invalid algorithm name {0!r}: use letters, digits and underscores, starting with a "
                         "letter.".format(name))


class AlgorithmState:
    """Brings one algorithm to ``state``: ``present()`` creates or updates it, ``absent()`` deletes it."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = None
        self.algorithm = None
        self.result = dict(changed=False, algorithm={}, environment={}, owner=None)

    def run(self, client):
        self.client = client
        owner = self.params["owner"] or key_owner(client)
        self.result["owner"] = owner
        self.algorithm = Algorithm(client, owner, self.params["name"])
        self.record = self.module.record(client, owner)
        return self.present() if self.params["state"] == "present" else self.absent()

    def wanted(self, environment):
        settings = {key: value for key, value in (self.params["settings"] or {}).items() if value is not None}
        details = {key: value for key, value in (self.params["details"] or {}).items() if value is not None}
        return {"environment_id": environment["id"], "settings": settings, "details": details}

    @staticmethod
    def compared(algorithm, wanted):
        """The same fields as ``wanted``, read from the algorithm on the cluster."""
        settings = algorithm.get("settings") or {}
        details = algorithm.get("details") or {}
        return {"environment_id": settings.get("algorithm_environment"),
                "settings": {key: settings.get(key) for key in wanted["settings"]},
                "details": {key: details.get(key) for key in wanted["details"]}}

    def present(self):
        params = self.params
        try:
            wanted_env = Wanted(params["language"], params["environment_name"], params["environment_id"])
        except EnvironmentChoiceError as exc:
            raise TaskFailed("Failed to choose the environment for {0}: {1}.".format(self.algorithm.label, exc)) from None
        current = self.algorithm.get()
        environment = ClusterEnvironments(self.client).resolve(
            wanted_env, params["aems_master"], params["sync_environment"], params["sync_timeout"],
            self.module.check_mode)
        self.result["environment"] = environment
        wanted = self.wanted(environment)
        if current is None:
            self.result.update(changed=True, diff={"before": {}, "after": wanted})
            if not self.module.check_mode:
                self.result["algorithm"] = self.create(wanted)
            return self.result
        before = self.compared(current, wanted)
        self.result["algorithm"] = current
        if before == wanted:
            return self.result
        self.result.update(changed=True, diff={"before": before, "after": wanted})
        if not self.module.check_mode:
            self.result["algorithm"] = self.update(current, before, wanted)
        return self.result

    def create(self, wanted):
        settings = dict(wanted["settings"], algorithm_environment=wanted["environment_id"])
        details = dict(wanted["details"])
        details.setdefault("label", self.algorithm.name)
        # Recorded before the request: after a crash, cleanup knows this collection made it.
        self.record.intent("algorithm", name=self.algorithm.name)
        created = self.algorithm.create(details, settings)
        self.record.done("algorithm", name=self.algorithm.name, id=(created or {}).get("id"))
        return created

    def update(self, current, before, wanted):
        current_settings = current.get("settings") or {}
        settings = {key: current_settings[key] for key in REQUIRED_SETTINGS if key in current_settings}
        settings.update(wanted["settings"])
        moving = before["environment_id"] != wanted["environment_id"]
        if moving:
            settings["algorithm_environment"] = wanted["environment_id"]
        try:
            updated = self.algorithm.update(settings, wanted["details"])
        except (BadRequest, Conflict) as exc:
            if not moving:
                raise
            raise TaskFailed(self.cannot_move(before, wanted, exc.server_message or str(exc.status))) from None
        if moving and (updated.get("settings") or {}).get("algorithm_environment") != wanted["environment_id"]:
            raise TaskFailed(self.cannot_move(before, wanted, "the update was accepted but the environment stayed"))
        return updated

    def cannot_move(self, before, wanted, cause):
        return ("Failed to change the environment of algorithm {0} on cluster {1} from {2} to {3}: {4}. Fix: keep "
                "its current environment, or delete the algorithm (state: absent) and create it again.".format(
                    self.algorithm.label, self.client.cluster, before["environment_id"], wanted["environment_id"],
                    cause))

    def absent(self):
        current = self.algorithm.get()
        if current is None:
            return self.result
        fields = {"environment_id": (current.get("settings") or {}).get("algorithm_environment"),
                  "settings": current.get("settings") or {}, "details": current.get("details") or {}}
        self.result.update(changed=True, diff={"before": fields, "after": {}})
        if not self.module.check_mode:
            self.algorithm.delete()
        return self.result
