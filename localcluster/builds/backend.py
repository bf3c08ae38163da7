"""Builds: their records, the queue that runs them, and recovery after a restart.

At most ``WORKERS`` builds run at once (the machine has 2 cores; builds are mostly pip and an
import); the rest wait in a FIFO queue with status ``in-progress``, as a queued build is
reported on real clusters. Each build has a deadline (``timeout`` seconds:
``Settings.build_timeout``, set by ``LOCALCLUSTER_BUILD_TIMEOUT``). ``stop()`` (a shutdown hook)
kills running builds and fails queued ones, and a build found ``in-progress`` at start-up (the
server died under it) is failed with a note, so nothing is left hanging. Each build's commands
share a private temporary directory under ``tmp_root``, removed when the build ends
(``localcluster.tmpdirs``); start-up empties ``tmp_root``.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from localcluster import tmpdirs
from localcluster.builds.artifacts import build_path
from localcluster.builds.check import CHECK_TIMEOUT_SECONDS
from localcluster.builds.pipeline import BuildFailed, BuildJob, run_build
from localcluster.builds.processes import BuildCancelled, BuildLog, BuildTimedOut, ProcessRunner
from localcluster.db import Database
from localcluster.settings import Settings
from localcluster.users.backend import UserBackend

SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    algorithm_id TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    log TEXT NOT NULL DEFAULT '',
    style TEXT,
    module_file TEXT
);
CREATE INDEX IF NOT EXISTS builds_by_algorithm ON builds (algorithm_id, seq);
CREATE INDEX IF NOT EXISTS builds_by_commit ON builds (algorithm_id, commit_sha);
"""

IN_PROGRESS, SUCCEEDED, FAILED = "in-progress", "succeeded", "failed"
# A commit as callers name it: a full hash or a prefix of at least 4 hex digits, as git takes them.
HASH_PREFIX_RE = re.compile(r"^[0-9a-f]{4,40}$")
WORKERS = 2

# Given a build job, extra environment for its load check (e.g. API address and a short-lived key,
# so an algorithm that reads data at import time can, as it could in a worker).
CheckEnvFactory = Callable[[BuildJob], dict]


def api_access_for_checks(settings: Settings, users: UserBackend) -> CheckEnvFactory:
    """What a build's load check sees: the API and a short-lived key of the owner, as a worker has,
    so an algorithm that reads its data files at import time builds as it would run."""

    def check_env(job: BuildJob) -> dict:
        if not settings.public_url:
            return {}
        key = users.create_session_key(job.owner, (job.owner, job.name), f"build-{job.build_id}",
                                       ttl_seconds=CHECK_TIMEOUT_SECONDS + 120)
        return dict(settings.api_env(), ALGORITHMIA_API_KEY=key)

    return check_env


class BuildBackend:
    def __init__(self, db: Database, data_dir: Path, python: str, check_env: CheckEnvFactory | None = None,
                 timeout: float = Settings.build_timeout, tmp_root: Path | None = None) -> None:
        self.db = db
        self.data_dir = Path(data_dir)
        self.tmp_root = Path(tmp_root) if tmp_root is not None else self.data_dir / "tmp" / "builds"
        self.python = python
        self.check_env = check_env or (lambda job: {})
        self.timeout = timeout
        db.ensure_schema(SCHEMA)
        (self.data_dir / "builds").mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[BuildJob | None] = queue.Queue()
        self._running: dict[str, ProcessRunner] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._recover_after_restart()
        self._workers = [threading.Thread(target=self._work, name=f"build-worker-{i}", daemon=True)
                         for i in range(WORKERS)]
        for worker in self._workers:
            worker.start()

    # recovery
    def _recover_after_restart(self) -> None:
        self._fail_unfinished("\nThe cluster stopped while this build was in progress, so it did not finish. "
                              "Push again or compile the algorithm to rebuild.\n")
        self._kill_orphaned_processes()
        for leftover in (self.data_dir / "builds").glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        tmpdirs.fresh_root(self.tmp_root)

    def _kill_orphaned_processes(self) -> None:
        """Kill build commands a killed server left running.

        Build commands run in their own process groups (so a timeout can kill all of them), which
        also means a SIGKILLed server does not take them along. Every such command names its
        ``builds/.tmp-<id>`` directory on its command line, which is how they are found.
        """
        marker = str(self.data_dir / "builds" / ".tmp-").encode()
        proc = Path("/proc")
        if not proc.is_dir():
            return
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    os.killpg(os.getpgid(int(entry.name)), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue  # gone meanwhile, or not ours to read

    # starting and waiting
    def start(self, algorithm_id: str, owner: str, name: str, commit_sha: str, settings: dict) -> dict:
        """Queue a build of ``commit_sha``; returns its record (status in-progress)."""
        build_id = str(uuid.uuid4())
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO builds (id, algorithm_id, commit_sha, status, started_at) VALUES (?, ?, ?, ?, ?)",
                         (build_id, algorithm_id, commit_sha, IN_PROGRESS, time.time()))
        with self._lock:
            self._done[build_id] = threading.Event()
        self._queue.put(BuildJob(build_id, algorithm_id, owner, name, commit_sha, dict(settings)))
        return self.get(build_id)

    def wait(self, build_id: str, timeout: float) -> dict:
        """The build's record once finished, or as it is after ``timeout`` seconds."""
        with self._lock:
            done = self._done.get(build_id)
        if done is not None:
            done.wait(timeout)
        return self.get(build_id)

    # reading
    def get(self, build_id: str) -> dict | None:
        row = self.db.query_one("SELECT * FROM builds WHERE id = ?", (build_id,))
        return dict(row) if row else None

    def list(self, algorithm_id: str, *, status: str | None = None, commit_sha: str | None = None,
             before_seq: int | None = None, limit: int | None = None) -> list[dict]:
        """Newest first."""
        sql = "SELECT * FROM builds WHERE algorithm_id = ?"
        params: list = [algorithm_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        if commit_sha:
            sql += " AND commit_sha = ?"
            params.append(commit_sha)
        if before_seq is not None:
            sql += " AND seq < ?"
            params.append(before_seq)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(r) for r in self.db.query(sql, tuple(params))]

    def latest(self, algorithm_id: str, status: str | None = None, commit_sha: str | None = None) -> dict | None:
        rows = self.list(algorithm_id, status=status, commit_sha=commit_sha, limit=1)
        return rows[0] if rows else None

    def commits_matching(self, algorithm_id: str, prefix: str) -> list[str]:
        """Built commits whose hash starts with ``prefix`` (newest build first, no duplicates);
        none if ``prefix`` is not a full hash or a prefix of one (HASH_PREFIX_RE)."""
        if not HASH_PREFIX_RE.match(prefix or ""):
            return []
        rows = self.db.query("SELECT commit_sha FROM builds WHERE algorithm_id = ? AND commit_sha LIKE ? "
                             "ORDER BY seq DESC", (algorithm_id, prefix + "%"))
        return list(dict.fromkeys(r["commit_sha"] for r in rows))

    # the workers
    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._stopping.is_set() or self.get(job.build_id) is None:
                self._finish(job.build_id, FAILED, "The cluster shut down before this build started.\n")
                continue
            self._run(job)

    def _run(self, job: BuildJob) -> None:
        log = BuildLog()
        tmp_dir = tmpdirs.private_dir(self.tmp_root, f"{job.build_id[:8]}-")
        runner = ProcessRunner(log, deadline=time.monotonic() + self.timeout, tmp_dir=tmp_dir)
        with self._lock:
            self._running[job.build_id] = runner
        status, style, module_file = FAILED, None, None
        try:
            runnable = run_build(job, runner, data_dir=self.data_dir, python=self.python,
                                 check_env=self.check_env(job))
            status, style, module_file = SUCCEEDED, runnable.style, str(runnable.module_file)
        except BuildFailed as exc:
            log.line(f"Build failed: {exc}")
        except BuildTimedOut:
            log.line(f"Build failed: it did not finish within {self.timeout:.0f} s (LOCALCLUSTER_BUILD_TIMEOUT).")
        except BuildCancelled:
            log.line("Build stopped: the cluster shut down or the algorithm was deleted.")
        except Exception as exc:  # a bug or a broken commit must fail the build, not kill the worker
            log.line(f"Build failed: {type(exc).__name__}: {exc}")
        finally:
            tmpdirs.remove(tmp_dir)  # every command of the build has ended: run() waits for them
            with self._lock:
                self._running.pop(job.build_id, None)
            self._finish(job.build_id, status, log.text(), style, module_file)
            if self.get(job.build_id) is None:  # the algorithm was deleted while this build ran
                shutil.rmtree(build_path(self.data_dir, job.build_id), ignore_errors=True)

    def _finish(self, build_id: str, status: str, log: str, style: str | None = None,
                module_file: str | None = None) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE builds SET status = ?, finished_at = ?, log = log || ?, style = ?, module_file = ? "
                         "WHERE id = ? AND status = ?",
                         (status, time.time(), log, style, module_file, build_id, IN_PROGRESS))
        with self._lock:
            done = self._done.pop(build_id, None)
        if done is not None:
            done.set()

    # deleting and stopping
    def delete_for_algorithm(self, algorithm_id: str) -> None:
        """Stop the algorithm's running builds and remove its build records and directories."""
        builds = self.list(algorithm_id)
        with self._lock:
            runners = [self._running.get(b["id"]) for b in builds]
        for runner in runners:
            if runner is not None:
                runner.cancel()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM builds WHERE algorithm_id = ?", (algorithm_id,))
        for build in builds:
            shutil.rmtree(build_path(self.data_dir, build["id"]), ignore_errors=True)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            runners = list(self._running.values())
        for runner in runners:
            runner.cancel()
        for _worker in self._workers:  # one stop marker per worker
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=10)
        # Anything still queued never started.
        self._fail_unfinished("\nThe cluster shut down before this build finished. Push again or compile to rebuild.\n")

    def _fail_unfinished(self, note: str) -> None:
        """Every build still in progress fails, ``note`` appended to its log saying why."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE builds SET status = ?, finished_at = ?, log = log || ? WHERE status = ?",
                         (FAILED, time.time(), note, IN_PROGRESS))
