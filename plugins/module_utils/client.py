# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place that speaks HTTP to an Algorithmia cluster.

Why not the official ``Algorithmia`` client: it has no timeouts on its data and management
helpers (a stuck cluster would hang a play forever), no retries, takes a CA only as a file
path, sets ``verify`` only on its session (so ``REQUESTS_CA_BUNDLE`` silently replaces the
cluster's CA), and turns HTTP failures into bare exceptions without the status. Those are
exactly the things a tool that runs against many clusters needs, so this client speaks the
documented REST API directly with requests. The official client stays what the algorithms
themselves use, and what tests use to check that the collection's work is visible to it.

Shape (after community.docker's API client): verb helpers take a path template plus
arguments and quote the arguments themselves; a failure becomes a typed ``ClusterError``
whose text says which call, on which cluster, what came back and what to do.

Repeats: which calls, on what failures, with which pauses and deadline is ``retries.py``
(the classification table). Here each request carries its class (``retry=``), ``_send`` makes
one attempt, ``connection_failure`` tells from the exception chain what happened to the
connection (a TLS handshake refused, or a reset after it, or an answer broken off mid-body),
and ``ByteStream`` resumes a download that broke off.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
import traceback
from urllib.parse import urlsplit

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    ANSWER_LOST,
    BROKEN_ANSWER,
    CONNECT_TIMEOUT,
    OTHER,
    READ_TIMEOUT,
    REFUSED,
    RESET,
    TLS_HANDSHAKE,
    UNREACHABLE,
    UNRESOLVED,
    ClientConfigError,
    ClusterConnectionError,
    ClusterTimeout,
    InvalidResponse,
    TLSError,
    error_class_for_status,
    redact,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import (
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_RETRIES,
    TRANSIENT_FAILURES,
    RetryPolicy,
    retry_after_seconds,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.tls import CACertificate
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import (
    QuotedPath,
    UriError,
    normalise_api_address,
    quote_segment,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.utils import select_proxy
    from urllib3.exceptions import ConnectTimeoutError, IncompleteRead, LocationValueError
    from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_TIMEOUT = 60.0
DEFAULT_POOL_SIZE = 10  # requests' own default: connections kept per host
DEFAULT_CHUNK_SIZE = 1024 * 1024
ERROR_BODY_LIMIT = 64 * 1024
USER_AGENT = "algorithmia.testbench (ansible collection)"

_NO_BODY = object()
_OBJECT_AT = re.compile(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*")
_SSL_PLACE = re.compile(r"\s*\(_ssl\.c:\d+\)")
_SUCCESS = range(200, 300)
# The connection went away (a reset, a close without TLS close_notify) rather than TLS refusing us.
_CONNECTION_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError,
                    ssl.SSLZeroReturnError, ssl.SSLSyscallError, http.client.RemoteDisconnected)


class _SimpleKeyAuth:
    """``Authorization: Simple <key>`` on every request; a requests auth callable.

    Being the session's auth also stops requests from consulting ~/.netrc, and requests drops
    the header itself when a redirect leaves the cluster's host.
    """

    def __init__(self, key):
        self._key = key

    def __call__(self, prepared):
        prepared.headers["Authorization"] = "Simple " + self._key
        return prepared

    def __repr__(self):
        return "_SimpleKeyAuth(********)"


def parse_error_body(body):
    """``(message, code, error_id)`` from an error answer, whichever envelope the server used.

    The official client reads ``{"error": {"message", "code", "id"}}``; the REST docs show the
    same fields at the top level; a proxy in between answers HTML or plain text.
    """
    if not body:
        return None, None, None
    try:
        document = json.loads(body)
    except ValueError:
        text = " ".join(body.decode("utf-8", "replace").split())
        return (text[:300] + "...") if len(text) > 300 else text, None, None
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]), error.get("code"), error.get("id")
        if isinstance(error, str):
            return error, None, None
        if document.get("message"):
            return str(document["message"]), document.get("code"), document.get("id")
        if document.get("detail"):
            return str(document["detail"]), None, None
    text = json.dumps(document)
    return (text[:300] + "...") if len(text) > 300 else text, None, None


def root_reason(exc):
    """The innermost urllib3 or socket exception behind a requests exception."""
    reason = exc
    for _depth in range(6):
        inner = getattr(reason, "reason", None)
        if not isinstance(inner, Exception) and reason.args and isinstance(reason.args[0], Exception):
            inner = reason.args[0]
        if not isinstance(inner, Exception):
            break
        reason = inner
    return reason


def exception_chain(exc, limit=16):
    """``exc`` and the exceptions behind it, breadth first: causes, contexts, and what requests and
    urllib3 wrap (``reason``, exception arguments)."""
    chain = []
    pending = [exc]
    while pending and len(chain) < limit:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending.extend(getattr(current, name, None) for name in ("reason", "original_error"))
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend((current.__cause__, current.__context__))
    return chain


def connection_failure(exc, during_answer=False):
    """``(failure, cause)``: what happened to a connection (a failure kind of ``errors``) and the
    exception of the chain that tells it.

    Told apart by the exception types in the chain, not by their text: a certificate the CA does not
    vouch for (``ssl.SSLCertVerificationError``) or a TLS alert during the handshake (an
    ``ssl.SSLError`` of its own) is a handshake failure; a connection that went away after it (a
    reset, a broken pipe, EOF without close_notify, an incomplete body) is a reset, or a broken
    answer once the answer's headers had arrived (``during_answer``).
    """
    chain = exception_chain(exc)

    def first(*types):
        return next((item for item in chain if isinstance(item, types)), None)

    found = first(ssl.SSLCertVerificationError)
    if found is not None:
        return TLS_HANDSHAKE, found
    if during_answer:
        found = first(ReadTimeoutError, socket.timeout)
        if found is not None:
            return READ_TIMEOUT, found
        return BROKEN_ANSWER, first(IncompleteRead, http.client.IncompleteRead, *_CONNECTION_GONE) or chain[-1]
    for failure, types in ((UNRESOLVED, (socket.gaierror,)), (REFUSED, (ConnectionRefusedError,))):
        found = first(*types)
        if found is not None:
            return failure, found
    found = first(ConnectTimeoutError)
    if found is not None:
        return (UNREACHABLE if isinstance(found, NewConnectionError) else CONNECT_TIMEOUT), found
    found = first(ReadTimeoutError, socket.timeout)
    if found is not None:
        return READ_TIMEOUT, found
    found = first(IncompleteRead, http.client.IncompleteRead)
    if found is not None:
        return BROKEN_ANSWER, found
    found = first(*_CONNECTION_GONE)
    if found is not None:
        return RESET, found
    found = first(ssl.SSLError)
    if found is not None:
        return TLS_HANDSHAKE, found
    found = first(ProtocolError, requests.exceptions.ChunkedEncodingError)
    if found is not None:
        return RESET, found
    return OTHER, root_reason(exc)


def describe(exc):
    """An exception's own text, without object addresses and OpenSSL source places."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return "certificate verify failed: " + exc.verify_message
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return _SSL_PLACE.sub("", _OBJECT_AT.sub("", text or type(exc).__name__))[:300]


def _received(cause, received):
    """Bytes of the answer that arrived: counted by the caller, or told by an ``IncompleteRead``."""
    if received is not None:
        return received
    partial = getattr(cause, "partial", None)
    if isinstance(partial, int):
        return partial
    return len(partial) if isinstance(partial, (bytes, bytearray)) else None


def failure_detail(failure, cause, why, where, timeouts, sent=None, received=None):
    """What happened to a connection to ``where``, in words, for a failure kind other than TLS_HANDSHAKE.

    ``why`` is the cause's own text (redacted); ``timeouts`` the (connect, read) seconds; ``sent``
    and ``received`` the bytes of the request and of the answer that got through, when counted.
    """
    if failure == REFUSED:
        return "nothing accepts connections at {0} (connection refused)".format(where)
    if failure == UNRESOLVED:
        return "the host name of {0} does not resolve ({1})".format(where, why)
    if failure == UNREACHABLE:
        return "could not connect to {0}: {1}".format(where, why)
    if failure == CONNECT_TIMEOUT:
        return "no connection to {0} within {1:g} s".format(where, timeouts[0])
    if failure == READ_TIMEOUT:
        if received:
            return "the answer stalled for {0:g} s after {1} bytes".format(timeouts[1], received)
        return "no answer within {0:g} s".format(timeouts[1])
    if failure == BROKEN_ANSWER:
        return "the connection was reset after {0} bytes of the answer ({1})".format(
            received if received is not None else "some", why)
    if failure == RESET:
        after = " after {0} bytes of the request were sent".format(sent) if sent else ""
        if isinstance(cause, http.client.RemoteDisconnected):
            return "the cluster closed the connection{0} without answering".format(after)
        return "the connection was reset{0}, before an answer ({1})".format(after, why)
    return why


class _Counted:
    """A request body iterated as it is sent, counting the bytes handed to the connection."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.sent = 0

    def __iter__(self):
        for chunk in self._chunks:
            yield chunk
            self.sent += len(chunk)


class _CountedSized(_Counted):
    """A body whose length is known beforehand (its ``content_length``): requests sends it with a
    Content-Length instead of chunked, so a cluster refuses it when it ends short."""

    def __len__(self):
        return self._chunks.content_length


class AlgorithmiaClient:
    """An API client for one cluster: ``Simple`` key auth, CA handling, timeouts, retries.

    ``api_address`` is the API base URL (``https://api.example.com``); ``ca_cert`` a PEM file
    path or PEM text; ``timeout`` (s) bounds connecting and every wait for data on every call.
    ``retries``, ``backoff_factor``, ``backoff_max`` and ``retry_deadline`` make its ``retry_policy``
    (see ``retries``), which also serves the git remote of this cluster.
    Use as a context manager, or call ``close()``: it removes a temporary CA file.
    """

    def __init__(self, api_address, api_key, ca_cert=None, validate_certs=True,
                 timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
                 backoff_factor=DEFAULT_BACKOFF_FACTOR, backoff_max=DEFAULT_BACKOFF_MAX, retry_deadline=None):
        if not HAS_REQUESTS:
            raise ClientConfigError(
                "set up the HTTP client", None, detail="the Python library requests is not installed",
                hint="install requests (>=2.32) and urllib3 (>=2.2) into the Python that runs the modules.")
        try:
            self.api_address = normalise_api_address(api_address)
        except UriError as exc:
            raise ClientConfigError("set up the HTTP client", None, detail=str(exc),
                                    hint="set api_address to the cluster's API URL, "
                                         "e.g. https://api.example.com") from None
        self.cluster = self.api_address
        # What the task calls this client's options ({"ca_cert": ("source_ca_cert", role variable)}),
        # for the fix of a failure; set by cluster_options.client_from_options.
        self.option_names = None
        key = "" if api_key is None else str(api_key)
        if not key.strip():
            raise ClientConfigError("set up the HTTP client", self.cluster, detail="api_key is empty",
                                    hint="set api_key (or ALGORITHMIA_API_KEY) to an API key of this cluster.")
        if key != key.strip() or any(ch.isspace() for ch in key):
            # A newline in a header value would be a header injection; usually a copy/paste slip.
            raise ClientConfigError("set up the HTTP client", self.cluster,
                                    detail="api_key contains spaces or line breaks",
                                    hint="give the key alone, without spaces or a trailing newline "
                                         "(in a vault file, use a quoted scalar).")
        self._secrets = (key,)
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            self.timeout = 0.0
        if self.timeout <= 0:
            raise ClientConfigError("set up the HTTP client", self.cluster,
                                    detail="timeout {0!r} is not a positive number of seconds".format(timeout),
                                    hint="set timeout to the seconds to wait for the cluster, e.g. 60.")
        try:
            self.retry_policy = RetryPolicy(retries, backoff_factor, backoff_max, retry_deadline)
        except ValueError as exc:
            raise ClientConfigError("set up the HTTP client", self.cluster, detail=str(exc),
                                    hint="set retries to 0 or more and the retry deadline to a positive number "
                                         "of seconds.") from None
        self._ca = CACertificate(ca_cert, validate_certs, self.cluster)
        self.verify = self._ca.verify
        self._session = self._new_session(_SimpleKeyAuth(key))
        self._auth_header = "Simple " + key
        self._direct = None  # the benchmark wire's route: (adapter, pool or None, headers), see direct_route()

    def _new_session(self, auth):
        session = requests.Session()
        session.auth = auth
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        # Only a default: requests lets REQUESTS_CA_BUNDLE override a session's verify, so
        # every request passes verify= explicitly as well (see _send()).
        session.verify = self.verify
        self._mount(session, DEFAULT_POOL_SIZE)
        return session

    def _mount(self, session, pool_size):
        # urllib3 repeats nothing: every repeat is decided by the call's class (retries.py).
        replaced = session.adapters.get("https://")
        adapter = HTTPAdapter(max_retries=Retry(0, read=False), pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if replaced is not None:
            replaced.close()
        self._pool_size = pool_size

    def ensure_pool(self, size):
        """Keep at least ``size`` connections per host alive: a benchmark at concurrency ``size``
        would otherwise open and close a connection per call above requests' default of 10, and
        measure that set-up as latency."""
        if size > self._pool_size:
            self._mount(self._session, size)

    def __repr__(self):
        return "AlgorithmiaClient({0})".format(getattr(self, "api_address", "not set up"))

    def close(self):
        self._session.close()
        self._ca.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ---- building requests -------------------------------------------------------------

    def url(self, template, *args):
        """``url("/v1/algorithms/{0}/{1}", "alice", "hello")``: each argument percent-encoded
        as one path segment, unless it is a ``QuotedPath`` (see ``data_api.data_path``)."""
        quoted = [arg if isinstance(arg, QuotedPath) else quote_segment(arg) for arg in args]
        path = str(template).format(*quoted)
        if not path.startswith("/"):
            raise ValueError("path must start with '/': {0!r}".format(path))
        return self.api_address + path

    def _timeouts(self, timeout):
        # Connecting never needs longer than the configured timeout; reading may (a 3000 s
        # algorithm call), so a call can raise only the read part.
        read = self.timeout if timeout is None else float(timeout)
        return (min(self.timeout, read), read)

    def _refuse_secret_in_url(self, url, params):
        text = url + " " + json.dumps(params, default=str, sort_keys=True) if params else url
        for secret in self._secrets:
            if secret and secret in text:
                raise ClientConfigError("build a request URL", self.cluster,
                                        detail="the API key would appear in the URL",
                                        hint="pass the key only as api_key; never in a path or query.")

    def _prepare(self, method, template, args, action, params):
        url = self.url(template, *args)
        self._refuse_secret_in_url(url, params)
        return url, action or "{0} {1}".format(method, url[len(self.api_address):])

    def redact(self, text):
        return redact(text, self._secrets)

    # ---- attempts ------------------------------------------------------------------------

    def attempts(self, timeout=None, kind=True, within=None, stall=None):
        """A fresh ``retries.Attempts`` for one call of class ``kind`` (``True`` or ``retries.CALL``) whose answer
        may take ``timeout`` s; ``within`` and ``stall`` as ``RetryPolicy.attempts`` takes them."""
        return self.retry_policy.attempts(self._timeouts(timeout)[1], kind, within, stall)

    def retrying(self, attempt, timeout=None):
        """Run a guarded operation: ``attempt(attempts)`` until it succeeds, repeated on transient
        failures under this client's policy. ``attempts.repeated`` / ``attempts.answer_lost`` tell
        the attempt to check first whether an earlier one did the work."""
        return self.attempts(timeout).run(attempt)

    # ---- the one request path --------------------------------------------------------------

    def request(self, method, template, *args, action=None, params=None, body=_NO_BODY, data=None,
                headers=None, stream=False, timeout=None, retry=False, hints=None, ok=_SUCCESS, total=None,
                within=None):
        """Send a request; return the ``requests.Response`` or raise a ``ClusterError``.

        ``body`` is sent as JSON (``None`` too, as ``null``); ``data`` as is (bytes, a file, or
        an iterable of bytes, streamed). ``retry`` is the call's class (see ``retries``): ``True``
        for a call that is safe to repeat, then repeated on transient failures; ``retries.CALL`` for
        an algorithm call, repeated once at most and never after a timeout; ``False`` for one sent
        exactly once. ``hints`` maps a status (int) to a call-specific "what to do". ``total``: seconds
        an attempt waits for its whole answer (not streamed), however slowly it trickles in (the
        timeout bounds each wait for data, which a byte now and then resets). ``within``: a
        ``waiting.Deadline`` after which no repeat starts.
        """
        url, action = self._prepare(method, template, args, action, params)
        headers = dict(headers or {})
        if body is not _NO_BODY:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if retry and not (data is None or isinstance(data, (bytes, bytearray))):
            raise ValueError("request(retry=True) needs a body that can be sent again (bytes); "
                             "stream a body with upload(chunks=<callable>)")

        def attempt():
            if total is not None:
                return self._bounded(total, action, lambda: self._send(
                    method, url, action, params, data, headers, stream, timeout, hints, ok, retry))
            return self._send(method, url, action, params, data, headers, stream, timeout, hints, ok, retry)
        if not retry:
            return attempt()
        return self.attempts(timeout, retry, within).run(lambda _attempts: attempt())

    def _bounded(self, seconds, action, send):
        """``send()``'s answer, or a ``ClusterTimeout`` (a read timeout) when it has not come whole within
        ``seconds``. ``send`` runs in a daemon thread that nothing waits for once the time is up: its
        request ends on its own (its socket's timeout), or with the module's process."""
        done = threading.Event()
        outcome = {}

        def run():
            try:
                outcome["answer"] = send()
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                outcome["error"] = exc  # raised again in the caller's thread
            finally:
                done.set()

        threading.Thread(target=run, name="bounded-request", daemon=True).start()
        if not done.wait(seconds):
            raise ClusterTimeout(action, self.cluster, failure=READ_TIMEOUT,
                                 detail="no whole answer within {0:g} s".format(seconds))
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

    def _send(self, method, url, action, params, data, headers, stream, timeout, hints, ok, retry):
        """One attempt: the response, or a ``ClusterError`` saying what happened."""
        counted = None
        if data is not None and not isinstance(data, (bytes, bytearray)) and not hasattr(data, "read"):
            data = counted = (_Counted if getattr(data, "content_length", None) is None else _CountedSized)(data)
        try:
            response = self._session.request(method, url, params=params, data=data, headers=headers, stream=stream,
                                             timeout=self._timeouts(timeout), verify=self.verify)
        except requests.exceptions.RequestException as exc:
            raise self.transport_error(action, exc, url, timeout, retry=retry,
                                       sent=counted.sent if counted is not None else None) from None
        if response.status_code not in ok:
            try:
                raise self._status_error(action, response, hints, stream)
            finally:
                response.close()
        return response

    def direct_route(self):
        """``(adapter, pool, headers)`` for a benchmark's calls (``call_wire``): the urllib3 pool of the
        session's adapter for the cluster (``None`` behind a proxy: then calls go through ``request``)
        and the headers requests would send. Made again when ``ensure_pool`` replaced the adapter."""
        adapter = self._session.get_adapter(self.api_address)
        route = self._direct
        # A pool the pool manager closed (it keeps a few hosts' pools) is looked up again.
        if route is not None and route[0] is adapter and (route[1] is None or route[1].pool is not None):
            return route
        # What requests resolves before every request: proxies and REQUESTS_CA_BUNDLE for verify=True.
        settings = self._session.merge_environment_settings(self.api_address, {}, False, self.verify, None)
        pool = None
        if not select_proxy(self.api_address, settings["proxies"]):
            probe = requests.Request("GET", self.api_address + "/").prepare()
            pool = adapter.get_connection_with_tls_context(probe, settings["verify"], None, None)
            adapter.cert_verify(pool, self.api_address, settings["verify"], None)
        headers = dict(self._session.headers)
        headers["Authorization"] = self._auth_header
        route = self._direct = (adapter, pool, headers)
        return route

    def transport_error(self, action, exc, url, timeout=None, retry=False, sent=None, received=None,
                        during_answer=False):
        """The ``ClusterError`` for an exception of requests or urllib3: what happened, in words."""
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema, LocationValueError)):
            return ClientConfigError(action, self.cluster, detail=self.redact(describe(root_reason(exc))))
        failure, cause = connection_failure(exc, during_answer)
        why = self.redact(describe(cause))
        if failure == TLS_HANDSHAKE:
            return TLSError(action, self.cluster, certificate=isinstance(cause, ssl.SSLCertVerificationError),
                            detail="the TLS handshake with {0} failed: {1}".format(urlsplit(url).netloc, why))
        detail = failure_detail(failure, cause, why, urlsplit(url).netloc, self._timeouts(timeout), sent,
                                _received(cause, received))
        if not retry and failure in ANSWER_LOST:
            detail += "; not repeated: the request may have been applied, and this call is not safe to repeat"
        elif not retry and failure in TRANSIENT_FAILURES:
            detail += "; not repeated: this call is not safe to repeat"
        error_class = ClusterTimeout if failure in (CONNECT_TIMEOUT, READ_TIMEOUT) else ClusterConnectionError
        return error_class(action, self.cluster, failure=failure, detail=detail)

    def _status_error(self, action, response, hints, stream):
        try:
            if stream:
                # Only the start of a streamed error body: it could be a huge file after all.
                body = next(response.iter_content(ERROR_BODY_LIMIT), b"")
            else:
                body = (response.content or b"")[:ERROR_BODY_LIMIT]
        except requests.exceptions.RequestException:
            body = b""  # the error's body broke off: its status still says what happened
        message, code, error_id = parse_error_body(body)
        if not message:
            # A HEAD answer has no body; clusters put the reason into this header instead.
            message = response.headers.get("X-Error-Message")
        hint = (hints or {}).get(response.status_code)
        error_class = error_class_for_status(response.status_code)
        return error_class(action, self.cluster, status=response.status_code, reason=response.reason,
                           server_message=self.redact(message), server_code=code, error_id=error_id,
                           hint=hint, retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def _json(self, response, action):
        """The answer's JSON (``None`` for an empty body)."""
        content = response.content
        if not content or not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            shown = " ".join(content[:200].decode("utf-8", "replace").split())
            raise InvalidResponse(action, self.cluster, status=response.status_code, reason=response.reason,
                                  detail="expected JSON, got {0}: {1!r}".format(
                                      response.headers.get("Content-Type", "no content type"),
                                      self.redact(shown))) from None

    # ---- verb helpers --------------------------------------------------------------------

    def get_json(self, template, *args, action=None, params=None, retry=True, timeout=None, hints=None, within=None):
        """GET and decode JSON. Reads are safe to repeat (none starting after ``within``, a ``waiting.Deadline``)."""
        response = self.request("GET", template, *args, action=action, params=params, retry=retry,
                                timeout=timeout, hints=hints, within=within)
        return self._json(response, action)

    def post_json(self, template, *args, body=None, action=None, params=None, retry=False,
                  timeout=None, hints=None):
        """POST ``body`` as JSON and decode the JSON answer. Sent once unless the caller classified
        the call as safe to repeat: a POST usually creates or runs something."""
        response = self.request("POST", template, *args, body=body, action=action, params=params,
                                retry=retry, timeout=timeout, hints=hints)
        return self._json(response, action)

    def put_json(self, template, *args, body=None, action=None, params=None, retry=False,
                 timeout=None, hints=None):
        response = self.request("PUT", template, *args, body=body, action=action, params=params,
                                retry=retry, timeout=timeout, hints=hints)
        return self._json(response, action)

    def patch_json(self, template, *args, body=None, action=None, params=None, retry=False,
                   timeout=None, hints=None):
        response = self.request("PATCH", template, *args, body=body, action=action, params=params,
                                retry=retry, timeout=timeout, hints=hints)
        return self._json(response, action)

    def delete(self, template, *args, action=None, params=None, retry=False, missing_ok=False,
               timeout=None, hints=None):
        """DELETE; ``True`` when it was deleted, ``False`` when it was already gone (``missing_ok``),
        which is what an idempotent ``state: absent`` needs.

        With ``retry``, a 404 after an attempt whose answer was lost means that attempt deleted it: ``True``.
        """
        url, action = self._prepare("DELETE", template, args, action, params)
        ok = set(_SUCCESS) | ({404} if missing_ok else set())

        def attempt(attempts):
            response = self._send("DELETE", url, action, params, None, {}, False, timeout, hints, ok, retry)
            response.close()
            if response.status_code == 404:
                return attempts is not None and attempts.answer_lost
            return True

        return self.attempts(timeout).run(attempt) if retry else attempt(None)

    def head(self, template, *args, action=None, retry=True, missing_ok=False, timeout=None, hints=None):
        """HEAD; the response headers (case-insensitive), or ``None`` when missing and ``missing_ok``."""
        ok = set(_SUCCESS) | ({404} if missing_ok else set())
        response = self.request("HEAD", template, *args, action=action, retry=retry, timeout=timeout,
                                hints=hints, ok=ok)
        response.close()
        return None if response.status_code == 404 else response.headers

    def download(self, template, *args, action=None, params=None, retry=True, timeout=None,
                 chunk_size=DEFAULT_CHUNK_SIZE, hints=None, stall=None):
        """GET a body as a ``ByteStream``: the request is made now (errors raise here), the
        body is read chunk by chunk as the caller iterates, so memory stays constant.

        With ``retry``, a body that breaks off is resumed where it stopped (see ``ByteStream``),
        within the same attempts and deadline as the first request; with ``stall`` (a data copy's
        ``retries.Stall``), while bytes have moved within its seconds.
        """
        url, action = self._prepare("GET", template, args, action or "download " + template.format(*args), params)

        def open_from(offset, validator):
            headers = {"Accept": "*/*"}
            if offset:
                headers["Range"] = "bytes={0}-".format(offset)
                headers["If-Range"] = validator
            return self._send("GET", url, action, params, None, headers, True, timeout, hints, _SUCCESS, retry)

        if not retry:
            return ByteStream(self, open_from(0, None), action, url, chunk_size)
        attempts = self.attempts(timeout, stall=stall)
        response = attempts.run(lambda _attempts: open_from(0, None))
        return ByteStream(self, response, action, url, chunk_size, reopen=open_from, attempts=attempts, timeout=timeout)

    def upload(self, template, *args, chunks, action=None, params=None, retry=False, timeout=None,
               content_type="application/octet-stream", hints=None, stall=None):
        """PUT a body streamed from ``chunks`` (an iterable of bytes, e.g. a generator or a
        ``ByteStream`` of another cluster) and decode the JSON answer.

        ``retry=True`` (a PUT of a whole file is safe to repeat) needs ``chunks`` to be a callable
        returning a fresh iterable: a half-sent generator cannot be sent again, so every attempt
        sends the whole body from a new one. A source that fails while it is sent (a download from
        another cluster that could not be resumed) fails the attempt, and the next starts afresh.
        An iterable with a ``content_length`` (int) is sent with that Content-Length, not chunked.
        With ``stall`` (a data copy's ``retries.Stall``, which ``chunks`` tells of every byte moved), no
        attempt starts once no byte has moved for its seconds, however long the copy has taken.
        """
        if retry and not callable(chunks):
            raise ValueError("upload(retry=True) needs chunks to be a callable returning a fresh iterable")
        url, action = self._prepare("PUT", template, args, action, params)

        def attempt(_attempts):
            source = chunks() if callable(chunks) else chunks
            try:
                response = self._send("PUT", url, action, params, _streamable(source),
                                      {"Content-Type": content_type}, False, timeout, hints, _SUCCESS, retry)
                return self._json(response, action)
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()

        return self.attempts(timeout, stall=stall).run(attempt) if retry else attempt(None)


def _streamable(source):
    """What requests streams as is: bytes and files directly (with a length), an iterable with a
    ``content_length`` as chunks with that length, anything else as an iterator of chunks (sent
    with chunked transfer encoding)."""
    if isinstance(source, (bytes, bytearray)) or hasattr(source, "read") or hasattr(source, "content_length"):
        return source
    return iter(source)


def _validator(headers):
    """What identifies this version of a file: its ETag, else its Last-Modified (``None``: neither)."""
    return headers.get("ETag") or headers.get("Last-Modified")


def _length(headers):
    length = headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


class ByteStream:
    """A response body read in chunks as it is iterated; closes the connection when done.

    ``size`` is the Content-Length when the server sent one; ``headers`` the answer's headers.
    With ``reopen`` (the download was safe to repeat), a body that breaks off is resumed where it
    stopped, invisibly to the consumer: with a Range request when the server offers ranges and
    names the version (ETag or Last-Modified, sent as If-Range), else by reading it again and
    skipping what was delivered, checked to be the same file (the same length and validator).
    Each resume counts as an attempt of the download (``restarts`` says how many there were); a
    break that cannot be resumed, or with no attempt left, raises ``ClusterConnectionError``
    saying how much had arrived.
    """

    def __init__(self, client, response, action, url, chunk_size=DEFAULT_CHUNK_SIZE, reopen=None, attempts=None,
                 timeout=None):
        self._client = client
        self._action = action
        self._url = url
        self._chunk_size = chunk_size
        self._reopen = reopen
        self._attempts = attempts
        self._timeout = timeout
        self._skip = 0
        self._resumed_at = 0
        self.bytes_read = 0
        self.restarts = 0
        self._adopt(response)

    def _adopt(self, response):
        self._response = response
        self.headers = response.headers
        self.size = _length(response.headers)
        self._version = _validator(response.headers)
        # Ranges count the bytes sent; with a Content-Encoding they are not the bytes delivered.
        self._ranges = (response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
                        and response.headers.get("Content-Encoding", "identity").strip().lower() in ("", "identity"))

    def __iter__(self):
        try:
            while True:
                try:
                    for chunk in self._response.iter_content(self._chunk_size):
                        if self._skip:
                            skipped = min(self._skip, len(chunk))
                            self._skip -= skipped
                            chunk = chunk[skipped:]
                            if not chunk:
                                continue
                        self.bytes_read += len(chunk)
                        yield chunk
                    return
                except requests.exceptions.RequestException as exc:
                    self._response.close()
                    error = self._client.transport_error(
                        self._action, exc, self._url, self._timeout, retry=self._reopen is not None,
                        received=self.bytes_read, during_answer=True)
                    if self._reopen is None:
                        raise error from None
                    self._resume(error)
        finally:
            self.close()

    def _resume(self, error):
        """Open the body again after ``error``, positioned at ``bytes_read``; raises when it cannot be."""
        offset = self.bytes_read
        if offset and self.size is None:
            raise error.after_attempts(self._attempts.number, "not resumed: the cluster sent no Content-Length")
        if offset > self._resumed_at:
            self._attempts.progressed()
        self._resumed_at = offset
        self._attempts.failed(error)  # raises when no attempt is left; else waits the pause
        ranged = bool(offset and self._ranges and self._version)
        start, version = (offset, self._version) if ranged else (0, None)
        response = self._attempts.run(lambda _attempts: self._reopen(start, version))
        self.restarts += 1
        if not offset:
            self._adopt(response)
            return
        same = _validator(response.headers) == self._version if self._version else True
        if response.status_code == 206 and same and _range_start(response.headers) == (offset, self.size):
            self._skip = 0
        elif response.status_code == 200 and same and _length(response.headers) == self.size:
            self._skip = offset
        else:
            response.close()
            raise ClusterConnectionError(
                self._action, self._client.cluster, failure=BROKEN_ANSWER, attempts=self._attempts.number,
                detail="the connection was reset after {0} bytes of the answer, and read again it is no longer "
                       "the same file ({1} {2}, {3} bytes)".format(offset, response.status_code, response.reason,
                                                                   _length(response.headers)),
                hint="run again once the file is not being written any more.")
        self._response = response

    def close(self):
        self._response.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _range_start(headers):
    """``(first byte, total size)`` of a ``Content-Range: bytes <first>-<last>/<total>`` answer."""
    match = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+)\s*$", headers.get("Content-Range") or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
