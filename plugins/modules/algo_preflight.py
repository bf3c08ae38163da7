#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: algo_preflight
short_description: Check, read-only, that a run of the given workflows can succeed on a cluster
version_added: 0.1.0
description:
  - Runs every check that can fail a run before anything is changed, and returns every problem found
    instead of stopping at the first, each naming the cluster, the workflow field or variable, and the fix.
    The testbench role runs it on every destination cluster at once and stops all of them when any
    problem is found anywhere, so that no cluster is changed by a run that cannot succeed.
  - The destination key is valid and its user known, and equal to the workflow's C(algorithm_owner) when set.
  - Each algorithm's environment is installed on the destination, or offered by its AEMS master when
    O(sync_environment) is set (listing the master needs an admin key).
  - Each C(code_path) archive and data file exists on the source cluster, with a known size; each
    archive is read and checked in full (no member outside the archive, no links or devices, bounded
    count and sizes), so that a bad archive stops the run before any algorithm is created; its source must
    be in a language's template layout, and in the algorithm's C(language) when the workflow gives one.
  - Each problem about an algorithm names it with its language and environment, as C(hello_java (java, 'Java 11.0')).
  - Each algorithm of a C(run_only) workflow exists on the destination with a published version.
  - No algorithm of a full run exists already unless a run record under O(records_dir) says this collection
    created it (or adopted it); O(adopt_existing) lets a run push over algorithms it did not create.
  - The task itself fails only on bad options or a bug; problems are returned in RV(problems).
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  workflows:
    description:
      - The workflows of the run, as the P(algorithmia.testbench.workflow#lookup) lookup returns them.
    type: list
    elements: dict
    required: true
  name_suffix:
    description: Appended to every algorithm name on the destination (the role's C(testbench_name_suffix)).
    type: str
    default: ""
  adopt_existing:
    description:
      - Whether a full run may push over an algorithm that exists on the destination although no run record
        says this collection created it. The adoption is written to the run record; cleanup never deletes
        an adopted algorithm.
    type: bool
    default: false
  records_dir:
    description:
      - Directory holding the run records of earlier runs (searched recursively for C(record.jsonl)).
      - Not set means no algorithm is known to be this collection's.
    type: path
  aems_master:
    description: AEMS master a missing environment would be synced from.
    type: str
    choices: [test, prod]
    default: prod
  sync_environment:
    description: Whether a missing environment may be synced from O(aems_master) by the run.
    type: bool
    default: true
  cluster_name:
    description: Name of the destination cluster in messages (the inventory host).
    type: str
  lease_run_id:
    description:
      - The run about to change the cluster. When another run holds a live lease on it (M(algorithmia.testbench.cluster_lease)),
        that is a problem naming the holder's run id, host, age and expiry - unless O(lease_wait) is above 0 (the run
        will wait for it) - and, in check mode, a warning. Unset, the lease is not read.
    type: str
  lease_wait:
    description: Seconds the run will wait for another run's lease (the role's C(testbench_lease_wait)).
    type: float
    default: 0
  compare_with_source:
    description:
      - Whether the workflows' tests will also run on the source cluster's original entrypoint (the role's
        C(testbench_compare_with_source)) - then each workflow with tests needs its entrypoint published on the
        source cluster, under the source key's user, and a problem says so otherwise.
    type: bool
    default: false
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.cluster.source
  - algorithmia.testbench.cluster.record
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details: Reads only, in check mode as in a run.
  diff_mode:
    support: none
  idempotent:
    support: full
notes:
  - O(source_api_address) overrides the workflows' C(source_info.cluster_address).
seealso:
  - module: algorithmia.testbench.algo_create
  - module: algorithmia.testbench.algo_cleanup
"""

EXAMPLES = r"""
- name: Check the cluster before any change
  algorithmia.testbench.algo_preflight:
    api_address: "{{ testbench_api_address }}"
    api_key: "{{ testbench_api_key }}"
    source_api_key: "{{ testbench_source_api_key }}"
    workflows: "{{ query('algorithmia.testbench.workflow', 'image_benchmark') }}"
    records_dir: "{{ testbench_report_dir }}/runs"
    cluster_name: "{{ inventory_hostname }}"
  register: preflight

- name: Stop when the cluster would fail
  ansible.builtin.fail:
    msg: "{{ preflight.problems | join('\n') }}"
  when: preflight.problems | length > 0
"""

RETURN = r"""
problems:
  description: Every problem found, each naming the cluster, the field and the fix. Empty when a run can go ahead.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      prod-eu (https://api.prod-eu.example.com): workflow image_benchmark, $.algorithms[0] ImageThumbnailer (python3,
      'Python 3.7'): the environment language=python3 ('Python 3.7') is not installed, and sync_environment is off.
      Fix: ...
owner:
  description: The user the destination key belongs to (null when the key was refused).
  returned: always
  type: str
source_users:
  description: The source key's user, by source cluster address.
  returned: always
  type: dict
checked:
  description: How many things were checked, by kind.
  returned: always
  type: dict
  sample: {environments: 2, source_files: 3, existing_algorithms: 3, run_only_algorithms: 0}
adopted:
  description: Algorithms that exist without a record of this collection and that O(adopt_existing) lets the run push over.
  returned: always
  type: list
  elements: str
algorithms:
  description: Each algorithm checked (by its deployed name), with what it is built on.
  returned: always
  type: list
  elements: dict
  contains:
    workflow:
      description: The workflow's name.
      type: str
    name:
      description: The algorithm's deployed name (with O(name_suffix)).
      type: str
    language:
      description:
        - Its language shorthand and environment display name (C(java, 'Java 11.0')), the display name alone for an
          C(environment_name), or null when the workflow names none (C(run_only)).
      type: str
  sample:
    - {workflow: hello_java, name: hello_java, language: "java, 'Java 11.0'"}
"""

import os

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.build_publish import archive_template_name
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    record_argument_spec,
    source_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles, key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import (
    ClusterEnvironments,
    EnvironmentChoiceError,
    Wanted,
    choose,
    describe_all,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    AuthError,
    ClientConfigError,
    ClusterError,
    TaskFailed,
    TLSError,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.lease import ClusterLease, describe, held_message
from ansible_collections.algorithmia.testbench.plugins.module_utils.run_record import Ownership, read_records
from ansible_collections.algorithmia.testbench.plugins.module_utils.source_tree import (
    SourceError,
    language_problem,
    layout_of,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.tarsafe import fetch_code_archive
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import render_text

# What the operator sets, by the client's option: messages name the inventory variable.
VARIABLES = {
    "": {"address": "testbench_api_address", "key": "testbench_api_key", "ca": "testbench_ca_cert"},
    "source_": {"address": "testbench_source_api_address (or the workflow's source_info.cluster_address)",
                "key": "testbench_source_api_key", "ca": "testbench_source_ca_cert"},
}


class Preflight:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.problems = []
        self.checked = {"environments": 0, "source_files": 0, "existing_algorithms": 0, "run_only_algorithms": 0}
        self.adopted = []
        self.algorithms = []
        self.source_users = {}
        self._sources = {}  # source address -> (DataFiles, user), or None when it could not be used
        self.where = None

    def problem(self, subject, text):
        self.problems.append("{0}: {1}: {2}".format(self.where, subject, text))

    # ---- connections ---------------------------------------------------------------------

    def connect(self, prefix, address=None):
        """``(client, user)``, or ``(None, None)`` with the problem noted (wrong address, key or CA)."""
        names = VARIABLES[prefix]
        options = dict(self.params)
        if address:
            options[prefix + "api_address"] = address
        try:
            client = self.module.connect(prefix=prefix, options=options)
        except ClientConfigError as exc:
            self.problem(names["address"] + " / " + names["key"] + " / " + names["ca"], str(exc))
            return None, None
        try:
            return client, key_owner(client, "source" if prefix else None)
        except AuthError as exc:
            self.problem(names["key"], "{0} refused it ({1} {2}). Fix: use a valid, unrevoked API key of this "
                                       "cluster (keys are per cluster).".format(client.cluster, exc.status, exc.reason))
        except TLSError as exc:
            self.problem(names["ca"], "{0}. Fix: set {1} to the CA certificate that signed the cluster's "
                                      "certificate (a file path or the PEM text).".format(exc.detail, names["ca"]))
        except ClusterError as exc:
            self.problem(names["address"], str(exc))
        return None, None

    # ---- the checks ----------------------------------------------------------------------

    def run(self):
        params = self.params
        self.where = "{0} ({1})".format(params["cluster_name"] or params["api_address"], params["api_address"])
        client, owner = self.connect("")
        result = dict(changed=False, problems=self.problems, owner=owner, checked=self.checked, adopted=self.adopted,
                      source_users=self.source_users, algorithms=self.algorithms)
        if client is not None:
            self.where = "{0} ({1})".format(params["cluster_name"] or client.cluster, client.cluster)
            ownership = Ownership(read_records(params["records_dir"], client.api_address)) \
                if params["records_dir"] and os.path.isdir(params["records_dir"]) else Ownership([])
            if params["lease_run_id"] and owner:
                self.check_lease(client, owner)
            record = self.module.record(client, owner)
            environments = EnvironmentCheck(self, ClusterEnvironments(client), params)
            deployed_earlier = set()  # a run_only workflow may call what an earlier workflow of the run deploys
            for workflow in params["workflows"]:
                self.check_owner(workflow, owner)
                for index, algorithm in enumerate(workflow.get("algorithms") or []):
                    deployed = algorithm["name"] + (params["name_suffix"] or "")
                    language = language_label(algorithm)
                    self.algorithms.append({"workflow": workflow.get("name"), "name": deployed, "language": language})
                    subject = "workflow {0}, $.algorithms[{1}] {2}{3}".format(
                        workflow.get("name"), index, deployed, " ({0})".format(language) if language else "")
                    try:
                        existing = Algorithm(client, owner, deployed).get()
                    except ClusterError as exc:
                        self.problem(subject, str(exc))
                        continue
                    if workflow.get("run_only"):
                        if deployed not in deployed_earlier:
                            self.check_run_only(subject, existing)
                        continue
                    deployed_earlier.add(deployed)
                    environments.check(subject, algorithm)
                    self.check_not_foreign(subject, existing, owner, deployed, ownership, record)
        for workflow in params["workflows"]:
            self.check_source(workflow)
        result["problems"] = self.problems
        return result

    def check_lease(self, client, owner):
        """Another run changing this cluster now stops this one before any change (or it will wait)."""
        holder = ClusterLease(client, owner).holder()
        if holder is None or holder.get("run_id") == self.params["lease_run_id"]:
            return
        if holder.get("expired"):
            self.module.warn("The lease of cluster {0} is past its expiry ({1}): this run will take it over.".format(
                client.cluster, describe(holder)))
        elif self.module.check_mode:
            self.module.warn(held_message(client.cluster, holder, self.params["lease_wait"]) + " (check mode: a real run "
                             "would {0} here)".format("wait" if self.params["lease_wait"] else "stop"))
        elif not self.params["lease_wait"]:
            self.problem("the cluster's lease (testbench_lease_wait)", held_message(client.cluster, holder, 0))

    def check_owner(self, workflow, owner):
        wanted = workflow.get("algorithm_owner")
        if wanted and owner and wanted != owner:
            self.problem("workflow {0}, $.algorithm_owner".format(workflow.get("name")),
                         "the workflow's algorithms belong to {0}, but testbench_api_key is a key of {1}. Fix: use an "
                         "API key of {0} on this cluster, or correct algorithm_owner.".format(wanted, owner))

    def check_run_only(self, subject, existing):
        self.checked["run_only_algorithms"] += 1
        if existing is None:
            self.problem(subject, "the workflow is run_only, but the algorithm does not exist on this cluster. Fix: "
                                  "deploy it first (a full run of the workflow), or check testbench_name_suffix.")
        elif not ((existing.get("version_info") or {}).get("semantic_version")):
            self.problem(subject, "the workflow is run_only, but the algorithm has no published version. Fix: "
                                  "publish a version first (a full run of the workflow).")

    def check_not_foreign(self, subject, existing, owner, deployed, ownership, record):
        if existing is None:
            return
        self.checked["existing_algorithms"] += 1
        if ownership.may_push_to(owner, deployed):
            return
        if self.params["adopt_existing"]:
            record.write("adopted", "done", name=deployed)
            self.adopted.append("{0}/{1}".format(owner, deployed))
            return
        self.problem(subject, "the algorithm exists on this cluster and no run record under {0} says this collection "
                              "created it; a run would push its own code over it and publish a version. Fix: set "
                              "testbench_name_suffix to deploy a separate copy (such as _testbench), or set "
                              "testbench_adopt_existing: true to push over it on purpose.".format(
                                  self.params["records_dir"] or "testbench_report_dir"))

    def check_source(self, workflow):
        wanted = [] if workflow.get("run_only") else [
            (index, algorithm, field, uri)
            for index, algorithm in enumerate(workflow.get("algorithms") or [])
            for field, uri in ([("code_path", algorithm["code_path"])] if algorithm.get("code_path") else [])
            + [("data_files[{0}]".format(i), f["source"]) for i, f in enumerate(algorithm.get("data_files") or [])]]
        compared = self.params["compare_with_source"] and workflow.get("tests") and workflow.get("entrypoint")
        if not wanted and not compared:
            return
        address = self.params["source_api_address"] or workflow.get("source_api_address")
        if address not in self._sources:
            client, user = self.connect("source_", address)
            self._sources[address] = (DataFiles(client, "source"), user) if client else None
            if client:
                self.source_users[client.cluster] = user
        if self._sources[address] is None:
            return
        files, user = self._sources[address]
        if compared:
            self.check_source_entrypoint(workflow, files.client, user)
        for index, algorithm, field, uri in wanted:
            self.checked["source_files"] += 1
            subject = "workflow {0}, $.algorithms[{1}].{2}".format(workflow.get("name"), index, field)
            uri = render_text(uri, algorithm["name"], user)
            try:
                found = files.stat(uri)
                if found.get("size") is None:
                    self.problem(subject, "the source cluster lists {0} without a size. Fix: check the file on the "
                                          "source cluster.".format(uri))
                elif field == "code_path":
                    # Read and checked in full now, so a bad archive stops the run before any change.
                    self.check_layout(subject, algorithm, uri, fetch_code_archive(files, uri))
            except (TaskFailed, ClusterError) as exc:
                self.problem(subject, str(exc))

    def check_layout(self, subject, algorithm, uri, tree):
        """The archive holds a source the algorithm's language can build: a main file, in that language."""
        try:
            layout, template = layout_of(tree, archive_template_name(uri))
        except SourceError as exc:
            self.problem(subject, "the archive {0}: {1}. Fix: rebuild the archive from the algorithm's source in its "
                                  "language's layout.".format(uri, exc))
            return
        mismatch = language_problem(layout, template, (algorithm.get("environment") or {}).get("language"))
        if mismatch:
            self.problem(subject, "the archive {0} {1}. Fix: {2}.".format(uri, *mismatch))

    def check_source_entrypoint(self, workflow, client, user):
        """With compare_with_source, the workflow's tests also run on the source's original entrypoint
        (its latest published version): it must be there before any cluster is changed."""
        subject = "workflow {0}, $.test_info.entrypoint {1} on the source cluster".format(workflow.get("name"), workflow["entrypoint"])
        try:
            existing = Algorithm(client, user, workflow["entrypoint"]).get()
        except ClusterError as exc:
            self.problem(subject, str(exc))
            return
        if existing is None or not (existing.get("version_info") or {}).get("semantic_version"):
            self.problem(subject, "testbench_compare_with_source runs the workflow's tests on {0}/{1} on the source cluster {2}, "
                                  "which {3}. Fix: publish it there, or set testbench_compare_with_source: false.".format(
                                      user, workflow["entrypoint"], client.cluster,
                                      "does not exist" if existing is None else "has no published version"))


def language_label(algorithm):
    """``java, 'Java 11.0'``: what a workflow's algorithm is built on, as messages name it (``None`` when the
    workflow does not say, as a run_only one may not)."""
    spec = algorithm.get("environment") or {}
    try:
        return Wanted(spec.get("language"), spec.get("environment_name"), spec.get("environment_id")).label()
    except EnvironmentChoiceError:
        return None


class EnvironmentCheck:
    """Whether each algorithm's environment is installed, or can be synced; each listing read once."""

    def __init__(self, preflight, environments, params):
        self.preflight = preflight
        self.environments = environments
        self.params = params
        self._installed = {}
        self._offered = None

    def check(self, subject, algorithm):
        spec = algorithm.get("environment") or {}
        try:
            wanted = Wanted(spec.get("language"), spec.get("environment_name"), spec.get("environment_id"))
        except EnvironmentChoiceError as exc:
            self.preflight.problem(subject, "{0}. Fix: correct the algorithm's environment in the workflow.".format(exc))
            return
        self.preflight.checked["environments"] += 1
        try:
            installed = self.installed(wanted)
            if choose(installed, wanted) is not None:
                return
            master = self.params["aems_master"]
            if not self.params["sync_environment"]:
                self.preflight.problem(subject, "the environment {0} is not installed, and testbench_sync_environment "
                                                "is off. Installed: {1}. Fix: pick one of those in the workflow, or "
                                                "set testbench_sync_environment: true (with an admin key).".format(
                                                    wanted.describe(), describe_all(installed)))
                return
            offered = self.offered(master)
            if offered is None:
                self.preflight.problem(subject, "the environment {0} is not installed, and listing what AEMS master "
                                                "{1!r} offers was refused: syncing needs an admin API key. Fix: use an "
                                                "admin key as testbench_api_key, ask the cluster's admin to sync it, "
                                                "or pick an installed one: {2}.".format(
                                                    wanted.describe(), master, describe_all(installed)))
            elif choose(offered, wanted) is None:
                self.preflight.problem(subject, "the environment {0} is neither installed nor offered by AEMS master "
                                                "{1!r}. Installed: {2}. Fix: pick one of those in the workflow, or set "
                                                "testbench_aems_master to the master that has it.".format(
                                                    wanted.describe(), master, describe_all(installed)))
        except EnvironmentChoiceError as exc:
            self.preflight.problem(subject, "{0}. Fix: give environment_id to pick one.".format(exc))
        except ClusterError as exc:
            self.preflight.problem(subject, str(exc))

    def installed(self, wanted):
        key = wanted.language or ("*", wanted.field, wanted.value)
        if key not in self._installed:
            self._installed[key] = self.environments.installed(wanted)
        return self._installed[key]

    def offered(self, master):
        """What the AEMS master offers, or ``None`` when listing it was refused (not an admin key)."""
        if self._offered is None:
            try:
                self._offered = list(self.environments.available(master))
            except AuthError:
                self._offered = False
        return None if self._offered is False else self._offered


def main():
    module = ClusterModule(
        argument_spec=dict(
            source_argument_spec(),
            **record_argument_spec(),
            workflows=dict(type="list", elements="dict", required=True),
            name_suffix=dict(type="str", default=""),
            adopt_existing=dict(type="bool", default=False),
            records_dir=dict(type="path"),
            aems_master=dict(type="str", choices=["test", "prod"], default="prod"),
            sync_environment=dict(type="bool", default=True),
            cluster_name=dict(type="str"),
            compare_with_source=dict(type="bool", default=False),
            lease_run_id=dict(type="str"),
            lease_wait=dict(type="float", default=0.0),
        ),
        supports_check_mode=True,
    )
    preflight = Preflight(module)
    with module.reporting("check cluster " + str(module.params["api_address"]),
                          lambda: dict(changed=False, problems=preflight.problems)):
        result = preflight.run()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
