"""Benchmark: the collection's benchmark driver against ``wrk`` on the same echo endpoint, same run.

What is compared, at concurrency 1, 8 and 32, each for a fixed duration (10 s by default):

- closed model, like for like: ``wrk -t min(c,2) -c c --latency`` (c connections, each sending its
  next request as soon as its answer arrives) and the driver's closed model with ``concurrency``
  c: ``benchmark.run_test`` with ``AlgorithmiaClient`` + ``Algorithm.caller``, as algo_benchmark
  runs it, in this process. Both POST the same JSON body with the same key header to the same
  warm echo algorithm on one localcluster, ``POST /v1/algo/<owner>/Echo/<hash>?timeout=60``.
  Each side is measured ``--rounds`` times (3), alternating which goes first, so that the
  machine's load drifting (other work on it) weighs on both; printed: the median throughput
  (calls/s), p50 and p99 of each, and the ratios driver/wrk of those medians. wrk is the
  reference: a C client whose own CPU cost is small, so on a small machine (server and client
  share the cores) a ratio below 1 is the driver's client-side cost per call.
- open model, not like for like: wrk has no open model (wrk2 has, not packaged in Debian). The
  driver's open model (``rate`` + ``duration`` + ``max_in_flight`` c) runs at a fixed fraction
  (``--open-fraction``, 0.8) of wrk's closed throughput at the same c, and its achieved rate,
  dropped calls, and p50 from the actual start and from the intended start (the schedule: no
  coordinated omission) are printed beside wrk's closed figures at that c. It shows whether the
  driver keeps an offered rate below the endpoint's capacity (dropped 0, achieved = rate) and the
  latency when calls do not queue behind one another; it is not a ratio against wrk.

Figures only, never pass/fail; the criteria read against: driver throughput >= 0.9x wrk at 8 and
32 and its p50 within 10% of wrk's.

    .venv/bin/python -m bench.driver_vs_wrk [--duration 10] [--rounds 3] [--concurrency 1 8 32]

Needs wrk: ``apt-get install wrk`` (Debian, Ubuntu), or ``make bench``, which installs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.echo_endpoint import PAYLOAD, collection_env, echo_endpoint
from bench.figures import emit

# The driver runs in this process as algo_benchmark runs it: the checkout as the collection.
sys.path[:0] = [path for path in collection_env()["PYTHONPATH"].split(os.pathsep) if path not in sys.path]

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import (  # noqa: E402
    normalise_test,
    run_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient  # noqa: E402
from ansible_collections.algorithmia.testbench.plugins.modules.algo_benchmark import counted_calls  # noqa: E402

CALL_TIMEOUT = 60
INSTALL_HINT = "wrk is not installed: apt-get install wrk (Debian/Ubuntu), or run make bench, which installs it"

WRK_SCRIPT = """-- Written by bench/driver_vs_wrk.py for one run; holds the run's API key, removed after it.
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK-JSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"non_2xx\\": %d, \\"socket_errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d, \\"mean_us\\": %.1f}}\\n",
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def run_wrk(wrk: str, endpoint, concurrency: int, duration: int, workdir: Path) -> dict:
    script = workdir / "echo.lua"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(WRK_SCRIPT.format(body=lua_string(json.dumps(PAYLOAD)),
                                       authorization=lua_string(endpoint.headers["Authorization"])))
    try:
        done = subprocess.run([wrk, "-t", str(min(concurrency, 2)), "-c", str(concurrency), "-d", f"{duration}s",
                               "--latency", "--timeout", f"{CALL_TIMEOUT}s", "-s", str(script),
                               f"{endpoint.call_url}?timeout={CALL_TIMEOUT}"],
                              capture_output=True, text=True, check=False, timeout=duration + 60)
    finally:
        script.unlink()
    found = re.search(r"^WRK-JSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    figures = json.loads(found.group(1))
    seconds = figures["duration_us"] / 1e6
    return {"calls": figures["requests"], "errors": figures["non_2xx"] + figures["socket_errors"],
            "throughput": round(figures["requests"] / seconds, 1),
            "p50_ms": round(figures["p50_us"] / 1000, 2), "p99_ms": round(figures["p99_us"] / 1000, 2)}


class Driver:
    """The collection's benchmark engine against the endpoint, as algo_benchmark drives it."""

    def __init__(self, endpoint) -> None:
        self.client = AlgorithmiaClient(endpoint.url, endpoint.key)
        self.algorithm = Algorithm(self.client, endpoint.owner, endpoint.name)
        self.version = endpoint.version

    def close(self) -> None:
        self.client.close()

    def supports(self, field: str) -> bool:
        """Whether this checkout's engine knows a load-model field (``duration``, ``rate``)."""
        return field in normalise_test({"name": "probe", "payload": None}, 0)

    def run(self, spec: dict) -> dict:
        test = normalise_test(dict({"name": "echo", "payload": PAYLOAD, "timeout": CALL_TIMEOUT,
                                    "expected_output": PAYLOAD}, **spec), 0)
        self.client.ensure_pool(max(test.get("concurrency") or 1, test.get("max_in_flight") or 1))
        caller = self.algorithm.caller(self.version)
        try:
            result = run_test(test, counted_calls(caller, "echo"))
        finally:
            caller.close()
        elapsed = result["elapsed_s"] or float("nan")
        latency = result["latency_ms"]
        row = {"calls": result["calls"], "errors": result["errors"],
               "throughput": round(result.get("throughput") or result["calls"] / elapsed, 1),
               "p50_ms": latency["p50"], "p99_ms": latency["p99"]}
        if "dropped" in result:
            row["dropped"] = result["dropped"]
        intended = result.get("intended_latency_ms")
        if intended:
            row["intended_p50_ms"], row["intended_p99_ms"] = intended.get("p50"), intended.get("p99")
        return row

    def closed(self, concurrency: int, duration: int, wrk_row: dict) -> dict:
        if self.supports("duration"):
            return self.run({"duration": duration, "concurrency": concurrency})
        # An engine with only the `calls` model: as many calls as wrk made in the same time.
        return self.run({"calls": max(concurrency, wrk_row["calls"]), "concurrency": concurrency})

    def open(self, rate: float, concurrency: int, duration: int) -> dict:
        return self.run({"rate": rate, "duration": duration, "max_in_flight": concurrency})


def median_row(rounds: list[dict]) -> dict:
    """Each figure's median over the rounds (calls and errors: their sums)."""
    row = {key: round(statistics.median(r[key] for r in rounds), 2) for key in ("throughput", "p50_ms", "p99_ms")}
    row.update(calls=sum(r["calls"] for r in rounds), errors=sum(r["errors"] for r in rounds), rounds=rounds)
    return row


def ratio(driver: float | None, wrk: float | None) -> float | None:
    return round(driver / wrk, 3) if driver and wrk else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements of each side per concurrency, alternating; medians printed (default 3)")
    parser.add_argument("--open-fraction", type=float, default=0.8,
                        help="the open model's rate as a fraction of wrk's closed throughput at the same c")
    parser.add_argument("--no-open", action="store_true", help="measure the closed model only")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        print(INSTALL_HINT, file=sys.stderr)
        return 2

    closed_rows, open_rows = [], []
    with tempfile.TemporaryDirectory(prefix="driver-vs-wrk-") as tmp, echo_endpoint(Path(tmp)) as endpoint:
        driver = Driver(endpoint)
        try:
            open_model = not args.no_open and driver.supports("rate")
            for concurrency in args.concurrency:
                wrk_rounds, driver_rounds = [], []
                for round_index in range(args.rounds):
                    # Alternating which goes first, so that a drift of the machine's load weighs on both.
                    sides = [lambda: wrk_rounds.append(run_wrk(wrk, endpoint, concurrency, args.duration, Path(tmp))),
                             lambda: driver_rounds.append(driver.closed(concurrency, args.duration, wrk_rounds[-1]))]
                    if round_index % 2 and wrk_rounds:
                        sides.reverse()
                    for side in sides:
                        side()
                wrk_row, driver_row = median_row(wrk_rounds), median_row(driver_rounds)
                closed_rows.append({"concurrency": concurrency, "wrk": wrk_row, "driver": driver_row,
                                    "throughput_ratio": ratio(driver_row["throughput"], wrk_row["throughput"]),
                                    "p50_ratio": ratio(driver_row["p50_ms"], wrk_row["p50_ms"]),
                                    "p99_ratio": ratio(driver_row["p99_ms"], wrk_row["p99_ms"])})
                print(f"c={concurrency}: wrk {wrk_row['throughput']} calls/s, driver {driver_row['throughput']} "
                      f"calls/s", flush=True)
                if open_model:
                    rate = round(wrk_row["throughput"] * args.open_fraction, 1)
                    open_rows.append({"concurrency": concurrency, "rate": rate, "wrk_closed": wrk_row,
                                      "driver_open": driver.open(rate, concurrency, args.duration)})
        finally:
            driver.close()

    print(f"\nclosed model, {args.duration} s each, median of {args.rounds} alternating rounds: wrk vs the driver "
          "on the same localcluster echo endpoint (calls, errors: all rounds)")
    print(f"{'c':>3} {'client':<7} {'calls':>7} {'errors':>6} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for row in closed_rows:
        for label in ("wrk", "driver"):
            side = row[label]
            print(f"{row['concurrency']:>3} {label:<7} {side['calls']:>7} {side['errors']:>6} {side['throughput']:>8} "
                  f"{side['p50_ms']:>7} {side['p99_ms']:>7}")
        print(f"{'':>3} driver/wrk: throughput {row['throughput_ratio']}, p50 {row['p50_ratio']}, "
              f"p99 {row['p99_ratio']}")
    print("criteria: throughput ratio >= 0.9 at c=8 and c=32; p50 ratio within 0.9..1.1")
    for row in closed_rows:
        concurrency, wrk_row, driver_row = row["concurrency"], row["wrk"], row["driver"]
        emit("11.3", f"driver throughput, closed c={concurrency}", driver_row["throughput"], "calls/s", "wrk",
             wrk_row["throughput"], ">= 0.8" if concurrency == 1 else ">= 0.9")
        emit("11.3", f"driver p50, closed c={concurrency}", driver_row["p50_ms"], "ms", "wrk", wrk_row["p50_ms"],
             None if concurrency == 1 else "<= 1.1")
    if open_rows:
        print(f"\nopen model (the driver only: wrk has none), rate = {args.open_fraction} x wrk's closed calls/s at "
              f"the same c, max_in_flight = c, {args.duration} s; wrk's closed figures beside it")
        print(f"{'c':>3} {'rate':>8} {'achieved':>8} {'dropped':>7} {'errors':>6} {'p50 ms':>7} {'p50 int.':>8} "
              f"{'p99 ms':>7} {'p99 int.':>8} | {'wrk calls/s':>11} {'p50 ms':>7} {'p99 ms':>7}")
        for row in open_rows:
            side, ref = row["driver_open"], row["wrk_closed"]
            print(f"{row['concurrency']:>3} {row['rate']:>8} {side['throughput']:>8} {side.get('dropped', 0):>7} "
                  f"{side['errors']:>6} {side['p50_ms']:>7} {side.get('intended_p50_ms')!s:>8} {side['p99_ms']:>7} "
                  f"{side.get('intended_p99_ms')!s:>8} | {ref['throughput']:>11} {ref['p50_ms']:>7} {ref['p99_ms']:>7}")
        print("p50/p99 ms: from each call's actual start; 'int.': from its intended start on the schedule")
    elif not args.no_open:
        print("\nopen model: this checkout's benchmark engine has no `rate` load model yet; not measured")
    print(json.dumps({"duration_s": args.duration, "closed": closed_rows, "open": open_rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
