"""SQLite state shared by every resource.

WAL journal: readers never block the writer, and a transaction that returned is in the
WAL file before we answer, so a SIGKILL after the answer loses nothing. ``synchronous=NORMAL``
is enough for that (it only risks the last transactions on power loss, not on a process kill).
One connection per thread: FastAPI runs sync endpoints in a thread pool.

``ChangeCache`` keeps answers read from the database (which key is whose, which build a version
names) in memory until the database changes. "Changed" is SQLite's ``PRAGMA data_version`` on a
connection of its own that never writes: its value moves whenever any other connection, of this
process or another (``create-user``), commits. Reading it costs microseconds and no thread hop,
so the warm call path can trust the caches without a query (docs/localcluster.md, "The warm call
path").
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Hashable, Iterator

# What ChangeCache.get answers for a key it does not hold (None may be a cached answer).
MISS = object()


class Database:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        conn = self._connect()
        conn.execute("PRAGMA journal_mode=WAL")
        # Only ever reads data_version: writes on it would not move its own counter. Plain tuples
        # (no Row factory): it is read on every warm call.
        self._watch_conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._watch_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def data_version(self) -> int:
        """A number that changes whenever any connection (here or in another process) commits."""
        pinned = getattr(self._local, "pinned_version", None)
        if pinned is not None:
            return pinned
        with self._watch_lock:
            return self._watch_conn.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def one_version(self) -> Iterator[None]:
        """Within (on this thread), ``data_version`` is read once: several cache lookups made
        together, with no await between them, see the database at one moment, as if they were one."""
        self._local.pinned_version = self.data_version()
        try:
            yield
        finally:
            self._local.pinned_version = None

    def ensure_schema(self, ddl: str) -> None:
        """Each backend declares its own tables (CREATE ... IF NOT EXISTS) at start-up."""
        with self._write_lock:
            self.conn.executescript(ddl)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it lands, or none of it.

        BEGIN IMMEDIATE takes the write lock up front, so two threads that read-then-write
        (e.g. "next semantic version") cannot interleave.
        """
        conn = self.conn
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()


class ChangeCache:
    """Answers derived from the database, forgotten as soon as the database changes.

    ``get`` first compares ``data_version`` with the one the entries were read at and drops them
    all when it moved. A filler reads ``version()`` *before* its queries and hands it to ``put``,
    which keeps the answer only if nothing was committed since: an answer read across a change is
    never kept. At ``max_entries`` the cache starts afresh (keys are callers' input: unbounded).
    """

    def __init__(self, db: Database, max_entries: int = 4096) -> None:
        self.db = db
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict = {}
        self._version: int | None = None

    def _sync(self) -> int:
        # Under self._lock.
        current = self.db.data_version()
        if current != self._version:
            self._entries.clear()
            self._version = current
        return current

    def version(self) -> int:
        with self._lock:
            return self._sync()

    def get(self, key: Hashable):
        """The cached answer, or ``MISS``."""
        with self._lock:
            self._sync()
            return self._entries.get(key, MISS)

    def put(self, key: Hashable, value, version: int) -> None:
        """Keep ``value``, read at ``version``, unless the database changed since."""
        with self._lock:
            if self._sync() != version:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = value
