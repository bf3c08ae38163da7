# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run records: what this collection created on a cluster, written before each change completes.

A record is a JSON-lines file in the run's bundle, one per cluster
(``<report_dir>/runs/<run id>/<cluster>/record.jsonl``), appended to and flushed to disk:

    {"run": ..., "time": ..., "cluster": "https://api.example.com", "owner": "quality",
     "kind": "algorithm" | "collection" | "file" | "version" | "adopted",
     "name": ... or "uri": ..., "state": "intent" | "done" | "deleted", ...}

Each mutating step appends an ``intent`` line before its request and a ``done`` line after it,
so a crash between the two leaves a truthful record: the thing may exist, and if it does, this
collection made it (the step checked that it did not exist before). Only things that did not
exist before are recorded as made: a file written over an existing one, or an algorithm the run
adopted, is recorded with ``"existed": true`` and is never deleted.

``Ownership`` folds every record of one cluster (every run, in time order) into what this
collection made and has not deleted yet: what cleanup may delete, and which existing algorithms a
run may push over without ``adopt_existing``. Records never hold a key.
"""

from __future__ import annotations

import glob
import json
import os
import time

RECORD_NAME = "record.jsonl"
INTENT, DONE, DELETED = "intent", "done", "deleted"
KINDS = ("algorithm", "collection", "file", "version", "adopted")


class RunRecord:
    """Appends the events of one run on one cluster to ``path`` (created 0600, parents 0700)."""

    def __init__(self, path, run_id, cluster, owner=None):
        self.path = path
        self.run_id = run_id
        self.cluster = cluster
        self.owner = owner

    def write(self, kind, state, **fields):
        if kind not in KINDS:
            raise ValueError("unknown record kind {0!r}".format(kind))
        entry = {"run": self.run_id, "time": round(time.time(), 3), "cluster": self.cluster, "owner": self.owner,
                 "kind": kind, "state": state}
        entry.update(fields)
        line = json.dumps(entry, sort_keys=True) + "\n"
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)  # on disk before the request it announces is sent
        finally:
            os.close(fd)
        return entry

    def intent(self, kind, **fields):
        return self.write(kind, INTENT, **fields)

    def done(self, kind, **fields):
        return self.write(kind, DONE, **fields)

    def deleted(self, kind, **fields):
        return self.write(kind, DELETED, **fields)


class NoRecord(RunRecord):
    """Stands in when a task keeps no record (a module run on its own): writes nothing."""

    def __init__(self):
        super().__init__(None, None, None)

    def write(self, kind, state, **fields):
        return None


def open_record(path, run_id, cluster, owner=None):
    return RunRecord(path, run_id, cluster, owner) if path else NoRecord()


def read_records(records_dir, cluster):
    """Every event recorded for ``cluster`` (its API address) under ``records_dir``, oldest first.

    A line cut short by a crash is skipped: it is the last line of its file, and the step it
    announced had not been sent yet (the intent is written before the request).
    """
    events = []
    pattern = os.path.join(records_dir, "**", RECORD_NAME)
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path, "r", encoding="utf-8") as stream:
            for line in stream:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("cluster") == cluster:
                    events.append(event)
    events.sort(key=lambda event: event.get("time") or 0)
    return events


def _key(event):
    if event["kind"] in ("algorithm", "adopted", "version"):
        return (event.get("owner"), event.get("name"))
    return event.get("uri")


class Ownership:
    """What the records of one cluster say this collection made and has not deleted yet."""

    def __init__(self, events):
        self.algorithms = {}   # (owner, name) -> last event: made by this collection
        self.adopted = set()   # (owner, name): existed before, pushed over with the operator's consent
        self.collections = {}  # uri -> last event
        self.files = {}        # uri -> last event (with sha256 and size once done)
        for event in events:
            kind, state = event.get("kind"), event.get("state")
            key = _key(event)
            table = {"algorithm": self.algorithms, "collection": self.collections, "file": self.files}.get(kind)
            if kind == "adopted":
                self.adopted.add(key)
            elif table is not None:
                if state == DELETED:
                    table.pop(key, None)
                elif event.get("existed"):
                    # Written over something that was there: still ours if this collection made it
                    # (its new content), never ours otherwise.
                    if key in table and state == DONE:
                        table[key] = dict(event, existed=False)
                    continue
                elif state == INTENT and key in table:
                    continue  # an earlier run made it; a later intent does not make it any less ours
                else:
                    table[key] = event

    def made_algorithm(self, owner, name):
        return (owner, name) in self.algorithms

    def may_push_to(self, owner, name):
        return (owner, name) in self.algorithms or (owner, name) in self.adopted
