"""Benchmark: the memory of the algo_benchmark module process over 100,000 and 1,000,000 calls.

A warm echo algorithm on localcluster is called by the real module process (plugins/modules/
algo_benchmark.py run with its arguments as JSON, the same module code, module_utils and
AnsibleModule as under ansible-playbook), once per call count, with the same test (a closed
loop: ``calls`` at ``concurrency``). For each run it prints the module process's peak RSS (the
kernel's own high-water mark, ``getrusage`` of the child via ``wait4``), the RSS sampled over the
run (at 10%, 50% and 90% of its time), calls/s and errors; then the growth of the peak from the
smallest to the largest run. The criteria read against: peak < 100 MiB, growth < 10%.

    .venv/bin/python -m bench.million_calls                      # 100,000 then 1,000,000 calls
    .venv/bin/python -m bench.million_calls --calls 2000 20000   # a quick try (about a minute)

A million calls take as long as the machine needs (about half an hour on 2 cores, where the
server and the driver share them); estimate from the first run's calls/s, which is printed first.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.echo_endpoint import PAYLOAD, echo_endpoint
from bench.figures import emit
from bench.module_process import MIB, run_algo_benchmark

PEAK_LIMIT_MIB = 100
GROWTH_LIMIT_PCT = 10


class RssSampler:
    """The RSS of one process every ``interval`` s, with the time of each sample."""

    def __init__(self, pid: int, interval: float) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return  # it ended (a zombie until it is reaped)
            if rss:
                self.samples.append((time.monotonic() - self._started, rss))
            self._stop.wait(self.interval)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, fraction: float) -> int | None:
        """The sample nearest to ``fraction`` of the sampled time."""
        if not self.samples:
            return None
        when = self.samples[-1][0] * fraction
        return min(self.samples, key=lambda sample: abs(sample[0] - when))[1]


def run_module(endpoint, calls: int, concurrency: int, workdir: Path, interval: float) -> dict:
    """One algo_benchmark process making ``calls`` calls; its figures and its memory."""
    tests = [{"name": f"echo x {calls}", "payload": PAYLOAD, "calls": calls, "concurrency": concurrency,
              "timeout": 60, "expected_output": PAYLOAD}]
    ran = run_algo_benchmark(endpoint, tests, workdir, str(calls),
                             watch=lambda pid: RssSampler(pid, interval).start())
    sampler = ran["watching"]
    sampler.stop()
    test = ran["result"]["tests"][0]
    return {
        "calls": test["calls"], "concurrency": concurrency, "errors": test["errors"], "status": test["status"],
        "seconds": round(ran["seconds"], 1), "calls_per_s": round(test["calls"] / test["elapsed_s"], 1),
        "p50_ms": test["latency_ms"]["p50"], "p99_ms": test["latency_ms"]["p99"],
        "peak_rss_mib": ran["peak_rss_mib"],
        "rss_mib_at": {f"{int(fraction * 100)}%": round((sampler.at(fraction) or 0) / MIB, 1)
                       for fraction in (0.1, 0.5, 0.9)},
        "sampled_max_rss_mib": round(max((rss for _t, rss in sampler.samples), default=0) / MIB, 1),
        "result_json_kib": round(ran["result_bytes"] / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="call counts, one module run each, smallest first (default: 100000 1000000)")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight (default 8)")
    parser.add_argument("--interval", type=float, default=0.5, help="RSS sampling interval in s")
    args = parser.parse_args()
    counts = sorted(args.calls)

    rows = []
    with tempfile.TemporaryDirectory(prefix="million-calls-") as tmp, echo_endpoint(Path(tmp)) as endpoint:
        for calls in counts:
            row = run_module(endpoint, calls, args.concurrency, Path(tmp), args.interval)
            rows.append(row)
            print(f"{calls} calls: {row['seconds']} s, {row['calls_per_s']} calls/s, peak RSS "
                  f"{row['peak_rss_mib']} MiB", flush=True)
            if calls != counts[-1]:
                estimate = sum(counts[len(rows):]) / row["calls_per_s"]
                print(f"  the remaining runs should take about {estimate / 60:.0f} min", flush=True)

    print(f"\nalgo_benchmark module process, warm echo algorithm on localcluster, concurrency {args.concurrency}")
    print(f"{'calls':>9} {'s':>8} {'calls/s':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'peak RSS':>9} "
          f"{'RSS@10%':>8} {'RSS@50%':>8} {'RSS@90%':>8} {'result':>9}")
    for row in rows:
        at = row["rss_mib_at"]
        print(f"{row['calls']:>9} {row['seconds']:>8} {row['calls_per_s']:>8} {row['errors']:>6} {row['p50_ms']:>7} "
              f"{row['p99_ms']:>7} {row['peak_rss_mib']:>5} MiB {at['10%']:>8} {at['50%']:>8} {at['90%']:>8} "
              f"{row['result_json_kib']:>5} KiB")
    report = {"concurrency": args.concurrency, "runs": rows}
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = (last["peak_rss_mib"] - first["peak_rss_mib"]) / first["peak_rss_mib"] * 100
        report["peak_growth_pct"] = round(growth, 2)
        print(f"\npeak RSS {first['calls']} -> {last['calls']} calls: {first['peak_rss_mib']} -> "
              f"{last['peak_rss_mib']} MiB, growth {growth:+.2f}% (criterion < {GROWTH_LIMIT_PCT}%)")
        emit("9.3", f"module peak RSS, {last['calls']:,} calls", last["peak_rss_mib"], "MiB",
             f"{first['calls']:,} calls", first["peak_rss_mib"], f"< {1 + GROWTH_LIMIT_PCT / 100:g}")
    peak = max(row["peak_rss_mib"] for row in rows)
    print(f"largest peak RSS: {peak} MiB (criterion < {PEAK_LIMIT_MIB} MiB)")
    emit("9.3", "module peak RSS, largest run", peak, "MiB", criterion=f"< {PEAK_LIMIT_MIB}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
