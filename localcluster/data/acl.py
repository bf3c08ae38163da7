"""Read ACLs of user collections (data_hosted.md, "User Collection Permissions").

Only the owner ever writes. Reading depends on the collection's ``read`` list, which is one
of exactly three values (the ones the official client's ``AclType`` knows):

    []                  private: the owner only (the owner's algorithm calls act as the owner)
    ["algo://.my/*"]    my algorithms, the default: the owner, or any user through an
                        algorithm the owner wrote
    ["user://*"]        public: any authenticated user
"""

from __future__ import annotations

import json

from localcluster.errors import BadRequest
from localcluster.users.backend import Caller

PRIVATE: tuple[str, ...] = ()
MY_ALGORITHMS: tuple[str, ...] = ("algo://.my/*",)
PUBLIC: tuple[str, ...] = ("user://*",)
DEFAULT = MY_ALGORITHMS
KNOWN = (PRIVATE, MY_ALGORITHMS, PUBLIC)


def parse(acl: object) -> tuple[str, ...]:
    """The read list of an ``{"read": [...]}`` request value, or a 400 naming the accepted values."""
    if not isinstance(acl, dict) or not isinstance(acl.get("read"), list):
        raise BadRequest('Invalid ACL: expected {"read": [...]} with [], ["algo://.my/*"] or ["user://*"].')
    read = tuple(acl["read"])
    if read not in KNOWN:
        raise BadRequest(f"Invalid read ACL {list(read)!r}: use [] (private), [\"algo://.my/*\"] "
                         "(my algorithms) or [\"user://*\"] (public).")
    return read


def to_json(read: tuple[str, ...]) -> str:
    return json.dumps(list(read))


def from_json(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def can_read(read: tuple[str, ...], owner: str, caller: Caller) -> bool:
    if caller.username == owner:
        return True
    if read == PUBLIC:
        return True
    if read == MY_ALGORITHMS:
        # A session key carries the algorithm it runs; the data is readable through the
        # owner's own algorithms, whoever called them.
        return caller.algorithm is not None and caller.algorithm[0] == owner
    return False


def hosted_data_flags(read: tuple[str, ...]) -> dict:
    """``/v1/hostedData``'s acl object: world, group, user (the owner) and algorithm readers."""
    return {"read_w": read == PUBLIC, "read_g": False, "read_u": True,
            "read_a": read in (MY_ALGORITHMS, PUBLIC)}
