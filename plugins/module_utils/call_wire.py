# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A benchmark's calls on the wire: one request prepared once, sent many times on connections
kept alive, one per worker thread.

Why not the client's ``request()``: a benchmark on a controller whose cores the cluster shares
measures the client's own work per call as the cluster's latency and throughput. requests and
urllib3 cost about 1 ms of CPU per call (headers merged and encoded, proxies, cookies, the
response parsed with the email package); ``wrk``, the reference, costs about 0.1 ms. Like wrk,
this sends a request whose bytes were made once and reads the answer with no more parsing than
HTTP/1.1 framing needs (status, Content-Length or chunked, Connection).

What stays the client's: the connection and its TLS are set up by the urllib3 pool of the
client's session (``AlgorithmiaClient.direct_route``: the same CA, verification, SNI and
timeouts as every other request), and every failure becomes the ``ClusterError`` the client
raises for it (``transport_error``, ``_status_error``), so that a benchmark counts the same
failure kinds whichever path a call took. Nothing is repeated: a request is written once, and a
connection found closed before the write is replaced before it (urllib3's own check).
"""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlencode, urlsplit

try:
    from urllib3.util.wait import wait_for_read
except ImportError:  # the client reports the missing library (HAS_REQUESTS) before any call
    wait_for_read = None

RECEIVE_SIZE = 65536
# An answer's status line and headers: a cluster's are a few hundred bytes.
HEAD_LIMIT = 65536
# Headers this path leaves to the request it sends: it asks for no compression (a benchmark
# would measure decompression), and keep-alive is HTTP/1.1's default.
LEFT_OUT_HEADERS = ("accept-encoding", "connection", "content-length", "host")


def prepare_request(method, url, params, headers, body):
    """The bytes of one HTTP/1.1 request to ``url`` (its path and ``params``), with ``headers``
    (the client's own and the call's) and ``body`` (bytes)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if params:
        target += "?" + urlencode(params, doseq=True)
    lines = ["{0} {1} HTTP/1.1".format(method, target), "Host: {0}".format(parts.netloc)]
    for name, value in headers.items():
        if name.lower() not in LEFT_OUT_HEADERS:
            lines.append("{0}: {1}".format(name, value))
    lines.append("Accept-Encoding: identity")
    lines.append("Content-Length: {0}".format(len(body)))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + bytes(body)


class HeadReceived(Exception):
    """Raised from a failure once the answer's status and headers had arrived (``during_answer``)."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


class _Reader:
    """Buffered reads of one answer from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def more(self):
        chunk = self.sock.recv(RECEIVE_SIZE)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def until(self, delimiter, limit, gone):
        """The bytes before ``delimiter`` (consumed with it); ``gone()`` makes the error for an end
        of the connection before it."""
        while True:
            end = self.buffer.find(delimiter)
            if end >= 0:
                found, self.buffer = self.buffer[:end], self.buffer[end + len(delimiter):]
                return found
            if len(self.buffer) > limit:
                raise http.client.LineTooLong("answer head longer than {0} bytes".format(limit))
            if not self.more():
                raise gone()

    def exactly(self, size):
        while len(self.buffer) < size:
            if not self.more():
                raise http.client.IncompleteRead(self.buffer, size - len(self.buffer))
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def to_end(self):
        while self.more():
            pass
        found, self.buffer = self.buffer, b""
        return found


def _no_answer():
    return http.client.RemoteDisconnected("Remote end closed connection without response")


def read_answer(sock):
    """``(status, reason, headers, body, keep_alive)`` of one answer read from ``sock``.

    ``headers`` is a list of ``(name, value)``. Raises ``RemoteDisconnected`` when the connection
    ends before any answer, and ``HeadReceived`` (with the cause) for a failure after the head.
    """
    reader = _Reader(sock)
    head = reader.until(b"\r\n\r\n", HEAD_LIMIT, _no_answer).decode("iso-8859-1")
    status_line, _sep, header_text = head.partition("\r\n")
    version, _sep, rest = status_line.partition(" ")
    status_text, _sep, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not status_text.isdigit():
        raise http.client.BadStatusLine(status_line)
    status = int(status_text)
    headers, length, chunked = [], None, False
    keep_alive = version != "HTTP/1.0"
    for line in header_text.split("\r\n") if header_text else ():
        name, _sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        headers.append((name, value))
        lowered = name.lower()
        if lowered == "content-length":
            length = int(value) if value.isdigit() else None
        elif lowered == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif lowered == "connection":
            keep_alive = "close" not in value.lower() and (keep_alive or "keep-alive" in value.lower())
        elif lowered == "content-encoding" and value.lower() not in ("", "identity"):
            raise HeadReceived(http.client.HTTPException(
                "the answer came with Content-Encoding {0!r} although identity was asked".format(value)))
    try:
        if status < 200 or status in (204, 304):
            body = b""
        elif chunked:
            body = _read_chunked(reader)
        elif length is not None:
            body = reader.exactly(length)
        else:
            body, keep_alive = reader.to_end(), False
    except Exception as exc:
        raise HeadReceived(exc) from exc
    # Bytes after the answer: not an answer to anything this sent; the connection is not reused.
    return status, reason, headers, body, keep_alive and not reader.buffer


def _read_chunked(reader):
    chunks = []
    while True:
        size_line = reader.until(b"\r\n", HEAD_LIMIT, lambda: http.client.IncompleteRead(b"".join(chunks)))
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise http.client.HTTPException("bad chunk size {0!r}".format(size_text[:20])) from None
        if size == 0:
            # trailers, up to the empty line that ends the answer
            while reader.until(b"\r\n", HEAD_LIMIT, lambda: http.client.IncompleteRead(b"".join(chunks))):
                pass
            return b"".join(chunks)
        chunks.append(reader.exactly(size))
        reader.exactly(2)  # the CRLF after the chunk


class KeptAliveWire:
    """Sends prepared requests to one cluster on kept-alive connections, one per calling thread.

    ``route`` is ``AlgorithmiaClient.direct_route()``'s ``(adapter, pool, headers)``: new
    connections come from the pool (its TLS settings), the headers are the client's. ``client``
    turns failures into its ``ClusterError`` kinds. ``close()`` closes every connection made.
    """

    def __init__(self, client, route):
        self.client = client
        self._pool = route[1]
        self.headers = dict(route[2])
        self._local = threading.local()
        self._opened = set()  # connections open now (one per thread that calls): closed by close()
        self._lock = threading.Lock()

    def prepare(self, method, url, params, headers, body):
        merged = dict(self.headers)
        merged.update(headers)
        return prepare_request(method, url, params, merged, body)

    def _connection(self, connect_timeout):
        """This thread's connection: kept when still open and quiet, else a new one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
            return conn
        # closed by the cluster while idle (or it sent something unasked): urllib3 replaces it too
        self._forget(conn)
        conn = self._pool._new_conn()  # the pool's class and TLS settings; private API, stable since urllib3 1.x
        conn.timeout = connect_timeout
        self._local.conn = conn
        with self._lock:
            self._opened.add(conn)
        conn.connect()
        return conn

    def exchange(self, request, url, action, timeout, hints=None, ok=range(200, 300)):
        """Send ``request`` (bytes from ``prepare``) once; return an ``_Answer``-like object with
        ``status_code``, ``reason``, ``headers`` and ``content``, or raise the client's ``ClusterError``."""
        connect_timeout, read_timeout = self.client._timeouts(timeout)
        conn = None
        head_received = False
        try:
            conn = self._connection(connect_timeout)
            conn.sock.settimeout(read_timeout)
            conn.sock.sendall(request)
            status, reason, headers, body, keep_alive = read_answer(conn.sock)
        except HeadReceived as exc:
            self._forget(conn)
            head_received = True
            failure = exc.cause
        except Exception as exc:  # a socket, TLS or urllib3 connect error: the client names it
            self._forget(conn)
            failure = exc
        else:
            if not keep_alive:
                self._forget(conn)
            answer = _WireAnswer(status, reason, headers, body)
            if status not in ok:
                raise self.client._status_error(action, answer, hints, False)
            return answer
        raise self.client.transport_error(action, failure, url, timeout, retry=False,
                                          during_answer=head_received) from None

    def _forget(self, conn):
        # Dropped from _opened too: a long test with many broken connections must not keep them all.
        if conn is not None:
            conn.close()
            with self._lock:
                self._opened.discard(conn)
        self._local.conn = None

    def close(self):
        with self._lock:
            opened, self._opened = self._opened, set()
        for conn in opened:
            conn.close()


class _WireAnswer:
    """An answer as ``AlgorithmiaClient._status_error`` reads it; headers looked up without case."""

    def __init__(self, status_code, reason, headers, content):
        self.status_code = status_code
        self.reason = reason
        self.headers = _Headers(headers)
        self.content = content


class _Headers:
    def __init__(self, pairs):
        self._pairs = pairs

    def get(self, name, default=None):
        lowered = name.lower()
        return next((value for key, value in self._pairs if key.lower() == lowered), default)
