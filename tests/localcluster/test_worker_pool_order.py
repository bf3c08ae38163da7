"""The worker pool serves root calls that wait in arrival order: a call that arrives as a worker is
released queues behind the calls already waiting instead of taking it (barging starved early calls
into a two-humped latency under a benchmark). Nested calls still never wait behind root calls.

The pool's own code runs as is; only starting a worker process is replaced by a stand-in, since
what is tested is who gets which worker when."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from localcluster.execution import pool as pool_module
from localcluster.execution.pool import PoolTimeout, WorkerPool


class StandInWorker:
    """What the pool reads of a worker: alive, its runnable, last_used, pid; kill() ends it."""

    started = 0

    def __init__(self, runnable):
        StandInWorker.started += 1
        self.pid = 100000 + StandInWorker.started
        self.runnable = runnable
        self.dead = False
        self.last_used = time.monotonic()

    @property
    def alive(self):
        return not self.dead

    def kill(self):
        self.dead = True

    async def remove_tmp_when_ended(self):
        return None


@pytest.fixture
def pool(monkeypatch, tmp_path):
    async def spawn(runnable, env, log_path, tmp_root):
        return StandInWorker(runnable)

    monkeypatch.setattr(pool_module.Worker, "spawn", staticmethod(spawn))
    return WorkerPool(tmp_path / "logs", tmp_path / "tmp", per_version=1, global_cap=4, idle_seconds=3600)


RUNNABLE = SimpleNamespace(build_id="build-1")


def test_a_call_arriving_at_a_release_queues_behind_the_one_waiting(pool):
    order = []
    arrivals = []

    async def call(name, then=None):
        async with pool.worker(RUNNABLE, {}, nested=False, deadline=time.monotonic() + 5):
            order.append(name)
            await asyncio.sleep(0.02 if then else 0)
        if then:
            # in the same turn of the loop as the release: before the waiting call has woken
            arrivals.append(asyncio.ensure_future(call(then)))

    async def scenario():
        first = asyncio.ensure_future(call("first", then="late"))
        await asyncio.sleep(0.005)                     # first holds the only worker
        waiting = asyncio.ensure_future(call("waiting"))
        await asyncio.gather(first, waiting)
        await asyncio.gather(*arrivals)
        pool._reaper.cancel()

    asyncio.run(scenario())
    assert order == ["first", "waiting", "late"]


def test_many_waiting_calls_are_served_in_arrival_order(pool):
    order = []

    async def call(name):
        async with pool.worker(RUNNABLE, {}, nested=False, deadline=time.monotonic() + 5):
            order.append(name)
            await asyncio.sleep(0.002)

    async def scenario():
        calls = []
        for index in range(20):
            calls.append(asyncio.ensure_future(call(index)))
            await asyncio.sleep(0)  # each arrives in its own turn of the loop, in this order
        await asyncio.gather(*calls)
        pool._reaper.cancel()

    asyncio.run(scenario())
    assert order == list(range(20))


def test_a_nested_call_does_not_wait_behind_root_calls_and_a_timeout_leaves_the_line(pool):
    order = []

    async def call(name, hold_s, nested=False, wait_s=5.0):
        try:
            async with pool.worker(RUNNABLE, {}, nested=nested, deadline=time.monotonic() + wait_s):
                order.append(name)
                await asyncio.sleep(hold_s)
        except PoolTimeout:
            order.append(name + " timed out")

    async def scenario():
        holder = asyncio.ensure_future(call("holder", 0.1))
        await asyncio.sleep(0.01)
        impatient = asyncio.ensure_future(call("impatient", 0, wait_s=0.02))
        patient = asyncio.ensure_future(call("patient", 0))
        await asyncio.sleep(0.01)
        nested = asyncio.ensure_future(call("nested", 0.1, nested=True))  # past the soft cap, at once
        await asyncio.gather(holder, impatient, patient, nested)
        pool._reaper.cancel()

    asyncio.run(scenario())
    assert order == ["holder", "nested", "impatient timed out", "patient"]
    assert not pool._queues
