# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn ``ca_cert`` / ``validate_certs`` into the ``verify=`` value requests wants.

Vault holds a cluster's CA as PEM text, an inventory usually as a path: both are accepted.
requests only takes a path, so PEM text goes to a private (0600) temporary file that is
removed on ``close()`` or, failing that, when the object is collected or the process exits.
"""

from __future__ import annotations

import os
import tempfile
import weakref

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClientConfigError

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
PEM_END = "-----END CERTIFICATE-----"


def looks_like_pem(value):
    return PEM_BEGIN in value


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class CACertificate:
    """The ``verify`` setting for one client, owning a temporary CA file when it made one."""

    def __init__(self, ca_cert=None, validate_certs=True, cluster=None):
        self.temp_path = None
        self._finalizer = None
        if not validate_certs:
            # An explicit "do not check": ca_cert is then irrelevant.
            self.verify = False
            return
        if ca_cert is None or not str(ca_cert).strip():
            # True lets requests use certifi, or REQUESTS_CA_BUNDLE when set (a site-wide CA).
            self.verify = True
            return
        ca_cert = str(ca_cert)
        if looks_like_pem(ca_cert):
            self.verify = self._write_pem(ca_cert, cluster)
        else:
            self.verify = self._check_path(ca_cert, cluster)

    def _write_pem(self, pem, cluster):
        if PEM_END not in pem:
            raise ClientConfigError(
                "read ca_cert", cluster,
                detail="the PEM text has a BEGIN CERTIFICATE line but no END CERTIFICATE line",
                hint="give the whole certificate, from -----BEGIN CERTIFICATE----- to "
                     "-----END CERTIFICATE----- (check that the vault value was not truncated).")
        # mkstemp creates the file 0600 and owned by us: no other user can swap the CA.
        handle, path = tempfile.mkstemp(prefix="algorithmia-ca-", suffix=".pem")
        self.temp_path = path
        self._finalizer = weakref.finalize(self, _remove, path)
        with os.fdopen(handle, "w", encoding="ascii", errors="strict") as stream:
            stream.write(pem.strip() + "\n")
        return path

    @staticmethod
    def _check_path(value, cluster):
        path = os.path.expanduser(value.strip())
        if not os.path.exists(path):
            shown = value if len(value) <= 200 else value[:200] + "..."
            raise ClientConfigError(
                "read ca_cert", cluster, detail="no file or directory {0!r}".format(shown),
                hint="give the path of a PEM file readable on the controller, or the PEM text "
                     "itself (starting with -----BEGIN CERTIFICATE-----).")
        return path

    def close(self):
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
