"""Benchmark test results made of known samples, for the judge's tests: what ``algo_benchmark``
returns for a test, with only the fields the judge reads (load, payload digest, counts, histograms)."""

from __future__ import annotations

import random

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram

LOAD = {"model": "closed", "calls": 200, "concurrency": 2}


def histogram(values):
    recorded = Histogram()
    for value in values:
        recorded.record(value)
    return recorded


def lognormal(count, median_ms, spread, rng):
    """``count`` latencies around ``median_ms``, log-normally spread (sigma of the log ``spread``)."""
    return [median_ms * rng.lognormvariate(0.0, spread) for _call in range(count)]


def result(name, latencies, server=None, errors=0, dropped=0, load=None, payload="p1"):
    """A test's result whose successful calls took ``latencies`` (ms); ``server`` their server times
    (default: 70% of each latency); ``errors`` failed calls more."""
    server = [value * 0.7 for value in latencies] if server is None else server
    return {"name": name, "load": dict(load or LOAD), "payload_sha256": payload, "calls": len(latencies) + errors,
            "errors": errors, "dropped": dropped, "status": "passed",
            "histograms": {"latency": histogram(latencies).to_dict(), "server": histogram(server).to_dict()}}


def sampled(name, count, median_ms, seed, spread=0.25, **fields):
    rng = random.Random(seed)
    return result(name, lognormal(count, median_ms, spread, rng), **fields)
