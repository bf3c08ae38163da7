"""Each algorithm's bare git repository (``DATA/repos/<owner>/<name>.git``), through dulwich.

Builds always read ``refs/heads/master``: that is the branch a push to an Algorithmia
repository builds, and the one a new repository's template commit is on.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

from dulwich.objects import S_ISGITLINK, Blob, Commit, Tree
from dulwich.objectspec import AmbiguousShortId, parse_commit
from dulwich.repo import Repo

MASTER = b"refs/heads/master"
SERVER_IDENTITY = b"Algorithmia <support@algorithmia.com>"


def repo_path(data_dir: Path, owner: str, name: str) -> Path:
    return Path(data_dir) / "repos" / owner / f"{name}.git"


def _tree_from_files(repo: Repo, files: dict[str, str]) -> bytes:
    """Write nested trees for ``{"src/x.py": text}`` and return the root tree id."""
    nested: dict = {}
    for path, text in files.items():
        node = nested
        *dirs, leaf = path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        blob = Blob.from_string(text.encode("utf-8"))
        repo.object_store.add_object(blob)
        node[leaf] = blob.id

    def write(node: dict) -> bytes:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                tree.add(name.encode("utf-8"), stat.S_IFDIR, write(value))
            else:
                tree.add(name.encode("utf-8"), 0o100644, value)
        repo.object_store.add_object(tree)
        return tree.id

    return write(nested)


def create_repository(path: Path, files: dict[str, str], message: str) -> str:
    """A new bare repository whose master holds ``files`` in one commit; returns the commit id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = Repo.init_bare(str(path), mkdir=True, default_branch=b"master")
    try:
        commit = Commit()
        commit.tree = _tree_from_files(repo, files)
        commit.author = commit.committer = SERVER_IDENTITY
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8")
        repo.object_store.add_object(commit)
        repo.refs[MASTER] = commit.id
        repo.refs.set_symbolic_ref(b"HEAD", MASTER)
        return commit.id.decode("ascii")
    finally:
        repo.close()


def master_commit(path: Path) -> str | None:
    repo = Repo(str(path))
    try:
        sha = repo.refs.as_dict().get(MASTER)
        return sha.decode("ascii") if sha else None
    finally:
        repo.close()


def commit_log(path: Path, since: str | None = None, until: str | None = None) -> list[dict]:
    """master's history, newest first, as ``{"id", "author", "message"}`` (text): from ``until``
    (default master's head) back to ``since``, both included, as the commit log route documents them.

    Raises ``LookupError`` when ``until`` or ``since`` names no commit of this history; an empty list
    for a repository without master."""
    repo = Repo(str(path))
    try:
        head = repo.refs.as_dict().get(MASTER)
        if head is None:
            return []
        start = head if until is None else _commit_id(repo, until)
        stop = None if since is None else _commit_id(repo, since)
        commits = []
        for entry in repo.get_walker(include=[start]):
            commit = entry.commit
            encoding = (commit.encoding or b"utf-8").decode("ascii", "replace")
            commits.append({"id": commit.id.decode("ascii"), "author": commit.author.decode(encoding, "replace"),
                            "message": commit.message.decode(encoding, "replace")})
            if commit.id == stop:
                return commits
        if stop is not None:
            raise LookupError(f"commit {since} is not in the history of {start.decode('ascii')}")
        return commits
    finally:
        repo.close()


def _commit_id(repo: Repo, committish: str) -> bytes:
    """The full id of the commit ``committish`` (a full hash or an unambiguous prefix) names."""
    try:
        return parse_commit(repo, committish.encode("ascii")).id
    except AmbiguousShortId:
        raise LookupError(f"commit prefix {committish} is ambiguous") from None
    except (KeyError, ValueError, UnicodeEncodeError):
        raise LookupError(f"no commit {committish}") from None


def export_commit(path: Path, commit_sha: str, dest: Path) -> None:
    """Write the commit's tree into ``dest`` (files, exec bits, symlinks; submodules skipped)."""
    repo = Repo(str(path))
    try:
        commit = repo[commit_sha.encode("ascii")]
        for entry in repo.object_store.iter_tree_contents(commit.tree):
            if S_ISGITLINK(entry.mode):
                continue
            target = dest / entry.path.decode("utf-8")
            if not target.resolve().is_relative_to(dest.resolve()):
                continue  # a crafted path must not escape the build directory
            target.parent.mkdir(parents=True, exist_ok=True)
            data = repo[entry.sha].data
            if stat.S_ISLNK(entry.mode):
                os.symlink(data.decode("utf-8"), target)
            else:
                target.write_bytes(data)
                if entry.mode & 0o111:
                    target.chmod(0o755)
    finally:
        repo.close()


def delete_repository(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def remove_stale_locks(data_dir: Path) -> None:
    """Start-up: the ref lock files a killed server left (a ref is written to ``<ref>.lock``, then
    renamed over it). Only the server writes refs, so at start-up every lock is stale, and one left
    behind would refuse every later push of that ref."""
    for lock in (Path(data_dir) / "repos").glob("*/*.git/refs/**/*.lock"):
        lock.unlink(missing_ok=True)
    for lock in (Path(data_dir) / "repos").glob("*/*.git/packed-refs.lock"):
        lock.unlink(missing_ok=True)
