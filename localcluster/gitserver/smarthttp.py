"""The git smart HTTP protocol for one repository, served by dulwich's pack handlers.

Stateless RPC, as ``git http-backend`` does it: ``info/refs?service=...`` advertises refs,
then one POST per ``git-upload-pack`` (fetch/clone) or ``git-receive-pack`` (push) exchange.
Request bodies arrive whole (algorithm repositories are small) and may be gzip-compressed.

A push names, for each ref, the value it read at ``info/refs`` (a request of its own) and the
value it wants. ``GuardedReceivePack`` updates a ref only while it still holds that old value,
as git's receive-pack does under the ref's lock; otherwise the ref is refused in the
report-status (``ng refs/heads/master failed to lock``), which ``git push`` shows as
``! [remote rejected] master -> master (failed to lock)`` and dulwich as that ref's status.
The caller serializes receive-packs of one repository (``GitBackend``), so the comparison and
the write are one step.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

from dulwich.protocol import ZERO_SHA, ReceivableProtocol
from dulwich.repo import Repo
from dulwich.server import DictBackend, ReceivePackHandler, UploadPackHandler

from localcluster.gitserver.repos import MASTER

# What git's receive-pack reports for a ref it could not take: its lock is held, or the ref no
# longer holds the value the push read (another push moved it meanwhile).
REF_LOCK_REFUSED = b"failed to lock"


class GuardedReceivePack(ReceivePackHandler):
    """dulwich's receive-pack with git's compare-and-swap on each ref.

    dulwich alone writes a ref through ``set_if_equals``, which returns False when the ref moved
    (the update is dropped, yet reported ``ok``) and raises ``FileLocked`` when another writer
    holds the ref's lock (an HTTP 500). Both are the loser of a race, and git answers both
    in-protocol: ``failed to lock``.
    """

    def _on_update(self, ref_name, old_sha, new_sha):
        refused = super()._on_update(ref_name, old_sha, new_sha)
        if refused:
            return refused
        try:
            current = self.repo.refs[ref_name]
        except KeyError:
            current = ZERO_SHA
        if current != old_sha:
            return REF_LOCK_REFUSED
        # A lock file no writer of this server holds (they are serialized) is another process's,
        # or one a killed server left: git refuses the ref then too.
        if os.path.exists(self.repo.refs.refpath(ref_name) + b".lock"):
            return REF_LOCK_REFUSED
        return None


SERVICES = {"git-upload-pack": UploadPackHandler, "git-receive-pack": GuardedReceivePack}


def advertise_refs(repo_dir: Path, service: str) -> bytes:
    out = io.BytesIO()
    repo = Repo(str(repo_dir))
    try:
        proto = ReceivableProtocol(io.BytesIO().read, out.write)
        handler = SERVICES[service](DictBackend({"/": repo}), ["/"], proto, stateless_rpc=True,
                                    advertise_refs=True)
        handler.proto.write_pkt_line(b"# service=" + service.encode("ascii") + b"\n")
        handler.proto.write_pkt_line(None)
        handler.handle()
    finally:
        repo.close()
    return out.getvalue()


def run_service(repo_dir: Path, service: str, body: bytes, content_encoding: str | None) -> tuple[bytes, str | None]:
    """Run one RPC exchange; returns (response body, the commit master moved to, or None).

    Whether master moved is read before and after the exchange: the caller serializes pushes
    to one repository, so no other push moves it in between."""
    if (content_encoding or "").lower() in ("gzip", "x-gzip"):
        body = gzip.decompress(body)
    out = io.BytesIO()
    repo = Repo(str(repo_dir))
    try:
        before = repo.refs.as_dict().get(MASTER)
        proto = ReceivableProtocol(io.BytesIO(body).read, out.write)
        SERVICES[service](DictBackend({"/": repo}), ["/"], proto, stateless_rpc=True).handle()
        after = repo.refs.as_dict().get(MASTER)
    finally:
        repo.close()
    moved_to = after.decode("ascii") if after is not None and after != before else None
    return out.getvalue(), moved_to
