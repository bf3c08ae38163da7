"""Progress of long tasks: the module's progress file and the action plugin's ticker (the
play output side is tests/integration/test_progress.py)."""

from __future__ import annotations

import threading

from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import ProgressFile
from ansible_collections.algorithmia.testbench.plugins.plugin_utils.progress_action import tick


def test_the_ticker_shows_the_modules_latest_line_then_stops(tmp_path):
    path = tmp_path / "progress.txt"
    path.write_text("")
    shown, stop = [], threading.Event()
    report = ProgressFile(str(path), min_interval_s=0)
    report("the build of alice/X at 3f2a9c1e:\n in progress")

    def show(line):
        shown.append(line)
        if len(shown) == 2:
            stop.set()

    ticker = threading.Thread(target=tick, args=(stop, "[dest] algo_build_publish X", str(path)),
                              kwargs={"every": 0.01, "show": show})
    ticker.start()
    ticker.join(10)
    assert not ticker.is_alive()
    assert shown[0].startswith("[dest] algo_build_publish X: 0 s, the build of alice/X at 3f2a9c1e: in progress")
    assert len(shown) == 2


def test_progress_lines_are_rate_limited_and_never_fail_the_task(tmp_path):
    now = [0.0]
    report = ProgressFile(str(tmp_path / "p.txt"), clock=lambda: now[0])
    assert report("one") is True
    assert report("two") is False  # within a second of the last write
    now[0] = 1.5
    assert report("three") is True
    assert (tmp_path / "p.txt").read_text() == "three"
    assert ProgressFile(str(tmp_path / "missing" / "p.txt"))("x") is False
    assert ProgressFile(None)("x") is False
