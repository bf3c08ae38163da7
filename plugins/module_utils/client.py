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
"""

from __future__ import annotations

import json
import re
import traceback

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    ClientConfigError,
    ClusterConnectionError,
    ClusterTimeout,
    InvalidResponse,
    ServerError,
    TLSError,
    TooManyRequests,
    error_class_for_status,
    redact,
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
    from urllib3.exceptions import MaxRetryError, NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 4
# urllib3 retries the first failure at once, then sleeps about 1, 2, 4 s (factor * 2**(n-1)),
# each plus up to 0.5 s of jitter so that many forks hitting one recovering cluster do not
# retry in lock-step.
DEFAULT_BACKOFF_FACTOR = 0.5
DEFAULT_BACKOFF_MAX = 20.0
# Worth another try: rate limiting and a proxy or load balancer between restarts. A 500 is
# usually a real failure of this very request, so it is reported at once.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
# A server may ask for a pause with Retry-After; more than this is treated as "fail now".
RETRY_AFTER_MAX = 60
DEFAULT_CHUNK_SIZE = 1024 * 1024
ERROR_BODY_LIMIT = 64 * 1024
USER_AGENT = "algorithmia.testbench (ansible collection)"

_NO_BODY = object()
_OBJECT_AT = re.compile(r"<[^<>]* object at 0x[0-9a-f]+>:?\s*")
_SUCCESS = range(200, 300)


def retry_policy(retries=DEFAULT_RETRIES, retry_responses=False,
                 backoff_factor=DEFAULT_BACKOFF_FACTOR, backoff_max=DEFAULT_BACKOFF_MAX):
    """The urllib3 ``Retry`` for one kind of call.

    Connection errors are retried for every call: urllib3 counts as ``connect`` errors only
    failures before the request was sent, so even a POST cannot run twice. Read errors and
    ``RETRY_STATUSES`` are retried only for calls that opted in (``retry_responses``), because
    the server may already have acted on the request.
    """
    options = dict(
        total=retries,
        connect=retries,
        read=retries if retry_responses else 0,
        status=retries if retry_responses else 0,
        other=0,
        status_forcelist=RETRY_STATUSES if retry_responses else None,
        # The caller opted in for this very call, whatever its verb.
        allowed_methods=None,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=backoff_factor,
        respect_retry_after_header=True,
        # The last answer is returned, so it becomes a ClusterError with the server's message.
        raise_on_status=False,
    )
    try:
        return Retry(retry_after_max=RETRY_AFTER_MAX, **options)
    except TypeError:  # urllib3 < 2.4 has no cap on Retry-After
        return Retry(**options)


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


def short_cause(exc):
    """The root reason of a requests/urllib3 exception, without pool and object noise."""
    reason = root_reason(exc)
    text = reason.args[0] if reason.args and isinstance(reason.args[0], str) else str(reason)
    return _OBJECT_AT.sub("", text)[:300]


class AlgorithmiaClient:
    """An API client for one cluster: ``Simple`` key auth, CA handling, timeouts, retries.

    ``api_address`` is the API base URL (``https://api.example.com``); ``ca_cert`` a PEM file
    path or PEM text; ``timeout`` (s) bounds connecting and every wait for data on every call.
    Use as a context manager, or call ``close()``: it removes a temporary CA file.
    """

    def __init__(self, api_address, api_key, ca_cert=None, validate_certs=True,
                 timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
                 backoff_factor=DEFAULT_BACKOFF_FACTOR, backoff_max=DEFAULT_BACKOFF_MAX):
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
        self._ca = CACertificate(ca_cert, validate_certs, self.cluster)
        self.verify = self._ca.verify
        self._retries = retries
        self._backoff = (backoff_factor, backoff_max)
        auth = _SimpleKeyAuth(key)
        self._sessions = {
            opted_in: self._new_session(auth, retry_policy(retries, opted_in, backoff_factor, backoff_max))
            for opted_in in (False, True)
        }

    def _new_session(self, auth, policy):
        session = requests.Session()
        session.auth = auth
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        # Only a default: requests lets REQUESTS_CA_BUNDLE override a session's verify, so
        # every request passes verify= explicitly as well (see request()).
        session.verify = self.verify
        adapter = HTTPAdapter(max_retries=policy)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def __repr__(self):
        return "AlgorithmiaClient({0})".format(getattr(self, "api_address", "not set up"))

    def close(self):
        for session in self._sessions.values():
            session.close()
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

    def redact(self, text):
        return redact(text, self._secrets)

    # ---- the one request path --------------------------------------------------------------

    def request(self, method, template, *args, action=None, params=None, body=_NO_BODY, data=None,
                headers=None, stream=False, timeout=None, retry=False, hints=None, ok=_SUCCESS):
        """Send one request; return the ``requests.Response`` or raise a ``ClusterError``.

        ``body`` is sent as JSON (``None`` too, as ``null``); ``data`` as is (bytes, a file, or
        an iterable of bytes, streamed). ``retry=True`` opts this call into retries of read
        errors and of 429/502/503/504; connection errors are always retried. ``hints`` maps a
        status (int) to a call-specific "what to do" for the error text.
        """
        url = self.url(template, *args)
        action = action or "{0} {1}".format(method, url[len(self.api_address):])
        self._refuse_secret_in_url(url, params)
        headers = dict(headers or {})
        if body is not _NO_BODY:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        session = self._sessions[bool(retry)]
        # urllib3 retries only until the headers arrive; a body that breaks off after them is
        # retried here, for opted-in calls whose body can be sent again.
        replayable = data is None or isinstance(data, (bytes, bytearray))
        policy = retry_policy(self._retries, True, *self._backoff) if retry and replayable and not stream else None
        while True:
            try:
                response = session.request(method, url, params=params, data=data, headers=headers, stream=stream,
                                           timeout=self._timeouts(timeout), verify=self.verify)
            except requests.exceptions.ChunkedEncodingError as exc:
                if policy is None:
                    raise self._transport_error(action, exc, timeout) from None
                try:
                    policy = policy.increment(method=method, url=url)
                except MaxRetryError:
                    raise self._transport_error(action, exc, timeout) from None
                policy.sleep()
                continue
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(action, exc, timeout) from None
            break
        if response.status_code not in ok:
            try:
                raise self._status_error(action, response, hints, stream)
            finally:
                response.close()
        return response

    def _transport_error(self, action, exc, timeout):
        cause = self.redact(short_cause(exc))
        reason = root_reason(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return TLSError(action, self.cluster, detail="TLS failed: " + cause)
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return ClusterConnectionError(
                action, self.cluster, detail="the answer broke off: " + cause,
                hint="retry; if it keeps happening, check the cluster's load and any proxy in between.")
        # NewConnectionError is a ConnectTimeoutError to urllib3, but "refused" is no timeout.
        timed_out = isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError)
        if isinstance(exc, requests.exceptions.Timeout) or timed_out:
            waited = self._timeouts(timeout)[1]
            return ClusterTimeout(action, self.cluster,
                                  detail="no answer within {0:g} s ({1})".format(waited, cause))
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema)):
            return ClientConfigError(action, self.cluster, detail=cause)
        return ClusterConnectionError(action, self.cluster, detail=cause)

    def _status_error(self, action, response, hints, stream):
        if stream:
            # Only the start of a streamed error body: it could be a huge file after all.
            body = next(response.iter_content(ERROR_BODY_LIMIT), b"")
        else:
            body = (response.content or b"")[:ERROR_BODY_LIMIT]
        message, code, error_id = parse_error_body(body)
        if not message:
            # A HEAD answer has no body; clusters put the reason into this header instead.
            message = response.headers.get("X-Error-Message")
        retries = getattr(response.raw, "retries", None)
        attempts = len(retries.history) + 1 if retries is not None and retries.history else None
        hint = (hints or {}).get(response.status_code)
        error_class = error_class_for_status(response.status_code)
        return error_class(action, self.cluster, status=response.status_code, reason=response.reason,
                           server_message=self.redact(message), server_code=code, error_id=error_id,
                           hint=hint, attempts=attempts)

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

    def get_json(self, template, *args, action=None, params=None, retry=True, timeout=None, hints=None):
        """GET and decode JSON. Reads retry by default: they change nothing."""
        response = self.request("GET", template, *args, action=action, params=params, retry=retry,
                                timeout=timeout, hints=hints)
        return self._json(response, action)

    def post_json(self, template, *args, body=None, action=None, params=None, retry=False,
                  timeout=None, hints=None):
        """POST ``body`` as JSON and decode the JSON answer. No response retries unless asked:
        a POST usually creates or runs something."""
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
        """DELETE; ``True`` when something was deleted, ``False`` when it was already gone
        (``missing_ok``), which is what an idempotent ``state: absent`` needs."""
        ok = set(_SUCCESS) | ({404} if missing_ok else set())
        response = self.request("DELETE", template, *args, action=action, params=params, retry=retry,
                                timeout=timeout, hints=hints, ok=ok)
        response.close()
        return response.status_code != 404

    def head(self, template, *args, action=None, retry=True, missing_ok=False, timeout=None, hints=None):
        """HEAD; the response headers (case-insensitive), or ``None`` when missing and ``missing_ok``."""
        ok = set(_SUCCESS) | ({404} if missing_ok else set())
        response = self.request("HEAD", template, *args, action=action, retry=retry, timeout=timeout,
                                hints=hints, ok=ok)
        response.close()
        return None if response.status_code == 404 else response.headers

    def download(self, template, *args, action=None, params=None, retry=True, timeout=None,
                 chunk_size=DEFAULT_CHUNK_SIZE, hints=None):
        """GET a body as a ``ByteStream``: the request is made now (errors raise here), the
        body is read chunk by chunk as the caller iterates, so memory stays constant."""
        response = self.request("GET", template, *args, action=action, params=params, retry=retry,
                                timeout=timeout, hints=hints, stream=True,
                                headers={"Accept": "*/*"})
        return ByteStream(self, response, action or "download " + response.url, chunk_size)

    def upload(self, template, *args, chunks, action=None, params=None, retry=False, timeout=None,
               content_type="application/octet-stream", hints=None):
        """PUT a body streamed from ``chunks`` (an iterable of bytes, e.g. a generator or a
        ``ByteStream`` of another cluster) and decode the JSON answer.

        ``retry=True`` needs ``chunks`` to be a callable returning a fresh iterable: a half-sent
        generator cannot be sent again, so the whole upload is repeated from a new one.
        """
        if retry and not callable(chunks):
            raise ValueError("upload(retry=True) needs chunks to be a callable returning a fresh iterable")
        policy = retry_policy(self._retries, True, *self._backoff) if retry else None
        while True:
            source = chunks() if callable(chunks) else chunks
            try:
                response = self.request("PUT", template, *args, action=action, params=params,
                                        data=_streamable(source), timeout=timeout, hints=hints,
                                        headers={"Content-Type": content_type})
                return self._json(response, action)
            except (ServerError, TooManyRequests, ClusterConnectionError) as exc:
                retryable = not isinstance(exc, TLSError) and (exc.status is None or exc.status in RETRY_STATUSES)
                if policy is None or not retryable:
                    raise
                try:
                    policy = policy.increment(method="PUT", url=self.url(template, *args))
                except MaxRetryError:
                    raise exc from None
                policy.sleep()
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()


def _streamable(source):
    """What requests streams as is: bytes and files directly (with a length), anything else
    as an iterator of chunks (sent with chunked transfer encoding)."""
    if isinstance(source, (bytes, bytearray)) or hasattr(source, "read"):
        return source
    return iter(source)


class ByteStream:
    """A response body read in chunks as it is iterated; closes the connection when done.

    ``size`` is the Content-Length when the server sent one; ``headers`` the answer's headers.
    A connection that breaks mid-way raises ``ClusterConnectionError`` saying how much arrived.
    """

    def __init__(self, client, response, action, chunk_size=DEFAULT_CHUNK_SIZE):
        self._client = client
        self._response = response
        self._action = action
        self._chunk_size = chunk_size
        self.headers = response.headers
        length = response.headers.get("Content-Length")
        self.size = int(length) if length and length.isdigit() else None
        self.bytes_read = 0

    def __iter__(self):
        try:
            for chunk in self._response.iter_content(self._chunk_size):
                self.bytes_read += len(chunk)
                yield chunk
        except requests.exceptions.RequestException as exc:
            raise ClusterConnectionError(
                self._action, self._client.cluster,
                detail="the transfer broke off after {0} bytes: {1}".format(
                    self.bytes_read, self._client.redact(short_cause(exc))),
                hint="retry; if it keeps breaking, check the network path and the cluster's load.") from None
        finally:
            self.close()

    def close(self):
        self._response.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
