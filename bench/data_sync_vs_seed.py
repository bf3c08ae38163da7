"""Benchmark: algo_data_sync copying one big data file cluster to cluster, against `curl | curl` and the original tool.

Two localclusters (a source and a destination) over plain HTTP, then two over TLS; one random
file on each source (1 GiB by default). In each round, side by side, in alternating order:

- ``curl | curl``: curl downloads the file from the source's Data API and pipes it into a curl
  upload (``-T -``) to the destination: what the bytes cost with nothing but HTTP around them;
- the module: ``algo_data_sync`` as Ansible runs it (a module process with its arguments in a
  file), a first copy into a collection that does not exist yet, then the same task again (the
  unchanged re-run, which must find the copy in place without moving the file again).

Once per transport (it is slow, and copies every time): the original TestBench's way, the
official client's ``getFile()`` (the whole file to a temporary file on disk) then ``putFile()``.

Prints every round, the medians and the spread (min-max), and the goal's figures as
``BENCH-JSON`` lines (``bench.figures``). Each process is timed and its peak RSS read on its
own (``os.wait4``); the module's peak RSS is the largest of all its runs.

    .venv/bin/python -m bench.data_sync_vs_seed [--mib 1024] [--rounds 3] [--transports http tls]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import emit
from localcluster.process import LocalClusterProcess

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "plugins" / "modules" / "algo_data_sync.py"
COLLECTIONS = ROOT / ".collections"
MIB = 1024 * 1024
GOAL = "11.1"

# The original tool's copy, run in a child process: download to disk, upload from disk.
REFERENCE = """
import sys, Algorithmia
ca = sys.argv[7] or None
source = Algorithmia.client(sys.argv[1], sys.argv[2], ca)
destination = Algorithmia.client(sys.argv[3], sys.argv[4], ca)
path = source.file(sys.argv[5]).getFile(as_path=True)
destination.file(sys.argv[6]).putFile(path)
"""


def run_child(argv: list[str], env: dict, stdin=None) -> tuple[float, float, str]:
    """Seconds, peak RSS in MiB of that one child, and its stdout.

    The child writes to files, not pipes, so it can be reaped with ``os.wait4``, which gives
    that child's own resource usage (``RUSAGE_CHILDREN`` would mix every child so far).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        pid = subprocess.Popen(argv, env=env, stdin=stdin, stdout=out, stderr=err).pid  # pylint: disable=consider-using-with
        status, usage = os.wait4(pid, 0)[1:]
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if status != 0:
            raise SystemExit(f"{' '.join(argv[:3])} failed:\n{stdout[-3000:]}\n{err.read()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, stdout


def private_file(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds keys
    with os.fdopen(fd, "w") as stream:
        stream.write(text)
    return path


class Pair:
    """A source and a destination localcluster (one transport), the file on the source, keys."""

    def __init__(self, scratch: Path, transport: str, env: dict) -> None:
        self.transport = transport
        self.env = env
        self.scratch = scratch / transport
        self.scratch.mkdir()
        tls = transport == "tls"
        self.source = LocalClusterProcess(self.scratch / "source", tls=tls).start()
        self.destination = LocalClusterProcess(self.scratch / "destination", tls=tls).start()
        self.ca = self.source.ca_cert if tls else None
        if tls and Path(self.destination.ca_cert).read_bytes() != Path(self.ca).read_bytes():
            # Two clusters, two CAs: one bundle that vouches for both, for curl and the official client.
            bundle = self.scratch / "both-ca.pem"
            bundle.write_bytes(Path(self.ca).read_bytes() + Path(self.destination.ca_cert).read_bytes())
            self.ca = str(bundle)
        self.source_key = self.source.create_user("quality")
        self.destination_key = self.destination.create_user("bench")
        self.source_header = private_file(self.scratch / "source.h", f"Authorization: Simple {self.source_key}\n")
        self.destination_header = private_file(self.scratch / "destination.h",
                                               f"Authorization: Simple {self.destination_key}\n")
        self.runs = 0

    def stop(self) -> None:
        self.destination.stop()
        self.source.stop()

    def curl(self, *args: str) -> list[str]:
        return ["curl", "-sS", "--fail", "--no-progress-meter", *(["--cacert", self.ca] if self.ca else []), *args]

    def data_url(self, cluster: LocalClusterProcess, path: str) -> str:
        return f"{cluster.url}/v1/connector/data/{path}"

    def seed(self, blob: Path) -> None:
        """The file on the source, and the collections curl and the reference write into."""
        subprocess.run(self.curl("-X", "POST", "-H", f"@{self.source_header}", "-H", "Content-Type: application/json",
                                 "-d", '{"name": "models"}', "-o", os.devnull,
                                 self.data_url(self.source, "quality")), check=True)
        subprocess.run(self.curl("-T", str(blob), "-H", f"@{self.source_header}", "-o", os.devnull,
                                 self.data_url(self.source, "quality/models/model.bin")), check=True)
        for name in ("CurlCopy", "Reference"):
            subprocess.run(self.curl("-X", "POST", "-H", f"@{self.destination_header}", "-H",
                                     "Content-Type: application/json", "-d", json.dumps({"name": name}),
                                     "-o", os.devnull, self.data_url(self.destination, "bench")), check=True)

    def delete(self, path: str) -> None:
        subprocess.run(self.curl("-X", "DELETE", "-H", f"@{self.destination_header}", "-o", os.devnull,
                                 self.data_url(self.destination, path)), stderr=subprocess.DEVNULL, check=False)

    def curl_pipe(self) -> float:
        """Seconds of ``curl <source> | curl -T - <destination>``."""
        self.delete("bench/CurlCopy/model.bin")
        started = time.perf_counter()
        down = subprocess.Popen(self.curl("-H", f"@{self.source_header}",  # pylint: disable=consider-using-with
                                          self.data_url(self.source, "quality/models/model.bin")),
                                stdout=subprocess.PIPE)
        up = subprocess.run(self.curl("-T", "-", "-H", f"@{self.destination_header}", "-o", os.devnull,
                                      self.data_url(self.destination, "bench/CurlCopy/model.bin")),
                            stdin=down.stdout, check=False)
        down.stdout.close()
        down_rc = down.wait()
        seconds = time.perf_counter() - started
        if down_rc or up.returncode:
            raise SystemExit(f"curl | curl failed ({down_rc}, {up.returncode})")
        return seconds

    def module(self, algorithm: str) -> tuple[float, float, dict]:
        """Seconds, peak RSS (MiB) and result of one module run into the collection ``algorithm``."""
        args = {"api_address": self.destination.url, "api_key": self.destination_key,
                "source_api_address": self.source.url, "source_api_key": self.source_key,
                "algorithm": algorithm, "files": ["data://.my/models/model.bin"]}
        if self.transport == "tls":
            args.update(ca_cert=self.destination.ca_cert, source_ca_cert=self.source.ca_cert)
        self.runs += 1
        args_file = private_file(self.scratch / f"args{self.runs}.json", json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        seconds, rss, out = run_child([sys.executable, str(MODULE), str(args_file)], self.env)
        args_file.unlink()
        result = json.loads(out)
        if result.get("failed"):
            raise SystemExit(f"the module failed: {result.get('msg')}")
        return seconds, rss, result

    def reference(self) -> tuple[float, float]:
        """Seconds and peak RSS (MiB) of the official client's getFile + putFile."""
        self.delete("bench/Reference/model.bin")
        argv = [sys.executable, "-c", REFERENCE, self.source_key, self.source.url, self.destination_key,
                self.destination.url, "data://quality/models/model.bin", "data://bench/Reference/model.bin",
                self.ca or ""]
        env = dict(self.env, TMPDIR=str(self.scratch))  # getFile's temporary file: on the same disk as the rest
        seconds, rss = run_child(argv, env)[:2]
        self.delete("bench/Reference/model.bin")
        return seconds, rss


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def measure(pair: Pair, rounds: int, with_reference: bool) -> dict:
    found = {"curl": [], "first": [], "rerun": [], "rss": [], "ratio": [], "rerun_ratio": []}
    for number in range(rounds):
        algorithm = f"Synced{number}"
        order = ("curl", "module") if number % 2 == 0 else ("module", "curl")
        line = {}
        for what in order:
            if what == "curl":
                line["curl"] = pair.curl_pipe()
                pair.delete("bench/CurlCopy/model.bin")
                continue
            first_s, first_rss, first = pair.module(algorithm)
            rerun_s, rerun_rss, rerun = pair.module(algorithm)
            actions = ([f["action"] for f in first["files"]], [f["action"] for f in rerun["files"]])
            if actions != (["copied"], ["skipped"]):
                raise SystemExit(f"the module did {actions}, not a copy then a skip")
            line.update(first=first_s, rerun=rerun_s, rss=max(first_rss, rerun_rss),
                        transfer=first["files"][0].get("transfer"))
            pair.delete(f"bench/{algorithm}?force=true")
        for key in ("curl", "first", "rerun", "rss"):
            found[key].append(line[key])
        found["ratio"].append(line["first"] / line["curl"])
        found["rerun_ratio"].append(line["rerun"] / line["first"])
        print(f"  {pair.transport} round {number + 1}: curl | curl {line['curl']:.2f} s, module first copy "
              f"{line['first']:.2f} s (x{found['ratio'][-1]:.2f}), re-run {line['rerun']:.2f} s "
              f"(x{found['rerun_ratio'][-1]:.3f}), module peak RSS {line['rss']:.1f} MiB; transfer {line['transfer']}",
              flush=True)
    if with_reference:
        found["reference"], found["reference_rss"] = pair.reference()
        print(f"  {pair.transport} getFile + putFile (once): {found['reference']:.2f} s, "
              f"peak RSS {found['reference_rss']:.1f} MiB", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the data file (default %(default)s MiB)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per transport (default %(default)s)")
    parser.add_argument("--transports", nargs="+", choices=("http", "tls"), default=["http", "tls"])
    parser.add_argument("--no-reference", action="store_true", help="skip the official client's getFile + putFile")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed (the anchor is curl | curl): apt-get install curl")
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env["PYTHONPATH"] = str(COLLECTIONS)
    if not (COLLECTIONS / "ansible_collections" / "algorithmia" / "testbench").exists():
        raise SystemExit("run `make collections-link` first (make bench does)")
    size = "1 GiB" if args.mib == 1024 else f"{args.mib} MiB"

    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        blob = scratch_path / "model.bin"
        with open(blob, "wb") as stream:
            for _mib in range(args.mib):
                stream.write(os.urandom(MIB))
        for transport in args.transports:
            pair = Pair(scratch_path, transport, env)
            try:
                pair.seed(blob)
                print(f"{transport}: one {size} file, {args.rounds} rounds", flush=True)
                results[transport] = measure(pair, args.rounds, not args.no_reference)
            finally:
                pair.stop()
                shutil.rmtree(pair.scratch, ignore_errors=True)

    print(f"\nalgo_data_sync, one {size} file cluster to cluster (seconds; spread over the rounds)")
    for transport, found in results.items():
        print(f"{transport}: curl | curl {spread(found['curl'])}")
        print(f"{transport}: module first copy {spread(found['first'])}; ratio to curl | curl {spread(found['ratio'])}")
        print(f"{transport}: module unchanged re-run {spread(found['rerun'])}; ratio to the first copy "
              f"{spread(found['rerun_ratio'])}")
        if "reference" in found:
            print(f"{transport}: getFile + putFile {found['reference']:.2f} s (measured once), peak RSS "
                  f"{found['reference_rss']:.1f} MiB")
        print(f"{transport}: module peak RSS {spread(found['rss'])} MiB")
    for transport, found in results.items():
        label = transport.upper()
        first = round(statistics.median(found["first"]), 3)
        emit(GOAL, f"data sync {size} first copy, {label}", first, "s", anchor="curl | curl",
             anchor_value=round(statistics.median(found["curl"]), 3), criterion="<= 1.3")
        if "reference" in found:
            emit(GOAL, f"data sync {size} first copy vs the original tool's way, {label}", first, "s",
                 anchor="getFile + putFile", anchor_value=round(found["reference"], 3), criterion="<= 0.5")
        emit(GOAL, f"data sync {size} unchanged re-run, {label}", round(statistics.median(found["rerun"]), 3), "s",
             anchor="first copy", anchor_value=first, criterion="<= 0.05")
    if results:
        emit(GOAL, "data sync module peak RSS", round(max(max(found["rss"]) for found in results.values()), 1), "MiB",
             criterion="< 64")


if __name__ == "__main__":
    main()
