"""Fisher's exact test, the two-proportion z test, Wilson and Newcombe intervals: against scipy on
random tables (fixed seed), against Newcombe's (1998) published figures, and at zero counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.proportions import (
    FISHER_UP_TO,
    FisherExact,
    compare_proportions,
    fisher_exact,
    newcombe_interval,
    two_proportion_z,
    wilson_interval,
)

SEED = 18


def random_tables(rng, count):
    """2x2 tables of every scale (cells up to 5 .. 5,000), some with a zero cell, some with equal rows."""
    for index in range(count):
        cells = rng.integers(0, [6, 40, 400, 5000][index % 4], 4).tolist()
        if index % 5 == 0:
            cells[int(rng.integers(4))] = 0
        if index % 7 == 0:
            cells[2:] = cells[:2]
        yield cells


def test_fisher_exact_against_scipy_on_random_tables(capsys):
    rng = np.random.default_rng(SEED)
    largest = 0.0
    tables = list(random_tables(rng, 500))
    for a, b, c, d in tables:
        expected = stats.fisher_exact([[a, b], [c, d]]).pvalue
        largest = max(largest, abs(fisher_exact(a, b, c, d) - expected))
    with capsys.disabled():
        print("\nfisher_exact vs scipy (seed {0}, {1} tables): max |p - scipy p| {2:.1e}".format(SEED, len(tables), largest))
    assert largest <= 1e-6


def test_fisher_exact_known_values():
    assert fisher_exact(8, 2, 1, 5) == pytest.approx(0.034965034965034975, abs=1e-12)  # scipy's documented example
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857142857142857, abs=1e-12)  # the lady tasting tea
    assert fisher_exact(0, 0, 5, 7) == 1.0  # an empty row
    assert fisher_exact(0, 200, 0, 200) == 1.0  # no event on either side: an empty column
    assert fisher_exact(0, 200, 10, 190) == pytest.approx(stats.fisher_exact([[0, 200], [10, 190]]).pvalue, abs=1e-12)


def reference_z(k1, n1, k2, n2):
    """The pooled two-proportion z test with numpy and scipy's normal distribution."""
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * stats.norm.sf(abs(z))


def test_two_proportion_z_against_numpy_and_scipy():
    rng = np.random.default_rng(SEED + 1)
    for _trial in range(300):
        n1, n2 = rng.integers(1, 100_000, 2).tolist()
        k1, k2 = int(rng.binomial(n1, rng.uniform(0.0, 0.2))), int(rng.binomial(n2, rng.uniform(0.0, 0.2)))
        if 0 < k1 + k2 < n1 + n2:
            assert two_proportion_z(k1, n1, k2, n2) == pytest.approx(reference_z(k1, n1, k2, n2), abs=1e-12, rel=1e-9)
    assert two_proportion_z(0, 50_000, 0, 30_000) == 1.0
    assert two_proportion_z(10, 10, 20, 20) == 1.0


def test_compare_proportions_takes_fisher_then_z():
    assert compare_proportions(3, 200, 0, 200) == FisherExact(fisher_exact(3, 197, 0, 200), "fisher")
    assert compare_proportions(0, 10_000, 0, 10_000) == (1.0, "fisher")
    half = FISHER_UP_TO // 2
    assert compare_proportions(30, half + 1, 10, half).method == "z"
    assert compare_proportions(30, half + 1, 10, half).pvalue == two_proportion_z(30, half + 1, 10, half)


def test_wilson_against_scipy():
    rng = np.random.default_rng(SEED + 2)
    cases = [(0, 1), (1, 1), (0, 10), (10, 10), (0, 200), (3, 200), (56, 70), (48, 80)]
    for _trial in range(200):
        n = int(rng.integers(1, 5000))
        cases.append((int(rng.integers(0, n + 1)), n))
    for k, n in cases:
        for confidence in (0.95, 0.99, 0.8):
            expected = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
            lower, upper = wilson_interval(k, n, confidence)
            assert lower == pytest.approx(expected.low, abs=1e-12) and upper == pytest.approx(expected.high, abs=1e-12)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-5))
    assert wilson_interval(10, 10) == (pytest.approx(1 - 0.2775, abs=5e-5), 1.0)


# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Statistics in Medicine 17, 873-890, Table II, method 10.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize("counts, published", NEWCOMBE_TABLE_II)
def test_newcombe_published_examples(counts, published):
    assert tuple(round(value, 4) for value in newcombe_interval(*counts)) == published


def test_newcombe_is_antisymmetric_and_contains_the_difference():
    rng = np.random.default_rng(SEED + 3)
    for _trial in range(200):
        n1, n2 = rng.integers(1, 2000, 2).tolist()
        k1, k2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        lower, upper = newcombe_interval(k1, n1, k2, n2)
        swapped = newcombe_interval(k2, n2, k1, n1)
        assert -1.0 <= lower <= k1 / n1 - k2 / n2 <= upper <= 1.0
        assert math.isclose(swapped[0], -upper, abs_tol=1e-12) and math.isclose(swapped[1], -lower, abs_tol=1e-12)


def test_zero_counts():
    lower, upper = newcombe_interval(0, 200, 0, 200)
    assert lower == pytest.approx(-0.0188, abs=5e-5) and upper == -lower  # the error-rate example of the judge
    assert wilson_interval(0, 200)[0] == 0.0
    assert two_proportion_z(0, 200, 3, 200) < 1.0
    with pytest.raises(ValueError, match="n is 0: a proportion needs at least one trial"):
        wilson_interval(0, 0)
    for call in (newcombe_interval, two_proportion_z, compare_proportions):
        with pytest.raises(ValueError, match="n1 is 0: a proportion needs at least one trial"):
            call(0, 0, 0, 10)
        with pytest.raises(ValueError, match="n2 is 0"):
            call(0, 10, 0, 0)


@pytest.mark.parametrize("call, arguments, message", [
    (fisher_exact, (-1, 2, 3, 4), "a must be a count"),
    (fisher_exact, (1.5, 2, 3, 4), "a must be a count"),
    (wilson_interval, (11, 10), "more than n"),
    (wilson_interval, (True, 10), "must be a count"),
    (newcombe_interval, (1, 10, 2, 10, 1.5), "confidence"),
])
def test_invalid_arguments(call, arguments, message):
    with pytest.raises(ValueError, match=message):
        call(*arguments)
