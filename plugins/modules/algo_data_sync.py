#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: algo_data_sync
author: Algorithmia testbench maintainers (@algorithmiaio)
short_description: Copy an algorithm's data files from a source cluster to a destination cluster, or remove them
version_added: 0.1.0
description:
  - The shared connection options (O(api_address), O(api_key), ...) name the destination cluster;
    the C(source_) options name the source cluster (O(source_api_address) and O(source_api_key) are
    required with O(state=present)).
  - Copies data files (models, test inputs) from the source cluster's Data API into the
    collection C(data://<owner>/<algorithm>/) of the destination cluster, creating the collection
    if needed, so an algorithm's payloads can read C(data://.my/<algorithm>/<file>).
  - Each file is streamed cluster to cluster, the source download feeding the destination upload
    chunk by chunk; it is never held whole in memory or written to local disk.
  - A file whose destination already holds the same content is skipped. The Data API gives sizes and
    modification times but no hashes, so the module decides "same" like this. A missing destination file
    or a different size is copied. Otherwise a manifest in the destination collection
    (C(_testbench_manifest.json), written after each verified copy) is consulted - when it records the same
    source URI, the same source size and last_modified and the same destination size and last_modified
    that the listings show now, the file is skipped without reading it. In every other case (no manifest,
    a file changed on either side, a time missing) both files are streamed through SHA-256 and compared.
  - The manifest shortcut assumes that a rewritten file gets a new last_modified (millisecond resolution);
    a stale or deleted manifest only costs a comparison by hash, never a wrong skip of a changed size or time.
  - Each file is uploaded with its size as Content-Length, so the destination refuses a body that ends
    short, and the download runs ahead of the upload (a few chunks, in a thread) so both move at once.
  - With O(verify=size) (the default), after each copy the destination must report the size that was
    sent (one HEAD request; the file is not read back). With O(verify=full), it is read back whole and its
    SHA-256 compared with that of what was sent. A copy that fails its check is copied once more, then
    deleted, and the task fails.
  - With O(state=absent), the files O(files) names are deleted from the destination collection (nothing
    else in it), their manifest entries dropped, and the collection itself deleted once nothing else is
    left in it. The source cluster is not contacted.
  - A transfer that breaks leaves no partial file visible (the Data API stores an upload under a
    temporary name and renames it into place once complete); a retried upload starts again from a fresh
    download, so retries are safe.
  - 'A copy has no time limit while bytes move. When none has moved for O(stall_timeout) seconds (a source
    that answers nothing, a destination that takes nothing more in), no other attempt starts, and the task
    fails with C(stuck: no byte moved in N s) at most one O(timeout) later.'
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
      - Only reads both clusters (files of the same size may be read to compare their hashes) and
        reports what would be copied.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) copies the files; V(absent) deletes the copies (see above).
    type: str
    choices: [present, absent]
    default: present
  algorithm:
    description:
      - Name of the algorithm; the files go to the collection C(data://<owner>/<algorithm>/).
      - Also replaces C(<algo>) in O(files).
    type: str
    required: true
  owner:
    description:
      - Owner of the destination collection. If not set, the user the destination key belongs to.
    type: str
  files:
    description:
      - Data URIs of the files on the source cluster, for example V(data://.my/models/resnet.h5).
      - C(.my) (and C(<user>)) mean the user of the source key. Each file keeps its name at the destination,
        so names must be unique.
    type: list
    elements: str
    default: []
  verify:
    description:
      - How each copy is checked once written (see above). V(size) - the destination reports the size
        sent; no byte is read back. V(full) - the copy is read back and its SHA-256 compared with what was
        sent (moves every byte a third time).
    type: str
    choices: [size, full]
    default: size
  stall_timeout:
    description:
      - Seconds a copy may go without moving a byte before it ends (see above). Sending again what an earlier
        attempt sent does not count as moving (a destination that reads nothing takes in a few MiB each time).
      - A copy that moves takes as long as it takes; each wait for data is still bounded by O(timeout).
    type: float
    default: 120
notes:
  - The destination key needs read/write data access to O(owner)'s collections; the collection is created
    with the cluster's default read ACL (the owner's algorithms may read it).
seealso:
  - module: algorithmia.testbench.algo_create
"""

EXAMPLES = r"""
- name: Copy the model and a test image of ImageClassifier
  algorithmia.testbench.algo_data_sync:
    api_address: "{{ testbench_api_address }}"
    api_key: "{{ testbench_api_key }}"
    source_api_address: https://api.algorithmia.com
    source_api_key: "{{ testbench_source_api_key }}"
    algorithm: ImageClassifier
    files:
      - data://.my/image_models/resnet50.h5
      - data://.my/image_models/landscape.png
  register: testbench_data

- name: Show what was copied
  ansible.builtin.debug:
    msg: "{{ testbench_data.files | selectattr('action', 'equalto', 'copied') | map(attribute='destination') }}"
"""

RETURN = r"""
collection:
  description: The destination collection.
  returned: always
  type: str
  sample: data://quality/ImageClassifier
owner:
  description: Owner of the destination collection.
  returned: always
  type: str
  sample: quality
source_user:
  description: The source key's user (what C(.my) meant in O(files)).
  returned: with O(state=present)
  type: str
  sample: quality
collection_removed:
  description: Whether the emptied collection was deleted (in check mode, would be).
  returned: with O(state=absent)
  type: bool
files:
  description: One entry per file of O(files), in order.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: Source data URI, C(.my) resolved (with O(state=absent), as given).
      type: str
      sample: data://quality/image_models/resnet50.h5
    destination:
      description: Destination data URI.
      type: str
      sample: data://quality/ImageClassifier/resnet50.h5
    action:
      description:
        - V(copied) or V(skipped); with O(state=absent), V(deleted) or V(absent) (in check mode, what would be done).
      type: str
      sample: copied
    reason:
      description: Why it was copied or skipped.
      type: str
      sample: missing at the destination
    size:
      description: Size in bytes.
      type: int
      sample: 102400
    sha256:
      description:
        - SHA-256 of the content, computed only where it is compared - a copy with O(verify=full), or
          files of the same size compared by content. A skip by manifest returns the recorded value (null
          when the copy was checked by size); a copy with O(verify=size) or in check mode computes none.
      type: str
    transfer:
      description: For copied files, how the bytes were streamed.
      returned: when copied (not in check mode)
      type: dict
      contains:
        bytes:
          description: Bytes sent.
          type: int
        chunks:
          description: Chunks the body was streamed in.
          type: int
        largest_chunk:
          description: Bytes in the largest chunk, the most of the file held in memory at once.
          type: int
        attempts:
          description: Uploads started (more than one after a retried failure or a copy that failed its check).
          type: int
        verified:
          description: How the copy was checked - V(size) or V(sha256).
          type: str
"""

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithm_state import check_algorithm_name
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    record_argument_spec,
    source_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_sync_task import (
    SYNC_CONSTRAINTS,
    DataSync,
    sync_options,
)


def main():
    module = ClusterModule(argument_spec=dict(source_argument_spec(), **record_argument_spec(), **sync_options()),
                           supports_check_mode=True, **SYNC_CONSTRAINTS)
    sync = DataSync(module)
    # Files copied before a failure stay copied (and verified): say so through changed.
    with module.reporting("sync the data files of " + module.params["algorithm"], lambda: dict(changed=sync.changed)):
        check_algorithm_name(module.params["algorithm"])
        if module.params["state"] == "absent":
            result = sync.remove(module.connect())
        else:
            result = sync.run(module.connect(prefix="source_"), module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
