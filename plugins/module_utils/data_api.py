# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Data API on one cluster: files and collections by data URI, and whose key this is.

Every ``/v1/connector/...`` path the collection uses is built here (``data_path``), from a data
URI whose segments ``uris`` has percent-encoded one by one, so a name can never add a segment
or a query of its own.

Every call here is safe to repeat (``retries``) and says so: reads; downloads, resumed where
they broke off; whole-file uploads from a fresh source each attempt; deletes that take "gone"
as done; a collection create that takes "exists" as done.
"""

from __future__ import annotations

import json

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    BadRequest,
    Conflict,
    InvalidResponse,
    NotFound,
    TaskFailed,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import (
    QuotedPath,
    UriError,
    quote_path,
    quote_segment,
    split_data_uri,
    split_file_uri,
)

CHUNK_SIZE = 1024 * 1024
CONNECTORS = "/v1/connector"
DATA_ROOT = CONNECTORS + "/data"


def data_path(uri):
    """The Data API path of a data URI: ``data://.my/coll/file.txt`` -> ``/v1/connector/data/.my/coll/file.txt``."""
    connector, path = split_data_uri(uri)
    if not path:
        raise UriError("{0!r} names no collection or file".format(uri))
    return QuotedPath("{0}/{1}/{2}".format(CONNECTORS, quote_segment(connector), quote_path(path)))


# Where the key of each cluster a task talks to is set, for the hint when it is refused.
KEY_OPTIONS = {
    None: "api_key (or ALGORITHMIA_API_KEY)",
    "destination": "api_key (or ALGORITHMIA_API_KEY)",
    "source": "source_api_key (or SOURCE_API_KEY)",
}


def key_owner(client, role=None):
    """The user ``client``'s key belongs to.

    The one rule, the seed tool's: the Data API root lists the key's own user folder first.
    ``role`` ("source", "destination") says which of a task's clusters it is, for the messages.
    """
    whose = "the {0} key".format(role) if role else "api_key"
    listing = client.get_json(DATA_ROOT, retry=True, action="find the user of {0} (list data://)".format(whose),
                              hints={401: "check {0}: it must be a valid, unrevoked API key of this cluster "
                                          "(keys are per cluster).".format(KEY_OPTIONS[role])}) or {}
    folders = listing.get("folders") if isinstance(listing, dict) else None
    if not folders or not isinstance(folders[0], dict) or not folders[0].get("name"):
        raise InvalidResponse("find the user of " + whose, client.cluster,
                              detail="the Data API root names no user folder: {0}".format(
                                  json.dumps(folders)[:200]),
                              hint="set owner explicitly.")
    return str(folders[0]["name"])


class DataFiles:
    """Data API calls on one cluster, by data URI. ``role`` ("source", "destination") is for messages."""

    def __init__(self, client, role):
        self.client = client
        self.role = role
        self._listings = {}  # directory listings read by stat(): files of one folder cost one listing

    def listing(self, directory_uri):
        """``{file name: {"size", "last_modified"}}`` of a directory (all pages), ``None`` when it is missing."""
        files = {}
        marker = None
        while True:
            try:
                page = self.client.get_json(data_path(directory_uri), params={"marker": marker} if marker else None,
                                            retry=True, action="list {0} on the {1} cluster".format(directory_uri, self.role)) or {}
            except NotFound:
                return None
            for entry in page.get("files") or []:
                files[entry.get("filename")] = {"size": entry.get("size"), "last_modified": entry.get("last_modified")}
            marker = page.get("marker")
            if not marker:
                return files

    def stat(self, uri):
        """Size and last_modified of a file, from its directory's listing; ``TaskFailed`` when missing."""
        connector, directory, name = split_file_uri(uri)
        directory_uri = "{0}://{1}".format(connector, directory)
        if directory_uri not in self._listings:
            self._listings[directory_uri] = self.listing(directory_uri)
        files = self._listings[directory_uri]
        if files is None or name not in files:
            if files is None:
                where = "its folder {0} does not exist".format(directory_uri)
            else:
                where = "no such file in {0}".format(directory_uri)
            raise TaskFailed("Failed to read {0} on the {1} cluster {2}: {3}. Fix: check the files entry (names are "
                             "case sensitive; .my is the {1} key's user).".format(
                                 uri, self.role, self.client.cluster, where))
        return dict(files[name], uri=uri)

    def stored_size(self, uri):
        """The size a file has now, from a HEAD (its Content-Length), else from a fresh listing of
        its folder; ``None`` when it is missing. Costs one or two requests, never reads the file."""
        headers = self.client.head(data_path(uri), missing_ok=True, retry=True,
                                   action="read the size of {0} on the {1} cluster".format(uri, self.role))
        if headers is None:
            return None
        length = headers.get("Content-Length", "")
        if length.isdigit():
            return int(length)
        connector, directory, name = split_file_uri(uri)
        files = self.listing("{0}://{1}".format(connector, directory)) or {}
        return files.get(name, {}).get("size")

    def download(self, uri, action=None, stall=None):
        """A ``ByteStream`` of the file (the request is made now, the body read as it is iterated);
        a body that breaks off is resumed where it stopped, unseen by the consumer (for a copy, while
        bytes have moved within its ``retries.Stall``)."""
        return self.client.download(data_path(uri), chunk_size=CHUNK_SIZE, retry=True, stall=stall,
                                    action=action or "download {0} from the {1} cluster".format(uri, self.role))

    def upload(self, uri, chunks, stall=None):
        """PUT the whole file from ``chunks``, a callable returning a fresh iterable: a broken upload is
        sent again, whole, from a new one (for a copy, a new download, while bytes have moved within its
        ``retries.Stall``)."""
        return self.client.upload(data_path(uri), chunks=chunks, retry=True, stall=stall,
                                  action="upload {0} to the {1} cluster".format(uri, self.role))

    def delete(self, uri):
        return self.client.delete(data_path(uri), missing_ok=True, retry=True,
                                  action="delete {0} on the {1} cluster".format(uri, self.role))

    def delete_collection(self, directory_uri):
        """Delete an empty folder; ``False`` when it is gone already or not empty (never forced)."""
        try:
            return self.client.delete(data_path(directory_uri), missing_ok=True, retry=True,
                                      action="delete the collection {0} on the {1} cluster".format(
                                          directory_uri, self.role))
        except (BadRequest, Conflict):
            return False  # not empty: what is left was not ours to delete

    def create_collection(self, owner, name):
        """Create the collection; it existing already (made meanwhile, or by an attempt whose answer
        was lost) is what was wanted, so the call is safe to repeat."""
        try:
            self.client.post_json(DATA_ROOT + "/{0}", owner, body={"name": name}, retry=True,
                                  action="create the collection data://{0}/{1}".format(owner, name))
        except Conflict:
            pass

    def read_small(self, uri, limit=4 * 1024 * 1024):
        """The bytes of a small file (the manifest), ``None`` when it is missing or too large."""
        try:
            stream = self.download(uri)
        except NotFound:
            return None
        data = bytearray()
        with stream:
            for chunk in stream:
                data.extend(chunk)
                if len(data) > limit:
                    return None
        return bytes(data)
