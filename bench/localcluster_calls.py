"""Benchmark: a warm echo algorithm on localcluster against a plain uvicorn endpoint.

Prints, for concurrency 1 and 8, calls/s and p50/p99 latency of both, measured side by side
in this run, and their ratio (the figure to read: absolute numbers depend on the machine,
and the load generator shares its cores). The two are measured in alternating rounds (which
goes first alternates too), and the figures are the medians over the rounds, with the spread
of the per-round ratios beside them: on a shared machine one round says little. Also the time
of a build whose requirements are already cached, and the peak memory (RSS) of the server with
its workers.

Goal 11.4 reads one ``BENCH-JSON`` line per concurrency (``bench.figures``): the warm call
throughput, against the plain uvicorn endpoint's, at least 0.7 of it.

    .venv/bin/python -m bench.localcluster_calls [--calls 160] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.figures import emit
from bench.load import LoadResult, run_load
from localcluster.process import LocalClusterProcess
from tests.localcluster.execution_support import deploy

ROOT = Path(__file__).resolve().parent.parent

ECHO = {
    "requirements.txt": "algorithmia>=2.0,<3\n",
    "src/__init__.py": "",
    "src/{name}.py": "def apply(input):\n    return input\n",
}


class PeakRss:
    """Samples the RSS of a process tree (server + workers) in the background."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class BenchCluster:
    """What execution_support.deploy needs of a cluster."""

    def __init__(self, proc: LocalClusterProcess, user: str, key: str) -> None:
        self.proc, self.user, self.key = proc, user, key
        self.url, self.ca_cert = proc.url, None

    def client(self, key: str | None = None):
        import Algorithmia

        return Algorithmia.client(key or self.key, self.url)


def echo_files(name: str) -> dict[str, str]:
    return {path.format(name=name): text for path, text in ECHO.items()}


def start_reference(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "hello.port"
    proc = subprocess.Popen([sys.executable, "-m", "bench.hello_app", str(port_file)], cwd=ROOT)
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the reference app did not start")
        time.sleep(0.02)
    return proc, f"http://127.0.0.1:{port_file.read_text()}/hello"


CONCURRENCY = (1, 8)


def merged(results: list[LoadResult]) -> dict:
    """One summary of several rounds: calls/s the median of the rounds', latencies pooled."""
    pooled = LoadResult(results[0].concurrency, sum(r.calls for r in results), sum(r.errors for r in results),
                        sum(r.seconds for r in results), [x for r in results for x in r.latencies])
    summary = pooled.summary()
    summary["calls_per_s"] = round(statistics.median(r.calls_per_second for r in results), 1)
    summary["rounds_calls_per_s"] = [round(r.calls_per_second, 1) for r in results]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Many short rounds rather than a few long ones: the load of a shared machine changes by the
    # second, and short alternating rounds put both targets under much the same load.
    parser.add_argument("--calls", type=int, default=160, help="calls per concurrency level and round (bounded)")
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds; the figures are their medians")
    args = parser.parse_args()
    payload = {"text": "hello", "numbers": list(range(20))}

    with tempfile.TemporaryDirectory(prefix="lc-bench-") as tmp:
        workdir = Path(tmp)
        cluster_proc = LocalClusterProcess(workdir / "cluster").start()
        reference, hello_url = start_reference(workdir)
        try:
            key = cluster_proc.create_user("bench")
            cluster = BenchCluster(cluster_proc, "bench", key)
            started = time.perf_counter()
            deploy(cluster, "EchoFirst", echo_files("EchoFirst"), workdir)
            first_build = time.perf_counter() - started
            started = time.perf_counter()
            echo = deploy(cluster, "Echo", echo_files("Echo"), workdir)
            cached_build = time.perf_counter() - started
            algo_url = f"{cluster.url}/v1/algo/{echo}"
            headers = {"Authorization": f"Simple {key}"}

            runs: dict[tuple[int, str], list[LoadResult]] = {(c, t): [] for c in CONCURRENCY for t in ("lc", "ref")}
            with PeakRss(cluster_proc.proc.pid) as rss:
                for round_no in range(args.rounds):
                    for concurrency in CONCURRENCY:
                        per_thread = max(1, args.calls // concurrency)
                        targets = [("lc", algo_url, headers), ("ref", hello_url, {})]
                        if round_no % 2:
                            targets.reverse()  # who goes first alternates: neither always meets a cold cache
                        for label, url, target_headers in targets:
                            runs[(concurrency, label)].append(run_load(
                                url, payload=payload, headers=target_headers, concurrency=concurrency,
                                calls_per_thread=per_thread))
        finally:
            reference.terminate()
            reference.wait(10)
            cluster_proc.stop()

    print("\nlocalcluster warm echo algorithm vs plain uvicorn endpoint (same run, same load generator, "
          f"{args.rounds} alternating rounds: calls/s the median round, latencies over all rounds)")
    print(f"{'conc':>4} {'target':<12} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}  rounds calls/s")
    report = {"rounds": args.rounds, "rows": [], "build_seconds": {}, "peak_rss_mib": {}}
    medians = {}
    for concurrency in CONCURRENCY:
        lc, ref = merged(runs[(concurrency, "lc")]), merged(runs[(concurrency, "ref")])
        for label, summary in (("localcluster", lc), ("uvicorn", ref)):
            print(f"{concurrency:>4} {label:<12} {summary['calls_per_s']:>9} {summary['p50_ms']:>8} "
                  f"{summary['p99_ms']:>8} {summary['errors']:>6}  {summary['rounds_calls_per_s']}")
        ratio = lc["calls_per_s"] / ref["calls_per_s"] if ref["calls_per_s"] else float("nan")
        per_round = sorted(a.calls_per_second / b.calls_per_second
                           for a, b in zip(runs[(concurrency, "lc")], runs[(concurrency, "ref")]) if b.calls_per_second)
        spread = f"min {per_round[0]:.3f}, median {statistics.median(per_round):.3f}, max {per_round[-1]:.3f}" \
            if per_round else "-"
        print(f"{'':>4} ratio localcluster/uvicorn calls/s (medians): {ratio:.3f}; per round: {spread}")
        report["rows"].append({"concurrency": concurrency, "localcluster": lc, "uvicorn": ref,
                               "throughput_ratio": round(ratio, 3),
                               "round_ratios": [round(r, 3) for r in per_round]})
        medians[concurrency] = (lc["calls_per_s"], ref["calls_per_s"])
    report["build_seconds"] = {"first_echo_build": round(first_build, 2),
                               "build_with_cached_requirements": round(cached_build, 2)}
    report["peak_rss_mib"] = {"server_and_workers": round(rss.peak / 2**20, 1)}
    print(f"\nbuild + push, requirements cached: {cached_build:.2f} s (first build in this run: {first_build:.2f} s)")
    print(f"peak RSS, server + workers: {rss.peak / 2**20:.1f} MiB")
    print(json.dumps(report))
    for concurrency, (lc_rate, ref_rate) in medians.items():
        emit("11.4", f"warm call throughput c={concurrency}", lc_rate, "calls/s",
             anchor="plain uvicorn endpoint", anchor_value=ref_rate, criterion=">= 0.7")
    return 0


if __name__ == "__main__":
    sys.exit(main())
