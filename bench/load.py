"""A small closed-loop load generator: N threads, each with its own keep-alive session.

The same generator measures localcluster and the reference in one run, so its own cost
(it shares the machine's 2 cores with the server) weighs on both sides alike and the ratio
between them is the figure to read, not the absolute calls/s.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import requests


@dataclass
class LoadResult:
    concurrency: int
    calls: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def percentile(self, pct: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
        return ordered[index]

    def summary(self) -> dict:
        return {"concurrency": self.concurrency, "calls": self.calls, "errors": self.errors,
                "calls_per_s": round(self.calls_per_second, 1),
                "p50_ms": round(self.percentile(50) * 1000, 2), "p99_ms": round(self.percentile(99) * 1000, 2),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else None}


def run_load(url: str, *, payload, headers: dict, concurrency: int, calls_per_thread: int,
             verify=True, warmup: int = 5) -> LoadResult:
    """POST ``payload`` as JSON to ``url`` from ``concurrency`` threads; bounded in count."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def worker() -> None:
        session = requests.Session()
        for _call in range(warmup):
            session.post(url, json=payload, headers=headers, verify=verify, timeout=60)
        barrier.wait()
        mine, failed = [], 0
        for _call in range(calls_per_thread):
            started = time.perf_counter()
            response = session.post(url, json=payload, headers=headers, verify=verify, timeout=60)
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or "error" in response.json():
                failed += 1
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _thread in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return LoadResult(concurrency, len(latencies), errors[0], seconds, latencies)
