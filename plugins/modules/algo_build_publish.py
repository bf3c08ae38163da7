#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: algo_build_publish
short_description: Push an algorithm's source over git, await its build, test it and publish a version
version_added: 0.1.0
description:
  - Takes an algorithm's source from a local template directory or from a C(.tar.gz) on the source
    cluster's Data API, templates it for this cluster (owner, name, deployed names of the algorithms
    it calls), pushes it to the algorithm's git repository, awaits the build of that commit, calls
    O(test_payload) on the built commit and publishes a new version.
  - The algorithm must exist already (see M(algorithmia.testbench.algo_create)).
  - Idempotent. Nothing is pushed when the repository's master already holds exactly the templated
    source (the git tree ids are compared), and nothing is published when that commit already is a
    published version; the existing version is returned.
  - The key is sent only in an C(Authorization) header, also to git; it is never part of a URL, an
    argument list, a log line or an error message.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  name:
    description:
      - Name of the algorithm on the cluster (case sensitive).
      - The main file of the pushed source becomes the language's for O(name) (C(src/<name>.py),
        C(src/<name>.js), C(src/main/java/algorithmia/<name>/<name>.java), ...), unless the source is a
        Python ADK algorithm (C(src/Algorithm.py)).
    type: str
    required: true
  owner:
    description:
      - User or organisation that owns the algorithm.
      - Default is the user of O(api_key), as the Data API root listing names it.
    type: str
  template_dir:
    description:
      - Local directory of an algorithm template on the controller, such as C(algorithms/hello_world),
        in its language's layout - Python C(requirements.txt) and C(src/<Name>.py); JavaScript
        C(package.json) and C(src/<Name>.js); Java C(pom.xml) and C(src/main/java/algorithmia/<Name>/<Name>.java);
        Ruby C(Gemfile) and C(src/<Name>.rb); Scala C(build.sbt) and C(src/main/scala/algorithmia/<Name>/<Name>.scala);
        R C(packages.txt) and C(src/<Name>.R); Rust C(Cargo.toml) (its package named C(<Name>)) and C(src/lib.rs);
        C# C(<Name>.csproj) and C(src/<Name>.cs). The manifest and the main file tell the language.
      - C(<Name>) is the name the main file has (the directory's name picks it when there are several); when it
        differs from O(name), files and directories named C(<Name>) are renamed, and the language's sources and
        manifest say O(name) where they said C(<Name>) as a whole word.
      - Text files of any language are templated (see O(references), O(test_payload)); binary files (a NUL byte,
        not UTF-8, or over 2 MiB) are pushed byte for byte.
      - Exactly one of O(template_dir) and O(code_path) is required.
    type: path
  code_path:
    description:
      - Data API URI, on the source cluster, of a C(.tar.gz) of a source in any language's layout (as
        O(template_dir)), for example V(data://.my/testbench_code/hello_world.tar.gz).
      - C(<Name>) is the archive's name without C(.tar.gz) when the main file leaves a choice.
      - The files may also sit under one top directory. The archive is refused before anything is
        pushed if a member is absolute, climbs out with C(..), is a link or a device, or if it is too big.
      - Needs O(source_api_address) and O(source_api_key).
    type: str
  language:
    description:
      - The language shorthand of the algorithm's environment (see M(algorithmia.testbench.algo_create)). When
        set, a source in another language's layout (a Java template for V(python3)) fails before anything is
        pushed, naming both.
    type: str
    choices: [python3, python2, pytorch, tensorflow-2.3, tensorflow-1.14, javascript, java, ruby, scala, r, rust, csharp]
  git_address:
    description:
      - Base URL of the cluster's git server, when it is not served at O(api_address) (the
        repository is C(<git_address>/git/<owner>/<name>.git)).
    type: str
  references:
    description:
      - "Deployed names of the algorithms this source refers to, as C(workflow name: deployed name),
        for example V({ImageThumbnailer: ImageThumbnailer_ci}) when a name suffix is used."
      - C(algo://.my/X), C(data://.my/X) and C(.algo(".my/X")) in text files, and the same forms in
        O(test_payload), then point at the deployed copies.
    type: dict
    default: {}
  test_payload:
    description:
      - Input sent to the built commit (C(/v1/algo/<owner>/<name>/<git hash>)) before publishing;
        a string is sent as text, anything else as JSON. C(<algo>), C(<user>), C(.my) and
        O(references) are templated.
      - The task fails with the algorithm's error if the call fails. Not set means no test call.
      - The call is repeated once at most, after a quick failure (a 429, 502, 503 or 504 answer, a refused or
        broken connection), never after a timeout.
    type: raw
  test_timeout:
    description:
      - Seconds the test call may run (the API allows up to 3000), passed as the call's C(timeout).
      - 'The call waits that plus 30 s for its whole answer. A cluster that answers nothing in that time fails the
        task with C(stuck: no answer in N s), at once (a repeat would wait as long again).'
    type: int
    default: 300
  version_type:
    description: Which part of the semantic version a new publication increases.
    type: str
    choices: [major, minor, revision]
    default: minor
  publish:
    description: Whether to publish the built commit as a version (when it is not published yet).
    type: bool
    default: true
  build_timeout:
    description:
      - Seconds to wait for the build of the pushed commit, in all (a rebuild's compile call included; no read of
        the wait is repeated past it).
    type: float
    default: 900
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.cluster.source
  - algorithmia.testbench.cluster.record
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details:
      - Fetches the repository and says what would be pushed and published; pushes, builds and calls nothing.
      - An algorithm that does not exist yet (a check run of a first deployment) is reported as a push
        and publication of the whole source, with a warning.
  diff_mode:
    support: full
    details: The diff lists the files whose content differs between the repository's master and the templated source.
  idempotent:
    support: full
notes:
  - When the repository already holds the source but that commit has no build (a new algorithm's
    starter commit) or its last build failed, the commit is built once more (a failure may have been
    transient) and the task reports a change.
seealso:
  - module: algorithmia.testbench.algo_create
  - module: algorithmia.testbench.algo_benchmark
"""

EXAMPLES = r"""
- name: Build, test and publish hello_world from its template
  algorithmia.testbench.algo_build_publish:
    api_address: https://api.example.com
    api_key: "{{ testbench_api_key }}"
    name: hello_world
    template_dir: "{{ playbook_dir }}/../algorithms/hello_world"
    test_payload: Algorithmia

- name: Build the thumbnailer from its archive on the source cluster, under a suffixed name
  algorithmia.testbench.algo_build_publish:
    name: ImageThumbnailer_ci
    code_path: data://.my/testbench_code/ImageThumbnailer.tar.gz
    source_api_address: https://api.source.example.com
    source_api_key: "{{ testbench_source_api_key }}"
    references:
      ImageThumbnailer: ImageThumbnailer_ci
    test_payload:
      image: data://.my/ImageThumbnailer/landscape.png
      width: 64
    version_type: revision
"""

RETURN = r"""
owner:
  description: Owner of the algorithm.
  returned: always
  type: str
  sample: alice
git_hash:
  description: Commit the repository's master holds after the task (in check mode, the current master).
  returned: success
  type: str
  sample: 3f1d8c0b6a2f4e5d9c8b7a6f5e4d3c2b1a0f9e8d
pushed:
  description: Whether a new commit was pushed (in check mode, would be).
  returned: always
  type: bool
changed_files:
  description: Paths whose content differs between the repository's master and the templated source.
  returned: always
  type: list
  elements: str
  sample: [src/hello_world.py]
build:
  description: The build of RV(git_hash).
  returned: when a build was awaited
  type: dict
  contains:
    id:
      description: Build UUID.
      type: str
    status:
      description: V(succeeded) (a failed build fails the task).
      type: str
test:
  description: Outcome of the O(test_payload) call.
  returned: when O(test_payload) is set and not in check mode
  type: dict
  contains:
    result:
      description: What the algorithm returned.
      type: raw
    duration:
      description: Seconds the call took, as the cluster measured it.
      type: float
version:
  description: Semantic version RV(git_hash) is published as; null when not published.
  returned: always
  type: str
  sample: 0.2.0
published:
  description: Whether this run published a new version (in check mode, would).
  returned: always
  type: bool
rebuilt:
  description: True when the unchanged commit had no successful build and was built again (see the notes).
  returned: when it happened
  type: bool
"""

from ansible.module_utils.basic import missing_required_lib

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
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.gitpush import DULWICH_IMPORT_ERROR, HAS_DULWICH


def main():
    module = ClusterModule(dict(source_argument_spec(), **record_argument_spec(), **build_options()),
                           supports_check_mode=True, **BUILD_CONSTRAINTS)
    publisher = BuildPublisher(module)
    with module.reporting("build and publish " + module.params["name"], lambda: publisher.result):
        if not HAS_DULWICH:
            raise TaskFailed(missing_required_lib("dulwich"), exception=DULWICH_IMPORT_ERROR)
        validate(module.params)
        result = publisher.run(module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
