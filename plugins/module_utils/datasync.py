# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Copying Data API files cluster to cluster: streamed, read ahead, checked, skipped when unchanged.

How "same content" is decided (the Data API gives a file's size and last_modified, no hash):

1. no destination file, or a different size: copy;
2. the collection's manifest (``MANIFEST_NAME``, written after every verified copy) records,
   for this destination file, the source URI, the source's size and last_modified, and the
   destination's size and last_modified right after the write, and all of them still match
   the listings: skip without reading either file (the cheap path a re-run takes);
3. anything else (no manifest, a file changed on either side, a last_modified missing): stream
   both files (at once) through SHA-256 and compare; equal skips (and refreshes the manifest),
   different copies.

Step 2 trusts that a file rewritten on either side gets a new last_modified (millisecond
resolution on the API): a rewrite with the same size within the same millisecond would go
unnoticed. Everything else falls through to hashing, so a stale or damaged manifest costs
time, never correctness. A manifest entry written after a copy checked by size records no
SHA-256 (``sha256`` null): none was computed, since none was compared.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import Stall
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import UriError, split_data_uri
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import data_file_plan

MANIFEST_NAME = "_testbench_manifest.json"
MANIFEST_VERSION = 1
COPY, SKIP, COMPARE = "copy", "skip", "compare"


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
            raise TaskFailed("files: {0}".format(exc)) from None
        # data:// files live in a collection (user/collection/file); other connectors start with a bucket.
        if len(path.strip("/").split("/")) < (3 if connector == "data" else 2):
            raise TaskFailed("files: {0!r} names no file; give data://<user>/<collection>/<file>".format(uri))
        plan = data_file_plan(uri, algorithm, source_user, owner)
        if connector != "data":
            plan["source"] = uri  # .my and <user> mean something only on the data connector
        if plan["filename"] == MANIFEST_NAME:
            raise TaskFailed("files: {0!r} has the name of the sync manifest ({1}); rename it".format(uri, MANIFEST_NAME))
        if plan["filename"] in seen:
            raise TaskFailed("files: {0!r} and {1!r} would both be copied to {2}; each file needs its own name".format(
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


# ---- streaming, through data_api.DataFiles ------------------------------------------------

READ_AHEAD_CHUNKS = 4  # chunks (of data_api.CHUNK_SIZE) a download may run ahead of its upload
# Seconds a copy may go without a byte moving before no other attempt starts: two waits of the default
# 60 s client timeout. A copy that moves takes as long as it takes.
DEFAULT_STALL_TIMEOUT = 120
# What sockets and the read-ahead take in before the other side reads anything (kernel buffers are a
# few MiB): an attempt that sends again what an earlier one sent shows the destination reads only past this.
BUFFERED_AT_MOST = 16 * 1024 * 1024


class ReadAhead:
    """Iterates ``chunks`` in a thread of its own, up to ``depth`` chunks ahead of the consumer.

    So a copy downloads and uploads at the same time (socket reads and writes, TLS and hashing
    release the GIL), with at most ``depth`` chunks in memory between the two. ``on_chunk`` is
    called in the reading thread with each chunk (hashing there overlaps the upload). An error of
    the reader is raised in the consumer, after the chunks read before it; ``close()`` stops the
    reader and closes ``chunks``.
    """

    _END = object()

    def __init__(self, chunks, depth=READ_AHEAD_CHUNKS, on_chunk=None):
        self._chunks = chunks
        self._on_chunk = on_chunk
        self._queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="data-sync-read-ahead", daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for chunk in self._chunks:
                if not chunk:
                    continue
                if self._on_chunk is not None:
                    self._on_chunk(chunk)
                if not self._put(chunk):
                    return
            self._put((self._END, None))
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            self._put((self._END, exc))  # raised again in the consumer's thread
        finally:
            _close(self._chunks)

    def _put(self, item):
        # With a timeout, so a consumer that stopped (its upload failed) never leaves the reader blocked.
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self._queue.get()
            if isinstance(item, tuple):
                if item[1] is not None:
                    raise item[1]
                return
            yield item

    def close(self):
        self._stop.set()
        # The reader sees the stop within 0.1 s, unless it waits on the source's socket: then it
        # ends with that read (a daemon thread: it never keeps the module alive).
        self._thread.join(5)


def _close(stream):
    close = getattr(stream, "close", None)
    if close is not None:
        close()


class SizedBody:
    """The body of one upload attempt: the source's chunks, read ahead, sent with the Content-Length
    ``size`` (the source's listed size), counted and, with ``sha256``, hashed as they are read.

    With a Content-Length the destination refuses a body that ends short, so a broken transfer can
    never be stored as a short file. Should the source deliver more or fewer bytes than listed (it
    changed since), ``SourceChanged`` stops the upload before it completes.
    """

    def __init__(self, chunks, size, sha256=False, stall=None):
        self.content_length = size
        self._sha = hashlib.sha256() if sha256 else None
        self._stall = stall
        self.size = 0
        self.chunks = 0
        self.largest_chunk = 0
        self._stream = ReadAhead(chunks, on_chunk=self._sha.update if sha256 else None)

    def __iter__(self):
        for chunk in self._stream:
            self.size += len(chunk)
            if self._stall is not None and (self.size > self._stall.furthest or self.size > BUFFERED_AT_MOST):
                # the copy moved: bytes no attempt had sent, or more than a stuck destination would take in
                self._stall.moved(self.size)
            if self.size > self.content_length:
                raise SourceChanged(self.size, self.content_length)
            self.chunks += 1
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            yield chunk
        if self.size != self.content_length:
            raise SourceChanged(self.size, self.content_length)

    def hexdigest(self):
        return self._sha.hexdigest() if self._sha is not None else None

    def close(self):
        self._stream.close()


class SourceChanged(TaskFailed):
    def __init__(self, sent, listed):
        super().__init__("the source sent {0}{1} bytes but listed {2}: it changed during the copy".format(
            "more than " if sent > listed else "", sent, listed))
        self.sent = sent


def sha256_of(files, uri):
    """``(hex digest, size)`` of a file on a cluster (a ``data_api.DataFiles``), streamed; a download
    that breaks off is resumed where it stopped, so the digest is of the whole file once."""
    stream = HashingStream(files.download(uri))
    try:
        for _chunk in stream:
            pass
    finally:
        stream.close()
    return stream.hexdigest(), stream.size


def sha256_both(first, first_uri, second, second_uri):
    """``sha256_of`` of two files (on two clusters) read at the same time: ``((digest, size), (digest, size))``."""
    found = {}

    def read_second():
        try:
            found["second"] = sha256_of(second, second_uri)
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            found["error"] = exc

    thread = threading.Thread(target=read_second, name="data-sync-compare", daemon=True)
    thread.start()
    try:
        found["first"] = sha256_of(first, first_uri)
    finally:
        thread.join()
    if "error" in found:
        raise found["error"]
    return found["first"], found["second"]


def copy_file(source_files, destination_files, plan, size, sha256=False, stall_timeout=DEFAULT_STALL_TIMEOUT):
    """Stream one file source -> destination; returns the ``SizedBody`` of the attempt that succeeded
    (``attempts`` set to the uploads started).

    Its deadline is a stall, not a duration: no upload is repeated, and no download resumed, once no
    byte has moved for ``stall_timeout`` s (``retries.Stall``), so a stuck cluster on either side ends
    the copy at most one client timeout after that, however long a copy that moves takes.

    The download runs ahead of the upload in a thread (``ReadAhead``); the upload carries the
    source's listed ``size`` as its Content-Length. The destination cluster stores an upload under
    a temporary name and renames it into place when complete, so a broken transfer leaves the old
    file (or none). A download that breaks off is resumed by the source stream itself, unseen by
    the upload; an upload that breaks, or whose download could not be resumed, is repeated from a
    fresh download, so every attempt sends, and with ``sha256`` hashes, the whole file.
    """
    attempts = []
    stall = Stall(stall_timeout)

    def fresh_body():
        body = SizedBody(source_files.download(plan["source"], stall=stall), size, sha256=sha256, stall=stall)
        attempts.append(body)
        return body

    destination_files.upload(plan["destination"], fresh_body, stall=stall)
    sent = attempts[-1]
    sent.attempts = len(attempts)
    return sent
