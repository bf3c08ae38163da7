"""The pure parts of algo_data_sync: planning, the same-content decision, the manifest, hashing."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.datasync import (
    COMPARE,
    COPY,
    MANIFEST_NAME,
    SKIP,
    HashingStream,
    decide,
    manifest_bytes,
    manifest_entry,
    parse_manifest,
    plan_files,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import split_file_uri

SOURCE = {"uri": "data://quality/models/m.bin", "size": 10, "last_modified": "2025-01-01T00:00:00.001Z"}
DEST = {"size": 10, "last_modified": "2025-01-02T00:00:00.002Z"}


def recorded(**changes):
    entry = manifest_entry(SOURCE, DEST, "ab" * 32)
    entry.update(changes)
    return entry


def test_missing_or_resized_destination_is_copied_without_hashing():
    assert decide(SOURCE, None, recorded())[0] == COPY
    action, reason = decide(SOURCE, dict(DEST, size=11), recorded())
    assert action == COPY and reason == "size differs (10 at the source, 11 at the destination)"


def test_matching_manifest_skips_without_reading():
    assert decide(SOURCE, DEST, recorded())[0] == SKIP


@pytest.mark.parametrize("change", [
    {"source": "data://quality/other/m.bin"},                        # another source now maps here
    {"source_last_modified": "2024-12-31T00:00:00.000Z"},             # the source was rewritten
    {"destination_last_modified": "2025-01-03T00:00:00.000Z"},        # the destination was rewritten
    {"source_size": 9},
    {"destination_size": 9},
])
def test_any_disagreement_with_the_manifest_falls_back_to_hashing(change):
    assert decide(SOURCE, DEST, recorded(**change))[0] == COMPARE


def test_no_manifest_or_no_times_means_hashing():
    assert decide(SOURCE, DEST, None)[0] == COMPARE
    no_time = dict(DEST, last_modified=None)
    assert decide(SOURCE, no_time, manifest_entry(SOURCE, no_time, "x"))[0] == COMPARE
    src_no_time = dict(SOURCE, last_modified=None)
    assert decide(src_no_time, DEST, manifest_entry(src_no_time, DEST, "x"))[0] == COMPARE


def test_manifest_round_trip_and_garbage():
    files = {"m.bin": recorded()}
    assert parse_manifest(manifest_bytes(files)) == files
    for garbage in (b"", b"not json", b"[]", json.dumps({"version": 99, "files": files}).encode(),
                    json.dumps({"version": 1, "files": []}).encode(), None):
        assert parse_manifest(garbage) == {}
    assert parse_manifest(json.dumps({"version": 1, "files": {"a": 1, "b": {}}}).encode()) == {"b": {}}


def test_plan_resolves_my_and_algo_and_keeps_names():
    plans = plan_files(["data://.my/models/m.bin", "data://<user>/<algo>_in/in.png"], "Thumb", "quality", "alice")
    assert plans == [
        {"source": "data://quality/models/m.bin", "destination": "data://alice/Thumb/m.bin", "filename": "m.bin"},
        {"source": "data://quality/Thumb_in/in.png", "destination": "data://alice/Thumb/in.png",
         "filename": "in.png"},
    ]


def test_plan_keeps_other_connectors_as_given():
    plan = plan_files(["s3+models://.my/m.bin"], "Thumb", "quality", "alice")[0]
    assert plan["source"] == "s3+models://.my/m.bin" and plan["destination"] == "data://alice/Thumb/m.bin"


@pytest.mark.parametrize("files, message", [
    (["data://.my/a/x.bin", "data://.my/b/x.bin"], "would both be copied to data://alice/A/x.bin"),
    (["data://.my/a/" + MANIFEST_NAME], "has the name of the sync manifest"),
    (["data://.my"], "names no file"),
    (["data://collection-only"], "names no file"),
    (["data://.my/m.bin"], "names no file"),
    (["s3://bucket"], "names no file"),
    (["HTTP://x/y"], "is not a data URI"),
])
def test_plan_refuses_ambiguous_or_unusable_files(files, message):
    with pytest.raises(TaskFailed, match=message):
        plan_files(files, "A", "quality", "alice")


def test_split_file_uri():
    assert split_file_uri("data://quality/models/sub/m.bin") == ("data", "quality/models/sub", "m.bin")


class Closable(list):
    closed = False

    def close(self):
        self.closed = True


def test_hashing_stream_counts_what_passes_and_closes_its_source():
    chunks = Closable([b"abc", b"", b"defgh"])
    stream = HashingStream(chunks)
    assert b"".join(stream) == b"abcdefgh"
    assert stream.hexdigest() == hashlib.sha256(b"abcdefgh").hexdigest()
    assert (stream.size, stream.chunks, stream.largest_chunk) == (8, 2, 5)
    stream.close()
    assert chunks.closed
    HashingStream(iter([b"x"])).close()  # a plain iterator has nothing to close
