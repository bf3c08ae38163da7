"""Child processes of a build: output streamed into the build log, a deadline, and cancellation.

Each command runs in its own process group so a timeout or a shutdown kills everything it
started (pip/uv children, an algorithm's import spawning helpers), not just the top process.
With a ``tmp_dir``, every command gets it as its temporary directory (``localcluster.tmpdirs``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from localcluster import tmpdirs


class BuildCancelled(Exception):
    """The build was stopped from outside (shutdown, algorithm deleted)."""


class BuildTimedOut(Exception):
    pass


class BuildLog:
    """The full text of one build's log, appended to by the build's steps."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        self.write(text.rstrip("\n") + "\n")

    def write(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


class ProcessRunner:
    """Runs one build's commands, one at a time, until ``deadline`` (a time.monotonic() value)."""

    def __init__(self, log: BuildLog, deadline: float, tmp_dir: Path | None = None) -> None:
        self.log = log
        self.deadline = deadline
        self.tmp_dir = tmp_dir
        self._proc: subprocess.Popen | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            if self._proc is not None:
                _kill_group(self._proc)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self, cmd: list[str], *, cwd: Path | None = None, env: dict | None = None,
            timeout: float | None = None, echo: bool = True) -> tuple[int, str]:
        """Run ``cmd``; returns (exit code, its output). Output goes to the log when ``echo``."""
        if self.cancelled:
            raise BuildCancelled()
        limit = self.deadline - time.monotonic()
        if timeout is not None:
            limit = min(limit, timeout)
        if limit <= 0:
            raise BuildTimedOut()
        if self.tmp_dir is not None:
            env = tmpdirs.with_tmp(os.environ if env is None else env, self.tmp_dir)
        with self._lock:
            self._proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          start_new_session=True)
            if self.cancelled:  # cancelled between the check above and the start
                _kill_group(self._proc)
        proc = self._proc
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _kill_group(proc)

        timer = threading.Timer(limit, on_timeout)
        timer.start()
        output: list[str] = []
        try:
            for raw in proc.stdout:
                text = raw.decode("utf-8", errors="replace")
                output.append(text)
                if echo:
                    self.log.write(text)
            code = proc.wait()
        finally:
            timer.cancel()
            proc.stdout.close()
            with self._lock:
                self._proc = None
        if self.cancelled:
            raise BuildCancelled()
        if timed_out.is_set():
            raise BuildTimedOut()
        return code, "".join(output)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
