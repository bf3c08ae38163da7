# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounded-memory statistics of a benchmark test: a latency histogram, a sample reservoir and a
per-second time series.

A test may make a million calls; keeping every duration in a list (and sorting it) makes the
module's memory grow with the number of calls. These three keep what the reports and the gates
need in memory bounded by the range of the values (``Histogram``), a fixed capacity
(``Reservoir``) and the test's duration (``TimeSeries``), never by the number of calls.

``Histogram`` is log-linear, like HdrHistogram: every power of two is cut into ``SUB_BUCKETS``
equal sub-buckets, so a bucket is at most 1/128 of its lower bound wide and a reported value (the
bucket's middle) is within 1/256 (0.4%) of the value it stands for, from 1 microsecond to hours.
None of these is thread safe: record from the one thread that collects the calls' outcomes.
"""

from __future__ import annotations

import math
import random

# Sub-buckets per power of two: a bucket is at most 1/SUB_BUCKETS of its lower bound wide.
SUB_BUCKETS = 128
# Below this (1 microsecond) durations are below any clock's useful resolution: they share the
# lowest bucket (``min`` stays exact).
LOWEST_MS = 0.001
LAYOUT = "log-linear"
# Enough points to plot latency over time for any test; the reports do not need more.
RESERVOIR_CAPACITY = 1000
# Ten minutes of one-second points; a longer test doubles the width of a point instead of growing.
# A chart is a few hundred pixels wide, so more points show nothing more; and the series is part of
# the module's result, built and serialised at its end: at an hour of points a 47-minute test (a
# million calls on a slow machine) peaked 11.7% above a 3-minute one, on the series alone.
TIME_SERIES_POINTS = 600
OK = "ok"


def bucket_index(value):
    """The bucket of ``value`` (ms): ``exponent * SUB_BUCKETS + sub-bucket``.

    ``math.frexp`` splits the float exactly (``value = mantissa * 2 ** exponent``, mantissa in
    [0.5, 1)), so a value on a bucket's boundary always lands in the same bucket, unlike
    ``log(value) / log(ratio)`` whose rounding moves values across boundaries.
    """
    mantissa, exponent = math.frexp(max(value, LOWEST_MS))
    return exponent * SUB_BUCKETS + int((mantissa - 0.5) * 2 * SUB_BUCKETS)


def bucket_bounds(index):
    """``(lower, upper)`` in ms of bucket ``index``: values ``lower <= v < upper`` fall into it."""
    exponent, sub = divmod(index, SUB_BUCKETS)
    shift = exponent - 1 - int(math.log2(SUB_BUCKETS))
    return math.ldexp(SUB_BUCKETS + sub, shift), math.ldexp(SUB_BUCKETS + sub + 1, shift)


def bucket_count_for_range(low_ms, high_ms):
    """How many buckets values from ``low_ms`` to ``high_ms`` can hit: the bound on a histogram's size."""
    return bucket_index(high_ms) - bucket_index(low_ms) + 1


def _positive_count(count):
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("count must be a whole number of at least 1 (got {0!r})".format(count))
    return count


class Histogram:
    """Durations in milliseconds, counted per log-linear bucket.

    ``count``, ``min``, ``max`` and ``mean`` are exact (``mean`` from a running sum); percentiles
    are the middle of the bucket holding the nearest-rank value, within 0.4% of that value, and
    the exact ``min`` / ``max`` at the extreme ranks.

    The buckets are a dict of the buckets actually hit, not a fixed array: a test's latencies
    usually span two or three powers of two (a few hundred buckets), while an array over
    1 microsecond .. 1 hour would hold ~4,100 mostly empty slots; ``to_dict`` keeps only the
    non-empty ones anyway. Its size is bounded by ``bucket_count_for_range(min, max)``.
    """

    def __init__(self):
        self.counts = {}
        self.count = 0
        self.total = 0.0
        self.min = None
        self.max = None
        self._order = None  # sorted bucket indexes, rebuilt after a new bucket is hit

    def record(self, value, count=1):
        """Count ``value`` (ms, >= 0) ``count`` times; 0 and values under 1 microsecond share the lowest bucket."""
        count = _positive_count(count)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError("a duration must be a finite number of milliseconds >= 0 (got {0!r})".format(value))
        index = bucket_index(value)
        if index not in self.counts:
            self._order = None
            self.counts[index] = 0
        self.counts[index] += count
        self.count += count
        self.total += value * count
        self.min = value if self.min is None or value < self.min else self.min
        self.max = value if self.max is None or value > self.max else self.max

    @property
    def mean(self):
        return self.total / self.count if self.count else None

    def __len__(self):
        """The number of buckets held: what the memory grows with."""
        return len(self.counts)

    def _sorted(self):
        if self._order is None:
            self._order = sorted(self.counts)
        return self._order

    def percentile(self, percent):
        """The nearest-rank ``percent`` percentile (0..100) as ``benchmark.percentile`` defines it,
        within 0.4%; ``None`` when nothing was recorded."""
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 <= percent <= 100:
            raise ValueError("a percentile is a number from 0 to 100 (got {0!r})".format(percent))
        if not self.count:
            return None
        # round(): 99.9 * 1000 / 100 is 999.0000000000001 in floating point, and rank 1000 is wrong.
        rank = max(1, int(math.ceil(round(percent * self.count / 100.0, 9))))
        if rank == 1:
            return self.min
        if rank >= self.count:
            return self.max
        seen = 0
        for index in self._sorted():
            seen += self.counts[index]
            if seen >= rank:
                lower, upper = bucket_bounds(index)
                return min(max((lower + upper) / 2.0, self.min), self.max)
        return self.max  # not reached: the counts add up to ``count``

    def merge(self, other):
        """Add ``other``'s counts to this one (the same as having recorded its values here)."""
        for index, count in other.counts.items():
            if index not in self.counts:
                self._order = None
                self.counts[index] = 0
            self.counts[index] += count
        self.count += other.count
        self.total += other.total
        for value in (other.min, other.max):
            if value is not None:
                self.min = value if self.min is None or value < self.min else self.min
                self.max = value if self.max is None or value > self.max else self.max
        return self

    def buckets(self):
        """``[(lower ms, upper ms, count), ...]`` of the non-empty buckets, ascending: for plotting."""
        return [bucket_bounds(index) + (self.counts[index],) for index in self._sorted()]

    def to_dict(self):
        """The compact JSON form: exact figures and ``[index, count]`` of the non-empty buckets only."""
        return {
            "layout": LAYOUT,
            "sub_buckets": SUB_BUCKETS,
            "lowest_ms": LOWEST_MS,
            "count": self.count,
            "sum": self.total,
            "min": self.min,
            "max": self.max,
            "buckets": [[index, self.counts[index]] for index in self._sorted()],
        }

    @classmethod
    def from_dict(cls, data):
        """The histogram ``to_dict`` wrote; ``ValueError`` for another layout or counts that do not add up."""
        if not isinstance(data, dict) or (data.get("layout"), data.get("sub_buckets"), data.get("lowest_ms")) \
                != (LAYOUT, SUB_BUCKETS, LOWEST_MS):
            raise ValueError("not a {0} histogram with {1} sub-buckets and lowest value {2} ms".format(
                LAYOUT, SUB_BUCKETS, LOWEST_MS))
        histogram = cls()
        for index, count in data.get("buckets") or []:
            if isinstance(index, bool) or not isinstance(index, int):
                raise ValueError("a bucket index must be a whole number (got {0!r})".format(index))
            histogram.counts[index] = histogram.counts.get(index, 0) + _positive_count(count)
        if sum(histogram.counts.values()) != data.get("count"):
            raise ValueError("the buckets hold {0} values, count says {1!r}".format(
                sum(histogram.counts.values()), data.get("count")))
        histogram.count = data["count"]
        histogram.total = float(data.get("sum") or 0.0)
        histogram.min = data.get("min")
        histogram.max = data.get("max")
        return histogram


class Reservoir:
    """A uniform random sample of at most ``capacity`` calls: ``(offset s, latency ms, kind)``.

    Algorithm R (Vitter): the n-th call replaces a kept one with probability capacity / n, so
    every call is equally likely to be kept however many there are. For the "latency over time"
    plot, which needs points, not every point. ``kind`` is ``"ok"`` or the failure kind;
    ``rng`` is injectable so that tests are repeatable.
    """

    def __init__(self, capacity=RESERVOIR_CAPACITY, rng=None):
        self.capacity = _positive_count(capacity)
        self.rng = rng if rng is not None else random.Random()
        self.seen = 0
        self.kept = []

    def add(self, offset_s, latency_ms, kind=OK):
        self.seen += 1
        sample = (offset_s, latency_ms, kind)
        if len(self.kept) < self.capacity:
            self.kept.append(sample)
            return
        slot = self.rng.randrange(self.seen)
        if slot < self.capacity:
            self.kept[slot] = sample

    def samples(self):
        """The kept samples in time order."""
        return sorted(self.kept, key=lambda sample: sample[0])

    def to_dict(self):
        return {"capacity": self.capacity, "seen": self.seen, "samples": [list(sample) for sample in self.samples()]}


class TimeSeries:
    """Per-second counts of a test: calls started, completed (ok or not), errors by kind, dropped.

    One small record per second of the test, keyed by whole seconds since its start; past
    ``max_points`` the points are merged in pairs (the width doubles), so even a test of many
    hours keeps at most ``max_points`` records.
    """

    def __init__(self, max_points=TIME_SERIES_POINTS):
        self.max_points = _positive_count(max_points)
        self.width_s = 1
        self.points = {}

    def _point(self, offset_s):
        key = int(max(offset_s, 0) // self.width_s)
        point = self.points.get(key)
        if point is None:
            point = self.points[key] = {"started": 0, "completed": 0, "errors": {}, "dropped": 0}
            if len(self.points) > self.max_points:
                self._coarsen()
                return self._point(offset_s)
        return point

    def _coarsen(self):
        while len(self.points) > self.max_points:
            self.width_s *= 2
            merged = {}
            for key in sorted(self.points):
                point = self.points[key]
                into = merged.setdefault(key // 2, {"started": 0, "completed": 0, "errors": {}, "dropped": 0})
                for field in ("started", "completed", "dropped"):
                    into[field] += point[field]
                for kind, count in point["errors"].items():
                    into["errors"][kind] = into["errors"].get(kind, 0) + count
            self.points = merged

    def started(self, offset_s):
        self._point(offset_s)["started"] += 1

    def completed(self, offset_s, kind=None):
        """A call ended at ``offset_s``: ``kind`` is its failure kind, ``None`` (or ``"ok"``) when it succeeded."""
        point = self._point(offset_s)
        point["completed"] += 1
        if kind is not None and kind != OK:
            point["errors"][kind] = point["errors"].get(kind, 0) + 1

    def dropped(self, offset_s):
        """A call that was due at ``offset_s`` and never started."""
        self._point(offset_s)["dropped"] += 1

    def to_dict(self):
        """``{"width_s": 1, "points": [{"t": start s, "started", "completed", "errors": {kind: n}, "dropped"}, ...]}``."""
        return {"width_s": self.width_s,
                "points": [dict(self.points[key], t=key * self.width_s) for key in sorted(self.points)]}
