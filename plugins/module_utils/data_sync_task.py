# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The data files of one algorithm copied from the source cluster (algo_data_sync, algo_deploy)."""

from __future__ import annotations

import threading

from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles, key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.datasync import (
    COMPARE,
    COPY,
    DEFAULT_STALL_TIMEOUT,
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

# Copies of one file that failed their check before the task gives up (each a whole transfer).
COPY_ROUNDS = 2


def sync_options():
    """algo_data_sync's own options (without the clusters' and the run record's)."""
    return dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        algorithm=dict(type="str", required=True),
        owner=dict(type="str"),
        files=dict(type="list", elements="str", default=[]),
        verify=dict(type="str", choices=["size", "full"], default="size"),
        stall_timeout=dict(type="float", default=DEFAULT_STALL_TIMEOUT),
    )


SYNC_CONSTRAINTS = dict(required_if=[("state", "present", ("source_api_address", "source_api_key"))])


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
        if not self.params["stall_timeout"] > 0:
            raise TaskFailed("Invalid stall_timeout {0!r}; nothing was sent to any cluster. Fix: give the seconds a copy "
                             "may go without moving a byte, such as {1} (the default).".format(
                                 self.params["stall_timeout"], DEFAULT_STALL_TIMEOUT))

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
                sent = copy_file(self.source, self.destination, plan, source["size"], sha256=full,
                                 stall_timeout=self.params["stall_timeout"])
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
