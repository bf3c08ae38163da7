"""One worker process: a build's runner (``runner.py`` on its venv python, or another language's
runner), spoken to over its pipes.

The event loop awaits the pipes (asyncio subprocess), so a call in flight holds no thread.
See runner.py for the frame format. A worker serves one call at a time; the pool hands it out.
Each worker has a private temporary directory (``localcluster.tmpdirs``) that ``remove_tmp_when_ended``
removes once the process is gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import time
from pathlib import Path

from localcluster import tmpdirs
from localcluster.builds.artifacts import Runnable

HEADER = struct.Struct(">II")


class CallTimeout(Exception):
    """The call ran past its deadline; the worker has been killed."""


class WorkerDied(Exception):
    """The worker process ended in the middle of a call (os._exit, a signal, out of memory ...)."""


class WorkerGone(WorkerDied):
    """The worker had ended before the call reached it (killed while idle, before the pool noticed):
    the algorithm never saw the call, so it may go to another worker."""


class Worker:
    def __init__(self, runnable: Runnable, proc: asyncio.subprocess.Process, tmp_dir: Path) -> None:
        self.runnable = runnable
        self.proc = proc
        self.pid = proc.pid
        self.tmp_dir = tmp_dir
        self.loaded = False      # the runner reports "ready" after load(), inside the first call
        self.dead = False
        self.last_used = time.monotonic()
        self.calls = 0

    @classmethod
    async def spawn(cls, runnable: Runnable, env: dict, log_path: Path, tmp_root: Path) -> "Worker":
        """Start a worker of ``runnable``, with a private temporary directory under ``tmp_root``."""
        tmp_dir = tmpdirs.private_dir(tmp_root, f"{runnable.build_id[:8]}-")
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = await asyncio.create_subprocess_exec(
                *runnable.worker_command(), "--parent-pid", str(os.getpid()),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_fd,
                cwd=str(runnable.src_dir), env=tmpdirs.with_tmp(env, tmp_dir),
                # Its own process group: a timeout kills the algorithm's children too, and a
                # Ctrl-C meant for the server does not reach it (the runner dies with the server).
                process_group=0)
        except BaseException:
            tmpdirs.remove(tmp_dir)
            raise
        finally:
            os.close(log_fd)
        return cls(runnable, proc, tmp_dir)

    @property
    def alive(self) -> bool:
        return not self.dead and self.proc.returncode is None

    async def call(self, meta: dict, body: bytes, deadline: float) -> tuple[dict, bytes]:
        """Send one call and await its answer; on a timeout or a crash the worker is gone."""
        self.calls += 1
        try:
            # timeout_at, not wait_for: no task of its own, so no extra turns of the event loop per
            # call (the loop's clock is time.monotonic, the deadline's).
            async with asyncio.timeout_at(deadline):
                return await self._exchange(meta, body)
        except TimeoutError:
            self.kill()
            raise CallTimeout() from None
        except WorkerGone:
            self.kill()
            raise
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            self.kill()
            raise WorkerDied(await self._death_note()) from None
        except asyncio.CancelledError:
            self.kill()  # abandoned mid-exchange: its pipes are out of step with any next call
            raise
        finally:
            self.last_used = time.monotonic()

    async def _exchange(self, meta: dict, body: bytes) -> tuple[dict, bytes]:
        meta_bytes = json.dumps(meta).encode("utf-8")
        # A pipe whose reader has ended refuses the write (EPIPE), which closes our end at once;
        # a runner reads a call's whole frame before running it, so the algorithm never started.
        try:
            self.proc.stdin.write(HEADER.pack(len(meta_bytes), len(body)) + meta_bytes + body)
            if self.proc.stdin.is_closing():
                raise BrokenPipeError()
            await self.proc.stdin.drain()
        except (ConnectionError, BrokenPipeError):
            raise WorkerGone(await self._death_note()) from None
        if not self.loaded:
            reply = await self._receive()
            if reply[0].get("type") != "ready":
                self.kill()  # load failed: this worker cannot serve; the reply says why
                return reply
            self.loaded = True
        return await self._receive()

    async def _receive(self) -> tuple[dict, bytes]:
        meta_len, body_len = HEADER.unpack(await self.proc.stdout.readexactly(HEADER.size))
        data = await self.proc.stdout.readexactly(meta_len + body_len)
        return json.loads(data[:meta_len]), data[meta_len:]

    async def _death_note(self) -> str:
        try:
            code = await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            code = None
        if code is not None and code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = "stopped answering"
        return (f"The algorithm's worker process {how} while running the call "
                f"({self.runnable.owner}/{self.runnable.name}/{self.runnable.git_hash}).")

    async def remove_tmp_when_ended(self) -> None:
        """Remove the worker's temporary directory once its process has ended, however it ended."""
        await self.proc.wait()
        await asyncio.get_running_loop().run_in_executor(None, tmpdirs.remove, self.tmp_dir)

    def kill(self) -> None:
        """SIGKILL the worker's process group; the event loop's child watcher reaps it."""
        self.dead = True
        if self.proc.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc.stdin and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
