"""Mann-Whitney U and Hodges-Lehmann against scipy and numpy on 1,000 random pairs of samples (fixed
seed, both methods, with and without ties, the figures printed), the weighted form against the plain
one, and the edge cases: equal values, one value, no exact interval, ties with method="exact", a
histogram of a million values.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats
from scipy.stats._mannwhitneyu import _MWU

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import rank_tests
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.rank_tests import (
    DifferenceMatrix,
    exact_cdf_counts,
    hodges_lehmann,
    hodges_lehmann_weighted,
    mann_whitney_u,
    mann_whitney_u_weighted,
    weighted_sample,
)

SEED = 18
PAIRS = 1000
CONFIDENCES = (0.95, 0.90, 0.99)


def distribution(rng):
    """A latency-like distribution with random parameters: log-normal, normal, shifted exponential or two modes."""
    kind = rng.integers(4)
    if kind == 0:
        mu, sigma = rng.uniform(0.0, 5.0), rng.uniform(0.05, 1.5)
        return lambda size: rng.lognormal(mu, sigma, size)
    if kind == 1:
        mu, sigma = rng.uniform(-10.0, 10.0), rng.uniform(0.1, 5.0)
        return lambda size: rng.normal(mu, sigma, size)
    if kind == 2:
        offset, scale = rng.uniform(0.0, 50.0), rng.uniform(0.5, 20.0)
        return lambda size: offset + rng.exponential(scale, size)
    share = rng.uniform(0.02, 0.3)
    return lambda size: np.where(rng.random(size) < share, rng.lognormal(4.0, 0.3, size), rng.lognormal(2.5, 0.2, size))


def draw_pair(rng, index):
    """One pair: a third small and continuous (the exact path), the rest 5..1,000 values (log-uniform), half of those
    on a coarse grid (ties); y mostly from x's distribution scaled by up to about 20 %, else from another one."""
    if index % 3 == 0:
        sizes = rng.integers(5, 50, 2)
    else:
        sizes = np.exp(rng.uniform(math.log(5), math.log(1001), 2)).astype(int)
    draw = distribution(rng)
    x = draw(sizes[0])
    y = (draw if rng.random() < 0.7 else distribution(rng))(sizes[1]) * math.exp(rng.normal(0.0, 0.1))
    if index % 3 != 0 and rng.random() < 0.5:
        grid = rng.choice([0.1, 0.5, 1.0, 5.0])
        x, y = np.round(x / grid) * grid, np.round(y / grid) * grid
    return x, y


def reference_interval_rank(x, y, method, confidence):
    """k as the contract defines it, from scipy's exact null distribution or scipy's normal quantile and numpy's tie counts."""
    n1, n2 = len(x), len(y)
    alpha = 1.0 - confidence
    if method == "exact":
        cdf = _MWU(n1, n2).cdf(np.arange(n1 * n2 // 2 + 1))
        return int(np.searchsorted(cdf, alpha / 2, side="right")) or None
    ties = np.unique(np.concatenate([x, y]), return_counts=True)[1].astype(float)
    total = n1 + n2
    sigma = np.sqrt(n1 * n2 / 12 * ((total + 1) - np.sum(ties ** 3 - ties) / (total * (total - 1))))
    return max(1, int(np.floor(n1 * n2 / 2 - stats.norm.ppf(1.0 - alpha / 2) * sigma)))


def weighted_form(rng, values):
    """``(value, count)`` pairs of a sample, shuffled, some values split over two pairs (pairs need not be distinct)."""
    distinct, counts = np.unique(values, return_counts=True)
    pairs = []
    for value, count in zip(distinct.tolist(), counts.tolist()):
        if count > 1 and rng.random() < 0.5:
            part = int(rng.integers(1, count))
            pairs.extend([(value, part), (value, count - part)])
        else:
            pairs.append((value, count))
    return [pairs[index] for index in rng.permutation(len(pairs))]


def check_pair(rng, x, y, confidence):
    """One pair against scipy and numpy; returns (method, |p - scipy p|)."""
    ours = mann_whitney_u(x.tolist(), y.tolist())
    theirs = stats.mannwhitneyu(x, y, method=ours.method)
    assert ours.statistic == theirs.statistic
    assert abs(ours.pvalue - theirs.pvalue) <= 1e-6, (ours, theirs)
    assert ours.ties == (len(np.unique(np.concatenate([x, y]))) < len(x) + len(y))
    assert ours.method == ("exact" if not ours.ties and len(x) < 50 and len(y) < 50 else "asymptotic")

    shift = hodges_lehmann(x.tolist(), y.tolist(), confidence=confidence)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    assert shift.method in (ours.method, rank_tests.EXACT_NO_INTERVAL)
    assert shift.estimate == np.median(differences)
    k = reference_interval_rank(x, y, ours.method, confidence)
    assert shift.k == k
    if k is None:
        assert shift.lower is None and shift.upper is None
    else:
        assert (shift.lower, shift.upper) == (differences[k - 1], differences[len(differences) - k])

    if rng.random() < 0.2:
        x_pairs, y_pairs = weighted_form(rng, x), weighted_form(rng, y)
        assert mann_whitney_u_weighted(x_pairs, y_pairs) == ours
        assert hodges_lehmann_weighted(x_pairs, y_pairs, confidence=confidence) == shift
    return ours.method, abs(ours.pvalue - theirs.pvalue)


def test_against_scipy_and_numpy_on_random_pairs(capsys):
    rng = np.random.default_rng(SEED)
    paths = {"exact": 0, "asymptotic": 0}
    tied = 0
    largest = 0.0
    started = time.process_time()
    for index in range(PAIRS):
        x, y = draw_pair(rng, index)
        tied += len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
        method, difference = check_pair(rng, x, y, CONFIDENCES[index % len(CONFIDENCES)])
        paths[method] += 1
        largest = max(largest, difference)
    with capsys.disabled():
        print("\nrank tests vs scipy (seed {0}, {1} pairs of 5-1000 values, {2} with ties): exact {3}, asymptotic {4}, "
              "max |p - scipy p| {5:.2e}, HL intervals all equal; {6:.1f} s CPU".format(
                  SEED, PAIRS, tied, paths["exact"], paths["asymptotic"], largest, time.process_time() - started))
    assert paths["exact"] >= 200 and paths["asymptotic"] >= 400 and tied >= 200


@pytest.mark.parametrize("sizes", [(1, 1), (1, 9), (2, 2), (3, 7), (10, 12), (25, 49), (49, 49)])
def test_exact_null_distribution_is_scipys(sizes):
    cumulative, total = exact_cdf_counts(*sizes)
    assert total == math.comb(sum(sizes), sizes[0])
    reference = _MWU(*sizes).cdf(np.arange(len(cumulative)))
    assert np.allclose(np.array(cumulative, dtype=float) / total, reference, rtol=1e-12, atol=0.0)
    assert exact_cdf_counts(*sizes[::-1]) == (cumulative, total)


def test_selection_finds_every_rank_of_weighted_samples_with_heavy_counts(monkeypatch):
    """Tiny bands and samples force many rounds, both kinds of pivot and pivots that are the answer."""
    monkeypatch.setattr(rank_tests, "LIST_BELOW", 1)
    monkeypatch.setattr(rank_tests, "SAMPLE_SIZE", 7)
    rng = np.random.default_rng(SEED + 1)
    for trial in range(40):
        x_values = np.round(rng.lognormal(size=rng.integers(1, 60)), trial % 3)
        y_values = np.round(rng.lognormal(size=rng.integers(1, 60)), trial % 3)
        x_counts = np.minimum(rng.pareto(0.7, len(x_values)) * 5, 200).astype(int) + 1
        y_counts = np.minimum(rng.pareto(0.7, len(y_values)) * 5, 200).astype(int) + 1
        everything = np.sort(np.subtract.outer(np.repeat(x_values, x_counts), np.repeat(y_values, y_counts)).ravel())
        matrix = DifferenceMatrix(*weighted_sample(zip(x_values.tolist(), x_counts.tolist())),
                                  *weighted_sample(zip(y_values.tolist(), y_counts.tolist())))
        assert matrix.total == len(everything)
        for rank in {1, len(everything), (len(everything) + 1) // 2, *rng.integers(1, len(everything) + 1, 10).tolist()}:
            assert matrix.select(rank) == everything[rank - 1]


def test_all_values_equal():
    result = mann_whitney_u([3.0] * 20, [3.0] * 30)
    assert result == (300.0, 1.0, "asymptotic", 20, 30, True)
    assert mann_whitney_u([3.0] * 20, [3.0] * 30, continuity=False).pvalue == 1.0
    assert hodges_lehmann([3.0] * 20, [3.0] * 30) == (0.0, 0.0, 0.0, 0.95, "asymptotic", 300)


def test_one_value_each():
    result = mann_whitney_u([2.0], [1.0])
    assert result == (1.0, 1.0, "exact", 1, 1, False)
    assert stats.mannwhitneyu([2.0], [1.0], method="exact").pvalue == 1.0
    assert hodges_lehmann([2.0], [1.0]) == (1.0, None, None, 0.95, rank_tests.EXACT_NO_INTERVAL, None)
    # one value against many: an exact interval exists from 39 values on (1/40 <= 0.025)
    assert hodges_lehmann([0.5], [float(value) for value in range(38)]).lower is None
    shift = hodges_lehmann([0.5], [float(value) for value in range(39)])
    assert (shift.lower, shift.upper, shift.k) == (0.5 - 38, 0.5, 1)


def test_tiny_samples_have_no_exact_interval():
    shift = hodges_lehmann([1.0, 2.0, 3.0], [1.5, 2.5])
    assert (shift.estimate, shift.lower, shift.upper, shift.method) == (0.0, None, None, rank_tests.EXACT_NO_INTERVAL)
    assert hodges_lehmann([1.0, 2.0, 3.0], [1.5, 2.5], method="asymptotic").lower is not None
    # 3 vs 4: P(U = 0) = 1/35 > 0.025, no 95 % interval; 1/35 <= 0.05, a 90 % one (k = 1: all differences)
    assert hodges_lehmann([1.0, 2.0, 3.0], [1.5, 2.5, 3.5, 4.5]).lower is None
    assert hodges_lehmann([1.0, 2.0, 3.0], [1.5, 2.5, 3.5, 4.5], confidence=0.90)[1:] == (-3.5, 1.5, 0.90, "exact", 1)
    assert hodges_lehmann([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5]).k == 1  # 1/70 <= 0.025


def test_exact_with_ties_is_refused_with_the_fix():
    for call in (mann_whitney_u, hodges_lehmann):
        with pytest.raises(ValueError, match="method='asymptotic'"):
            call([1.0, 2.0, 2.0], [3.0, 4.0], method="exact")
    assert mann_whitney_u([1.0, 2.0, 2.0], [3.0, 4.0], method="asymptotic").method == "asymptotic"
    with pytest.raises(ValueError, match="method='asymptotic'"):
        mann_whitney_u(list(range(3000)), [value + 0.5 for value in range(3000)], method="exact")


def test_exact_and_asymptotic_on_demand_match_scipy():
    rng = np.random.default_rng(SEED + 2)
    x, y = rng.lognormal(size=60), rng.lognormal(size=70) * 1.3
    for method in ("exact", "asymptotic"):
        for continuity in (True, False):
            ours = mann_whitney_u(x.tolist(), y.tolist(), method=method, continuity=continuity)
            theirs = stats.mannwhitneyu(x, y, method=method, use_continuity=continuity)
            assert ours.method == method and ours.statistic == theirs.statistic
            assert abs(ours.pvalue - theirs.pvalue) <= 1e-9


@pytest.mark.parametrize("x, y, message", [
    ([], [1.0], "x is empty"),
    ([1.0], [float("nan")], "not a finite number"),
    ([1.0], ["2"], "not a number"),
])
def test_invalid_samples(x, y, message):
    with pytest.raises(ValueError, match=message):
        mann_whitney_u(x, y)


def test_invalid_weighted_samples_and_options():
    with pytest.raises(ValueError, match="positive integer"):
        mann_whitney_u_weighted([(1.0, 0)], [(2.0, 1)])
    with pytest.raises(ValueError, match="not a"):
        hodges_lehmann_weighted([1.0], [(2.0, 1)])
    with pytest.raises(ValueError, match="method must be one of"):
        mann_whitney_u([1.0], [2.0], method="permutation")
    with pytest.raises(ValueError, match="confidence"):
        hodges_lehmann([1.0], [2.0], confidence=95)


def histogram(rng, buckets, calls, factor):
    """A latency histogram: log-spaced bucket values, counts of a log-normal spread over them."""
    edges = np.exp(np.linspace(0.0, 6.0, buckets)) * factor
    weights = np.exp(-((np.linspace(0.0, 6.0, buckets) - 2.5) ** 2) / 0.8) + 1e-4
    counts = rng.multinomial(calls, weights / weights.sum())
    return [(value, int(count)) for value, count in zip(edges.tolist(), counts.tolist()) if count]


def test_a_million_values_in_300_buckets_take_well_under_a_second():
    rng = np.random.default_rng(SEED + 3)
    x, y = histogram(rng, 300, 1_000_000, 1.0), histogram(rng, 300, 1_000_000, 1.05)
    started = time.process_time()
    test = mann_whitney_u_weighted(x, y)
    shift = hodges_lehmann_weighted([(math.log(value), count) for value, count in x],
                                    [(math.log(value), count) for value, count in y])
    elapsed = time.process_time() - started
    assert (test.n1, test.n2, test.method, test.ties) == (1_000_000, 1_000_000, "asymptotic", True)
    assert test.pvalue < 1e-6 and test.statistic < 1e12 / 2
    assert shift.lower <= shift.estimate <= shift.upper < 0.0
    assert elapsed < 0.5, elapsed


def test_plain_1000_by_1000_within_budget():
    rng = np.random.default_rng(SEED + 4)
    x, y = rng.lognormal(size=1000).tolist(), rng.lognormal(size=1000).tolist()
    started = time.process_time()
    hodges_lehmann(x, y)
    assert time.process_time() - started < 0.5
