"""Users and API keys.

Keys look like real cluster keys, ``sim`` + 25 letters and digits (about 148 bits of entropy;
the official ``algo auth`` accepts only that shape); only their SHA-256 is stored. A slow password hash buys nothing for keys of that entropy and would cost
every request. Session keys are short-lived keys minted for one algorithm call: they act as
the calling user, carry the running algorithm (for ``data://.algo`` and the "my algorithms"
ACL) and the session id (for ``data://.session``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass

from localcluster.db import Database
from localcluster.errors import BadRequest, Conflict, NotFound

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
    kind TEXT NOT NULL DEFAULT 'user',
    algo_owner TEXT,
    algo_name TEXT,
    session_id TEXT,
    created_at REAL NOT NULL,
    expires_at REAL
);
"""

USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,63}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


KEY_ALPHABET = string.ascii_letters + string.digits


def new_key() -> str:
    return "sim" + "".join(secrets.choice(KEY_ALPHABET) for _position in range(25))


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user, possibly through one of their running algorithm calls."""

    username: str
    is_admin: bool = False
    # (owner, name) of the algorithm on whose behalf a session key calls.
    algorithm: tuple[str, str] | None = None
    session_id: str | None = None


class UserBackend:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.ensure_schema(SCHEMA)

    # users
    def create_user(self, username: str, *, admin: bool = False, email: str | None = None,
                    fullname: str | None = None, company_name: str | None = None,
                    company_role: str | None = None) -> dict:
        if not USERNAME_RE.match(username or ""):
            raise BadRequest(
                f"Invalid username {username!r}: use 2-64 letters, digits or '_', starting with a letter",
                code=3009)
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
        if "email" in changes and changes["email"] != user["email"]:
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
            conn.execute("INSERT INTO api_keys (key_hash, username, kind, created_at) VALUES (?, ?, 'user', ?)",
                         (hash_key(key), username, time.time()))
        return key

    def create_session_key(self, username: str, algorithm: tuple[str, str], session_id: str,
                           ttl_seconds: float) -> str:
        """A key for one algorithm call, valid until the call's deadline (plus a margin)."""
        key = new_key()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (key_hash, username, kind, algo_owner, algo_name, session_id,"
                " created_at, expires_at) VALUES (?, ?, 'session', ?, ?, ?, ?, ?)",
                (hash_key(key), username, algorithm[0], algorithm[1], session_id, time.time(),
                 time.time() + ttl_seconds))
        return key

    def revoke_key(self, key: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM api_keys WHERE key_hash = ?", (hash_key(key),))

    def purge_expired_keys(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM api_keys WHERE expires_at IS NOT NULL AND expires_at < ?", (time.time(),))

    def authenticate(self, key: str) -> Caller | None:
        row = self.db.query_one(
            "SELECT k.*, u.is_admin FROM api_keys k JOIN users u ON u.username = k.username"
            " WHERE k.key_hash = ?", (hash_key(key),))
        if row is None:
            return None
        if row["expires_at"] is not None and row["expires_at"] < time.time():
            return None
        algorithm = (row["algo_owner"], row["algo_name"]) if row["algo_owner"] else None
        # A session key never carries admin rights, whoever called.
        is_admin = bool(row["is_admin"]) and row["kind"] == "user"
        return Caller(username=row["username"], is_admin=is_admin, algorithm=algorithm,
                      session_id=row["session_id"])
