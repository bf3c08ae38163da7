"""Data URIs of the ``data`` connector: what a path names, with pseudonyms resolved.

A path is what follows ``/v1/data/`` (or ``/v1/connector/data/``), already percent-decoded:

    ""                                   the root: lists the caller's own user folder
    <user>                               a user folder: lists the user's collections
    <user>/<collection>[/<folder>...]/f  a user collection; folders may nest below it
    .my/...                              <caller>/...
    .algo/<author>/<algo>/temp|perm/...  an algorithm collection of the caller (the user
                                         who ran the algorithm)
    .algo/temp|perm/...                  the same for the algorithm the session key runs
    .session/...                         the collection of the caller's algorithm session

Every segment is checked here, before anything touches the disk: no empty segments (``//``
or a leading ``/``), no ``.`` or ``..``, no NUL, control characters or backslashes. Storage
then maps a resolved path to ``<root>/<kind>/...`` and checks containment once more.
"""

from __future__ import annotations

from dataclasses import dataclass

from localcluster.errors import BadRequest
from localcluster.users.backend import Caller

MY = ".my"
ALGO = ".algo"
SESSION = ".session"
ALGO_COLLECTIONS = ("temp", "perm")

# Common file-system limit for one name; longer names would fail later with a less clear error.
MAX_SEGMENT_BYTES = 255

KIND_USER = "user"
KIND_ALGO = "algo"
KIND_SESSION = "session"


class InvalidPath(BadRequest):
    """A data path that names nothing we could store (400)."""


@dataclass(frozen=True)
class CollectionRef:
    """One collection, whatever pseudonym was used to reach it.

    ``owner`` is who owns the data: the named user for user collections, the user who ran
    the algorithm for ``.algo`` collections, the session's user for ``.session``.
    ``name`` is the collection name (user), ``<author>/<algo>/<temp|perm>`` (algo) or the
    session id (session).
    """

    kind: str
    owner: str
    name: str

    @property
    def is_user_collection(self) -> bool:
        return self.kind == KIND_USER

    def storage_parts(self) -> tuple[str, ...]:
        if self.kind == KIND_USER:
            return ("users", self.owner, self.name)
        if self.kind == KIND_ALGO:
            return ("algo", self.owner, *self.name.split("/"))
        return ("session", self.name)

    def uri(self, rel: tuple[str, ...] = ()) -> str:
        """The canonical data URI: valid outside the algorithm call that may have used a pseudonym."""
        if self.kind == KIND_USER:
            base = f"data://{self.owner}/{self.name}"
        elif self.kind == KIND_ALGO:
            base = f"data://{ALGO}/{self.name}"
        else:
            base = f"data://{SESSION}"
        return "/".join((base, *rel))


@dataclass(frozen=True)
class DataPath:
    """A resolved path: the root, a user folder, or something in (or being) a collection."""

    user: str | None = None                 # set for a user folder
    collection: CollectionRef | None = None  # set for anything inside a collection
    rel: tuple[str, ...] = ()               # the path below the collection ("" = the collection itself)

    @property
    def is_root(self) -> bool:
        return self.user is None and self.collection is None

    @property
    def is_user_folder(self) -> bool:
        return self.user is not None

    @property
    def is_collection_root(self) -> bool:
        return self.collection is not None and not self.rel

    def uri(self) -> str:
        if self.collection is not None:
            return self.collection.uri(self.rel)
        if self.user is not None:
            return f"data://{self.user}"
        return "data://"

    def child(self, name: str) -> "DataPath":
        """The path one level down (for creating a folder or collection by name)."""
        check_segment(name)
        if self.is_root:
            raise InvalidPath("Cannot create a folder at the root of data://: create collections in "
                              "data://<your user name> (or data://.my).")
        if self.is_user_folder:
            check_collection_name(name)
            return DataPath(collection=CollectionRef(KIND_USER, self.user, name))
        return DataPath(collection=self.collection, rel=(*self.rel, name))


def check_segment(segment: str) -> None:
    if segment == "":
        raise InvalidPath("Invalid data path: empty path segment ('//' or a leading '/').")
    if segment in (".", ".."):
        raise InvalidPath(f"Invalid data path: '{segment}' segments are not allowed.")
    if "/" in segment or "\\" in segment:
        raise InvalidPath("Invalid data path: names may not contain '/' or '\\'.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in segment):
        raise InvalidPath("Invalid data path: names may not contain NUL or control characters.")
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise InvalidPath(f"Invalid data path: a name is longer than {MAX_SEGMENT_BYTES} bytes.")


def check_collection_name(name: str) -> None:
    check_segment(name)
    if name.startswith("."):
        # Names starting with '.' are pseudonyms (.my, .algo, .session) at this level.
        raise InvalidPath(f"Invalid collection name {name!r}: it may not start with '.'.")


def split_path(raw: str) -> tuple[str, ...]:
    """Segments of a decoded path. One trailing '/' is allowed: the client sends it for directories."""
    if "\\" in raw:
        raise InvalidPath("Invalid data path: backslashes are not allowed.")
    if raw.endswith("/"):
        raw = raw[:-1]
    if raw == "":
        return ()
    parts = tuple(raw.split("/"))
    for part in parts:
        check_segment(part)
    return parts


def resolve(raw: str, caller: Caller) -> DataPath:
    """What ``raw`` names for ``caller``: pseudonyms replaced, every segment checked."""
    parts = split_path(raw)
    if not parts:
        return DataPath()
    head, rest = parts[0], parts[1:]
    if head == MY:
        head = caller.username
    elif head == ALGO:
        return _resolve_algo(rest, caller)
    elif head == SESSION:
        if not caller.session_id:
            raise InvalidPath("data://.session is only available inside an algorithm call "
                              "(with the API key the call was given).")
        check_segment(caller.session_id)
        return DataPath(collection=CollectionRef(KIND_SESSION, caller.username, caller.session_id), rel=rest)
    elif head.startswith("."):
        raise InvalidPath(f"Unknown data pseudonym {head!r}: use .my, .algo or .session.")
    if not rest:
        return DataPath(user=head)
    check_collection_name(rest[0])
    return DataPath(collection=CollectionRef(KIND_USER, head, rest[0]), rel=rest[1:])


def _resolve_algo(rest: tuple[str, ...], caller: Caller) -> DataPath:
    if rest and rest[0] in ALGO_COLLECTIONS:
        if caller.algorithm is None:
            raise InvalidPath(f"data://.algo/{rest[0]} is only available inside an algorithm call; outside one "
                              f"use data://.algo/<author>/<algo>/{rest[0]}/...")
        author, algo = caller.algorithm
        check_segment(author)
        check_segment(algo)
        which, rel = rest[0], rest[1:]
    elif len(rest) >= 3 and rest[2] in ALGO_COLLECTIONS:
        author, algo, which, rel = rest[0], rest[1], rest[2], rest[3:]
    else:
        raise InvalidPath("Invalid .algo path: use data://.algo/<author>/<algo>/temp/... or .../perm/... "
                          "(or data://.algo/temp/... inside an algorithm call).")
    return DataPath(collection=CollectionRef(KIND_ALGO, caller.username, f"{author}/{algo}/{which}"), rel=rel)
