"""The build's process runner (pure logic, no server): output into the log, deadlines, cancellation."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from localcluster.builds.processes import BuildCancelled, BuildLog, BuildTimedOut, ProcessRunner


def test_output_goes_to_the_log_and_the_caller():
    log = BuildLog()
    code, output = ProcessRunner(log, deadline=time.monotonic() + 60).run(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"])
    assert code == 3
    assert "out" in output and "err" in output
    assert log.text() == output


def test_quiet_commands_stay_out_of_the_log():
    log = BuildLog()
    runner = ProcessRunner(log, deadline=time.monotonic() + 60)
    code, output = runner.run([sys.executable, "-c", "print('x')"], echo=False)
    assert code == 0 and output == "x\n" and log.text() == ""


def test_a_command_past_its_timeout_is_killed_with_its_children():
    runner = ProcessRunner(BuildLog(), deadline=time.monotonic() + 60)
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);" \
             " time.sleep(60)"
    with pytest.raises(BuildTimedOut):
        runner.run([sys.executable, "-c", script], timeout=0.5)


def test_an_expired_build_deadline_runs_nothing():
    with pytest.raises(BuildTimedOut):
        ProcessRunner(BuildLog(), deadline=time.monotonic() - 1).run([sys.executable, "-c", "pass"])


def test_cancel_stops_the_running_command():
    runner = ProcessRunner(BuildLog(), deadline=time.monotonic() + 60)
    threading.Timer(0.3, runner.cancel).start()
    with pytest.raises(BuildCancelled):
        runner.run([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(BuildCancelled):
        runner.run([sys.executable, "-c", "pass"])  # and nothing more starts
