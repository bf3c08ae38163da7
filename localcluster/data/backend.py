"""The Data API's state and rules (data.md, data_hosted.md): collections, files, ACLs.

Collections of users (owner, name, read ACL, created) live in SQLite; file contents live
on disk (see ``storage``). ``.algo`` and ``.session`` collections have system-defined
permissions and need no record: they exist as soon as something is written to them.

Emulated: the ``data`` connector at ``/v1/data`` and ``/v1/connector/data``; files
(get, head, put, delete), folders (list with markers, create, delete with ``force``),
nested folders below collections, collection read ACLs, ``.my`` / ``.algo`` / ``.session``,
``/v1/hostedData``.

Not emulated (say so rather than fake it):
- connectors other than ``data`` (s3, azureblob, dropbox, gs): 501 "Feature not implemented";
- write ACLs and organisation-owned collections: only a collection's owner writes;
- admin keys get no extra data rights;
- the one-day expiry of ``.algo/.../temp`` files and the end-of-request cleanup of
  ``.session`` collections: both are kept until deleted;
- the ``limit`` query parameter is accepted (1..1000) but real clusters may page differently;
- files of a deleted user stay on disk until a collection of the same name is created again
  (which clears them) — their records go with the user.
"""

from __future__ import annotations

import bisect
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from localcluster.data import acl
from localcluster.data.paths import DataPath, InvalidPath, resolve
from localcluster.data.storage import DiskStore, Upload, decode_marker, encode_marker
from localcluster.db import Database
from localcluster.errors import BadRequest, Conflict, Forbidden, NotFound
from localcluster.timestamps import api_timestamp
from localcluster.users.backend import Caller, UserBackend

SCHEMA = """
CREATE TABLE IF NOT EXISTS data_collections (
    id TEXT PRIMARY KEY,
    object_id TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    name TEXT NOT NULL,
    acl_read TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (owner, name)
);
"""

PAGE_SIZE = 1000


@dataclass(frozen=True)
class Found:
    """What a path names on disk: a file, opened (the caller closes it), or a directory.

    The file is opened once, here: an upload renamed over the path or a delete afterwards does not
    change what this request reads (the old file's bytes, whole), so a reader sees one whole file
    or a 404, never the length of one file and the bytes of another."""

    is_file: bool
    disk_path: Path | None = None
    file: BinaryIO | None = None


class DataBackend:
    def __init__(self, db: Database, users: UserBackend, root: Path) -> None:
        self.db = db
        self.users = users
        db.ensure_schema(SCHEMA)
        self.store = DiskStore(root)
        self.store.clean_stale()

    def resolve(self, raw_path: str, caller: Caller) -> DataPath:
        return resolve(raw_path, caller)

    # -- reading ---------------------------------------------------------------------------

    def find(self, caller: Caller, path: DataPath) -> Found:
        """Is ``path`` a file or a directory the caller may read? (GET and HEAD)"""
        if path.collection is None:
            if path.is_user_folder:
                self._require_user(path.user)
            return Found(is_file=False)
        self._authorize(caller, path, write=False)
        disk = self._disk(path)
        try:
            return Found(is_file=True, disk_path=disk, file=open(disk, "rb"))
        except IsADirectoryError:
            return Found(is_file=False)
        except (FileNotFoundError, NotADirectoryError):
            pass
        if path.is_collection_root:
            # A collection without a folder on disk yet (nothing written) is an empty one.
            return Found(is_file=False)
        raise NotFound(f"{path.uri()} does not exist.")

    def list_directory(self, caller: Caller, path: DataPath, marker: str | None = None,
                       limit: int = PAGE_SIZE, with_acl: bool = False) -> dict:
        """One page of a directory: folders and files together, in name order."""
        if not 1 <= limit <= PAGE_SIZE:
            raise BadRequest(f"Limit must be between 1 and {PAGE_SIZE}.", code=5003)
        after = decode_marker(marker) if marker else None
        if path.is_root:
            # client.username() reads the first folder of the root listing: the caller's own.
            return {"folders": [{"name": caller.username}]}
        if path.is_user_folder:
            return self._list_collections(caller, path.user, after, limit)
        row = self._authorize(caller, path, write=False)
        disk = self._disk(path)
        if disk.is_file():
            raise BadRequest(f"{path.uri()} is a file, not a directory.")
        try:
            entries = self.store.entries(disk)
        except (FileNotFoundError, NotADirectoryError):
            # Never there, or deleted since the check above (a concurrent delete).
            if not path.is_collection_root:
                raise NotFound(f"{path.uri()} does not exist.") from None
            entries = []
        start = bisect.bisect_right([e.name for e in entries], after) if after is not None else 0
        page = entries[start:start + limit]
        listing: dict = {}
        folders = [{"name": e.name} for e in page if e.is_dir]
        files = [{"filename": e.name, "size": e.size, "last_modified": api_timestamp(e.mtime)}
                 for e in page if not e.is_dir]
        if folders:
            listing["folders"] = folders
        if files:
            listing["files"] = files
        listing["marker"] = encode_marker(page[-1].name) if start + limit < len(entries) else None
        if with_acl and row is not None and path.is_collection_root:
            listing["acl"] = {"read": list(acl.from_json(row["acl_read"]))}
        return listing

    def _list_collections(self, caller: Caller, owner: str, after: str | None, limit: int) -> dict:
        self._require_user(owner)
        rows = self.db.query("SELECT name, acl_read FROM data_collections WHERE owner = ? ORDER BY name",
                             (owner,))
        names = sorted(r["name"] for r in rows if acl.can_read(acl.from_json(r["acl_read"]), owner, caller))
        start = bisect.bisect_right(names, after) if after is not None else 0
        page = names[start:start + limit]
        listing: dict = {}
        if page:
            listing["folders"] = [{"name": n} for n in page]
        listing["marker"] = encode_marker(page[-1]) if start + limit < len(names) else None
        return listing

    def hosted_data(self, caller: Caller) -> list[dict]:
        rows = self.db.query("SELECT * FROM data_collections WHERE owner = ? ORDER BY name", (caller.username,))
        return [{"id": r["id"], "object_id": r["object_id"], "collection_name": r["name"],
                 "username": r["owner"], "acl": acl.hosted_data_flags(acl.from_json(r["acl_read"])),
                 "location": "/".join(("data", "users", r["owner"], r["name"]))}
                for r in rows]

    # -- writing ---------------------------------------------------------------------------

    def open_upload(self, caller: Caller, path: DataPath) -> Upload:
        """Checks everything a PUT needs before its body is read; the caller streams into it."""
        if path.collection is None or path.is_collection_root:
            raise InvalidPath(f"Cannot write a file at {path.uri()}: name a file inside a collection, "
                              "e.g. data://.my/<collection>/<file>.")
        self._authorize(caller, path, write=True)
        target = self._disk(path)
        if target.is_dir():
            raise Conflict(f"Cannot write {path.uri()}: a folder of that name exists.")
        return self.store.start_upload(target, path.uri())

    def create_directory(self, caller: Caller, parent: DataPath, name: str, read_acl: object = None) -> str:
        path = parent.child(name)
        if path.is_collection_root and path.collection.is_user_collection:
            return self._create_collection(caller, path, read_acl)
        if read_acl is not None:
            raise BadRequest("ACLs are set on collections only (data://<user>/<collection>), not on folders.")
        self._authorize(caller, parent, write=True)
        parent_disk = self._disk(parent)
        if parent.is_collection_root:
            parent_disk.mkdir(parents=True, exist_ok=True)
        elif not parent_disk.is_dir():
            raise NotFound(f"{parent.uri()} does not exist (or is a file).")
        try:
            self._disk(path).mkdir()  # create-if-absent in one step: of concurrent creates, one succeeds
        except FileExistsError:
            raise Conflict(f"{path.uri()} already exists.") from None
        except FileNotFoundError:
            raise NotFound(f"{parent.uri()} does not exist (it was deleted meanwhile).") from None
        return path.uri()

    def _create_collection(self, caller: Caller, path: DataPath, read_acl: object) -> str:
        ref = path.collection
        self._require_user(ref.owner)
        if caller.username != ref.owner:
            raise Forbidden(f"Only {ref.owner} can create collections in data://{ref.owner}.")
        read = acl.DEFAULT if read_acl is None else acl.parse(read_acl)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM data_collections WHERE owner = ? AND name = ?",
                            (ref.owner, ref.name)).fetchone():
                raise Conflict(f"The collection {path.uri()} already exists.")
            conn.execute(
                "INSERT INTO data_collections (id, object_id, owner, name, acl_read, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), f"collec-{uuid.uuid4()}", ref.owner, ref.name, acl.to_json(read), time.time()))
            # Files of an earlier collection of this name whose record went (its owner was
            # deleted) must not reappear. Done before COMMIT: until then no request can see
            # the new collection, so none can write into it while the old folder is cleared.
            disk = self._disk(path)
            self.store.remove_tree(disk)
            disk.mkdir(parents=True)
        return path.uri()

    def update_acl(self, caller: Caller, path: DataPath, read_acl: object) -> None:
        if not (path.is_collection_root and path.collection.is_user_collection):
            raise BadRequest("ACLs are set on user collections only: data://<user>/<collection>.")
        self._authorize(caller, path, write=True)
        read = acl.parse(read_acl)
        with self.db.transaction() as conn:
            conn.execute("UPDATE data_collections SET acl_read = ? WHERE owner = ? AND name = ?",
                         (acl.to_json(read), path.collection.owner, path.collection.name))

    def delete(self, caller: Caller, path: DataPath, force: bool = False) -> int:
        """Delete a file, a folder or a collection; returns how many files went."""
        if path.collection is None:
            raise BadRequest(f"Cannot delete {path.uri()}: delete collections, folders or files.")
        self._authorize(caller, path, write=True)
        disk = self._disk(path)
        if disk.is_file():
            try:
                disk.unlink()
            except FileNotFoundError:
                raise NotFound(f"{path.uri()} does not exist (it was deleted meanwhile).") from None
            return 1
        if not disk.is_dir() and not path.is_collection_root:
            raise NotFound(f"{path.uri()} does not exist.")
        deleted = self.store.count_files(disk) if disk.is_dir() else 0
        if not force and self.store.has_entries(disk):
            raise BadRequest(f"{path.uri()} is not empty: delete with force=true to delete its contents too.",
                             deleted=0)
        self.store.remove_tree(disk)
        if path.is_collection_root and path.collection.is_user_collection:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM data_collections WHERE owner = ? AND name = ?",
                             (path.collection.owner, path.collection.name))
        return deleted

    # -- rules -----------------------------------------------------------------------------

    def _require_user(self, username: str) -> None:
        if not self.users.user_exists(username):
            raise NotFound(f"data://{username} does not exist: no such user.")

    def _authorize(self, caller: Caller, path: DataPath, *, write: bool):
        """The collection's record (user collections) once the caller may read or write it.

        ``.algo`` and ``.session`` paths always resolve into the caller's own space, so
        they need no check here.
        """
        ref = path.collection
        if not ref.is_user_collection:
            return None
        self._require_user(ref.owner)
        row = self.db.query_one("SELECT * FROM data_collections WHERE owner = ? AND name = ?",
                                (ref.owner, ref.name))
        if row is None:
            raise NotFound(f"The collection {ref.uri()} does not exist"
                           + (": create it first." if caller.username == ref.owner else "."))
        if write and caller.username != ref.owner:
            raise Forbidden(f"Only {ref.owner} can write to {ref.uri()}.")
        if not write and not acl.can_read(acl.from_json(row["acl_read"]), ref.owner, caller):
            raise Forbidden(f"{caller.username} is not allowed to read {ref.uri()}.")
        return row

    def _disk(self, path: DataPath) -> Path:
        return self.store.locate((*path.collection.storage_parts(), *path.rel))
