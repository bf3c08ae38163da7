"""The copy's body: read ahead in a thread, bounded, sent with the source's size, stopped when the source differs."""

from __future__ import annotations

import hashlib
import itertools
import threading

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.datasync import (
    ReadAhead,
    SizedBody,
    SourceChanged,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import Stall

CHUNKS = [bytes([n]) * (1000 + n) for n in range(20)]


class Source:
    """An iterable of chunks that records how far it was read and whether it was closed."""

    def __init__(self, chunks, fail_after=None):
        self.chunks = chunks
        self.fail_after = fail_after
        self.read = 0
        self.closed = threading.Event()

    def __iter__(self):
        for number, chunk in enumerate(self.chunks):
            if self.fail_after is not None and number == self.fail_after:
                raise ConnectionResetError("the source went away")
            self.read += 1
            yield chunk

    def close(self):
        self.closed.set()


def test_read_ahead_yields_every_chunk_in_order_and_closes_the_source():
    source = Source(CHUNKS + [b""])
    ahead = ReadAhead(source, depth=2)
    assert list(ahead) == CHUNKS  # empty chunks dropped
    ahead.close()
    assert source.closed.is_set()


def test_read_ahead_raises_the_readers_error_after_the_chunks_before_it():
    ahead = ReadAhead(Source(CHUNKS, fail_after=5), depth=2)
    got = []
    with pytest.raises(ConnectionResetError, match="went away"):
        for chunk in ahead:
            got.append(chunk)
    assert got == CHUNKS[:5]
    ahead.close()


def test_read_ahead_stays_within_its_depth_and_stops_when_closed():
    source = Source(CHUNKS)
    ahead = ReadAhead(source, depth=3)
    iterator = iter(ahead)
    assert next(iterator) == CHUNKS[0]
    ahead._thread.join(0.5)  # pylint: disable=protected-access  # give it every chance to run ahead
    assert source.read <= 1 + 3 + 1  # the one taken, the queue's depth, and one waiting to be put
    ahead.close()
    assert not ahead._thread.is_alive()  # pylint: disable=protected-access
    assert source.closed.is_set()


def test_sized_body_counts_hashes_and_carries_its_length():
    size = sum(len(chunk) for chunk in CHUNKS)
    body = SizedBody(Source(CHUNKS), size, sha256=True)
    assert body.content_length == size
    assert b"".join(body) == b"".join(CHUNKS)
    assert body.size == size and body.chunks == len(CHUNKS) and body.largest_chunk == len(CHUNKS[-1])
    assert body.hexdigest() == hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    body.close()
    assert SizedBody(Source(CHUNKS), size).hexdigest() is None  # hashed only when asked


@pytest.mark.parametrize("listed_change", [-1, +1])
def test_sized_body_stops_when_the_source_is_not_the_size_it_listed(listed_change):
    size = sum(len(chunk) for chunk in CHUNKS) + listed_change
    body = SizedBody(Source(CHUNKS), size)
    with pytest.raises(SourceChanged, match="changed during the copy"):
        for _chunk in body:
            pass
    body.close()


def test_a_copy_moves_when_an_attempt_sends_what_none_had_sent_not_when_it_sends_it_again():
    """A destination that reads nothing still takes in what its buffers hold at each attempt: sending
    again what an earlier attempt sent is no progress of the copy, so its stall timeout runs on."""
    clock = {"now": 0.0}
    stall = Stall(120, clock=lambda: clock["now"])
    size = sum(len(chunk) for chunk in CHUNKS)
    first = SizedBody(Source(CHUNKS), size, stall=stall)
    clock["now"] = 5.0
    sent = list(itertools.islice(first, 10))  # then the attempt breaks
    assert stall.last == 5.0 and stall.furthest == sum(len(chunk) for chunk in CHUNKS[:10])
    first.close()
    clock["now"] = 65.0  # the next attempt sends the same bytes again: no progress
    again = SizedBody(Source(CHUNKS), size, stall=stall)
    assert list(itertools.islice(again, 10)) == sent
    assert stall.last == 5.0 and stall.idle() == 60.0
    again.close()
    clock["now"] = 70.0  # and then goes further: progress
    further = SizedBody(Source(CHUNKS), size, stall=stall)
    assert b"".join(further) == b"".join(CHUNKS) and stall.last == 70.0 and stall.furthest == size
    further.close()
