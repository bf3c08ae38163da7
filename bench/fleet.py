"""A fleet on one controller: the unchanged re-run of a one-algorithm workflow against 1, 8, 16 and
32 destination clusters, with as many forks as clusters (issue 22, goal 1).

Each size starts fresh localclusters as ``make demo`` does (tools/demo.py: a seeded source and N
TLS destinations, keys in the demo vault), deploys ``hello_world`` to every destination (the first
run, not measured), then measures the unchanged re-run, which is what an operator runs as a health
check after an upgrade: its wall time, the CPU (user + sys) of ansible-playbook's whole process
tree on this controller (``RUSAGE_CHILDREN`` grows by exactly that tree when ansible-playbook is
reaped; the localclusters are reaped only when they stop), and the tree's peak resident memory
(its processes' RSS summed, sampled every 50 ms). The destinations' own work runs on this machine
too, so the wall time here is an upper bound of a controller's.

    .venv/bin/python -m bench.fleet [--sizes 1 8 16 32]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.figures import emit  # noqa: E402
from bench.process_memory import PeakTreeMemory  # noqa: E402
from tools import demo  # noqa: E402

WORKFLOW_VARS = json.dumps({"testbench_workflows": ["hello_world"]})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def playbook_run(report_dir: Path, count: int, measure: bool) -> dict:
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/testbench.yml",
           "-i", str(demo.INVENTORY.relative_to(ROOT)), "--vault-password-file",
           str(demo.VAULT_PASSWORD_FILE.relative_to(ROOT)), "--forks", str(count),
           "-e", f"testbench_report_dir={report_dir}", "-e", f"testbench_history_dir={demo.STATE_DIR / 'history'}",
           "-e", WORKFLOW_VARS] + demo.write_extra_inventory(count)
    cpu = _cpu()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=demo.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    memory = PeakTreeMemory(proc.pid) if measure else None
    output = proc.communicate()[0]
    wall = time.monotonic() - start
    peak = memory.stop() if memory else 0
    if proc.returncode != 0:
        print(output[-6000:])
        raise SystemExit(f"ansible-playbook failed with {proc.returncode} against {count} clusters")
    changed = demo.recap_changes(output)
    return {"wall": wall, "cpu": _cpu() - cpu, "peak_rss": peak, "changed": changed,
            "warned": "Ansible runs at most" in output}


def one_size(count: int) -> dict:
    started: list = []
    try:
        demo.start_clusters(count, True, started)
        report_dir = demo.STATE_DIR / "reports"
        playbook_run(report_dir, count, measure=False)  # the deploy
        again = playbook_run(report_dir, count, measure=True)
    finally:
        demo.stop_clusters(started)
    if any(again["changed"].values()):
        raise SystemExit(f"the re-run against {count} clusters changed something: {again['changed']}")
    return again


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 16, 32])
    args = parser.parse_args(argv)
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("CURL_CA_BUNDLE", None)
    results = {}
    for count in args.sizes:
        run = one_size(count)
        results[count] = run
        print(f"{count} destination(s), unchanged re-run with --forks {count}: wall {run['wall']:.1f} s, controller CPU "
              f"{run['cpu']:.1f} s ({run['cpu'] / count:.2f} s per cluster), peak RSS of ansible-playbook's tree "
              f"{run['peak_rss'] / 2**20:.0f} MiB", flush=True)
    one = results.get(1) or results[min(results)]
    for count, run in sorted(results.items()):
        emit("22.1", f"controller CPU per cluster, {count} destination(s)", round(run["cpu"] / count, 2), "s",
             criterion="<= 1.0")
        emit("22.1", f"controller peak RSS, {count} destination(s)", round(run["peak_rss"] / 2**20), "MiB")
        if count != min(results):
            emit("22.1", f"{count} destinations' wall time, unchanged re-run", round(run["wall"], 2), "s",
                 anchor=f"{min(results)} destination(s)", anchor_value=round(one["wall"], 2),
                 criterion="<= 4" if count == 32 else None)


if __name__ == "__main__":
    main()
