"""Files on disk: atomic uploads, atomic deletes, listings. No users, no permissions.

Layout under ``<data dir>/data``::

    users/<owner>/<collection>/...          user collections (folders nest below)
    algo/<user>/<author>/<algo>/temp|perm/  .algo collections of the user who ran the algorithm
    session/<session id>/                   .session collections
    .uploads/                               uploads in progress (renamed into place when complete)
    .trash/                                 deleted folders on their way out

An upload is written to ``.uploads``, fsync'ed and renamed over its target, so a reader
sees the old file or the whole new one, never a part; a dropped or killed upload leaves only
a file in ``.uploads``, which start-up removes. A folder is deleted by renaming it into
``.trash`` first, so it disappears at once and whole, and a kill mid-delete leaves only trash.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from localcluster.errors import BadRequest, Conflict, NotFound

UPLOADS = ".uploads"
TRASH = ".trash"


@dataclass(frozen=True)
class DirEntry:
    name: str
    is_dir: bool
    size: int
    mtime: float


def encode_marker(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii").rstrip("=")


def decode_marker(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("Invalid marker used.", code=5002) from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Upload:
    """One file upload: ``write`` chunks, then ``commit`` (atomic) or ``abort``."""

    def __init__(self, temp_path: Path, target: Path, uri: str) -> None:
        self.temp_path = temp_path
        self.target = target
        self.uri = uri
        self.size = 0
        self._file = open(temp_path, "xb")

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self) -> str:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            try:
                self.target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise BadRequest(f"Cannot write {self.uri}: a path component is a file, not a folder.") from None
            if self.target.is_dir():
                raise Conflict(f"Cannot write {self.uri}: a folder of that name exists.")
            try:
                os.replace(self.temp_path, self.target)
            except FileNotFoundError:
                raise NotFound(f"Cannot write {self.uri}: its folder was deleted during the upload.") from None
            _fsync_dir(self.target.parent)
        except BaseException:
            self.abort()
            raise
        return self.uri

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.temp_path.unlink(missing_ok=True)


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.uploads = self.root / UPLOADS
        self.trash = self.root / TRASH

    def clean_stale(self) -> None:
        """Start-up: partial uploads and half-deleted folders of a killed server go."""
        for scratch in (self.uploads, self.trash):
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True, exist_ok=True)

    def locate(self, parts: tuple[str, ...]) -> Path:
        """The disk path of ``parts``; the paths module has checked every segment already,
        this is the last line of defence against anything resolving outside the root."""
        path = self.root.joinpath(*parts)
        real = os.path.realpath(path)
        if not real.startswith(self.root.as_posix() + os.sep) or parts[0].startswith("."):
            raise BadRequest("Invalid data path: it resolves outside the data store.")
        return path

    def start_upload(self, target: Path, uri: str) -> Upload:
        self.uploads.mkdir(parents=True, exist_ok=True)
        return Upload(self.uploads / f"{uuid.uuid4().hex}.part", target, uri)

    def remove_tree(self, path: Path) -> None:
        """Delete a folder atomically (rename into trash), then free the space."""
        self.trash.mkdir(parents=True, exist_ok=True)
        doomed = self.trash / uuid.uuid4().hex
        try:
            os.replace(path, doomed)
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)
        shutil.rmtree(doomed, ignore_errors=True)

    @staticmethod
    def count_files(path: Path) -> int:
        return sum(len(files) for _dirs, _subdirs, files in os.walk(path))

    @staticmethod
    def has_entries(path: Path) -> bool:
        """Whether the folder holds anything; a folder gone meanwhile holds nothing."""
        try:
            with os.scandir(path) as it:
                return any(True for _entry in it)
        except (FileNotFoundError, NotADirectoryError):
            return False

    @staticmethod
    def entries(path: Path) -> list[DirEntry]:
        """The folder's files and folders, sorted by name (the order markers page through)."""
        found = []
        with os.scandir(path) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    found.append(DirEntry(entry.name, True, 0, 0.0))
                elif entry.is_file(follow_symlinks=False):
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue  # deleted since the folder was read: not part of this listing
                    found.append(DirEntry(entry.name, False, st.st_size, st.st_mtime))
        found.sort(key=lambda e: e.name)
        return found
