"""TLS for ``serve --tls``: a private CA and a server certificate for the loopback names, and for
the names ``serve --tls-names`` adds (``api.<domain>``, ``git.<domain>``: a real cluster's naming).

The CA is kept under the data dir and reused on restart, so a client that trusts
``DIR/ca.pem`` keeps trusting the cluster. The CA key never leaves ``DIR/tls/`` (mode 0600). The
server certificate is made again at every start, for the names of that start.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Iterable

import trustme

from localcluster.settings import Settings

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")
# A DNS name (a leading "*." for a wildcard) or an IP address, as a certificate's subjectAltName holds them.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
NAME_RE = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


def check_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names, checked: each a host name or an IP address (ValueError naming the first that is not)."""
    checked = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if not NAME_RE.match(name) or len(name) > 253:
                raise ValueError(f"{name!r} is not a host name or an IP address") from None
        checked.append(name)
    return tuple(checked)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def prepare_tls(settings: Settings) -> tuple[Path, Path]:
    """Return (certfile, keyfile) for the server, creating the CA on first use."""
    tls_dir = settings.subdir("tls")
    os.chmod(tls_dir, 0o700)
    ca_key_path = tls_dir / "ca.key"
    if settings.ca_cert_path.exists() and ca_key_path.exists():
        ca = trustme.CA.from_pem(settings.ca_cert_path.read_bytes(), ca_key_path.read_bytes())
    else:
        ca = trustme.CA(organization_name="localcluster")
        _write_private(ca_key_path, ca.private_key_pem.bytes())
        settings.ca_cert_path.write_bytes(ca.cert_pem.bytes())
    names = list(SERVER_NAMES)
    for name in (settings.host, *settings.tls_names):
        if name not in names and name not in ("0.0.0.0", "::"):
            names.append(name)
    leaf = ca.issue_cert(*names)
    certfile, keyfile = tls_dir / "server.pem", tls_dir / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    _write_private(keyfile, leaf.private_key_pem.bytes())
    return certfile, keyfile
