"""One destination cluster against four: wall time and the controller's CPU of the image pipeline.

Each round starts fresh localclusters as ``make demo`` does (tools/demo.py: a seeded source and
N destinations, TLS, keys in the demo vault), runs ``playbooks/testbench.yml`` on the image
pipeline workflow, then runs it again unchanged, and stops the clusters. Per run it measures the
wall time of ansible-playbook, its time to verdict (first task to exit) and the CPU (user + sys)
of its whole process tree: ansible-playbook, its workers and the modules they run, all on this
controller (``RUSAGE_CHILDREN`` grows by exactly that tree when ansible-playbook is reaped; the
localclusters are children too but are reaped only at the end of the round).

Rounds alternate 1 and N destinations; the figures are medians, with min-max as the spread.
Run: ``.venv/bin/python -m bench.destinations [--destinations 4] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.figures import emit  # noqa: E402
from tools import demo  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_run(report_dir: Path, extra: list[str]) -> dict:
    """One ansible-playbook run: its wall time, time to verdict, CPU of its tree and the recap."""
    cpu = _cpu()
    start = time.monotonic()
    rc, output = demo.run_playbook(report_dir, extra, echo=False)
    end = time.monotonic()
    tasks = output.count("\nTASK [")
    if rc != 0:
        print(output[-6000:])
        raise SystemExit(f"ansible-playbook failed with {rc} (its output's end is above)")
    return {"wall": end - start, "verdict": end - (demo.first_task_at or start), "cpu": _cpu() - cpu,
            "tasks": tasks, "changed": demo.recap_changes(output)}


def one_round(count: int) -> tuple[dict, dict]:
    """Fresh clusters, a first run and an unchanged re-run against ``count`` destinations."""
    started: list = []
    try:
        demo.start_clusters(count, True, started)
        extra = demo.write_extra_inventory(count)
        report_dir = demo.STATE_DIR / "reports"
        first = measured_run(report_dir, extra)
        again = measured_run(report_dir, extra)
    finally:
        demo.stop_clusters(started)
    if any(again["changed"].values()):
        raise SystemExit(f"the re-run changed something: {again['changed']}")
    return first, again


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _spread(runs: list[dict], key: str) -> str:
    values = [run[key] for run in runs]
    return f"{statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--destinations", type=int, default=4, help="the many (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of 1 then N destinations (default: %(default)s)")
    args = parser.parse_args(argv)
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("CURL_CA_BUNDLE", None)
    results: dict[int, dict[str, list[dict]]] = {1: {"first": [], "again": []},
                                                 args.destinations: {"first": [], "again": []}}
    for number in range(args.rounds):
        for count in (1, args.destinations):
            first, again = one_round(count)
            results[count]["first"].append(first)
            results[count]["again"].append(again)
            print(f"round {number + 1}, {count} destination(s): first run {first['wall']:.1f} s wall, "
                  f"{first['cpu']:.1f} s CPU, {first['tasks']} task headers; re-run {again['wall']:.1f} s wall, "
                  f"{again['cpu']:.1f} s CPU, {again['tasks']} task headers", flush=True)

    many = args.destinations
    for count in (1, many):
        for run in ("first", "again"):
            runs = results[count][run]
            label = "first run" if run == "first" else "unchanged re-run"
            print(f"{count} destination(s), {label}: wall {_spread(runs, 'wall')} s, "
                  f"to verdict {_spread(runs, 'verdict')} s, CPU {_spread(runs, 'cpu')} s, "
                  f"CPU per cluster {_median(runs, 'cpu') / count:.1f} s")
    one_wall = _median(results[1]["first"], "wall")
    many_wall = _median(results[many]["first"], "wall")
    one_cpu = _median(results[1]["first"], "cpu")
    many_cpu_per_cluster = _median(results[many]["first"], "cpu") / many
    emit("11.2", f"{many} destinations wall time", round(many_wall, 2), "s",
         anchor="1 destination", anchor_value=round(one_wall, 2), criterion="<= 1.6")
    emit("11.2", f"controller CPU per cluster, {many} destinations", round(many_cpu_per_cluster, 2), "s",
         anchor="1 destination", anchor_value=round(one_cpu, 2))
    emit("22.3", f"image pipeline's unchanged re-run, {many} destinations", round(_median(results[many]["again"], "wall"), 2),
         "s", anchor="first run", anchor_value=round(many_wall, 2), criterion="<= 0.35")
    emit("11.5", "demo time to verdict", round(_median(results[1]["first"], "verdict"), 2), "s", criterion="< 60")
    emit("11.5", "demo unchanged re-run to verdict", round(_median(results[1]["again"], "verdict"), 2), "s",
         criterion="< 20")


if __name__ == "__main__":
    main()
