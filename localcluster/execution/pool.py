"""Warm workers per built version, shared by every call of that version.

Sizing, and why:

- ``per_version`` (4): parallel calls of one version get their own workers, up to this many;
  more wait for a free one.
- ``global_cap`` (16): all versions together. At the cap, an idle worker of another version is
  stopped to make room (least recently used first); if none is idle, root calls wait.
- ``hard_cap`` (64): calls made *by algorithms* (session keys) never wait on the two soft caps,
  because the workers they would wait for may be the very ones waiting on them (A calls B and C
  while every worker is busy in an A). They only stop at this cap, against runaway recursion.
- ``idle_seconds`` (300): a worker unused for that long is stopped by the reaper.

Root calls that wait are served in arrival order (a queue per version): a call that arrives while
others wait queues behind them instead of taking the worker just released. Letting it barge in
would serve late calls at once and starve early ones, which a benchmark at saturation sees as a
latency distribution of two humps that depends on the client's timing, not on the cluster.

Each worker has a private temporary directory under ``tmp_root`` (``localcluster.tmpdirs``),
removed as soon as its process has ended (a call's timeout, a crash, the reaper, eviction);
``stop_all`` removes every one at shutdown, and a new pool empties ``tmp_root`` of what a killed
server left.

Everything here runs on the server's event loop, so the counters need no locks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import deque
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from localcluster import tmpdirs
from localcluster.builds.artifacts import Runnable
from localcluster.execution.worker import Worker


class PoolTimeout(Exception):
    """No worker became free before the call's deadline."""


class WorkerPool:
    def __init__(self, log_dir: Path, tmp_root: Path, *, per_version: int = 4, global_cap: int = 16,
                 hard_cap: int = 64, idle_seconds: float = 300.0) -> None:
        self.log_dir = log_dir
        self.tmp_root = tmpdirs.fresh_root(tmp_root)
        self.per_version = per_version
        self.global_cap = global_cap
        self.hard_cap = max(hard_cap, global_cap)
        self.idle_seconds = idle_seconds
        self._idle: dict[str, list[Worker]] = {}     # build_id -> idle workers, most recent last
        self._count: dict[str, int] = {}             # build_id -> live or starting workers
        self._all: set[Worker] = set()
        self._total = 0
        self._changed: asyncio.Event | None = None    # nested calls wait on this (every change)
        self._queues: dict[str, deque[asyncio.Event]] = {}  # build_id -> root calls in arrival order
        self._reaper: asyncio.Task | None = None
        self._tmp_removals: dict[asyncio.Task, Worker] = {}   # until each worker's process has ended

    # -- taking and returning workers --------------------------------------------------------

    @asynccontextmanager
    async def worker(self, runnable: Runnable, spawn_env: dict, *, nested: bool,
                     deadline: float) -> AsyncIterator[Worker]:
        """A worker for one call; it goes back to the pool afterwards unless it died or was killed."""
        worker = await self._acquire(runnable, spawn_env, nested, deadline)
        try:
            yield worker
        finally:
            self._release(worker)

    async def _acquire(self, runnable: Runnable, spawn_env: dict, nested: bool,
                       deadline: float) -> Worker:
        self._start_reaper()
        if nested:
            return await self._acquire_nested(runnable, spawn_env, deadline)
        key = runnable.build_id
        if not self._queues.get(key):  # nobody waits: no turn to take
            found = self._take(key, nested=False)
            if found is not None:
                self._notify()
                return found if isinstance(found, Worker) else await self._spawn(runnable, spawn_env)
        queue = self._queues.setdefault(key, deque())
        turn = asyncio.Event()
        queue.append(turn)
        found = None
        try:
            while True:
                if queue[0] is turn:
                    found = self._take(key, nested=False)
                    if found is not None:
                        break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout()
                turn.clear()
                try:
                    async with asyncio.timeout_at(deadline):  # no task per wait, as wait_for makes
                        await turn.wait()
                except TimeoutError:
                    raise PoolTimeout() from None
        finally:
            queue.remove(turn)
            if not queue and self._queues.get(key) is queue:
                del self._queues[key]
            # The next in line looks too, unless it could only find what we found: no idle worker
            # left and no room for another (it would wake, find nothing and wait again).
            if found is None or self._idle.get(key) or self._count.get(key, 0) < self.per_version:
                self._notify()
        # _spawn counts the new worker before its first await: no one else can take its place.
        return found if isinstance(found, Worker) else await self._spawn(runnable, spawn_env)

    async def _acquire_nested(self, runnable: Runnable, spawn_env: dict, deadline: float) -> Worker:
        """Calls made by algorithms: never behind root calls (see ``hard_cap``); they re-check on
        every change."""
        key = runnable.build_id
        while True:
            found = self._take(key, nested=True)
            if found is not None:
                return found if isinstance(found, Worker) else await self._spawn(runnable, spawn_env)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolTimeout()
            changed = self._event()
            try:
                async with asyncio.timeout_at(deadline):
                    await changed.wait()
            except TimeoutError:
                raise PoolTimeout() from None

    def _take(self, key: str, nested: bool) -> Worker | bool | None:
        """An idle live worker of ``key``; else True when a new one may be spawned; else None."""
        idle = self._idle.get(key)
        while idle:
            worker = idle.pop()
            if worker.alive:
                return worker
            self._forget(worker)
        return True if self._may_spawn(key, nested) else None

    def _may_spawn(self, key: str, nested: bool) -> bool:
        under_version_cap = self._count.get(key, 0) < self.per_version
        if (under_version_cap or nested) and self._total >= self.global_cap:
            self._evict_idle(exclude=key)
        if nested:
            return self._total < self.hard_cap
        return under_version_cap and self._total < self.global_cap

    async def _spawn(self, runnable: Runnable, env: dict) -> Worker:
        key = runnable.build_id
        self._count[key] = self._count.get(key, 0) + 1
        self._total += 1
        try:
            worker = await Worker.spawn(runnable, env, self.log_dir / f"{key}.log", self.tmp_root)
        except BaseException:
            self._count[key] -= 1
            self._total -= 1
            self._notify()
            raise
        self._all.add(worker)
        removal = asyncio.get_running_loop().create_task(worker.remove_tmp_when_ended())
        self._tmp_removals[removal] = worker
        removal.add_done_callback(self._tmp_removals.pop)
        return worker

    def _release(self, worker: Worker) -> None:
        if worker.alive:
            worker.last_used = time.monotonic()
            self._idle.setdefault(worker.runnable.build_id, []).append(worker)
        else:
            self._forget(worker)
        self._notify()

    def _forget(self, worker: Worker) -> None:
        if worker in self._all:
            self._all.discard(worker)
            self._count[worker.runnable.build_id] -= 1
            self._total -= 1
        worker.kill()

    def _evict_idle(self, exclude: str) -> None:
        candidates = [w for key, ws in self._idle.items() if key != exclude for w in ws]
        if candidates:
            oldest = min(candidates, key=lambda w: w.last_used)
            self._idle[oldest.runnable.build_id].remove(oldest)
            self._forget(oldest)

    # -- waking waiters ----------------------------------------------------------------------

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        # Wake the first root call in line per version, and every nested call; each re-checks.
        for queue in self._queues.values():
            if queue:
                queue[0].set()
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    # -- reaping and stopping ----------------------------------------------------------------

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(max(min(self.idle_seconds / 2, 30.0), 0.05))
            self.reap()

    def reap(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        for key, idle in list(self._idle.items()):
            for worker in [w for w in idle if w.last_used < cutoff or not w.alive]:
                idle.remove(worker)
                self._forget(worker)
        self._notify()

    def stats(self) -> dict:
        return {
            "total": self._total,
            "versions": {key: {"workers": count, "idle": len(self._idle.get(key, [])),
                               "pids": sorted(w.pid for w in self._all if w.runnable.build_id == key)}
                         for key, count in self._count.items() if count},
        }

    def stop_all(self) -> None:
        """Shutdown hook: SIGKILL every worker group now (they hold no state worth a goodbye), then
        remove their temporary directories."""
        if self._reaper is not None:
            self._reaper.cancel()
        ending = set(self._all) | set(self._tmp_removals.values())  # stopped ones may still be exiting
        for removal in list(self._tmp_removals):
            removal.cancel()  # the loop stops with the server: done below instead
        for worker in ending:
            worker.dead = True
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            # Close the pipes while the loop still runs; asyncio complains if it is closed first.
            transport = getattr(worker.proc, "_transport", None)
            if transport is not None:
                transport.close()
        _wait_until_ended([worker.pid for worker in ending], timeout=5.0)
        for leftover in self.tmp_root.iterdir():
            tmpdirs.remove(leftover)
        self._all.clear()
        self._idle.clear()
        self._count.clear()
        self._total = 0


def _wait_until_ended(pids: list[int], timeout: float) -> None:
    """Until none of ``pids`` runs (reaped, or a zombie: a SIGKILLed process writes nothing more)."""
    deadline = time.monotonic() + timeout
    running = list(pids)
    while running and time.monotonic() < deadline:
        running = [pid for pid in running if _runs(pid)]
        if running:
            time.sleep(0.01)


def _runs(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False  # gone (or no /proc: then there is nothing to wait with)
    return state not in (b"Z", b"X")
