"""Users and API keys.

Keys look like real cluster keys (``localcluster.keys``); only their SHA-256 is stored. A slow
password hash buys nothing for keys of that entropy and would cost every request. Session keys are short-lived keys minted for one algorithm call: they act as
the calling user, carry the running algorithm (for ``data://.algo`` and the "my algorithms"
ACL) and the session id (for ``data://.session``).

Session keys live in this process's memory only, by design: a call and its key end together,
and a restart ends every call, so nothing is lost by not storing them; and a warm algorithm
call then costs no database write at all (it used to cost two, under the write lock).

Stored keys are looked up once and then answered from memory (``localcluster.db.ChangeCache``)
until the database changes: a key created or revoked, by this server or by ``create-user``, is
seen by the very next request.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass

from localcluster.db import MISS, ChangeCache, Database
from localcluster.errors import BadRequest, Conflict, NotFound
from localcluster.keys import new_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    fullname TEXT,
    company_name TEXT,
    company_role TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    created_at REAL NOT NULL
);
"""

USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,63}$")
# The address of a user created without one (``create-user`` without ``--email``): the docs make
# email a required string of every user. ``.test`` is reserved (RFC 2606): it reaches no one, and it
# passes the official client's email pattern, whose top-level domain has 2 to 6 letters (``.invalid`` fails it).
DEFAULT_EMAIL_DOMAIN = "localcluster.test"


def default_email(username: str) -> str:
    return f"{username}@{DEFAULT_EMAIL_DOMAIN}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user, possibly through one of their running algorithm calls."""

    username: str
    is_admin: bool = False
    # (owner, name) of the algorithm on whose behalf a session key calls.
    algorithm: tuple[str, str] | None = None
    session_id: str | None = None

    def may_manage(self, owner: str) -> bool:
        """What ``owner`` owns (its user record, its algorithms and their repositories and
        unpublished builds) is managed by ``owner`` and by admins."""
        return self.is_admin or self.username == owner


@dataclass(frozen=True)
class _SessionKey:
    caller: Caller
    expires_at: float


class UserBackend:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(SCHEMA)
        self._session_keys: dict[str, _SessionKey] = {}
        self._session_lock = threading.Lock()
        self._stored_keys = ChangeCache(db)  # key hash -> Caller, or None for an unknown key

    # users
    def create_user(self, username: str, *, admin: bool = False, email: str | None = None,
                    fullname: str | None = None, company_name: str | None = None,
                    company_role: str | None = None) -> dict:
        if not USERNAME_RE.match(username or ""):
            raise BadRequest(
                f"Invalid username {username!r}: use 2-64 letters, digits or '_', starting with a letter",
                code=3009)
        email = email or default_email(username)
        fullname = fullname or username
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise Conflict(f"The username {username} is already taken.", code=3003)
            if email and conn.execute("SELECT 1 FROM users WHERE email = ?", (email,)).fetchone():
                raise Conflict("The email address is already taken by a different username.", code=3004)
            conn.execute(
                "INSERT INTO users (id, username, email, fullname, company_name, company_role, is_admin,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), username, email, fullname, company_name, company_role,
                 int(admin), time.time()))
        return self.get_user(username)

    def get_user(self, username: str) -> dict:
        row = self.db.query_one("SELECT * FROM users WHERE username = ? OR id = ?", (username, username))
        if row is None:
            raise NotFound(f"The requested user {username} was not found.", code=3000)
        return dict(row)

    def user_exists(self, username: str) -> bool:
        return self.db.query_one("SELECT 1 FROM users WHERE username = ?", (username,)) is not None

    def list_users(self) -> list[dict]:
        return [dict(r) for r in self.db.query("SELECT * FROM users ORDER BY username")]

    def update_user(self, username: str, changes: dict) -> dict:
        user = self.get_user(username)
        allowed = {"fullname", "company_name", "company_role"}
        if "email" in changes and changes["email"] != (user["email"] or default_email(user["username"])):
            raise BadRequest("Updating the email of a user is not allowed.", code=3008)
        fields = {k: v for k, v in changes.items() if k in allowed}
        if fields:
            with self.db.transaction() as conn:
                sets = ", ".join(f"{k} = ?" for k in fields)
                conn.execute(f"UPDATE users SET {sets} WHERE id = ?", (*fields.values(), user["id"]))
        return self.get_user(username)

    def delete_user(self, username: str) -> None:
        user = self.get_user(username)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM users WHERE id = ?", (user["id"],))

    # keys
    def create_key(self, username: str) -> str:
        self.get_user(username)
        key = new_key()
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO api_keys (key_hash, username, created_at) VALUES (?, ?, ?)",
                         (hash_key(key), username, time.time()))
        return key

    def create_session_key(self, username: str, algorithm: tuple[str, str], session_id: str,
                           ttl_seconds: float) -> str:
        """A key for one algorithm call, valid until the call's deadline (plus a margin)."""
        key = new_key()
        # A session key never carries admin rights, whoever called.
        caller = Caller(username=username, is_admin=False, algorithm=tuple(algorithm), session_id=session_id)
        now = time.time()
        with self._session_lock:
            self._session_keys[hash_key(key)] = _SessionKey(caller, now + ttl_seconds)
            if len(self._session_keys) % 256 == 0:
                self._drop_expired_session_keys(now)
        return key

    def revoke_session_key(self, key: str) -> None:
        """End a session key (memory only: an expired one may be gone already, which is as good)."""
        with self._session_lock:
            self._session_keys.pop(hash_key(key), None)

    def revoke_key(self, key: str) -> None:
        digest = hash_key(key)
        with self._session_lock:
            if self._session_keys.pop(digest, None) is not None:
                return
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM api_keys WHERE key_hash = ?", (digest,))

    def _drop_expired_session_keys(self, now: float) -> None:
        expired = [digest for digest, entry in self._session_keys.items() if entry.expires_at < now]
        for digest in expired:
            del self._session_keys[digest]

    def authenticate(self, key: str, *, cached_only: bool = False):
        """The key's Caller, or None for an unknown, revoked or expired key. ``cached_only``: answer
        without touching the database, ``MISS`` when that is not possible (the event loop asks so)."""
        digest = hash_key(key)
        with self._session_lock:
            session = self._session_keys.get(digest)
        if session is not None:
            return session.caller if session.expires_at >= time.time() else None
        found = self._stored_keys.get(digest)
        if found is not MISS or cached_only:
            return found
        version = self._stored_keys.version()
        row = self.db.query_one(
            "SELECT k.username, u.is_admin FROM api_keys k JOIN users u ON u.username = k.username"
            " WHERE k.key_hash = ?", (digest,))
        caller = None if row is None else Caller(username=row["username"], is_admin=bool(row["is_admin"]))
        self._stored_keys.put(digest, caller, version)
        return caller
