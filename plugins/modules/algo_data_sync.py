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

import threading

from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    record_argument_spec,
    source_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles, key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.datasync import (
    COMPARE,
    COPY,
    MANIFEST_NAME,
    copy_file,
    decide,
    manifest_bytes,
    manifest_entry,
    parse_manifest,
    SourceChanged,
    plan_files,
    sha256_both,
    sha256_of,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import report_progress
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME

# Copies of one file that failed their check before the task gives up (each a whole transfer).
COPY_ROUNDS = 2


def in_parallel(first, second):
    """``(first(), second())`` with ``second`` run in a thread meanwhile: the source's and the
    destination's reads of a run wait on two clusters, not one after the other. ``second``'s
    error is raised first (it is the destination's, which the task reported first before)."""
    found = {}

    def run_second():
        try:
            found["second"] = second()
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            found["error"] = exc

    thread = threading.Thread(target=run_second, name="data-sync-reads", daemon=True)
    thread.start()
    try:
        found["first"] = first()
    except BaseException:
        thread.join()
        if "error" in found:
            raise found["error"]  # pylint: disable=raise-missing-from
        raise
    thread.join()
    if "error" in found:
        raise found["error"]
    return found["first"], found["second"]


class DataSync:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.changed = False

    def run(self, source_client, destination_client):
        self.source = DataFiles(source_client, "source")
        self.destination = DataFiles(destination_client, "destination")
        algorithm = self.params["algorithm"]
        plan_files(self.params["files"], algorithm, None, None)  # names checked before any request

        def read_destination():
            owner = self.params["owner"] or key_owner(destination_client, "destination")
            collection = "data://{0}/{1}".format(owner, algorithm)
            listing = self.destination.listing(collection)
            manifest = {}
            if listing is not None and MANIFEST_NAME in listing:
                manifest = parse_manifest(self.destination.read_small(collection + "/" + MANIFEST_NAME))
            return owner, collection, listing, manifest

        def read_source():
            source_user = key_owner(source_client, "source")
            # Every source file must exist before anything is written anywhere. (The source URIs do not
            # depend on the destination's owner, which the other thread is finding out.)
            plans = plan_files(self.params["files"], algorithm, source_user, None)
            return source_user, [self.source.stat(plan["source"]) for plan in plans]

        (source_user, sources), (owner, collection, listing, manifest) = in_parallel(read_source, read_destination)
        self.record = self.module.record(destination_client, owner)
        plans = plan_files(self.params["files"], algorithm, source_user, owner)
        results = [self.decide(plan, source, listing, manifest) for plan, source in zip(plans, sources)]

        if not self.module.check_mode:
            if listing is None and plans:
                self.record.intent("collection", uri=collection)
                self.destination.create_collection(owner, algorithm)
                self.record.done("collection", uri=collection)
                self.changed = True
            to_copy = [(plan, source, result) for plan, source, result in zip(plans, sources, results)
                       if result["action"] == "copied"]
            for number, (plan, source, result) in enumerate(to_copy, start=1):
                report_progress("copying {0} ({1} bytes), file {2} of {3} to copy".format(
                    plan["filename"], source["size"], number, len(to_copy)), force=True)
                self.copy(plan, source, result, existed=plan["filename"] in (listing or {}))
            self.write_manifest(collection, plans, sources, results, manifest, listing,
                                existed=MANIFEST_NAME in (listing or {}))
        else:
            would_create = listing is None and len(plans) > 0
            self.changed = would_create or any(r["action"] == "copied" for r in results)
        return dict(changed=self.changed, collection=collection, owner=owner, source_user=source_user, files=results)

    def remove(self, destination_client):
        """Delete the copies of ``files`` and their manifest entries; the collection once empty."""
        self.destination = DataFiles(destination_client, "destination")
        owner = self.params["owner"] or key_owner(destination_client, "destination")
        self.record = self.module.record(destination_client, owner)
        algorithm = self.params["algorithm"]
        collection = "data://{0}/{1}".format(owner, algorithm)
        plans = plan_files(self.params["files"], algorithm, None, owner)  # names only: the source is not read
        listing = self.destination.listing(collection)
        files = [dict(source=plan["source"], destination=plan["destination"],
                      action="deleted" if plan["filename"] in (listing or {}) else "absent",
                      size=(listing or {}).get(plan["filename"], {}).get("size"))
                 for plan in plans]
        result = dict(changed=False, collection=collection, owner=owner, files=files, collection_removed=False)
        if listing is None:
            return result
        names = set(plan["filename"] for plan in plans)
        manifest = parse_manifest(self.destination.read_small(collection + "/" + MANIFEST_NAME)) \
            if MANIFEST_NAME in listing else {}
        kept_manifest = {name: entry for name, entry in manifest.items() if name not in names}
        others = [name for name in listing if name not in names and name != MANIFEST_NAME]
        result["changed"] = any(entry["action"] == "deleted" for entry in files)
        if self.module.check_mode:
            result["collection_removed"] = not others and not kept_manifest
            result["changed"] = result["changed"] or result["collection_removed"]
            return result
        for entry in files:
            if entry["action"] == "deleted":
                self.destination.delete(entry["destination"])
                self.record.deleted("file", uri=entry["destination"])
                self.changed = True
        if kept_manifest != manifest:
            if kept_manifest:
                self.destination.upload(collection + "/" + MANIFEST_NAME, lambda: [manifest_bytes(kept_manifest)])
            else:
                self.destination.delete(collection + "/" + MANIFEST_NAME)
                self.record.deleted("file", uri=collection + "/" + MANIFEST_NAME)
        if not others and not kept_manifest:
            # Without force: the cluster refuses if anything (a folder, a file written meanwhile) is left.
            result["collection_removed"] = self.destination.delete_collection(collection)
            if result["collection_removed"]:
                self.record.deleted("collection", uri=collection)
        result["changed"] = self.changed or result["collection_removed"]
        return result

    def decide(self, plan, source, listing, manifest):
        destination = (listing or {}).get(plan["filename"])
        recorded = manifest.get(plan["filename"])
        action, reason = decide(source, destination, recorded)
        result = dict(source=plan["source"], destination=plan["destination"], size=source["size"], reason=reason,
                      action="copied" if action == COPY else "skipped", sha256=None)
        if action == COMPARE:
            # Both files read at once; the only case that reads a file to decide.
            (source_sha, _size), (destination_sha, _size) = sha256_both(
                self.source, plan["source"], self.destination, plan["destination"])
            result["sha256"] = source_sha
            if source_sha != destination_sha:
                result.update(action="copied", reason="same size, different SHA-256")
            else:
                result["reason"] = "same SHA-256"
        elif action != COPY:
            result["sha256"] = recorded.get("sha256")
        return result

    def copy(self, plan, source, result, existed):
        self.record.intent("file", uri=plan["destination"], existed=existed)
        full = self.params["verify"] == "full"
        uploads = 0
        for copy_round in range(1, COPY_ROUNDS + 1):
            try:
                sent = copy_file(self.source, self.destination, plan, source["size"], sha256=full)
            except SourceChanged as exc:
                # The upload was refused short (or stopped before its end): nothing was stored.
                raise TaskFailed("Failed to copy {0}: {1}. Nothing was written. Fix: run again once the source file "
                                 "is stable.".format(plan["source"], exc)) from None
            uploads += sent.attempts
            self.changed = True
            result.update(sha256=sent.hexdigest(), size=sent.size, transfer=dict(
                bytes=sent.size, chunks=sent.chunks, largest_chunk=sent.largest_chunk, attempts=uploads,
                verified="sha256" if full else "size"))
            problem = self.check_copy(plan, sent, full)
            if problem is None:
                break
            # Never left in place as if done: deleted before another round, or before failing.
            self.destination.delete(plan["destination"])
            if copy_round == COPY_ROUNDS:
                raise TaskFailed(
                    "Failed to verify {0} on the destination cluster {1}: {2}, after {3} copies. The copy was "
                    "deleted. Fix: run again; if it persists, check the cluster's storage (and anything between "
                    "it and this host).".format(plan["destination"], self.destination.client.cluster, problem,
                                                COPY_ROUNDS))
            report_progress("{0} failed its check ({1}): copying it again".format(plan["filename"], problem),
                            force=True)
        self.record.done("file", uri=plan["destination"], existed=existed, sha256=sent.hexdigest(), size=sent.size)

    def check_copy(self, plan, sent, full):
        """``None`` when the destination holds what was sent, else what differs (in words)."""
        if full:
            stored_sha, stored_size = sha256_of(self.destination, plan["destination"])
            if (stored_sha, stored_size) != (sent.hexdigest(), sent.size):
                return "it serves {0} bytes with SHA-256 {1}, but {2} bytes with SHA-256 {3} were sent".format(
                    stored_size, stored_sha, sent.size, sent.hexdigest())
            return None
        stored_size = self.destination.stored_size(plan["destination"])
        if stored_size != sent.size:
            return "it holds {0} bytes, but {1} were sent".format(
                "no file" if stored_size is None else stored_size, sent.size)
        return None

    def write_manifest(self, collection, plans, sources, results, manifest, listing, existed):
        """Write the manifest when an entry is new or changed, with the destination's state after the writes
        (``listing`` is the one read before: still the state when nothing was written)."""
        if not plans:
            return
        if self.changed or listing is None:
            listing = self.destination.listing(collection)
        listing = listing or {}
        entries = dict(manifest)
        for plan, source, result in zip(plans, sources, results):
            stored = listing.get(plan["filename"])
            if stored is None:
                continue
            if stored["size"] != result["size"]:
                continue  # changed again since: the next run decides afresh
            entries[plan["filename"]] = manifest_entry(source, stored, result["sha256"])
        if entries != manifest:
            # Bookkeeping, not a change of the data: it does not make the task "changed" by itself.
            uri = collection + "/" + MANIFEST_NAME
            self.record.intent("file", uri=uri, existed=existed)
            self.destination.upload(uri, lambda: [manifest_bytes(entries)])
            self.record.done("file", uri=uri, existed=existed)


def main():
    module = ClusterModule(
        argument_spec=dict(
            source_argument_spec(),
            **record_argument_spec(),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            algorithm=dict(type="str", required=True),
            owner=dict(type="str"),
            files=dict(type="list", elements="str", default=[]),
            verify=dict(type="str", choices=["size", "full"], default="size"),
        ),
        required_if=[("state", "present", ("source_api_address", "source_api_key"))],
        supports_check_mode=True,
    )
    sync = DataSync(module)
    # Files copied before a failure stay copied (and verified): say so through changed.
    with module.reporting("sync the data files of " + module.params["algorithm"], lambda: dict(changed=sync.changed)):
        if not ALGORITHM_NAME.match(module.params["algorithm"]):
            raise TaskFailed("Invalid algorithm name {0!r}: use letters, digits and underscores, starting with a "
                             "letter.".format(module.params["algorithm"]))
        if module.params["state"] == "absent":
            result = sync.remove(module.connect())
        else:
            result = sync.run(module.connect(prefix="source_"), module.connect())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
