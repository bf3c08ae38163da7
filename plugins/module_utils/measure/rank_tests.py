# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rank tests for two samples: the Mann-Whitney U test and the Hodges-Lehmann shift estimate.

Why ranks. Latencies are skewed, heavy-tailed and often bimodal; a test on ranks makes no
assumption about their distribution, and one slow call moves it by one rank, not by its size.
The Hodges-Lehmann estimate (the median of all pairwise differences ``x_i - y_j``) is the shift
that goes with the Mann-Whitney test: its confidence interval is the set of shifts the test would
not reject, so the p-value and the interval never disagree. The judge gives it log latencies,
which turns the shift into a ratio of latencies.

Samples. A plain sequence of finite numbers, or a *weighted sample*: a list of ``(value, count)``
pairs standing for ``value`` repeated ``count`` times (the buckets of a histogram: a million calls
in a few hundred pairs). The weighted form is the core of every function; the plain form counts
its values and calls it. Nothing here ever expands a weighted sample.

Method. ``"auto"`` takes the exact null distribution of U when there are no ties and both samples
have fewer than 50 values (R's ``wilcox.test`` rule), else the normal approximation with the tie
correction and (by default) the continuity correction. The figures are those of
``scipy.stats.mannwhitneyu(x, y, method=...)`` (the unit tests check them against it; scipy is a
test-only dependency, the collection runs where there is none).

Exact null distribution. The number of arrangements of the two samples with a given U is the
coefficient of ``q**U`` in the Gaussian binomial coefficient ``[n1 + n2 choose n1]_q`` =
``prod_{i=1..n1} (1 - q**(n2 + i)) / (1 - q**i)``, built one factor at a time in exact integers up
to ``n1 n2 / 2`` (the distribution is symmetric); cached per pair of sizes.

Selection. The interval needs order statistics of the ``n1 n2`` differences (a million for two
samples of 1,000) without building them: with x ascending and y descending the differences form a
matrix sorted along rows and columns, and the ``k``-th smallest is found by narrowing a band of
candidate columns per row (Johnson and Mizoguchi 1978, Monahan 1984). Each round draws a few
hundred differences from the band (weighted by their counts), takes two of them as pivots around
the expected position of the wanted rank, and counts the differences below each pivot with a
two-pointer sweep, O(B1 + B2) for B1 and B2 distinct values; when a round does not halve the band,
the next pivot is the weighted median of the rows' middle candidates, which removes at least a
quarter of it. A small band is listed and sorted. Every result is one of the differences, computed
as ``x_value - y_value`` in floating point, so it is exactly the float a full sort would find.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
import statistics
from collections import namedtuple
from fractions import Fraction

MannWhitney = namedtuple("MannWhitney", "statistic pvalue method n1 n2 ties")
HodgesLehmann = namedtuple("HodgesLehmann", "estimate lower upper confidence method k")

AUTO = "auto"
EXACT = "exact"
ASYMPTOTIC = "asymptotic"
METHODS = (AUTO, EXACT, ASYMPTOTIC)
# The method of a Hodges-Lehmann result whose samples are too small for an interval at the confidence asked.
EXACT_NO_INTERVAL = "exact (too few values for an interval)"
# "auto" is exact below this many values in each sample (and without ties), as R's wilcox.test.
EXACT_BELOW = 50
# method="exact" builds a table of n1 * n2 / 2 big integers, n1 times: refused beyond this much work.
EXACT_WORK_LIMIT = 50_000_000
# Pivots drawn per selection round, and the band size below which the candidates are listed and sorted.
SAMPLE_SIZE = 400
LIST_BELOW = 2048


# ---- samples -------------------------------------------------------------------------------------

def _finite(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("{0}: {1!r} is not a number".format(name, value))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("{0}: {1!r} is not a finite number".format(name, value))
    return value


def weighted_sample(pairs, name="sample"):
    """``(values, counts)`` of a weighted sample: distinct values ascending, their counts (positive ints) summed."""
    counts = {}
    for pair in pairs:
        try:
            value, count = pair
        except (TypeError, ValueError):
            raise ValueError("{0}: {1!r} is not a (value, count) pair".format(name, pair)) from None
        value = _finite(value, name)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("{0}: the count of {1!r} is {2!r}, not a positive integer".format(name, value, count))
        counts[value] = counts.get(value, 0) + count
    if not counts:
        raise ValueError("{0} is empty: a rank test needs at least one value in each sample".format(name))
    values = sorted(counts)
    return values, [counts[value] for value in values]


def plain_pairs(values, name="sample"):
    """The weighted form of a plain sequence of numbers: ``(value, count)`` per distinct value."""
    counts = {}
    for value in values:
        value = _finite(value, name)
        counts[value] = counts.get(value, 0) + 1
    return list(counts.items())


# ---- ranks ---------------------------------------------------------------------------------------

RankSummary = namedtuple("RankSummary", "u1 n1 n2 tie_term ties")


def rank_summary(x_values, x_counts, y_values, y_counts):
    """U1 from midranks, and the tie term ``sum(t**3 - t)`` over the groups of equal values of x + y.

    In integers (twice the rank sum), so that U1 is exact whatever the sizes.
    """
    together = {}
    for value, count in zip(x_values, x_counts):
        together[value] = [count, 0]
    for value, count in zip(y_values, y_counts):
        together.setdefault(value, [0, 0])[1] = count
    below = rank_sum_twice = tie_term = 0
    for value in sorted(together):
        in_x, in_y = together[value]
        group = in_x + in_y
        rank_sum_twice += in_x * (2 * below + group + 1)
        tie_term += group ** 3 - group
        below += group
    n1, n2 = sum(x_counts), sum(y_counts)
    u1 = (rank_sum_twice - n1 * (n1 + 1)) / 2
    return RankSummary(u1, n1, n2, tie_term, tie_term > 0)


def u_sigma(n1, n2, tie_term):
    """The standard deviation of U under the null hypothesis, corrected for ties (0 when every value is equal)."""
    total = n1 + n2
    variance = n1 * n2 / 12 * ((total + 1) - tie_term / (total * (total - 1)))
    return math.sqrt(max(variance, 0.0))


def choose_method(method, n1, n2, ties):
    """``"exact"`` or ``"asymptotic"`` for the method asked; ValueError when exact cannot be had."""
    if method not in METHODS:
        raise ValueError("method must be one of {0}, not {1!r}".format(", ".join(METHODS), method))
    if method == AUTO:
        return EXACT if not ties and n1 < EXACT_BELOW and n2 < EXACT_BELOW else ASYMPTOTIC
    if method == EXACT:
        if ties:
            raise ValueError("method='exact' needs samples without ties (a value occurs more than once in x + y): "
                             "use method='asymptotic' (or 'auto', which takes it), whose variance is corrected for ties")
        if min(n1, n2) * n1 * n2 > EXACT_WORK_LIMIT:
            raise ValueError("method='exact' on samples of {0} and {1} values would take minutes: use method='asymptotic' "
                             "(or 'auto'), the normal approximation is accurate at these sizes".format(n1, n2))
    return method


@functools.lru_cache(maxsize=128)
def _u_cumulative(small, large):
    """Cumulative counts of arrangements with U <= u, u = 0 .. small * large // 2 (small <= large)."""
    top = small * large // 2
    counts = [1] + [0] * top
    for index in range(1, small + 1):
        step = large + index
        if step <= top:  # times (1 - q**step): counts[d] -= counts[d - step], from the old values
            counts[step:] = [high - low for high, low in zip(counts[step:], counts)]
        for residue in range(min(index, top + 1)):  # divided by (1 - q**index): running sums with stride index
            counts[residue::index] = itertools.accumulate(counts[residue::index])
    return tuple(itertools.accumulate(counts))


def exact_cdf_counts(n1, n2):
    """``(cumulative, total)``: arrangements with U <= u for u up to n1 n2 // 2, and all of them."""
    small, large = sorted((n1, n2))
    return _u_cumulative(small, large), math.comb(n1 + n2, n1)


def exact_pvalue(u1, n1, n2):
    """Two-sided exact p: twice P(U >= max(U1, U2)), the mass at that value included, at most 1 (as scipy)."""
    larger = max(u1, n1 * n2 - u1)
    cumulative, total = exact_cdf_counts(n1, n2)
    return min(1.0, 2 * cumulative[int(n1 * n2 - larger)] / total)


def asymptotic_pvalue(u1, n1, n2, tie_term, continuity=True):
    """Two-sided normal-approximation p, tie-corrected; 1 when every value is equal (no variance)."""
    sigma = u_sigma(n1, n2, tie_term)
    if sigma == 0.0:
        return 1.0
    z = (max(u1, n1 * n2 - u1) - n1 * n2 / 2 - (0.5 if continuity else 0.0)) / sigma
    return min(1.0, math.erfc(z / math.sqrt(2.0)))


# ---- Mann-Whitney U ------------------------------------------------------------------------------

def mann_whitney_u_weighted(x_pairs, y_pairs, method=AUTO, continuity=True):
    """The Mann-Whitney U test of two weighted samples (lists of ``(value, count)``): a ``MannWhitney``."""
    x_values, x_counts = weighted_sample(x_pairs, "x")
    y_values, y_counts = weighted_sample(y_pairs, "y")
    ranks = rank_summary(x_values, x_counts, y_values, y_counts)
    chosen = choose_method(method, ranks.n1, ranks.n2, ranks.ties)
    if chosen == EXACT:
        pvalue = exact_pvalue(ranks.u1, ranks.n1, ranks.n2)
    else:
        pvalue = asymptotic_pvalue(ranks.u1, ranks.n1, ranks.n2, ranks.tie_term, continuity)
    return MannWhitney(ranks.u1, pvalue, chosen, ranks.n1, ranks.n2, ranks.ties)


def mann_whitney_u(x, y, method=AUTO, continuity=True):
    """The Mann-Whitney U test of two plain samples, two-sided, as ``scipy.stats.mannwhitneyu``: a ``MannWhitney``."""
    return mann_whitney_u_weighted(plain_pairs(x, "x"), plain_pairs(y, "y"), method, continuity)


# ---- order statistics of the pairwise differences -------------------------------------------------

class DifferenceMatrix:
    """The differences ``x_i - y_j`` of two weighted samples, ``cell(i, j)`` for x ascending and y descending.

    Rows and columns are sorted (floating-point subtraction is monotone), so ``at_most(t)``, the
    number of differences <= t per row, is a prefix of each row, and shrinks from row to row.
    """

    def __init__(self, x_values, x_counts, y_values, y_counts):
        self.x_values, self.x_counts = x_values, x_counts
        self.y_values, self.y_counts = y_values[::-1], y_counts[::-1]
        self.y_cumulative = [0] + list(itertools.accumulate(self.y_counts))
        self.total = sum(x_counts) * self.y_cumulative[-1]
        self.random = random.Random(18)  # pivots only: the results do not depend on it

    def _sweep(self, pivot, strict):
        """Per row, the columns whose difference is < pivot (strict) or <= pivot; and how many differences that is."""
        y_values, y_cumulative = self.y_values, self.y_cumulative
        columns = []
        mass = 0
        column = len(y_values)
        for x_value, x_count in zip(self.x_values, self.x_counts):
            if strict:
                while column and x_value - y_values[column - 1] >= pivot:
                    column -= 1
            else:
                while column and x_value - y_values[column - 1] > pivot:
                    column -= 1
            columns.append(column)
            mass += x_count * y_cumulative[column]
        return columns, mass

    def select(self, rank):
        """The ``rank``-th smallest difference (1-based, counting multiplicity): one of the differences, exactly."""
        if not 1 <= rank <= self.total:
            raise ValueError("rank {0} is outside 1 .. {1}".format(rank, self.total))
        rows = len(self.x_values)
        low, high = ([0] * rows, 0), ([len(self.y_values)] * rows, self.total)
        cells = rows * len(self.y_values)
        sampled = True
        while cells > LIST_BELOW:
            pivots = self._sampled_pivots(low, high, rank) if sampled else [self._median_pivot(low, high)]
            for pivot in pivots:
                found, low, high = self._narrow(pivot, rank, low, high)
                if found is not None:
                    return found
            remaining = sum(right - left for left, right in zip(low[0], high[0]))
            sampled = remaining <= cells // 2
            cells = remaining
        return self._listed(low, high, rank)

    def _narrow(self, pivot, rank, low, high):
        """``(found, low, high)``: the band narrowed by one pivot, or the pivot itself when it is the rank-th."""
        columns, mass = self._sweep(pivot, strict=False)
        if mass < rank:
            return None, ((columns, mass) if mass > low[1] else low), high
        columns, mass = self._sweep(pivot, strict=True)
        if mass < rank:
            return pivot, low, high
        return None, low, ((columns, mass) if mass < high[1] else high)

    def _sampled_pivots(self, low, high, rank):
        """Two differences drawn from the band, weighted by count, just below and just above where the rank-th should be."""
        y_cumulative, y_values, x_values = self.y_cumulative, self.y_values, self.x_values
        weights = [count * (y_cumulative[right] - y_cumulative[left])
                   for count, left, right in zip(self.x_counts, low[0], high[0])]
        draw = self.random.random
        sample = []
        for row in self.random.choices(range(len(x_values)), weights=weights, k=SAMPLE_SIZE):
            left, right = low[0][row], high[0][row]
            target = y_cumulative[left] + draw() * (y_cumulative[right] - y_cumulative[left])
            column = min(max(bisect.bisect_right(y_cumulative, target, left, right + 1) - 1, left), right - 1)
            sample.append(x_values[row] - y_values[column])
        sample.sort()
        position = (rank - low[1]) / (high[1] - low[1]) * SAMPLE_SIZE
        spread = 2.0 * math.sqrt(SAMPLE_SIZE)
        below, above = math.floor(position - spread), math.ceil(position + spread)
        return [sample[index] for index in (below, above) if 0 <= index < SAMPLE_SIZE]

    def _median_pivot(self, low, high):
        """The weighted median of the rows' middle candidates (weights: candidate columns): a quarter of the band on each side."""
        middles = []
        for row, (left, right) in enumerate(zip(low[0], high[0])):
            if right > left:
                middles.append((self.x_values[row] - self.y_values[(left + right - 1) // 2], right - left))
        middles.sort()
        half = sum(weight for _value, weight in middles) / 2
        seen = 0
        for value, weight in middles:
            seen += weight
            if seen >= half:
                return value
        return middles[-1][0]

    def _listed(self, low, high, rank):
        """The rank-th difference found among the band's candidates, listed and sorted."""
        candidates = []
        for row, (left, right) in enumerate(zip(low[0], high[0])):
            x_value, x_count = self.x_values[row], self.x_counts[row]
            candidates.extend((x_value - self.y_values[column], x_count * self.y_counts[column]) for column in range(left, right))
        candidates.sort()
        seen = low[1]
        for value, count in candidates:
            seen += count
            if seen >= rank:
                return value
        raise AssertionError("rank {0} not in the band".format(rank))  # the band always holds it


# ---- Hodges-Lehmann ------------------------------------------------------------------------------

def _check_confidence(confidence):
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be a number between 0 and 1 (exclusive), such as 0.95, not {0!r}".format(confidence))


def exact_interval_rank(n1, n2, confidence):
    """The largest k >= 1 with P(U <= k - 1) <= alpha / 2 under the exact null distribution; None when even 1 fails."""
    cumulative, total = exact_cdf_counts(n1, n2)
    k = bisect.bisect_right(cumulative, Fraction((1.0 - confidence) / 2) * total)
    return k or None


def asymptotic_interval_rank(n1, n2, tie_term, confidence):
    """``max(1, floor(n1 n2 / 2 - z sigma_U))`` with z the normal (1 - alpha / 2) quantile, sigma_U tie-corrected."""
    z = statistics.NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2)
    return max(1, math.floor(n1 * n2 / 2 - z * u_sigma(n1, n2, tie_term)))


def hodges_lehmann_weighted(x_pairs, y_pairs, confidence=0.95, method=AUTO):
    """The shift of x relative to y: median and confidence interval of the differences ``x_i - y_j``, weighted samples."""
    _check_confidence(confidence)
    x_values, x_counts = weighted_sample(x_pairs, "x")
    y_values, y_counts = weighted_sample(y_pairs, "y")
    ranks = rank_summary(x_values, x_counts, y_values, y_counts)
    chosen = choose_method(method, ranks.n1, ranks.n2, ranks.ties)
    differences = DifferenceMatrix(x_values, x_counts, y_values, y_counts)
    total = differences.total
    if total % 2:
        estimate = differences.select((total + 1) // 2)
    else:
        estimate = (differences.select(total // 2) + differences.select(total // 2 + 1)) / 2
    if chosen == EXACT:
        k = exact_interval_rank(ranks.n1, ranks.n2, confidence)
        if k is None:
            return HodgesLehmann(estimate, None, None, confidence, EXACT_NO_INTERVAL, None)
    else:
        k = asymptotic_interval_rank(ranks.n1, ranks.n2, ranks.tie_term, confidence)
    return HodgesLehmann(estimate, differences.select(k), differences.select(total - k + 1), confidence, chosen, k)


def hodges_lehmann(x, y, confidence=0.95, method=AUTO):
    """The Hodges-Lehmann shift of x relative to y (plain samples) with its confidence interval: a ``HodgesLehmann``."""
    return hodges_lehmann_weighted(plain_pairs(x, "x"), plain_pairs(y, "y"), confidence, method)
