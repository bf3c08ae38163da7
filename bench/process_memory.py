"""The peak memory of a process tree while it runs, sampled from a thread (psutil): for
``bench.fleet`` the RSS of ansible-playbook and its workers summed, for ``bench.driver_vs_wrk``
the largest USS of one worker (what it holds beyond its copy of ansible-playbook)."""

from __future__ import annotations

import threading

import psutil


def tree_rss(root: psutil.Process, children: list[psutil.Process]) -> int:
    """The RSS of a process and its descendants, summed."""
    total = 0
    for proc in [root] + children:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def largest_child_uss(_root: psutil.Process, children: list[psutil.Process]) -> int:
    """The largest USS (memory not shared with any other process) of a descendant."""
    largest = 0
    for child in children:
        try:
            largest = max(largest, child.memory_full_info().uss)
        except psutil.Error:
            continue
    return largest


class PeakTreeMemory:
    """The largest ``measure(root, descendants)`` of process ``pid``, sampled every ``every`` s until stopped."""

    def __init__(self, pid: int, measure=tree_rss, every: float = 0.05) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(pid, measure, every), daemon=True)
        self._thread.start()

    def _sample(self, pid: int, measure, every: float) -> None:
        try:
            root = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                children = root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, measure(root, children))
            self._stop.wait(every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak
