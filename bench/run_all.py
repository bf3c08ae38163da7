"""Run every benchmark under bench/ in turn; each prints its own figures. ``make bench``.

    .venv/bin/python -m bench.run_all                  # everything, full size (a million calls: ~30 min)
    .venv/bin/python -m bench.run_all --quick          # every benchmark at a small size, for a try
    .venv/bin/python -m bench.run_all --only driver_vs_wrk million_calls
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# module: the arguments of its --quick run (None: it is quick already)
BENCHMARKS = {
    "bench.localcluster_calls": None,
    "bench.localcluster_build_cache": None,
    "bench.data_sync_vs_seed": None,
    "bench.driver_vs_wrk": ["--duration", "3", "--rounds", "1"],
    "bench.million_calls": ["--calls", "2000", "20000"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run each benchmark at a small size")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benchmarks only (e.g. driver_vs_wrk)")
    args = parser.parse_args()
    chosen = [module for module in BENCHMARKS if not args.only or module.split(".")[-1] in args.only]
    unknown = sorted(set(args.only or ()) - {module.split(".")[-1] for module in BENCHMARKS})
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are "
                     f"{', '.join(module.split('.')[-1] for module in BENCHMARKS)}")
    failed = []
    for module in chosen:
        extra = (BENCHMARKS[module] or []) if args.quick else []
        print(f"\n=== {module} {' '.join(extra)} ===", flush=True)
        if subprocess.run([sys.executable, "-m", module, *extra], cwd=ROOT, check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nbenchmarks that did not complete: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
