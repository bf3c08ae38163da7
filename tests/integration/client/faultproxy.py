"""A test double for a faulty network: an HTTP/1.1 proxy on 127.0.0.1 in front of one localcluster.

localcluster's own fault hooks answer an error or drop a connection before running a request;
the faults a retry policy must survive also include a reply lost after the request was applied,
a reset in the middle of an upload or a download, and all of these over TLS. This proxy forwards
requests to the cluster (plain HTTP) and injects them by rule, for the next ``times`` matching
requests:

- ``lost_reply``: forward the request (the cluster applies it), then reset the client's connection
  without answering;
- ``reset_request``: read ``after_bytes`` of the request's body, then reset (never forwarded);
- ``reset_answer``: forward, send the answer's headers and ``after_bytes`` of its body, then reset
  (``chunked=True`` sends that answer without a Content-Length, so it cannot be resumed);
- ``status``: answer ``status`` (with ``headers``) without forwarding.

``ranges=False`` hides byte ranges: Accept-Ranges is taken out of answers, Range and If-Range out
of requests. ``tls`` is a server-side ``ssl.SSLContext``. Every request received is recorded in
``seen`` (method, path, headers), every connection accepted counted in ``connections``.
Bounded: the proxy stops by itself after ``lifetime`` seconds, and every socket has a timeout.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import struct
import threading
import time
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
              "content-length"}
MAX_LINE = 65536


class Rule:
    def __init__(self, kind, method, path_prefix, times=1, after_bytes=0, status=503, headers=None, chunked=False):
        assert kind in ("lost_reply", "reset_request", "reset_answer", "status"), kind
        self.kind = kind
        self.method = method.upper()
        self.path_prefix = path_prefix
        self.times = times
        self.after_bytes = after_bytes
        self.status = status
        self.headers = dict(headers or {})
        self.chunked = chunked
        self.fired = 0


class FaultProxy:
    def __init__(self, upstream, tls=None, ranges=True, lifetime=120.0):
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1", upstream
        self._upstream = (parts.hostname, parts.port)
        self._tls = tls
        self._ranges = ranges
        self._lock = threading.Lock()
        self._rules = []
        self.seen = []
        self.connections = 0
        self.handshake_failures = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        port = self._listener.getsockname()[1]
        self.url = "{0}://127.0.0.1:{1}".format("https" if tls else "http", port)
        self._stop_at = time.monotonic() + lifetime
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    # ---- control ---------------------------------------------------------------------------

    def add(self, kind, method, path_prefix, **options):
        rule = Rule(kind, method, path_prefix, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def requests(self, method=None, path_prefix=""):
        with self._lock:
            return [seen for seen in self.seen
                    if (method is None or seen[0] == method) and seen[1].startswith(path_prefix)]

    def stop(self):
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # ---- serving ---------------------------------------------------------------------------

    def _accept(self):
        while not self._stopped.is_set() and time.monotonic() < self._stop_at:
            try:
                conn, _address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        try:
            if self._tls is not None:
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    with self._lock:
                        self.handshake_failures += 1
                    return
            reader = conn.makefile("rb")
            while not self._stopped.is_set():
                if not self._one_request(conn, reader):
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _match(self, method, path):
        with self._lock:
            for rule in self._rules:
                if rule.method == method and path.startswith(rule.path_prefix) and rule.fired < rule.times:
                    rule.fired += 1
                    return rule
        return None

    def _one_request(self, conn, reader):
        """Serve one request; False when the connection is done."""
        line = reader.readline(MAX_LINE)
        if not line.strip():
            return False
        method, target, _version = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            header = reader.readline(MAX_LINE)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _colon, value = header.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lookup = {name.lower(): value for name, value in headers}
        path = urlsplit(target).path
        with self._lock:
            self.seen.append((method, path, lookup))
        rule = self._match(method, path)
        if rule is not None and rule.kind == "reset_request":
            reader.read(rule.after_bytes)
            _reset(conn)
            return False
        body = _read_body(reader, lookup)
        if rule is not None and rule.kind == "status":
            payload = json.dumps({"error": {"message": "fault proxy: {0}".format(rule.status)}}).encode()
            extra = "".join("{0}: {1}\r\n".format(name, value) for name, value in rule.headers.items())
            conn.sendall("HTTP/1.1 {0} Fault\r\nContent-Type: application/json\r\nContent-Length: {1}\r\n{2}\r\n".format(
                rule.status, len(payload), extra).encode("latin-1") + payload)
            return True
        try:
            status, reason, answer_headers, answer = self._forward(method, target, headers, body)
        except (OSError, http.client.HTTPException):
            _reset(conn)  # the cluster broke the connection: so does the proxy
            return False
        if rule is not None and rule.kind == "lost_reply":
            _reset(conn)
            return False
        head = ["HTTP/1.1 {0} {1}".format(status, reason)]
        head += ["{0}: {1}".format(name, value) for name, value in answer_headers
                 if name.lower() not in HOP_BY_HOP and (self._ranges or name.lower() != "accept-ranges")]
        if method == "HEAD":
            head += ["{0}: {1}".format(name, value) for name, value in answer_headers if name.lower() == "content-length"]
        if rule is not None and rule.kind == "reset_answer":
            if rule.chunked:
                head.append("Transfer-Encoding: chunked")
                part = answer[:rule.after_bytes]
                sent = "{0:x}\r\n".format(len(part)).encode() + part + b"\r\n"
            else:
                head.append("Content-Length: {0}".format(len(answer)))
                sent = answer[:rule.after_bytes]
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + sent)
            time.sleep(0.05)  # let the client read what arrived before the reset
            _reset(conn)
            return False
        if method != "HEAD":
            head.append("Content-Length: {0}".format(len(answer)))
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (b"" if method == "HEAD" else answer))
        return lookup.get("connection", "").lower() != "close"

    def _forward(self, method, target, headers, body):
        upstream = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                lowered = name.lower()
                if lowered in HOP_BY_HOP or (not self._ranges and lowered in ("range", "if-range")):
                    continue
                upstream.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body or None)
            response = upstream.getresponse()
            answer = response.read()
            return response.status, response.reason, response.getheaders(), answer
        finally:
            upstream.close()


def _read_body(reader, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int(reader.readline(MAX_LINE).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            body.extend(reader.read(size))
            reader.readline(MAX_LINE)
    length = int(headers.get("content-length") or 0)
    return reader.read(length) if length else b""


def _reset(conn):
    """Close with a TCP reset (SO_LINGER 0), as a crashed proxy or a dropped NAT entry does.

    The descriptor is detached and closed at once: a plain ``close()`` would wait for the reader
    made from the socket, and TLS would not be told (no close_notify).
    """
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        socket.socket(fileno=conn.detach()).close()
    except OSError:
        pass
