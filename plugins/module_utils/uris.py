# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Data URIs, algorithm names and API addresses: pure string work, no HTTP.

User-supplied names are percent-encoded here (``quote_segment``, ``quote_path``) in exactly one
way, for ``AlgorithmiaClient.url()`` and ``data_api.data_path``, so they can never add path
segments (``..``, ``/``) or a query string of their own.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

DATA_URI = re.compile(r"^(?P<connector>[a-z][a-z0-9]*(?:\+[A-Za-z0-9_.-]+)?)://(?P<path>.*)$")
# Algorithm names on Algorithmia: a letter first, then letters, digits and underscores.
ALGORITHM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class QuotedPath(str):
    """A path that is already percent-encoded: ``AlgorithmiaClient.url()`` inserts it as is."""

    __slots__ = ()


class UriError(ValueError):
    """A data URI or path that cannot be turned into an API path."""


def quote_segment(segment):
    """Percent-encode one path segment; ``/`` is encoded too, so a name stays one segment."""
    segment = str(segment)
    if segment in ("", ".", ".."):
        raise UriError("path segment {0!r} is empty or relative; give a plain name".format(segment))
    return quote(segment, safe="")


def quote_path(path):
    """Percent-encode a slash-separated path segment by segment (for Data API paths)."""
    return QuotedPath("/".join(quote_segment(part) for part in str(path).strip("/").split("/")))


def split_data_uri(uri):
    """``data://.my/coll/file.txt`` -> ``("data", ".my/coll/file.txt")``; a bare path means ``data``."""
    match = DATA_URI.match(str(uri))
    if match is None:
        if "://" in str(uri):
            raise UriError("{0!r} is not a data URI such as data://.my/collection/file".format(uri))
        return "data", str(uri).strip("/")
    return match.group("connector"), match.group("path").strip("/")


def split_file_uri(uri):
    """``(connector, directory path, file name)`` of a file's data URI."""
    connector, path = split_data_uri(uri)
    directory, _slash, name = path.strip("/").rpartition("/")
    return connector, directory, name


def data_uri_basename(uri):
    """The file name at the end of a data URI (``landscape.png`` for ``data://.my/c/landscape.png``)."""
    _connector, path = split_data_uri(uri)
    return path.rsplit("/", 1)[-1]


def normalise_api_address(address):
    """``https://api.example.com/`` -> ``https://api.example.com``; refuse what would leak or mislead.

    Credentials in the URL would end up in logs and error messages, and a ``/v1`` suffix
    would double up with the client's own ``/v1/...`` paths.
    """
    address = str(address or "").strip()
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UriError(
            "api_address {0!r} is not an http(s) URL; give the cluster's API base URL such as "
            "https://api.example.com".format(address))
    if parts.username or parts.password:
        raise UriError("api_address must not contain credentials; give the key in api_key")
    if parts.query or parts.fragment:
        raise UriError("api_address {0!r} must not have a query or fragment".format(address))
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[:-3]
    return "{0}://{1}{2}".format(parts.scheme, parts.netloc, path)
