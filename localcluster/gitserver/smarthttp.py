"""The git smart HTTP protocol for one repository, served by dulwich's pack handlers.

Stateless RPC, as ``git http-backend`` does it: ``info/refs?service=...`` advertises refs,
then one POST per ``git-upload-pack`` (fetch/clone) or ``git-receive-pack`` (push) exchange.
Request bodies arrive whole (algorithm repositories are small) and may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from dulwich.protocol import ReceivableProtocol
from dulwich.repo import Repo
from dulwich.server import DictBackend, ReceivePackHandler, UploadPackHandler

from localcluster.gitserver.repos import MASTER

SERVICES = {"git-upload-pack": UploadPackHandler, "git-receive-pack": ReceivePackHandler}


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


def run_service(repo_dir: Path, service: str, body: bytes, content_encoding: str | None) -> tuple[bytes, bool]:
    """Run one RPC exchange; returns (response body, whether master moved)."""
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
    return out.getvalue(), after is not None and after != before
