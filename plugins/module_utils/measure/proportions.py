# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Two proportions (error rates, dropped calls): Fisher's exact test, the two-proportion z test, the
Wilson interval of one proportion and Newcombe's interval of a difference.

Why these. Error counts are small and often zero: the normal approximation (Wald) of a proportion
gives an interval of width zero at 0 errors and one that leaves [0, 1] near the ends. Fisher's
test is exact for any count; the Wilson score interval stays inside [0, 1] and covers about as
often as it says; Newcombe's hybrid score interval (method 10 of Newcombe 1998) combines two
Wilson intervals into one for p1 - p2 with the same qualities, and is defined at 0 of n.

Figures as scipy's: ``scipy.stats.fisher_exact`` (two-sided: the tables at most as probable as the
observed one, with a relative tolerance for rounding; R's 1 + 1e-7 here, scipy 1.17 takes
1 + 1e-14, which differs only for tables whose probabilities agree to 7 digits without being
equal), ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` (the unit tests check
them; scipy is test-only). Standard library only: hypergeometric probabilities from
``math.lgamma``, normal quantiles from ``statistics.NormalDist``.
"""

from __future__ import annotations

import math
import statistics
from collections import namedtuple

FisherExact = namedtuple("FisherExact", "pvalue method")

# Above this many trials in all, compare_proportions takes the z test: Fisher's sum runs over up to
# min(row, column) + 1 tables (20,000 lgamma-based terms is a few milliseconds), and at such sizes
# the two agree closely unless a count is tiny, where Fisher's support is short anyway.
FISHER_UP_TO = 20000
# Tables whose probability exceeds the observed one by less than this factor count as equally
# probable (rounding of the log-gamma sums), as R's fisher.test.
RELATIVE_TOLERANCE = 1e-7


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("{0} must be a count (an integer >= 0), not {1!r}".format(name, value))
    return value


def _trials(k, n, name):
    """Validate ``k`` events out of ``n`` trials."""
    _count(k, "k" + name)
    _count(n, "n" + name)
    if n == 0:
        raise ValueError("n{0} is 0: a proportion needs at least one trial (leave the comparison out, or report it as unknown)".format(name))
    if k > n:
        raise ValueError("k{0} = {1} is more than n{0} = {2}: k counts events among the n trials".format(name, k, n))


def _log_choose(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a, b, c, d):
    """Two-sided p of Fisher's exact test on the 2x2 table [[a, b], [c, d]], as ``scipy.stats.fisher_exact``.

    The sum of the hypergeometric probabilities (margins fixed) of the tables no more probable than
    the observed one. 1 when a row or column is empty.
    """
    for name, value in zip("abcd", (a, b, c, d)):
        _count(value, name)
    row1, row2, column1 = a + b, c + d, a + c
    if 0 in (row1, row2, column1, b + d):
        return 1.0
    low, high = max(0, column1 - row2), min(column1, row1)

    def log_probability(top_left):
        return _log_choose(row1, top_left) + _log_choose(row2, column1 - top_left)

    limit = log_probability(a) + math.log1p(RELATIVE_TOLERANCE)
    base = _log_choose(row1 + row2, column1)
    terms = []
    for top_left in range(low, high + 1):
        logged = log_probability(top_left)
        if logged <= limit:
            terms.append(math.exp(logged - base))
    return min(1.0, math.fsum(terms))


def two_proportion_z(k1, n1, k2, n2):
    """Two-sided p of the z test of k1/n1 = k2/n2 with the pooled variance; 1 when there is no variance (0 or all events)."""
    _trials(k1, n1, "1")
    _trials(k2, n2, "2")
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return 1.0
    z = abs(k1 / n1 - k2 / n2) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2.0)))


def compare_proportions(k1, n1, k2, n2):
    """The two-sided p of k1/n1 against k2/n2: Fisher's exact test up to FISHER_UP_TO trials in all, else the z test.

    Fisher is exact whatever the counts (the z test is poor for the few errors a run has); beyond
    20,000 trials its cost grows with the counts while the z test is as good, the normal
    approximation of the difference being accurate at that size.
    """
    _trials(k1, n1, "1")
    _trials(k2, n2, "2")
    if n1 + n2 <= FISHER_UP_TO:
        return FisherExact(fisher_exact(k1, n1 - k1, k2, n2 - k2), "fisher")
    return FisherExact(two_proportion_z(k1, n1, k2, n2), "z")


def _z(confidence):
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be a number between 0 and 1 (exclusive), such as 0.95, not {0!r}".format(confidence))
    return statistics.NormalDist().inv_cdf(0.5 + 0.5 * confidence)


def _wilson(k, n, z):
    proportion = k / n
    denominator = 2 * (n + z * z)
    center = (2 * n * proportion + z * z) / denominator
    half = z / denominator * math.sqrt(4 * n * proportion * (1.0 - proportion) + z * z)
    return (0.0 if k == 0 else center - half), (1.0 if k == n else center + half)


def wilson_interval(k, n, confidence=0.95):
    """``(lower, upper)``: the Wilson score interval of the proportion k/n (0 and 1 exactly at k = 0 and k = n)."""
    _trials(k, n, "")
    return _wilson(k, n, _z(confidence))


def newcombe_interval(k1, n1, k2, n2, confidence=0.95):
    """``(lower, upper)``: the hybrid score interval of p1 - p2 (Newcombe 1998, method 10), from the two Wilson intervals."""
    _trials(k1, n1, "1")
    _trials(k2, n2, "2")
    z = _z(confidence)
    p1, p2 = k1 / n1, k2 / n2
    lower1, upper1 = _wilson(k1, n1, z)
    lower2, upper2 = _wilson(k2, n2, z)
    difference = p1 - p2
    return (difference - math.sqrt((p1 - lower1) ** 2 + (upper2 - p2) ** 2),
            difference + math.sqrt((upper1 - p1) ** 2 + (p2 - lower2) ** 2))
