"""Run the benchmarks under bench/ in turn, then print every figure they measured in one table.

Each benchmark prints its own figures as it goes, and one ``BENCH-JSON`` line per figure that a
goal reads (``bench.figures``): the figure, the anchor measured beside it in the same run, their
ratio and the criterion. The table at the end gathers those lines from every benchmark.

    .venv/bin/python -m bench.run_all                  # the table's benchmarks, full size
    .venv/bin/python -m bench.run_all --quick          # each at a small size, for a try
    .venv/bin/python -m bench.run_all --only driver_vs_wrk data_sync_vs_seed
    .venv/bin/python -m bench.run_all --only million_calls   # the long one (about half an hour)

``million_calls`` (a module process's memory over a million calls) is left out of a plain run for
its length: name it with ``--only``, or pass ``--all``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.figures import parse, table

ROOT = Path(__file__).resolve().parent.parent
# module: the arguments of its --quick run (None: it is quick already)
BENCHMARKS = {
    "bench.data_sync_vs_seed": ["--mib", "64", "--rounds", "1"],
    "bench.destinations": None,
    "bench.driver_vs_wrk": ["--duration", "3", "--rounds", "1", "--concurrency", "1", "8", "256"],
    "bench.fleet": ["--sizes", "1", "4"],
    "bench.localcluster_calls": None,
    "bench.localcluster_build_cache": None,
    "bench.million_calls": ["--calls", "2000", "20000"],
}
# Run only when named (--only) or with --all: too long for every `make bench`.
LONG = {"bench.million_calls"}


def short(module: str) -> str:
    return module.split(".")[-1]


def run(module: str, extra: list[str]) -> tuple[int, list[dict]]:
    """Run one benchmark, its output passed through as it comes; its exit code and its figures."""
    figures = []
    with subprocess.Popen([sys.executable, "-m", module, *extra], cwd=ROOT, stdout=subprocess.PIPE,
                          text=True, bufsize=1) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            found = parse(line)
            if found is not None:
                figures.append(dict(found, bench=short(module)))
    return process.returncode, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run each benchmark at a small size")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benchmarks only (e.g. driver_vs_wrk)")
    parser.add_argument("--all", action="store_true", help="the long ones too (million_calls)")
    args = parser.parse_args()
    names = {short(module) for module in BENCHMARKS if (ROOT / "bench" / f"{short(module)}.py").exists()}
    unknown = sorted(set(args.only or ()) - names)
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(sorted(names))}")
    chosen = [module for module in BENCHMARKS if short(module) in names and (
        short(module) in args.only if args.only else args.all or module not in LONG)]
    failed, figures = [], []
    for module in chosen:
        extra = (BENCHMARKS[module] or []) if args.quick else []
        print(f"\n=== {module} {' '.join(extra)} ===", flush=True)
        returncode, found = run(module, extra)
        figures += found
        if returncode != 0:
            failed.append(short(module))
    print(f"\n=== every figure of this run{' (--quick: small sizes, not the goals)' if args.quick else ''} ===")
    print(table(sorted(figures, key=lambda item: str(item.get("goal")))) if figures else "no figures were measured")
    if failed:
        print(f"\nbenchmarks that did not complete (their figures are missing above): {', '.join(failed)}",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
