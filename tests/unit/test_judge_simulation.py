"""The judge's false alarms and power by simulation (fixed seeds, the figures printed: pytest -s).

A run's latencies are log-normal around its level (sigma of the log 0.25, a median of 20 ms: an
algorithm of a few tens of milliseconds whose p95 is 1.5 times its median). What a single run
cannot show is that the level itself moves from run to run: here the second run's level is the
first's times exp(e), e ~ N(0, c), with c, the run-to-run coefficient of variation, log-uniform
from 2% to 10% for each pair. Sample sizes are uniform from 200 to 1,000 calls a side.

- A/A: both runs of the same distribution (the run-to-run shift only): a regression is a false alarm.
  The issue asks for at most 1%.
- +25%: the second run's median 25% higher, 200 calls a side against ONE baseline run: the share
  found as a regression. The issue asks for at least 95%. Printed beside it, the same with the
  run-to-run shift on top of the 25% (a harder question the issue does not ask: with c up to 10%,
  a run-to-run shift alone reaches +10% in one pair of runs in six, so no rule can both keep A/A
  alarms under 1% and find every +25% that lands near the tolerance).
"""

from __future__ import annotations

import math
import random

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from tests.unit.judge_support import histogram

SPREAD = 0.25
MEDIAN_MS = 20.0
PAIRS = 4000
POWER_PAIRS = 1000


def run_to_run(rng):
    """A run's level relative to the one before: exp(e), e ~ N(0, c), c log-uniform 2%..10%."""
    variation = math.exp(rng.uniform(math.log(0.02), math.log(0.10)))
    return math.exp(rng.gauss(0.0, variation))


def run(rng, count, level):
    return histogram([MEDIAN_MS * level * rng.lognormvariate(0.0, SPREAD) for _call in range(count)])


def regression_share(pairs, seed, shift, drift, sizes):
    rng = random.Random(seed)
    found = 0
    for _pair in range(pairs):
        count_a, count_b = sizes(rng), sizes(rng)
        baseline = run(rng, count_a, 1.0)
        current = run(rng, count_b, shift * (run_to_run(rng) if drift else 1.0))
        entry = judge.classify_durations("latency", current, baseline, judge.Settings())
        found += entry["class"] == judge.REGRESSION
    return found / pairs


def test_false_regressions_of_aa_runs_and_the_power_against_one_baseline_run():
    false_alarms = regression_share(PAIRS, 20261207, 1.0, True, lambda rng: rng.randint(200, 1000))
    power = regression_share(POWER_PAIRS, 1207, 1.25, False, lambda rng: 200)
    power_with_drift = regression_share(POWER_PAIRS, 712, 1.25, True, lambda rng: 200)
    print("\njudge simulation: A/A false regressions {0:.2%} of {1} pairs (200..1000 calls, run-to-run CV 2..10%); "
          "+25% found {2:.1%} of {3} (200 calls, one baseline run); with the run-to-run shift on top {4:.1%}".format(
              false_alarms, PAIRS, power, POWER_PAIRS, power_with_drift))
    assert false_alarms <= 0.01
    assert power >= 0.95
