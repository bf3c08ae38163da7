"""A worker killed while idle, before the server noticed, is not handed a call to fail: the call
never reached it (its pipe refuses the write), so ``Worker.call`` says ``WorkerGone`` and the
execution backend gives the call to another worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest

from localcluster.builds.artifacts import RUNNER, Runnable
from localcluster.execution.worker import Worker, WorkerDied, WorkerGone


def _ended(pid: int) -> bool:
    """Exited: a zombie, or already reaped (by the event loop's child-watcher thread)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True


@pytest.fixture
def runnable(tmp_path) -> Runnable:
    (tmp_path / "build" / "src" / "src").mkdir(parents=True)
    module = tmp_path / "build" / "src" / "src" / "Echo.py"
    module.write_text("def apply(input):\n    return input\n")
    return Runnable(algorithm_id="a", owner="alice", name="Echo", git_hash="0" * 40, build_id="b" * 36,
                    build_dir=tmp_path / "build", style="classic", module_file=module,
                    command=(sys.executable, str(RUNNER), "--style", "classic", "--module-file", str(module)))


def test_a_worker_killed_while_idle_is_gone_before_the_call(runnable, tmp_path):
    async def scenario():
        (tmp_path / "tmp").mkdir()
        worker = await Worker.spawn(runnable, dict(os.environ), tmp_path / "worker.log", tmp_path / "tmp")
        meta = {"type": "call", "content_type": "text", "env": {}, "stdout": False}
        reply, body = await worker.call(meta, b"first", time.monotonic() + 30)
        assert (reply["type"], body) == ("result", b"first")
        os.killpg(worker.pid, signal.SIGKILL)
        # The event loop does not run meanwhile, so it cannot have seen the exit: the worker still
        # looks alive, as an idle worker killed from outside does to the pool.
        deadline = time.monotonic() + 10
        while not _ended(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.alive
        with pytest.raises(WorkerGone) as gone:
            await worker.call(meta, b"second", time.monotonic() + 30)
        assert isinstance(gone.value, WorkerDied)  # callers that only know WorkerDied still see a crash
        assert "was killed by signal SIGKILL" in str(gone.value)
        assert not worker.alive

    asyncio.run(scenario())
