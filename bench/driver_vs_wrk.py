"""Benchmark: the collection's benchmark driver against ``wrk`` on the same echo endpoint, same run.

Two paths of the driver, each said in its figures' names (``--path``, both by default):

- ``module``: as operators run it, ``algo_benchmark`` in a playbook. ansible-playbook runs a
  one-task play as the collection's playbooks run their tasks (connection local, the preload
  callback, the module run in its worker); the figures are the module's own (calls/s over the
  test's elapsed time, p50, p99).
- ``engine``: the benchmark engine alone, in this process (``benchmark.run_test`` with
  ``AlgorithmiaClient`` + ``Algorithm.caller``, as algo_benchmark calls it): what the driver costs
  without Ansible around it.

What is compared, at concurrency 1, 8, 32, 128 and 256, each for a fixed duration (8 s by default):

- closed model, like for like: ``wrk -t min(c,2) -c c --latency`` (c connections, each sending its
  next request as soon as its answer arrives) and the driver's closed model with ``concurrency``
  c. All POST the same JSON body with the same key header to the same warm echo algorithm on one
  localcluster, ``POST /v1/algo/<owner>/Echo/<hash>?timeout=60``. Each side is measured
  ``--rounds`` times (3), rotating which goes first, so that the machine's load drifting (other
  work on it) weighs on all; printed: the median throughput (calls/s), p50 and p99 of each, and the
  ratios driver/wrk of those medians. wrk is the reference: a C client whose own CPU cost is small,
  so on a small machine (server and client share the cores) a ratio below 1 is the driver's
  client-side cost per call.
- open model, not like for like: wrk has no open model (wrk2 has, not packaged in Debian). The
  driver's open model (``rate`` + ``duration`` + ``max_in_flight`` c) runs at a fixed fraction
  (``--open-fraction``, 0.8) of wrk's closed throughput at the same c, on each path; its achieved
  rate, dropped calls, and p50 from the actual start and from the intended start (the schedule: no
  coordinated omission) are printed beside wrk's closed figures at that c.
- memory at the highest concurrency: the module run as a process of its own (as Ansible runs a
  module that is not run in its worker), its peak RSS (the kernel's high-water mark); and, on the
  module path, the memory the task's worker held beyond what it shares with ansible-playbook
  (its peak USS, sampled).

Figures only, never pass/fail; the criteria (issue 22, goal 2) are read on the module path:
throughput >= 0.95x wrk at 8 and 32, >= 0.9x at 1, 128 and 256; p50 <= 1.1x wrk's at 8 and
above; the open model drops nothing at 8 and above; the module's peak RSS at 256 under 128 MiB.

    .venv/bin/python -m bench.driver_vs_wrk [--duration 8] [--rounds 3] [--concurrency 1 8 32 128 256]
                                            [--path module engine]

Needs wrk: ``apt-get install wrk`` (Debian, Ubuntu), or ``make bench``, which installs it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


from bench.echo_endpoint import PAYLOAD, ROOT, collection_env, echo_endpoint
from bench.figures import emit
from bench.module_process import MIB, run_algo_benchmark
from bench.process_memory import PeakTreeMemory, largest_child_uss

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
        # as in algo_benchmark's worker (plugin_utils/in_process.py): what was imported before is
        # left alone by the collector
        gc.freeze()
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
        return result_row(result)

    def closed(self, concurrency: int, duration: int, wrk_row: dict) -> dict:
        if self.supports("duration"):
            return self.run({"duration": duration, "concurrency": concurrency})
        # An engine with only the `calls` model: as many calls as wrk made in the same time.
        return self.run({"calls": max(concurrency, wrk_row["calls"]), "concurrency": concurrency})

    def open(self, rate: float, concurrency: int, duration: int) -> dict:
        return self.run({"rate": rate, "duration": duration, "max_in_flight": concurrency})


PLAYBOOK = """- name: Benchmark the echo algorithm as the collection's playbooks run algo_benchmark
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Benchmark
      algorithmia.testbench.algo_benchmark:
        api_address: "{{ lookup('ansible.builtin.env', 'BENCH_API_ADDRESS') }}"
        api_key: "{{ lookup('ansible.builtin.env', 'BENCH_API_KEY') }}"
        owner: "{{ lookup('ansible.builtin.env', 'BENCH_OWNER') }}"
        algorithm: "{{ lookup('ansible.builtin.env', 'BENCH_ALGORITHM') }}"
        version: "{{ lookup('ansible.builtin.env', 'BENCH_VERSION') }}"
        tests: "{{ lookup('ansible.builtin.file', 'tests.json') | from_json }}"
      no_log: true
      register: bench_result
      # the figures are wanted when a gate fails too (the open model's dropped calls)
      ignore_errors: true

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ bench_result | to_json }}"
        dest: "{{ playbook_dir }}/result.json"
        mode: "0600"
"""


class PlaybookDriver:
    """algo_benchmark as a playbook runs it: ansible-playbook, one task, the module in its worker."""

    def __init__(self, endpoint, workdir: Path) -> None:
        self.endpoint = endpoint
        self.workdir = workdir / "playbook"
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "bench.yml").write_text(PLAYBOOK)
        self.peak_worker_uss = 0

    def run(self, spec: dict) -> dict:
        tests = [dict({"name": "echo", "payload": PAYLOAD, "timeout": CALL_TIMEOUT, "expected_output": PAYLOAD},
                      **spec)]
        (self.workdir / "tests.json").write_text(json.dumps(tests))
        result_file = self.workdir / "result.json"
        result_file.unlink(missing_ok=True)
        env = collection_env()
        # the key reaches the play through the environment, never a file or a command line
        env.update(BENCH_API_ADDRESS=self.endpoint.url, BENCH_API_KEY=self.endpoint.key,
                   BENCH_OWNER=self.endpoint.owner,
                   BENCH_ALGORITHM=self.endpoint.name, BENCH_VERSION=self.endpoint.version,
                   ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CALLBACKS_ENABLED="algorithmia.testbench.preload")
        proc = subprocess.Popen([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                                 str(self.workdir / "bench.yml")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        memory = PeakTreeMemory(proc.pid, largest_child_uss, every=0.25)
        output = proc.communicate()[0]
        self.peak_worker_uss = max(self.peak_worker_uss, memory.stop())
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
        if proc.returncode != 0 or not result.get("tests"):
            raise RuntimeError(f"ansible-playbook exited {proc.returncode}:\n{output[-3000:]}")
        result_file.unlink()
        return result_row(result["tests"][0])

    def closed(self, concurrency: int, duration: int, _wrk_row: dict) -> dict:
        return self.run({"duration": duration, "concurrency": concurrency})

    def open(self, rate: float, concurrency: int, duration: int) -> dict:
        return self.run({"rate": rate, "duration": duration, "max_in_flight": concurrency})

    def close(self) -> None:
        pass


def result_row(result: dict) -> dict:
    """One test's result (the engine's or the module's) as a row of this benchmark."""
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


def module_peak_rss(endpoint, concurrency: int, duration: int, workdir: Path) -> float:
    """The peak RSS (MiB) of algo_benchmark run as a process of its own, closed at ``concurrency``."""
    tests = [{"name": f"echo c={concurrency}", "payload": PAYLOAD, "duration": duration, "concurrency": concurrency,
              "timeout": CALL_TIMEOUT, "expected_output": PAYLOAD}]
    return run_algo_benchmark(endpoint, tests, workdir, f"c{concurrency}")["peak_rss_mib"]


def median_row(rounds: list[dict]) -> dict:
    """Each figure's median over the rounds (calls and errors: their sums)."""
    row = {key: round(statistics.median(r[key] for r in rounds), 2) for key in ("throughput", "p50_ms", "p99_ms")}
    row.update(calls=sum(r["calls"] for r in rounds), errors=sum(r["errors"] for r in rounds), rounds=rounds)
    return row


def ratio(driver: float | None, wrk: float | None) -> float | None:
    return round(driver / wrk, 3) if driver and wrk else None


# goal 2 of issue 22, read on each path's ratios to wrk: (at least, at most) per concurrency
THROUGHPUT_AT_LEAST = {1: 0.9, 8: 0.95, 32: 0.95, 128: 0.9, 256: 0.9}
P50_AT_MOST = 1.1  # at 8 and above
RSS_LIMIT_MIB = 128


def measure_closed(drivers: dict, wrk: str, endpoint, concurrency: int, args, workdir: Path) -> dict:
    """``args.rounds`` rounds of wrk and each path at ``concurrency``, rotating which goes first."""
    sides = {"wrk": lambda: run_wrk(wrk, endpoint, concurrency, args.duration, workdir)}
    wrk_rounds: list[dict] = []
    for path, driver in drivers.items():
        sides[path] = (lambda driver=driver: driver.closed(concurrency, args.duration, wrk_rounds[-1]
                                                           if wrk_rounds else {"calls": 0}))
    rounds: dict[str, list[dict]] = {name: [] for name in sides}
    names = list(sides)
    for round_index in range(args.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            row = sides[name]()
            rounds[name].append(row)
            if name == "wrk":
                wrk_rounds.append(row)
    medians = {name: median_row(rows) for name, rows in rounds.items()}
    wrk_row = medians["wrk"]
    row = {"concurrency": concurrency, "wrk": wrk_row, "paths": {}}
    for path in drivers:
        side = medians[path]
        row["paths"][path] = {"driver": side, "throughput_ratio": ratio(side["throughput"], wrk_row["throughput"]),
                              "p50_ratio": ratio(side["p50_ms"], wrk_row["p50_ms"]),
                              "p99_ratio": ratio(side["p99_ms"], wrk_row["p99_ms"])}
    return row


def print_closed(rows: list[dict], args) -> None:
    print(f"\nclosed model, {args.duration} s each, median of {args.rounds} rotating rounds: wrk vs the driver "
          "on the same localcluster echo endpoint (calls, errors: all rounds)")
    print(f"{'c':>3} {'client':<14} {'calls':>7} {'errors':>6} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'x wrk calls/s':>13} {'x wrk p50':>9}")
    for row in rows:
        wrk_row = row["wrk"]
        print(f"{row['concurrency']:>3} {'wrk':<14} {wrk_row['calls']:>7} {wrk_row['errors']:>6} "
              f"{wrk_row['throughput']:>8} {wrk_row['p50_ms']:>7} {wrk_row['p99_ms']:>7}")
        for path, found in row["paths"].items():
            side = found["driver"]
            print(f"{'':>3} {'driver ' + path:<14} {side['calls']:>7} {side['errors']:>6} {side['throughput']:>8} "
                  f"{side['p50_ms']:>7} {side['p99_ms']:>7} {found['throughput_ratio']!s:>13} "
                  f"{found['p50_ratio']!s:>9}")


def print_open(rows: list[dict], args) -> None:
    print(f"\nopen model (the driver only: wrk has none), rate = {args.open_fraction} x wrk's closed calls/s at "
          f"the same c, max_in_flight = c, {args.duration} s; wrk's closed figures beside it")
    print(f"{'c':>3} {'path':<7} {'rate':>8} {'achieved':>8} {'dropped':>7} {'errors':>6} {'p50 ms':>7} "
          f"{'p50 int.':>8} {'p99 ms':>7} {'p99 int.':>8} | {'wrk calls/s':>11} {'p50 ms':>7} {'p99 ms':>7}")
    for row in rows:
        side, ref = row["driver_open"], row["wrk_closed"]
        print(f"{row['concurrency']:>3} {row['path']:<7} {row['rate']:>8} {side['throughput']:>8} "
              f"{side.get('dropped', 0):>7} {side['errors']:>6} {side['p50_ms']:>7} {side.get('intended_p50_ms')!s:>8} "
              f"{side['p99_ms']:>7} {side.get('intended_p99_ms')!s:>8} | {ref['throughput']:>11} {ref['p50_ms']:>7} "
              f"{ref['p99_ms']:>7}")
    print("p50/p99 ms: from each call's actual start; 'int.': from its intended start on the schedule")


def emit_figures(closed_rows: list[dict], open_rows: list[dict], memory: dict) -> None:
    for row in closed_rows:
        concurrency, wrk_row = row["concurrency"], row["wrk"]
        for path, found in row["paths"].items():
            side = found["driver"]
            emit("22.2", f"driver ({path}) throughput, closed c={concurrency}", side["throughput"], "calls/s", "wrk",
                 wrk_row["throughput"], f">= {THROUGHPUT_AT_LEAST.get(concurrency, 0.9)}")
            emit("22.2", f"driver ({path}) p50, closed c={concurrency}", side["p50_ms"], "ms", "wrk", wrk_row["p50_ms"],
                 None if concurrency < 8 else f"<= {P50_AT_MOST}")
    for row in open_rows:
        emit("22.2", f"driver ({row['path']}) open model at {row['rate']}/s, c={row['concurrency']}: dropped calls",
             row["driver_open"].get("dropped", 0), "calls", criterion="<= 0" if row["concurrency"] >= 8 else None)
    if "module_rss_mib" in memory:
        emit("22.2", f"algo_benchmark peak RSS, its own process, closed c={memory['concurrency']}",
             memory["module_rss_mib"], "MiB", criterion=f"< {RSS_LIMIT_MIB}")
    if memory.get("worker_uss_mib"):
        emit("22.2", "algo_benchmark in a playbook: its worker's peak memory beyond ansible-playbook's (USS)",
             memory["worker_uss_mib"], "MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement (default 8)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128, 256])
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements of each side per concurrency, rotating; medians printed (default 3)")
    parser.add_argument("--path", nargs="+", choices=["module", "engine"], default=["module", "engine"],
                        help="the driver's paths: algo_benchmark in a playbook, the engine in this process")
    parser.add_argument("--open-fraction", type=float, default=0.8,
                        help="the open model's rate as a fraction of wrk's closed throughput at the same c")
    parser.add_argument("--no-open", action="store_true", help="measure the closed model only")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        print(INSTALL_HINT, file=sys.stderr)
        return 2

    closed_rows, open_rows, memory = [], [], {}
    with tempfile.TemporaryDirectory(prefix="driver-vs-wrk-") as tmp, echo_endpoint(Path(tmp)) as endpoint:
        drivers = {}
        if "module" in args.path:
            drivers["module"] = PlaybookDriver(endpoint, Path(tmp))
        if "engine" in args.path:
            drivers["engine"] = Driver(endpoint)
        try:
            for concurrency in args.concurrency:
                row = measure_closed(drivers, wrk, endpoint, concurrency, args, Path(tmp))
                closed_rows.append(row)
                print(f"c={concurrency}: wrk {row['wrk']['throughput']} calls/s, " + ", ".join(
                    f"driver ({path}) {found['driver']['throughput']} calls/s" for path, found in row["paths"].items()),
                    flush=True)
                if not args.no_open:
                    rate = round(row["wrk"]["throughput"] * args.open_fraction, 1)
                    for path, driver in drivers.items():
                        open_rows.append({"concurrency": concurrency, "path": path, "rate": rate,
                                          "wrk_closed": row["wrk"],
                                          "driver_open": driver.open(rate, concurrency, args.duration)})
            highest = max(args.concurrency)
            if "module" in drivers:
                memory = {"concurrency": highest,
                          "module_rss_mib": module_peak_rss(endpoint, highest, args.duration, Path(tmp)),
                          "worker_uss_mib": round(drivers["module"].peak_worker_uss / MIB, 1)}
        finally:
            for driver in drivers.values():
                driver.close()

    print_closed(closed_rows, args)
    if open_rows:
        print_open(open_rows, args)
    if memory:
        print(f"\nalgo_benchmark at c={memory['concurrency']}: peak RSS {memory['module_rss_mib']} MiB as a process of "
              f"its own; in a playbook, its worker held at most {memory['worker_uss_mib']} MiB "
              "beyond ansible-playbook's")
    print("criteria (module path): throughput x wrk >= 0.95 at c=8 and 32, >= 0.9 at 1, 128 and 256; p50 x wrk "
          f"<= {P50_AT_MOST} at 8 and above; open model: nothing dropped at 8 and above; "
          f"peak RSS < {RSS_LIMIT_MIB} MiB")
    emit_figures(closed_rows, open_rows, memory)
    print(json.dumps({"duration_s": args.duration, "closed": closed_rows, "open": open_rows, "memory": memory}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
