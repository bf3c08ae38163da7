"""Benchmark: the algo_data_sync module against the original tool's way of copying a data file.

Two localclusters; a random file on the source. Side by side in this run, each in its own
process (so each peak RSS is its own):

- reference: what the original TestBench did, with the official client: ``getFile()`` (the
  whole file to a temporary file on disk), then ``putFile()`` to the destination; it copies
  every time.
- module: ``algo_data_sync`` run as Ansible runs it (a module process with its arguments),
  streaming source to destination, verifying after writing, and skipping on the next run
  what the destination already holds.

Prints seconds and peak RSS of both, for a first copy and for a second, unchanged run, and
the ratios (the figures to read: absolute numbers depend on the machine).

    .venv/bin/python -m bench.data_sync_vs_seed [--mib 48]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localcluster.process import LocalClusterProcess

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "plugins" / "modules" / "algo_data_sync.py"
COLLECTIONS = ROOT / ".collections"
ALGORITHM = "Synced"

# The original tool's copy, run in a child process: download to disk, upload from disk.
REFERENCE = """
import sys, Algorithmia
source = Algorithmia.client(sys.argv[1], sys.argv[2])
destination = Algorithmia.client(sys.argv[3], sys.argv[4])
path = source.file(sys.argv[5]).getFile(as_path=True)
destination.file(sys.argv[6]).putFile(path)
"""


def run_child(argv: list[str], env: dict) -> tuple[float, float, str]:
    """Seconds, peak RSS in MiB of that one child, and its stdout.

    The child writes to files, not pipes, so it can be reaped with ``os.wait4``, which gives
    that child's own resource usage (``RUSAGE_CHILDREN`` would mix every child so far).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        pid = subprocess.Popen(argv, env=env, stdout=out, stderr=err).pid  # pylint: disable=consider-using-with
        status, usage = os.wait4(pid, 0)[1:]
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if status != 0:
            raise SystemExit(f"{' '.join(argv[:2])} failed:\n{stdout}\n{err.read()}")
    return seconds, usage.ru_maxrss / 1024, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--mib", type=int, default=48, help="size of the data file (default %(default)s MiB)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env["PYTHONPATH"] = str(COLLECTIONS)
    if not (COLLECTIONS / "ansible_collections" / "algorithmia" / "testbench").exists():
        raise SystemExit("run `make collections-link` first (make bench does)")

    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        source = LocalClusterProcess(scratch_path / "source").start()
        destination = LocalClusterProcess(scratch_path / "destination").start()
        try:
            import Algorithmia

            source_key = source.create_user("quality")
            destination_key = destination.create_user("bench")
            blob = scratch_path / "model.bin"
            with open(blob, "wb") as stream:
                for _mib in range(args.mib):
                    stream.write(os.urandom(1024 * 1024))
            client = Algorithmia.client(source_key, source.url)
            client.dir("data://.my/models").create()
            client.file("data://.my/models/model.bin").putFile(str(blob))
            blob.unlink()
            dest_client = Algorithmia.client(destination_key, destination.url)
            dest_client.dir("data://.my/Reference").create()

            reference_argv = [sys.executable, "-c", REFERENCE, source_key, source.url, destination_key,
                              destination.url, "data://quality/models/model.bin",
                              "data://bench/Reference/model.bin"]
            module_args = {"ANSIBLE_MODULE_ARGS": {
                "api_address": destination.url, "api_key": destination_key,
                "source_api_address": source.url, "source_api_key": source_key,
                "algorithm": ALGORITHM, "files": ["data://.my/models/model.bin"]}}
            args_file = scratch_path / "args.json"
            fd = os.open(args_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds keys
            with os.fdopen(fd, "w") as stream:
                json.dump(module_args, stream)
            module_argv = [sys.executable, str(MODULE), str(args_file)]

            rows = []
            for run in ("first copy", "second run, unchanged"):
                ref_s, ref_rss = run_child(reference_argv, env)[:2]
                mod_s, mod_rss, out = run_child(module_argv, env)
                result = json.loads(out)
                actions = sorted({f["action"] for f in result["files"]})
                rows.append((run, ref_s, ref_rss, mod_s, mod_rss, "/".join(actions)))
        finally:
            destination.stop()
            source.stop()

    print(f"\nalgo_data_sync vs the official client's getFile + putFile, one {args.mib} MiB file, cluster to cluster")
    print(f"{'run':24} {'reference s':>11} {'peak MiB':>8} {'module s':>9} {'peak MiB':>8}  {'module did':10}"
          f" {'time ratio':>10} {'RSS ratio':>9}")
    for run, ref_s, ref_rss, mod_s, mod_rss, actions in rows:
        print(f"{run:24} {ref_s:11.2f} {ref_rss:8.1f} {mod_s:9.2f} {mod_rss:8.1f}  {actions:10}"
              f" {mod_s / ref_s:10.2f} {mod_rss / ref_rss:9.2f}")
    print("ratios are module / reference.")
    print("(the module verifies each copy by reading it back; the reference does not, and it writes the file"
          " to local disk on the way)")


if __name__ == "__main__":
    main()
