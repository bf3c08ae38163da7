"""Run every benchmark under bench/ in turn; each prints its own figures. ``make bench``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("bench.localcluster_calls", "bench.localcluster_build_cache", "bench.data_sync_vs_seed")


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n=== {module} ===", flush=True)
        if subprocess.run([sys.executable, "-m", module], cwd=ROOT, check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nbenchmarks that did not complete: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
