# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Copying Data API files cluster to cluster: streamed, hashed on the way, skipped when unchanged.

How "same content" is decided (the Data API gives a file's size and last_modified, no hash):

1. no destination file, or a different size: copy;
2. the collection's manifest (``MANIFEST_NAME``, written after every verified copy) records,
   for this destination file, the source URI, the source's size and last_modified, and the
   destination's size and last_modified right after the write, and all of them still match
   the listings: skip without reading either file (the cheap path a re-run takes);
3. anything else (no manifest, a file changed on either side, a last_modified missing): stream
   both files through SHA-256 and compare; equal skips (and refreshes the manifest), different copies.

Step 2 trusts that a file rewritten on either side gets a new last_modified (millisecond
resolution on the API): a rewrite with the same size within the same millisecond would go
unnoticed. Everything else falls through to hashing, so a stale or damaged manifest costs
time, never correctness.
"""

from __future__ import annotations

import hashlib
import json
import posixpath

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import Conflict, NotFound
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import (
    UriError,
    quote_path,
    quote_segment,
    split_data_uri,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import data_file_plan

MANIFEST_NAME = "_testbench_manifest.json"
MANIFEST_VERSION = 1
CHUNK_SIZE = 1024 * 1024

COPY, SKIP, COMPARE = "copy", "skip", "compare"


class SyncError(Exception):
    """A problem this module explains itself (bad input, a missing file, a failed verification)."""


# ---- pure parts --------------------------------------------------------------------------


class HashingStream:
    """Passes chunks through while counting and hashing them: what was sent is what was hashed."""

    def __init__(self, chunks):
        self._chunks = chunks
        self._sha = hashlib.sha256()
        self.size = 0
        self.chunks = 0
        self.largest_chunk = 0

    def __iter__(self):
        for chunk in self._chunks:
            if not chunk:
                continue
            self._sha.update(chunk)
            self.size += len(chunk)
            self.chunks += 1
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            yield chunk

    def hexdigest(self):
        return self._sha.hexdigest()

    def close(self):
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def plan_files(files, algorithm, source_user, owner):
    """Source and destination of every file; one destination name per file, decided before any request."""
    plans = []
    seen = {}
    for uri in files:
        try:
            connector, path = split_data_uri(uri)
        except UriError as exc:
            raise SyncError("files: {0}".format(exc)) from None
        # data:// files live in a collection (user/collection/file); other connectors start with a bucket.
        if len(path.strip("/").split("/")) < (3 if connector == "data" else 2):
            raise SyncError("files: {0!r} names no file; give data://<user>/<collection>/<file>".format(uri))
        plan = data_file_plan(uri, algorithm, source_user, owner)
        if connector != "data":
            plan["source"] = uri  # .my and <user> mean something only on the data connector
        if plan["filename"] == MANIFEST_NAME:
            raise SyncError("files: {0!r} has the name of the sync manifest ({1}); rename it".format(uri, MANIFEST_NAME))
        if plan["filename"] in seen:
            raise SyncError("files: {0!r} and {1!r} would both be copied to {2}; each file needs its own name".format(
                seen[plan["filename"]], uri, plan["destination"]))
        seen[plan["filename"]] = uri
        plans.append(plan)
    return plans


def decide(source, destination, recorded):
    """``(COPY|SKIP|COMPARE, reason)`` from listings alone (see the module docstring).

    ``source`` and ``destination`` are ``{"size", "last_modified"}`` (``destination`` is
    ``None`` when missing); ``recorded`` is the manifest entry for the destination file.
    """
    if destination is None:
        return COPY, "missing at the destination"
    if destination.get("size") != source.get("size"):
        return COPY, "size differs ({0} at the source, {1} at the destination)".format(
            source.get("size"), destination.get("size"))
    if recorded and source.get("last_modified") and destination.get("last_modified") and all((
            recorded.get("source") == source.get("uri"),
            recorded.get("source_size") == source.get("size"),
            recorded.get("source_last_modified") == source.get("last_modified"),
            recorded.get("destination_size") == destination.get("size"),
            recorded.get("destination_last_modified") == destination.get("last_modified"))):
        return SKIP, "unchanged on both sides since the last verified copy (manifest)"
    return COMPARE, "same size, no matching manifest entry: compared by SHA-256"


def manifest_entry(source, destination, sha256):
    return {
        "source": source["uri"],
        "source_size": source["size"],
        "source_last_modified": source.get("last_modified"),
        "sha256": sha256,
        "destination_size": destination["size"],
        "destination_last_modified": destination.get("last_modified"),
    }


def parse_manifest(raw):
    """The manifest's ``files`` (by destination file name); anything unreadable counts as none."""
    try:
        document = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("version") != MANIFEST_VERSION:
        return {}
    files = document.get("files")
    if not isinstance(files, dict):
        return {}
    return {name: entry for name, entry in files.items() if isinstance(entry, dict)}


def manifest_bytes(files):
    document = {"version": MANIFEST_VERSION,
                "note": "Written by algorithmia.testbench.algo_data_sync after each verified copy; "
                        "deleting it only makes the next sync compare files by SHA-256.",
                "files": files}
    return json.dumps(document, indent=1, sort_keys=True).encode("utf-8")


def split_file_uri(uri):
    """``(connector, directory path, file name)`` of a file's data URI."""
    connector, path = split_data_uri(uri)
    directory, name = posixpath.split(path.strip("/"))
    return connector, directory, name


# ---- the Data API, streamed ------------------------------------------------------------------


class DataFiles:
    """Data API calls on one cluster, by data URI."""

    def __init__(self, client, role):
        self.client = client
        self.role = role  # "source" or "destination", for messages
        self._listings = {}  # directory listings read by stat(): files of one folder cost one listing

    def _path(self, connector, path):
        return ("/v1/connector/{0}/{1}", quote_segment(connector), quote_path(path))

    def listing(self, connector, directory):
        """``{file name: {"size", "last_modified"}}`` of a directory (all pages), ``None`` when it is missing."""
        files = {}
        marker = None
        while True:
            template, *args = self._path(connector, directory)
            try:
                page = self.client.get_json(template, *args, params={"marker": marker} if marker else None,
                                            action="list {0}://{1} on the {2} cluster".format(
                                                connector, directory, self.role)) or {}
            except NotFound:
                return None
            for entry in page.get("files") or []:
                files[entry.get("filename")] = {"size": entry.get("size"), "last_modified": entry.get("last_modified")}
            marker = page.get("marker")
            if not marker:
                return files

    def stat(self, uri):
        """Size and last_modified of a file, from its directory's listing; ``SyncError`` when missing."""
        connector, directory, name = split_file_uri(uri)
        if (connector, directory) not in self._listings:
            self._listings[(connector, directory)] = self.listing(connector, directory)
        files = self._listings[(connector, directory)]
        if files is None or name not in files:
            if files is None:
                where = "its folder {0}://{1} does not exist".format(connector, directory)
            else:
                where = "no such file in {0}://{1}".format(connector, directory)
            raise SyncError("Failed to read {0} on the {1} cluster {2}: {3}. Fix: check the files entry (names are "
                            "case sensitive; .my is the {1} key's user).".format(
                                uri, self.role, self.client.cluster, where))
        return dict(files[name], uri=uri)

    def download(self, uri):
        connector, path = split_data_uri(uri)
        template, *args = self._path(connector, path)
        return self.client.download(template, *args, chunk_size=CHUNK_SIZE,
                                    action="download {0} from the {1} cluster".format(uri, self.role))

    def sha256(self, uri):
        """``(hex digest, size)`` of a file, streamed."""
        stream = HashingStream(self.download(uri))
        try:
            for _chunk in stream:
                pass
        finally:
            stream.close()
        return stream.hexdigest(), stream.size

    def upload(self, uri, chunks):
        connector, path = split_data_uri(uri)
        template, *args = self._path(connector, path)
        return self.client.upload(template, *args, chunks=chunks, retry=True,
                                  action="upload {0} to the {1} cluster".format(uri, self.role))

    def delete(self, uri):
        connector, path = split_data_uri(uri)
        template, *args = self._path(connector, path)
        return self.client.delete(template, *args, missing_ok=True,
                                  action="delete {0} on the {1} cluster".format(uri, self.role))

    def create_collection(self, owner, name):
        try:
            self.client.post_json("/v1/connector/data/{0}", owner, body={"name": name},
                                  action="create the collection data://{0}/{1}".format(owner, name))
        except Conflict:
            pass  # made meanwhile by someone else: what we wanted

    def read_small(self, uri, limit=4 * 1024 * 1024):
        """The bytes of a small file (the manifest), ``None`` when it is missing or too large."""
        try:
            stream = self.download(uri)
        except NotFound:
            return None
        data = bytearray()
        with stream:
            for chunk in stream:
                data.extend(chunk)
                if len(data) > limit:
                    return None
        return bytes(data)


def copy_file(source_files, destination_files, plan):
    """Stream one file source -> destination; returns the ``HashingStream`` of the attempt that succeeded.

    The destination cluster stores an upload under a temporary name and renames it into place
    when complete, so a broken transfer leaves the old file (or none). A retried upload starts
    again from a fresh download, so every attempt sends, and hashes, the whole file.
    """
    attempts = []

    def fresh_stream():
        stream = HashingStream(source_files.download(plan["source"]))
        attempts.append(stream)
        return stream

    destination_files.upload(plan["destination"], fresh_stream)
    sent = attempts[-1]
    sent.attempts = len(attempts)
    return sent
