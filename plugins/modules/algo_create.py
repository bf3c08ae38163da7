#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: algo_create
author: Algorithmia testbench maintainers (@algorithmiaio)
short_description: Create, update or delete an algorithm on an Algorithmia cluster
version_added: 0.1.0
description:
  - Makes sure an algorithm exists with the wanted environment, settings and details, or is absent.
  - The environment is chosen by the testbench's language shorthand (O(language)), by display
    name (O(environment_name)) or by id (O(environment_id)) among the environments the cluster
    has installed. An environment the cluster lacks can be synced from its AEMS master first
    (O(sync_environment)).
  - An existing algorithm is updated only where it differs from what the task asks for,
    including its environment (which the algorithm API allows; the next build uses it).
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.cluster.record
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details: Only reads the cluster; an environment that would be synced is reported, not synced.
  diff_mode:
    support: full
    details: Before and after of the compared fields (environment id, the given settings and details).
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the algorithm (letters, digits and underscores, starting with a letter; case sensitive).
    type: str
    required: true
  owner:
    description:
      - User or organization that owns the algorithm.
      - If not set, the user the API key belongs to (the first folder of the Data API's root listing).
    type: str
  state:
    description:
      - V(present) creates the algorithm or updates what differs; V(absent) deletes it with all its
        versions and builds.
    type: str
    choices: [present, absent]
    default: present
  language:
    description:
      - The testbench's language shorthand, as in the seed tool's workflows. It selects the environment by
        its AEMS language and display name - V(python3) C(Python 3.7), V(python2) C(Python 2.7), V(pytorch)
        C(Python 3.8 + PyTorch 1.x), V(tensorflow-2.3) C(Python 3.7 + TensorFlow 2.3), V(tensorflow-1.14)
        C(Python 3.7 + TensorFlow GPU 1.14) (AEMS language C(python3) or C(python2)); V(javascript) C(Node.js 20)
        (C(javascript)), V(java) C(Java 11.0) (C(java11)), V(ruby) C(Ruby 3.1) (C(ruby)), V(scala) C(Scala 2.x)
        (C(scala-2)), V(r) C(R 3.6) (C(r36)), V(rust) C(Rust 1.x) (C(rust)), V(csharp) C(C# .NET Core 2.x)
        (C(csharp-dotnet-core2)).
      - Mutually exclusive with O(environment_name) and O(environment_id); one of them is required with
        O(state=present).
    type: str
    choices: [python3, python2, pytorch, tensorflow-2.3, tensorflow-1.14, javascript, java, ruby, scala, r, rust, csharp]
  environment_name:
    description:
      - Display name of the environment, for example V(Python 3.8 + TensorFlow GPU 2.3) (case and
        repeated spaces do not matter).
    type: str
  environment_id:
    description:
      - Id of the environment on this cluster (or its environment specification id).
      - Ids differ between AEMS masters, so prefer O(language) or O(environment_name) in portable plays.
    type: str
  aems_master:
    description:
      - AEMS master an environment missing on the cluster is synced from.
    type: str
    choices: [test, prod]
    default: prod
  sync_environment:
    description:
      - When the environment is not installed on the cluster, sync it from O(aems_master) and wait until
        the sync has finished (at most O(sync_timeout) seconds).
      - Syncing needs an admin API key. With V(false), a missing environment fails the task and lists what
        the cluster has.
    type: bool
    default: true
  sync_timeout:
    description:
      - Seconds to wait for an environment sync to finish.
    type: int
    default: 900
  details:
    description:
      - Details to enforce. Only the keys given are compared; the label defaults to the name on creation.
    type: dict
    suboptions:
      label:
        description: Human-readable name.
        type: str
      summary:
        description: Full description (HTML accepted).
        type: str
      tagline:
        description: Short description shown under the label.
        type: str
  settings:
    description:
      - Algorithm settings to enforce. Keys not given take the testbench's defaults below, which suit
        workflows whose algorithms call each other and the Data API.
      - The environment is set by O(language), O(environment_name) or O(environment_id), not here.
    type: dict
    default: {}
    suboptions:
      source_visibility:
        description: Whether other users may view the source (V(open) needs a license other than V(apl)).
        type: str
        choices: [open, closed]
        default: closed
      license:
        description: License of the source code.
        type: str
        choices: [apl, apache2, gpl3, mit]
        default: apl
      network_access:
        description: Whether the algorithm may reach the network (V(full)) or not (V(isolated)).
        type: str
        choices: [full, isolated]
        default: full
      pipeline_enabled:
        description: Whether the algorithm may call other algorithms.
        type: bool
        default: true
      algorithm_callability:
        description:
          - Who may call the latest published version. Not enforced when not set (publishing sets it too).
        type: str
        choices: [public, private]
notes:
  - The environment lookups use C(/v1/algorithm-environments/edge/languages[/<language>/environments]);
    syncs use C(.../environments/available) and C(.../environment-specifications/<id>/syncs), which are
    admin calls.
seealso:
  - module: algorithmia.testbench.algo_data_sync
  - module: algorithmia.testbench.algo_build_publish
"""

EXAMPLES = r"""
- name: Create ImageClassifier on the TensorFlow 2.3 environment
  algorithmia.testbench.algo_create:
    api_address: https://api.cluster.example.com
    api_key: "{{ testbench_api_key }}"
    name: ImageClassifier
    language: tensorflow-2.3
    aems_master: test

- name: Same, with the connection set once for the play
  module_defaults:
    group/algorithmia.testbench.cluster:
      api_address: "{{ testbench_api_address }}"
      api_key: "{{ testbench_api_key }}"
      ca_cert: "{{ testbench_ca_cert | default(omit) }}"
  block:
    - name: Create hello on Python 3.8, without syncing anything
      algorithmia.testbench.algo_create:
        name: hello
        owner: quality
        environment_name: Python 3.8
        sync_environment: false
        details:
          summary: Says hello
        settings:
          network_access: isolated

    - name: Remove it again
      algorithmia.testbench.algo_create:
        name: hello
        owner: quality
        state: absent
"""

RETURN = r"""
algorithm:
  description:
    - The algorithm as the cluster returns it after the task (C(GET /v1/algorithms/<owner>/<name>)).
    - In check mode, the algorithm as it is now (empty when it would be created); empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 3a0b7d5e-3c8e-4f4a-9d4b-2f0c8f6f8d10
    name: hello
    details: {label: hello}
    settings:
      algorithm_environment: 4beb6189-3e18-4a7a-a466-473bebe68a9f
      language: python3
      license: apl
      network_access: full
      pipeline_enabled: true
      source_visibility: closed
      algorithm_callability: private
    resource_type: algorithm
environment:
  description: The environment chosen (as the cluster lists it). Empty with O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Environment id on this cluster.
      type: str
    display_name:
      description: Display name.
      type: str
    language:
      description: AEMS language name (V(python3), V(python2), V(java11), V(javascript), ...).
      type: str
    environment_specification_id:
      description: Id of the environment's specification (what a sync installs).
      type: str
    machine_type:
      description: V(CPU) or V(GPU).
      type: str
    synced:
      description: Whether the task synced it (or, in check mode, would sync it) from the AEMS master.
      type: bool
  sample:
    id: 4beb6189-3e18-4a7a-a466-473bebe68a9f
    display_name: Python 3.7
    language: python3
    environment_specification_id: 8e0e5a2a-4b35-4a51-9b5c-2f1d0f3e4c11
    machine_type: CPU
    synced: false
owner:
  description: The algorithm's owner (resolved from the key when O(owner) is not set).
  returned: always
  type: str
  sample: quality
"""

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithm_state import (
    CREATE_CONSTRAINTS,
    AlgorithmState,
    check_algorithm_name,
    create_options,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import record_argument_spec


def main():
    module = ClusterModule(argument_spec=dict(record_argument_spec(), **create_options()), supports_check_mode=True,
                           **CREATE_CONSTRAINTS)
    name = module.params["name"]
    state = AlgorithmState(module)
    with module.reporting("manage the algorithm " + name, lambda: state.result):
        check_algorithm_name(name)
        result = state.run(module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
