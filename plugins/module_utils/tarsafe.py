# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read an algorithm's code archive (``code_path``, a .tar.gz of a source in any language) without trusting it.

The archive comes from another cluster, so it is checked in full before anything is used:
only regular files and directories, no member that is absolute or climbs out with ``..``,
no links or devices, a bounded number of members and bounded sizes (a small .tar.gz can
inflate to gigabytes). Nothing is written to disk: the files are returned in memory, since
algorithm sources are small and the next step (a git tree) needs their bytes anyway.
"""

from __future__ import annotations

import posixpath
import tarfile
import tempfile

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import UriError

MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
# Noise that archivers add, never part of an algorithm.
IGNORED_NAMES = (".DS_Store",)
IGNORED_PREFIXES = ("._",)
IGNORED_DIRS = ("__pycache__", ".git", "__MACOSX")


class UnsafeArchive(ValueError):
    """The archive is refused; the message names the member and the reason."""


def _member_path(member):
    """The member's normalised relative path, or ``UnsafeArchive`` if it could leave the target."""
    name = member.name
    if not name or "\x00" in name:
        raise UnsafeArchive("member {0!r} has an empty or invalid name".format(name))
    if name.startswith("/") or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive("member {0!r} has an absolute path".format(name))
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchive("member {0!r} climbs out of the archive with '..'".format(name))
    return posixpath.normpath("/".join(part for part in parts if part not in ("", ".")) or ".")


def _member_kind(member):
    if member.issym():
        return "a symbolic link (to {0!r})".format(member.linkname)
    if member.islnk():
        return "a hard link (to {0!r})".format(member.linkname)
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    if not (member.isfile() or member.isdir()):
        return "a special file (type {0!r})".format(member.type)
    return None


def _ignored(path):
    parts = path.split("/")
    leaf = parts[-1]
    return (leaf in IGNORED_NAMES or leaf.startswith(IGNORED_PREFIXES)
            or any(part in IGNORED_DIRS for part in parts) or leaf.endswith(".pyc"))


def check_members(members, max_members=MAX_MEMBERS, max_file_bytes=MAX_FILE_BYTES,
                  max_total_bytes=MAX_TOTAL_BYTES):
    """``[(path, member)]`` of the regular files to use; ``UnsafeArchive`` for the first bad member."""
    files = []
    total = 0
    for count, member in enumerate(members, 1):
        if count > max_members:
            raise UnsafeArchive("the archive has more than {0} members; an algorithm's source has far "
                                "fewer".format(max_members))
        path = _member_path(member)
        kind = _member_kind(member)
        if kind is not None:
            raise UnsafeArchive("member {0!r} is {1}; only regular files and directories are "
                                "accepted".format(member.name, kind))
        if member.isdir() or path == "." or _ignored(path):
            continue
        if member.size > max_file_bytes:
            raise UnsafeArchive("member {0!r} is {1} bytes, more than the limit of {2}".format(
                member.name, member.size, max_file_bytes))
        total += member.size
        if total > max_total_bytes:
            raise UnsafeArchive("the archive unpacks to more than {0} bytes (at member {1!r})".format(
                max_total_bytes, member.name))
        files.append((path, member))
    return files


def strip_single_top_dir(paths):
    """The common top directory to drop, if every file sits under one (``hello/src/x.py``) and
    that directory is not itself the algorithm's ``src``; else ``None``."""
    tops = {path.split("/", 1)[0] for path in paths}
    if len(tops) != 1 or any("/" not in path for path in paths):
        return None
    top = tops.pop()
    return None if top == "src" else top


def read_archive(source, **limits):
    """``{relative path: (mode, bytes)}`` of a .tar.gz (a path or a binary file object), checked
    as described above.

    ``mode`` is 0o100755 for files with an executable bit, else 0o100644 (what git records).
    Raises ``UnsafeArchive`` for a refused member and ``tarfile.TarError``/``OSError`` for a
    file that is not a readable gzip tar.
    """
    if hasattr(source, "read"):
        opened = tarfile.open(fileobj=source, mode="r:gz")
    else:
        opened = tarfile.open(source, mode="r:gz")
    with opened as tar:
        # Members are checked as the index is read, before the data of the next one is skipped:
        # a huge or bad member (a decompression bomb) is refused without inflating it, and a bad
        # member anywhere refuses the archive before a single file is used.
        files = check_members(tar, **limits)
        top = strip_single_top_dir([p for p, _m in files])
        result = {}
        for member_path, member in files:
            if top is not None:
                member_path = member_path[len(top) + 1:]
            if member_path in result:
                raise UnsafeArchive("member {0!r} appears twice in the archive".format(member.name))
            stream = tar.extractfile(member)
            data = stream.read() if stream is not None else b""
            if len(data) != member.size:
                raise UnsafeArchive("member {0!r} is truncated".format(member.name))
            result[member_path] = (0o100755 if member.mode & 0o111 else 0o100644, data)
    return result


def fetch_code_archive(files, code_path):
    """The checked ``{path: (mode, bytes)}`` of the .tar.gz at ``code_path`` on a cluster
    (``files``: a ``data_api.DataFiles``), spooled to a private temporary file; ``TaskFailed``
    naming the archive, the cluster and the fix when it cannot be used."""
    cluster = files.client.cluster
    try:
        stream = files.download(code_path, action="download the code archive " + code_path)
    except UriError as exc:
        raise TaskFailed("code_path {0}: {1}".format(code_path, exc)) from None
    with tempfile.TemporaryFile() as spool:
        size = 0
        for chunk in stream:
            size += len(chunk)
            if size > MAX_ARCHIVE_BYTES:
                stream.close()
                raise TaskFailed("Refused the code archive {0} from cluster {1}: it is larger than {2} bytes. Fix: "
                                 "an algorithm's source is small; leave models and data out of it (data_files)".format(
                                     code_path, cluster, MAX_ARCHIVE_BYTES))
            spool.write(chunk)
        spool.seek(0)
        try:
            return read_archive(spool)
        except UnsafeArchive as exc:
            raise TaskFailed("Refused the code archive {0} from cluster {1}: {2}. Nothing was "
                             "pushed. Fix: rebuild the archive with only regular files "
                             "(its language's manifest and src/)".format(code_path, cluster, exc)) from None
        except (OSError, EOFError, ValueError, tarfile.TarError) as exc:
            raise TaskFailed("code archive {0} from cluster {1} is not a readable .tar.gz ({2}). "
                             "Fix: upload a gzip-compressed tar".format(code_path, cluster, exc)) from None
