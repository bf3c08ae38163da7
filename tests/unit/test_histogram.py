"""Bounded-memory statistics: log-linear histogram accuracy, merge, JSON round trip, size bound;
the sample reservoir's uniformity; the per-second time series' bound."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import (
    LOWEST_MS,
    SUB_BUCKETS,
    Histogram,
    Reservoir,
    TimeSeries,
    bucket_bounds,
    bucket_count_for_range,
    bucket_index,
)

PERCENTS = (0, 0.1, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)
HOUR_MS = 3600 * 1000.0


def exact_percentile(ordered, percent):
    """Nearest rank over the sorted list, the rank computed exactly (in floating point, 99.9% of 50,000
    is 49,950.00000000001, one rank too far)."""
    rank = max(1, int(math.ceil(Fraction(str(percent)) * len(ordered) / 100)))
    return ordered[min(rank, len(ordered)) - 1]


def lognormal(rng, n):
    return [rng.lognormvariate(4.0, 1.2) for _value in range(n)]


def uniform(rng, n):
    return [rng.uniform(0.5, 5000.0) for _value in range(n)]


def bimodal(rng, n):
    # fast cache hits and slow cold starts: the shape sorted-list code got right and averages hide
    return [rng.gauss(12.0, 2.0) if rng.random() < 0.8 else rng.gauss(900.0, 120.0) for _value in range(n)]


def filled(values):
    histogram = Histogram()
    for value in values:
        histogram.record(max(value, 0.0))
    return histogram


def max_relative_error(values):
    histogram = filled(values)
    ordered = sorted(max(value, 0.0) for value in values)
    worst = 0.0
    for percent in PERCENTS:
        exact = exact_percentile(ordered, percent)
        worst = max(worst, abs(histogram.percentile(percent) - exact) / exact)
    return worst


@pytest.mark.parametrize("shape", [lognormal, uniform, bimodal])
def test_every_percentile_is_within_one_percent_of_the_sorted_list(shape):
    values = shape(random.Random(20250601), 50000)
    assert max_relative_error(values) <= 1.0 / (2 * SUB_BUCKETS) + 1e-12  # 0.4%, well inside 1%


def test_accuracy_holds_from_a_microsecond_to_an_hour():
    rng = random.Random(7)
    values = [10 ** rng.uniform(-3, 6.556) for _value in range(20000)]  # 1 us .. 1 h, log-uniform
    assert max_relative_error(values) <= 0.01


def test_every_bucket_is_at_most_one_percent_wide_and_values_fall_inside():
    rng = random.Random(3)
    for _value in range(10000):
        value = 10 ** rng.uniform(-3, 7)
        lower, upper = bucket_bounds(bucket_index(value))
        assert lower <= value < upper
        assert (upper - lower) / lower <= 1.0 / SUB_BUCKETS


def test_count_min_max_and_mean_are_exact():
    values = bimodal(random.Random(11), 1000)
    histogram = filled(values)
    assert histogram.count == 1000
    assert histogram.min == min(values) and histogram.max == max(values)
    assert histogram.mean == pytest.approx(sum(values) / len(values), rel=1e-12)


def test_an_empty_histogram_has_no_figures():
    histogram = Histogram()
    assert histogram.percentile(50) is None
    assert (histogram.count, histogram.min, histogram.max, histogram.mean) == (0, None, None, None)
    assert histogram.buckets() == []


def test_small_counts_follow_nearest_rank():
    histogram = filled([10.0, 20.0, 30.0, 40.0, 50.0])
    assert histogram.percentile(0) == 10.0
    assert histogram.percentile(20) == 10.0
    assert histogram.percentile(50) == pytest.approx(30.0, rel=0.005)
    assert histogram.percentile(99) == 50.0  # rank 5 of 5: the exact max
    assert histogram.percentile(100) == 50.0


def test_record_with_a_count_equals_recording_that_many_times():
    one, many = Histogram(), Histogram()
    one.record(42.0, count=7)
    for _value in range(7):
        many.record(42.0)
    assert one.to_dict() == many.to_dict()


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "12", None, True])
def test_a_bad_duration_is_refused(bad):
    with pytest.raises(ValueError):
        Histogram().record(bad)


def test_zero_and_sub_microsecond_values_share_the_lowest_bucket():
    histogram = filled([0.0, LOWEST_MS / 10, LOWEST_MS])
    assert len(histogram) == 1
    assert histogram.min == 0.0


@pytest.mark.parametrize("bad", [-0.1, 100.1, None])
def test_a_percentile_is_from_0_to_100(bad):
    with pytest.raises(ValueError):
        filled([1.0]).percentile(bad)


def test_merge_equals_recording_everything_in_one():
    rng = random.Random(5)
    first, second = lognormal(rng, 5000), bimodal(rng, 5000)
    merged = filled(first).merge(filled(second))
    together = filled(first + second)
    assert merged.counts == together.counts
    assert (merged.count, merged.min, merged.max) == (together.count, together.min, together.max)
    assert merged.mean == pytest.approx(together.mean, rel=1e-12)
    assert [merged.percentile(p) for p in PERCENTS] == [together.percentile(p) for p in PERCENTS]
    assert Histogram().merge(Histogram()).count == 0


def test_to_dict_round_trips_through_json_and_keeps_only_non_empty_buckets():
    histogram = filled(bimodal(random.Random(9), 20000))
    data = json.loads(json.dumps(histogram.to_dict()))
    assert len(data["buckets"]) == len(histogram) and all(count > 0 for _index, count in data["buckets"])
    again = Histogram.from_dict(data)
    assert again.to_dict() == histogram.to_dict()
    assert [again.percentile(p) for p in PERCENTS] == [histogram.percentile(p) for p in PERCENTS]


@pytest.mark.parametrize("change", [
    lambda data: data.update(count=data["count"] + 1),
    lambda data: data.update(sub_buckets=64),
    lambda data: data["buckets"].append([1, 0]),
    lambda data: data["buckets"].append(["x", 1]),
])
def test_from_dict_refuses_what_to_dict_did_not_write(change):
    data = filled([1.0, 2.0]).to_dict()
    change(data)
    with pytest.raises(ValueError):
        Histogram.from_dict(data)


def test_buckets_are_ascending_bounds_and_counts_for_plotting():
    histogram = filled([1.0, 1.0, 100.0])
    rows = histogram.buckets()
    assert [count for _lower, _upper, count in rows] == [2, 1]
    assert rows[0][0] <= 1.0 < rows[0][1] <= rows[1][0] <= 100.0 < rows[1][1]


def test_a_million_records_keep_the_bucket_count_bounded():
    rng = random.Random(1)
    histogram = Histogram()
    for _value in range(1000000):
        histogram.record(rng.lognormvariate(4.0, 1.0))
    assert histogram.count == 1000000
    # what a million values held: their own buckets, never a slot per value
    assert len(histogram) <= bucket_count_for_range(histogram.min, histogram.max) < 3000
    # and whatever the values, no more than the buckets from 1 us to 1 h (beyond 1 h: 128 per doubling)
    assert bucket_count_for_range(LOWEST_MS, HOUR_MS) <= 33 * SUB_BUCKETS


def test_the_reservoir_keeps_at_most_its_capacity_in_time_order():
    reservoir = Reservoir(capacity=100, rng=random.Random(2))
    for call in range(10000):
        reservoir.add(call / 100.0, 10.0, "ok" if call % 10 else "timeout")
    assert len(reservoir.kept) == 100 and reservoir.seen == 10000
    offsets = [sample[0] for sample in reservoir.samples()]
    assert offsets == sorted(offsets)
    assert json.loads(json.dumps(reservoir.to_dict()))["samples"][0] == list(reservoir.samples()[0])


def test_the_reservoir_is_uniform_over_the_whole_test():
    # 200 runs of 10,000 calls into 100 slots: each tenth of the test should hold a tenth of the kept
    # samples; a chi-square over the deciles with 9 degrees of freedom is under 27.9 with p 0.999.
    rng = random.Random(12345)
    deciles = [0] * 10
    for _run in range(200):
        reservoir = Reservoir(capacity=100, rng=rng)
        for call in range(10000):
            reservoir.add(call, 1.0)
        for offset, _latency, _kind in reservoir.kept:
            deciles[offset // 1000] += 1
    expected = sum(deciles) / 10.0
    chi_square = sum((count - expected) ** 2 / expected for count in deciles)
    assert chi_square < 27.9, deciles


def test_a_reservoir_not_yet_full_keeps_everything():
    reservoir = Reservoir(capacity=10)
    for call in range(5):
        reservoir.add(call, 1.0)
    assert [sample[0] for sample in reservoir.samples()] == [0, 1, 2, 3, 4]


def test_the_time_series_counts_per_second():
    series = TimeSeries()
    series.started(0.2)
    series.started(0.7)
    series.completed(0.9)
    series.completed(1.4, "timeout")
    series.dropped(1.5)
    assert series.to_dict() == {"width_s": 1, "points": [
        {"t": 0, "started": 2, "completed": 1, "errors": {}, "dropped": 0},
        {"t": 1, "started": 0, "completed": 1, "errors": {"timeout": 1}, "dropped": 1},
    ]}


def test_the_time_series_of_a_long_test_stays_as_small_as_a_ten_minute_ones():
    # 47 minutes (a million calls on a slow machine) must not make the result, and the module's
    # peak memory, bigger than a ten-minute test's: the series is what grew with the duration.
    series = TimeSeries()
    for second in range(2830):
        series.started(second + 0.5)
        series.completed(second + 0.9)
    data = series.to_dict()
    assert len(data["points"]) <= 600 and data["width_s"] == 8
    assert sum(point["started"] for point in data["points"]) == 2830


def test_a_long_time_series_doubles_its_width_instead_of_growing():
    series = TimeSeries(max_points=100)
    for second in range(1000):
        series.started(second + 0.5)
        series.completed(second + 0.9, "http_5xx" if second % 2 else None)
    data = series.to_dict()
    assert len(data["points"]) <= 100 and data["width_s"] == 16
    assert sum(point["started"] for point in data["points"]) == 1000
    assert sum(point["errors"].get("http_5xx", 0) for point in data["points"]) == 500
    assert [point["t"] for point in data["points"]][:3] == [0, 16, 32]
