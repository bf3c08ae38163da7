# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: workflow
author: Algorithmia testbench maintainers (@algorithmiaio)
short_description: Load, validate and template a testbench workflow
version_added: 0.1.0
description:
  - Reads a workflow file, checks it against C(workflows/schema.json) and the rules the schema
    cannot express, templates C(<algo>), C(<user>) and C(.my), and returns its normalised form.
  - Every problem is reported at once, each naming its JSON path, the value found and the fix.
  - Runs entirely on the controller and contacts no cluster, so a play can check its input
    before it changes anything.
  - "Rules beyond the schema: algorithm names are unique; the test entrypoint names
    one of the algorithms; an algorithm sets at most one of C(code_path) / C(code) and exactly one of
    C(language) / C(environment) / C(environment_name) / C(environment_id) (none is needed with
    C(run_only)); an algorithm without C(code_path) has a template C(algorithms/<name>/src/) in a
    language's layout (its manifest and main file), and in the algorithm's C(language) when it names
    a shorthand (a Java template with V(python3) is refused, naming both); an algorithm whose template
    calls C(algo://.my/X) comes after C(X); data file names are unique per algorithm."
options:
  _terms:
    description:
      - Workflow names (the file name under C(workflows/) without C(.json)), or paths of workflow
        files (relative paths are relative to the playbook).
    required: true
    type: list
    elements: str
  workflows_dir:
    description:
      - Directory to look up workflow names in.
      - By default, the first C(workflows/) that has the name, in this order, so that an operator keeps
        workflows in the inventory repository. Beside the inventory (C(inventory_dir)), beside the
        playbook, in the current directory, then the collection's own C(workflows/).
    type: path
  algorithms_dir:
    description:
      - Directory of algorithm templates (C(<dir>/<name>/src/)), used to check that every
        algorithm has code in its language's layout and that dependencies come first.
      - By default, C(algorithms/) beside the directory that holds the workflow file.
    type: path
  user:
    description:
      - Owner of the destination cluster's key. Replaces C(<user>) and C(.my) in test payloads and
        in data file destinations.
      - If not set, C(.my) is kept (the cluster resolves it) and C(<user>) becomes C(.my).
    type: str
  source_user:
    description:
      - Owner of the source cluster's key. Replaces C(<user>) and C(.my) in C(code_path) and C(data_files).
      - If not set, C(.my) is kept and C(<user>) becomes C(.my).
    type: str
requirements:
  - jsonschema >= 4.23
notes:
  - Warnings (an algorithm calls one that is not in the workflow, two tests share a name) are
    shown and also returned in RV(_raw[].warnings).
seealso:
  - name: The workflow schema
    description: C(workflows/schema.json) in the collection documents every field.
    link: https://github.com/algorithmiaio/algorithmia-testbench/blob/main/workflows/schema.json
"""

EXAMPLES = r"""
- name: Load the hello_world workflow (workflows/hello_world.json)
  ansible.builtin.set_fact:
    testbench_workflow: "{{ lookup('algorithmia.testbench.workflow', 'hello_world') }}"

- name: Load a workflow file by path, templated for the destination owner
  ansible.builtin.set_fact:
    testbench_workflow: >-
      {{ lookup('algorithmia.testbench.workflow', 'files/my_pipeline.json', user='quality') }}

- name: Check several workflows before any cluster is touched
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.algorithms | map(attribute='name') | join(' -> ') }}"
  loop: "{{ query('algorithmia.testbench.workflow', 'hello_world', 'image_benchmark') }}"
"""

RETURN = r"""
_raw:
  description: One normalised workflow per term.
  type: list
  elements: dict
  contains:
    name:
      description: The workflow's name (its file name without C(.json)).
      type: str
      sample: hello_world
    source_api_address:
      description: C(source_info.cluster_address), or null when the workflow does not say.
      type: str
      sample: https://api.algorithmia.com
    run_only:
      description: Whether only the tests run (the algorithms already exist on the destination).
      type: bool
      sample: false
    algorithms:
      description: The algorithms, in the order they are exported, built and checked.
      type: list
      elements: dict
      contains:
        name:
          description: Algorithm name.
          type: str
          sample: hello_world
        environment:
          description:
            - Exactly one of C(language) (also for the older C(environment) field),
              C(environment_name) or C(environment_id). Null only with C(run_only).
          type: dict
          sample: {"language": "python3"}
        code_path:
          description: Source data URI of the code archive (C(code_path) or the older C(code)), or null.
          type: str
          sample: data://.my/testbench_code/ImageThumbnailer.tar.gz
        template_dir:
          description: The local template directory C(algorithms/<name>), or null when there is none.
          type: str
        calls:
          description: Algorithms of this owner that the template calls (C(algo://.my/<name>)).
          type: list
          elements: str
          sample: ["ImageThumbnailer"]
        data_files:
          description: Files to copy, each with C(source), C(destination) (C(data://<owner>/<algo>/<file>)) and C(filename).
          type: list
          elements: dict
          sample: [{"source": "data://.my/assets/landscape.png",
                    "destination": "data://.my/ImageThumbnailer/landscape.png", "filename": "landscape.png"}]
        has_test_payload:
          description: Whether the workflow gives a test payload (a payload may itself be null).
          type: bool
        test_payload:
          description: The templated test payload (any JSON value).
          type: raw
          sample: Algorithmia
    entrypoint:
      description: The algorithm the tests call, or null without C(test_info).
      type: str
      sample: hello_world
    tests:
      description:
        - Benchmark tests with defaults filled in - C(timeout) 300, C(calls) 1, C(concurrency) 1,
          C(max_error_rate) 0, C(max_latency_ms) empty (no latency gate).
      type: list
      elements: dict
      sample: [{"name": "basic test", "payload": "Algorithmia", "timeout": 10, "calls": 1, "concurrency": 1,
                "has_expected_output": false, "expected_output": null, "max_error_rate": 0, "max_latency_ms": {}}]
    user:
      description: The destination owner used for templating, or null.
      type: str
    source_user:
      description: The source owner used for templating, or null.
      type: str
    warnings:
      description: Things that are allowed but probably not meant.
      type: list
      elements: str
"""

import json
import os
import re

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow import (
    HAS_JSONSCHEMA,
    WorkflowError,
    load_workflow,
)

display = Display()

COLLECTION_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_PATH = os.path.join(COLLECTION_DIR, "workflows", "schema.json")
WORKFLOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not HAS_JSONSCHEMA:
            raise AnsibleError(missing_required_lib("jsonschema"))
        schema = self._schema()
        results = []
        for term in terms:
            path = self._find(str(term), variables or {})
            try:
                workflow = load_workflow(path, schema, user=self.get_option("user"),
                                         source_user=self.get_option("source_user"),
                                         algorithms_dir=self.get_option("algorithms_dir"))
            except WorkflowError as exc:
                raise AnsibleError(str(exc)) from None
            except OSError as exc:
                raise AnsibleError("Cannot read workflow {0}: {1}".format(path, exc.strerror)) from None
            for warning in workflow["warnings"]:
                display.warning("Workflow {0}: {1}".format(workflow["name"], warning))
            results.append(workflow)
        return results

    @staticmethod
    def _schema():
        try:
            with open(SCHEMA_PATH, "r", encoding="utf-8") as stream:
                return json.load(stream)
        except (OSError, ValueError) as exc:
            raise AnsibleError("Cannot load the workflow schema {0}: {1}. Fix: reinstall the "
                               "algorithmia.testbench collection".format(SCHEMA_PATH, exc)) from None

    def _search_dirs(self, variables):
        configured = self.get_option("workflows_dir")
        if configured:
            return [configured]
        # The user's project first (an inventory repository holds its workflows beside the
        # inventory), the collection's examples last.
        project = [variables.get("inventory_dir"), self._loader.get_basedir(), os.getcwd()]
        dirs = [os.path.join(str(base), "workflows") for base in project if base]
        dirs.append(os.path.join(COLLECTION_DIR, "workflows"))
        unique = []
        for directory in dirs:
            if os.path.realpath(directory) not in [os.path.realpath(d) for d in unique]:
                unique.append(directory)
        return unique

    def _find(self, term, variables):
        """A workflow file for a name or path, or an error that lists what exists."""
        if "/" in term or term.endswith(".json"):
            path = self._loader.path_dwim(term)
            if not os.path.isfile(path):
                raise AnsibleError("Workflow file {0} does not exist. Fix: give the path of a workflow "
                                   "file (relative to the playbook), or a workflow name".format(path))
            return path
        if not WORKFLOW_NAME.match(term):
            raise AnsibleError("Workflow name {0!r} is not a file name. Fix: give the name of a file "
                               "under workflows/ without .json, such as hello_world".format(term))
        dirs = self._search_dirs(variables)
        for directory in dirs:
            path = os.path.join(directory, term + ".json")
            if os.path.isfile(path):
                return path
        available = sorted({
            name[:-5] for directory in dirs if os.path.isdir(directory)
            for name in os.listdir(directory) if name.endswith(".json") and name != "schema.json"
        })
        raise AnsibleError("Workflow {0!r} not found in {1}. Fix: use one of: {2}; or give a path to a "
                           ".json file".format(term, ", ".join(dirs), ", ".join(available) or "(none)"))
