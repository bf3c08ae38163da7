#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: algo_cleanup
short_description: Delete exactly what the run records say this collection created on a cluster
version_added: 0.1.0
description:
  - Reads the run records under O(records_dir) (written by M(algorithmia.testbench.algo_create),
    M(algorithmia.testbench.algo_data_sync) and M(algorithmia.testbench.algo_build_publish) before each
    change) and deletes, on this cluster, the algorithms, data files and data collections that this
    collection created and has not deleted yet - nothing else.
  - Never deleted - an algorithm, file or collection that existed before a run (a file written over, an
    algorithm adopted with C(adopt_existing)), anything of a C(run_only) workflow (such runs create nothing),
    a file whose size changed since this collection wrote it, and a collection that still holds anything
    (collections are never deleted with C(force)).
  - Published versions go with their algorithm; the versions a run published on an adopted algorithm
    cannot be deleted through the API and are listed in RV(kept).
  - Each deletion is appended to the run record (O(record_file)), so a second cleanup deletes nothing.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  records_dir:
    description: Directory of the run records (searched recursively for C(record.jsonl)).
    type: path
    required: true
  algorithms:
    description:
      - Limit the cleanup to these algorithm names (as deployed, with any name suffix) and their data
        collections C(data://<owner>/<name>/). Not set means everything the records name for this cluster.
    type: list
    elements: str
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.cluster.record
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details: Reads the records and the cluster and returns what would be deleted; deletes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - module: algorithmia.testbench.algo_preflight
"""

EXAMPLES = r"""
- name: Remove what the testbench made for two algorithms
  algorithmia.testbench.algo_cleanup:
    api_address: "{{ testbench_api_address }}"
    api_key: "{{ testbench_api_key }}"
    records_dir: "{{ testbench_report_dir }}/runs"
    algorithms: [ImageThumbnailer_nightly, ImageBenchmark_nightly]
  register: cleaned

- name: Say what was deleted
  ansible.builtin.debug:
    msg: "{{ cleaned.deleted }}"
"""

RETURN = r"""
deleted:
  description: What was deleted (in check mode, what would be), by kind.
  returned: always
  type: dict
  contains:
    algorithms:
      description: C(owner/name) of each algorithm deleted with its versions and builds.
      type: list
      elements: str
    files:
      description: Data URI of each file deleted.
      type: list
      elements: str
    collections:
      description: Data URI of each collection deleted.
      type: list
      elements: str
kept:
  description: What the records name but was left in place, each with the reason.
  returned: always
  type: list
  elements: str
  sample: ["data://quality/Thumbnailer/model.bin: its size changed since this collection wrote it (1024 -> 2048 bytes)"]
"""

import posixpath

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import record_argument_spec
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles
from ansible_collections.algorithmia.testbench.plugins.module_utils.run_record import DONE, Ownership, read_records
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import split_data_uri


def collection_of(uri):
    """``data://owner/Name/file`` -> ``data://owner/Name``."""
    connector, path = split_data_uri(uri)
    return "{0}://{1}".format(connector, posixpath.dirname(path))


def algorithm_of(uri):
    """The algorithm a collection or file under ``data://<owner>/<algorithm>/`` belongs to."""
    _connector, path = split_data_uri(uri)
    parts = path.split("/")
    return parts[1] if len(parts) > 1 else None


class Cleanup:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.deleted = {"algorithms": [], "files": [], "collections": []}
        self.kept = []

    def wanted(self, name):
        return self.params["algorithms"] is None or name in self.params["algorithms"]

    def run(self, client):
        ownership = Ownership(read_records(self.params["records_dir"], client.api_address))
        record = self.module.record(client, None)
        files = DataFiles(client, "destination")
        listings = {}
        for uri, event in sorted(ownership.files.items()):
            if not self.wanted(algorithm_of(uri)):
                continue
            collection = collection_of(uri)
            if collection not in listings:
                listings[collection] = files.listing(collection) or {}
            current = listings[collection].get(uri.rsplit("/", 1)[-1])
            if current is None:
                continue  # gone already
            if event.get("state") == DONE and event.get("size") is not None and current.get("size") != event["size"]:
                self.kept.append("{0}: its size changed since this collection wrote it ({1} -> {2} bytes)".format(
                    uri, event["size"], current.get("size")))
                continue
            self.deleted["files"].append(uri)
            if not self.module.check_mode:
                files.delete(uri)
                record.deleted("file", uri=uri, owner=event.get("owner"))
        for uri, event in sorted(ownership.collections.items()):
            if not self.wanted(algorithm_of(uri)):
                continue
            if self.module.check_mode:
                remaining = [name for name in (files.listing(uri) or {})
                             if "{0}/{1}".format(uri, name) not in self.deleted["files"]]
                if remaining:
                    self.kept.append("{0}: it still holds {1} file(s) this collection did not write".format(
                        uri, len(remaining)))
                elif files.listing(uri) is not None:
                    self.deleted["collections"].append(uri)
            elif files.delete_collection(uri):
                self.deleted["collections"].append(uri)
                record.deleted("collection", uri=uri, owner=event.get("owner"))
            elif files.listing(uri) is not None:
                self.kept.append("{0}: it still holds files this collection did not write (never deleted "
                                 "with force)".format(uri))
        for (owner, name), event in sorted(ownership.algorithms.items(), key=lambda item: str(item[0])):
            if not self.wanted(name):
                continue
            algorithm = Algorithm(client, owner, name)
            if algorithm.get() is None:
                continue
            self.deleted["algorithms"].append(algorithm.label)
            if not self.module.check_mode:
                algorithm.delete()
                record.deleted("algorithm", name=name, owner=owner)
        for owner, name in sorted(ownership.adopted, key=str):
            if self.wanted(name):
                self.kept.append("{0}/{1}: it existed before the testbench adopted it; the versions runs published "
                                 "on it stay (the API cannot delete a version)".format(owner, name))
        changed = any(self.deleted.values())
        return dict(changed=changed, deleted=self.deleted, kept=self.kept)


def main():
    module = ClusterModule(
        argument_spec=dict(
            record_argument_spec(),
            records_dir=dict(type="path", required=True),
            algorithms=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    cleanup = Cleanup(module)
    with module.reporting("clean up cluster " + str(module.params["api_address"]),
                          lambda: dict(changed=any(cleanup.deleted.values()), deleted=cleanup.deleted,
                                       kept=cleanup.kept)):
        result = cleanup.run(module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
