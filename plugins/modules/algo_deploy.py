#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: algo_deploy
short_description: Create, sync the data of, build, test and publish several algorithms in one task
version_added: 0.1.0
description:
  - For each algorithm of O(algorithms), in order, does what M(algorithmia.testbench.algo_create),
    M(algorithmia.testbench.algo_data_sync) (when it has O(algorithms[].data_files)) and
    M(algorithmia.testbench.algo_build_publish) do, with the same checks, retries, run records and
    idempotence, in one module run.
  - The role deploys a workflow's algorithms with it. One module run per workflow, instead of three
    per algorithm, saves most of the controller's work per cluster.
  - Every algorithm's options are checked before any request, and every algorithm's source is read, checked
    and templated before the first change (a template in another language than O(algorithms[].language)
    fails, naming both). The first failing step ends the task, and the result says which step failed and
    what the algorithms before it did.
  - Later algorithms may call earlier ones (O(references)); list them in the order they must be built.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  algorithms:
    description: The algorithms to deploy, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the algorithm on the cluster (its deployed name, with any suffix).
        type: str
        required: true
      language:
        description:
          - Language whose environment the algorithm is created with (see M(algorithmia.testbench.algo_create)).
            Its source must be a template of that language (see M(algorithmia.testbench.algo_build_publish)).
          - Exactly one of O(algorithms[].language), O(algorithms[].environment_name) and
            O(algorithms[].environment_id) is required.
        type: str
        choices: [python3, python2, pytorch, tensorflow-2.3, tensorflow-1.14, javascript, java, ruby, scala, r, rust, csharp]
      environment_name:
        description: Display name of the environment (see M(algorithmia.testbench.algo_create)).
        type: str
      environment_id:
        description: Id of the environment (see M(algorithmia.testbench.algo_create)).
        type: str
      data_files:
        description:
          - Data API URIs, on the source cluster, copied into the algorithm's collection
            (see M(algorithmia.testbench.algo_data_sync)). Needs O(source_api_address) and O(source_api_key).
        type: list
        elements: str
        default: []
      template_dir:
        description:
          - Local template directory of the source (see M(algorithmia.testbench.algo_build_publish)).
          - Exactly one of O(algorithms[].template_dir) and O(algorithms[].code_path) is required.
        type: path
      code_path:
        description: Data API URI of a C(.tar.gz) of the source on the source cluster (see M(algorithmia.testbench.algo_build_publish)).
        type: str
      test_payload:
        description: Input the built commit is called with before publishing; not set means no test call.
        type: raw
  owner:
    description:
      - User or organisation that owns the algorithms.
      - Default is the user of O(api_key), as the Data API root listing names it.
    type: str
  references:
    description:
      - "Deployed names of the algorithms the sources refer to, as C(workflow name: deployed name)
        (see M(algorithmia.testbench.algo_build_publish))."
    type: dict
    default: {}
  aems_master:
    description: Which environment catalog an environment is synced from when the cluster lacks it.
    type: str
    choices: [test, prod]
    default: prod
  sync_environment:
    description: Whether an environment the cluster lacks is synced from O(aems_master).
    type: bool
    default: true
  sync_timeout:
    description: Seconds to wait for an environment sync.
    type: int
    default: 900
  verify:
    description: How each data file's copy is checked (see M(algorithmia.testbench.algo_data_sync)).
    type: str
    choices: [size, full]
    default: size
  stall_timeout:
    description:
      - Seconds a data file's copy may go without moving a byte before it ends
        (see M(algorithmia.testbench.algo_data_sync)).
    type: float
    default: 120
  version_type:
    description: Which part of the semantic version a new publication increases.
    type: str
    choices: [major, minor, revision]
    default: minor
  publish:
    description: Whether to publish each built commit as a version (when it is not published yet).
    type: bool
    default: true
  build_timeout:
    description: Seconds to wait for each build.
    type: float
    default: 900
  test_timeout:
    description:
      - 'Seconds each test call may run (the call''s C(timeout), 1 to 3000). The call waits that plus 30 s for its whole
        answer; with none, the step fails with C(stuck: no answer in N s) (see M(algorithmia.testbench.algo_build_publish)).'
    type: int
    default: 300
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.cluster.source
  - algorithmia.testbench.cluster.record
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details: Each step says what it would do, as its own module does in check mode.
  diff_mode:
    support: full
    details: The diff holds each step's diff, with the algorithm's name in its headers.
  idempotent:
    support: full
seealso:
  - module: algorithmia.testbench.algo_create
  - module: algorithmia.testbench.algo_data_sync
  - module: algorithmia.testbench.algo_build_publish
"""

EXAMPLES = r"""
- name: Deploy the image pipeline's algorithms, the entrypoint last
  algorithmia.testbench.algo_deploy:
    api_address: https://api.test.example.com
    api_key: "{{ vault_api_key }}"
    source_api_address: https://api.algorithmia.com
    source_api_key: "{{ vault_source_api_key }}"
    references: {ImageThumbnailer: ImageThumbnailer_ci, ImageBenchmark: ImageBenchmark_ci}
    algorithms:
      - name: ImageThumbnailer_ci
        language: python3
        code_path: data://.my/testbench_code/ImageThumbnailer.tar.gz
        data_files: [data://.my/testbench_assets/landscape.png]
        test_payload: {image: data://.my/ImageThumbnailer/landscape.png, width: 64}
      - name: ImageBenchmark_ci
        language: python3
        template_dir: algorithms/ImageBenchmark
  register: deployed
"""

RETURN = r"""
algorithms:
  description:
    - What each step did for each algorithm that was deployed completely, in order; on a failure,
      the algorithms before the failing one.
    - C(create) is what M(algorithmia.testbench.algo_create) returns, C(data) what
      M(algorithmia.testbench.algo_data_sync) returns (absent without data files), C(build) what
      M(algorithmia.testbench.algo_build_publish) returns.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The algorithm's name.
      type: str
    language:
      description:
        - What the algorithm is built on - its language shorthand (else the environment's AEMS language) and the
          environment's display name, as C(java, 'Java 11.0').
      type: str
    create:
      description: The result of the create step.
      type: dict
    data:
      description: The result of the data sync step.
      type: dict
    build:
      description: The result of the build, test and publish step.
      type: dict
  sample:
    - name: ImageThumbnailer_ci
      language: python3, 'Python 3.7'
      create: {changed: false, owner: quality}
      build: {changed: true, pushed: true, published: true, version: 0.1.0, git_hash: 3f2a9c1e5d}
failed_algorithm:
  description: The algorithm whose step failed, with what that step had done when it failed.
  returned: on failure, after the options were checked
  type: dict
step:
  description: The step that failed, as C(create <name>), C(data sync <name>) or C(build and publish <name>).
  returned: on failure, after the options were checked
  type: str
  sample: build and publish ImageThumbnailer_ci
owner:
  description: The algorithms' owner.
  returned: when the cluster was reached
  type: str
  sample: quality
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithm_state import (
    CREATE_CONSTRAINTS,
    AlgorithmState,
    check_algorithm_name,
    create_options,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.build_publish import (
    BUILD_CONSTRAINTS,
    BuildPublisher,
    build_options,
    validate,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    record_argument_spec,
    source_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_sync_task import (
    SYNC_CONSTRAINTS,
    DataSync,
    sync_options,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import Wanted
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.gitpush import DULWICH_IMPORT_ERROR, HAS_DULWICH

# Options every step receives as they are: the clusters', the run record's.
SHARED = tuple(source_argument_spec()) + tuple(record_argument_spec()) + (
    "api_address", "api_key", "ca_cert", "validate_certs", "timeout")


class Deployment:
    """The algorithms' steps, planned (every option checked) before the first request, then run in order."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.done = []
        self.step = None  # (its name, the algorithm's entry, the result key, its work) while one runs
        self.changed = False

    def plan(self, owner):
        """Per algorithm its three steps, each a ``StepModule`` with the options its module would get
        (``owner`` may be None: ``run`` sets the owner it finds before the first step)."""
        shared = {name: self.params[name] for name in SHARED if name in self.params}
        params = self.params
        planned = []
        for algorithm in params["algorithms"]:
            name = algorithm["name"]
            check_algorithm_name(name)
            create = self.module.step("algorithm " + name, dict(record_argument_spec(), **create_options()), dict(
                shared, name=name, owner=owner, language=algorithm["language"],
                environment_name=algorithm["environment_name"], environment_id=algorithm["environment_id"],
                aems_master=params["aems_master"], sync_environment=params["sync_environment"],
                sync_timeout=params["sync_timeout"]), **CREATE_CONSTRAINTS)
            sync = None
            if algorithm["data_files"]:
                sync = self.module.step("the data files of " + name, dict(
                    source_argument_spec(), **record_argument_spec(), **sync_options()), dict(
                    shared, algorithm=name, owner=owner, files=algorithm["data_files"], verify=params["verify"],
                    stall_timeout=params["stall_timeout"]),
                    **SYNC_CONSTRAINTS)
            build = self.module.step("the build of " + name, dict(
                source_argument_spec(), **record_argument_spec(), **build_options()), dict(
                shared, name=name, owner=owner, template_dir=algorithm["template_dir"],
                code_path=algorithm["code_path"], language=algorithm["language"], references=params["references"],
                test_payload=algorithm["test_payload"], test_timeout=params["test_timeout"],
                version_type=params["version_type"], publish=params["publish"],
                build_timeout=params["build_timeout"]), **BUILD_CONSTRAINTS)
            validate(build.params)
            planned.append((name, create, sync, build))
        return planned

    def run(self, client):
        planned = self.plan(self.params["owner"])
        owner = self.params["owner"] or key_owner(client)
        for name, create, sync, build in planned:
            for step in (create, sync, build):
                if step is not None:
                    step.params["owner"] = owner  # found once, not by every step again
        # Every source is read, checked and templated before the first change: a bad archive, or a
        # template in another language than the algorithm's, stops the task with nothing created.
        prepared = []
        for name, create, sync, build in planned:
            entry = {"name": name, "language": self.wanted(create).label()}
            publisher = BuildPublisher(build)
            self._run("build and publish " + name, entry, None, publisher, lambda work: work.prepare(owner))
            prepared.append((entry, create, sync, publisher))
        for entry, create, sync, publisher in prepared:
            name = entry["name"]
            self._run("create " + name, entry, "create", AlgorithmState(create), lambda work: work.run(client))
            entry["language"] = self.wanted(create).label(entry["create"].get("environment"))
            if sync is not None:
                self._run("data sync " + name, entry, "data", DataSync(sync),
                          lambda work: work.run(sync.connect(prefix="source_"), client))
            self._run("build and publish " + name, entry, "build", publisher, lambda work: work.run(client))
            self.done.append(entry)
        return self.result(owner)

    @staticmethod
    def wanted(create):
        params = create.params
        return Wanted(params["language"], params["environment_name"], params["environment_id"])

    def _run(self, name, entry, key, work, how):
        """``how(work)`` as step ``name``, its result kept in ``entry[key]`` (``key`` None: kept nowhere)."""
        self.step = (name, entry, key or "build", work)
        done = how(work)
        if key is not None:
            entry[key] = done
            self.changed = self.changed or done["changed"]
        self.step = None

    def result(self, owner=None):
        diffs = []
        for entry in self.done:
            for key in ("create", "data", "build"):
                diff = (entry.get(key) or {}).get("diff")
                if diff:
                    diffs.append(dict(diff, before_header="{0} ({1}) {2}".format(
                        entry["name"], key, diff.get("before_header", "before")), after_header="{0} ({1}) {2}".format(
                        entry["name"], key, diff.get("after_header", "after"))))
        result = dict(changed=self.changed, algorithms=self.done)
        if owner is not None:
            result["owner"] = owner
        if diffs:
            result["diff"] = diffs
        return result

    def partial(self):
        """The result when a step fails: the algorithms done, and the failing one with its step's partial result."""
        result = self.result()
        if self.step is not None:
            name, entry, key, work = self.step
            # DataSync keeps no result until it ends: whether it copied anything is what counts.
            entry[key] = dict(getattr(work, "result", None) or {}, changed=getattr(work, "changed", False)) \
                if key == "data" else dict(work.result)
            result.update(step=name, failed_algorithm=entry,
                          changed=self.changed or bool(entry[key].get("changed")))
        return result


def main():
    # The options the steps share with their own modules are those modules' options: one definition.
    create, sync, build = create_options(), sync_options(), build_options()
    module = ClusterModule(
        argument_spec=dict(
            source_argument_spec(),
            **record_argument_spec(),
            algorithms=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                language=create["language"],
                environment_name=create["environment_name"],
                environment_id=create["environment_id"],
                data_files=sync["files"],
                template_dir=build["template_dir"],
                code_path=build["code_path"],
                test_payload=build["test_payload"],
            )),
            owner=dict(type="str"),
            references=build["references"],
            aems_master=create["aems_master"],
            sync_environment=create["sync_environment"],
            sync_timeout=create["sync_timeout"],
            verify=sync["verify"],
            stall_timeout=sync["stall_timeout"],
            version_type=build["version_type"],
            publish=build["publish"],
            build_timeout=build["build_timeout"],
            test_timeout=build["test_timeout"],
        ),
        supports_check_mode=True,
    )
    deployment = Deployment(module)
    names = ", ".join(algorithm["name"] for algorithm in module.params["algorithms"])
    with module.reporting("deploy " + names, deployment.partial):
        if not HAS_DULWICH:
            raise TaskFailed(missing_required_lib("dulwich"), exception=DULWICH_IMPORT_ERROR)
        result = deployment.run(module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
