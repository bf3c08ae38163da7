# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The errors a task can end in: ``ClusterError`` for a call to a cluster, ``TaskFailed`` for
everything else a module explains itself.

Every cluster error reads "Failed to <verb> <object> on cluster <address>: <status>, server said
"<message>". Fix: <what to do>", so a failed task tells the operator what broke, where, and
what to try. The API key is never stored on an error: the client redacts it from every text
before the error is built.
"""

from __future__ import annotations

import re

# What happened to a connection, as ``ClusterConnectionError.failure``: told apart by the exception
# chain in client.py (``connection_failure``); retries.py says which are worth another attempt.
REFUSED = "refused"              # nothing accepted the connection: the request was not sent
UNREACHABLE = "unreachable"      # no route, network down: not sent
UNRESOLVED = "unresolved"        # the host name did not resolve: not sent
CONNECT_TIMEOUT = "connect-timeout"  # no connection within the timeout: not sent
TLS_HANDSHAKE = "tls-handshake"  # the certificate or the protocol was refused: not sent, and never retried
RESET = "reset"                  # the connection broke while the request was sent or its answer awaited
READ_TIMEOUT = "read-timeout"    # the request was sent, no answer within the timeout
BROKEN_ANSWER = "broken-answer"  # the answer broke off after part of its body
OTHER = "other"                  # anything else (a protocol error, a redirect loop): not retried
# The request may have reached the cluster and been applied, though its answer was lost.
ANSWER_LOST = frozenset((RESET, READ_TIMEOUT, BROKEN_ANSWER))

# What to do, by kind of failure. A call may pass a more precise hint of its own.
HINTS = {
    "BadRequest": "the cluster rejected the request; check the values the server message names.",
    "AuthError401": ("check api_key: it must be a valid, unrevoked API key of this cluster "
                     "(keys are per cluster; a key of another cluster does not work here)."),
    "AuthError403": ("the API key lacks a permission this call needs: use a management-capable key "
                     "of the user that owns the algorithm or collection (or an admin key)."),
    "NotFound": ("check that the name or path exists on this cluster and is spelled exactly "
                 "(names are case sensitive)."),
    "Conflict": "it already exists or is in a state that does not allow this; inspect it on the cluster.",
    "RefRejected": ("another push to this repository was applied at the same moment (another run or person); "
                    "run again: it builds on the new master."),
    "TooManyRequests": "the cluster is rate limiting; lower the concurrency or retry later.",
    "ServerError": ("the cluster failed internally; retry later, and give the error id to the "
                    "cluster's operators if it persists."),
    "InvalidResponse": ("the address answered, but not like an Algorithmia API; check that api_address "
                        "is the API URL (often https://api.<domain>), not the web console."),
    "ClusterConnectionError": ("check api_address (scheme, host, port) and that the cluster is reachable "
                               "from this machine (proxy settings, firewall)."),
    "ConnectionBroke": ("run again; if it keeps happening, check the cluster's load and any proxy or load balancer "
                        "between this machine and the cluster."),
    "ClusterTimeout": "the cluster did not answer in time; raise timeout or check the cluster's load.",
    "TLSError": ("set ca_cert to the CA certificate that signed the cluster's certificate (a file path "
                 "or the PEM text), or validate_certs=false for a throwaway test cluster."),
    "TLSProtocol": ("check the scheme of api_address (https only where the cluster serves TLS) and that the "
                    "cluster accepts TLS 1.2 or newer."),
    "ClientConfigError": "fix the connection options (api_address, api_key, ca_cert, timeout).",
}


# The connection options a hint may name, with a value it suggests ("validate_certs=false").
OPTION_WORDS = re.compile(r"\b(api_address|api_key|ca_cert|validate_certs|timeout)\b(=\w+)?")


class ClusterError(Exception):
    """A call to a cluster failed (or could not be made). Subclasses say why."""

    def __init__(self, action, cluster, status=None, reason=None, server_message=None,
                 server_code=None, error_id=None, hint=None, detail=None, attempts=None,
                 failure=None, retry_after=None):
        self.action = action
        self.cluster = cluster
        self.status = status
        self.reason = reason
        self.server_message = server_message
        self.server_code = server_code
        self.error_id = error_id
        # ``failure``: what happened to the connection (see the constants above), None for an answer.
        self.failure = failure
        # Seconds the server asked to wait (Retry-After), for the retry policy.
        self.retry_after = retry_after
        self.hint = hint or self.default_hint()
        self.detail = detail
        self.attempts = attempts
        self.stopped = None  # why no further attempt started, when retries were left
        # Set when a retry loop gave up on this error: an outer loop (an upload fed by this
        # download) must not repeat what was repeated enough already.
        self.exhausted = False
        super().__init__(self.message())

    def default_hint(self):
        return HINTS.get(type(self).__name__, HINTS["ClientConfigError"])

    def message(self):
        cause = []
        if self.status is not None:
            cause.append("{0} {1}".format(self.status, self.reason or "").strip())
        if self.server_message:
            said = 'server said "{0}"'.format(self.server_message)
            extra = []
            if self.server_code is not None:
                extra.append("code {0}".format(self.server_code))
            if self.error_id:
                extra.append("error id {0}".format(self.error_id))
            if extra:
                said += " ({0})".format(", ".join(extra))
            cause.append(said)
        if self.detail:
            cause.append(self.detail)
        if self.attempts and self.attempts > 1:
            cause.append("after {0} attempts{1}".format(
                self.attempts, " ({0})".format(self.stopped) if self.stopped else ""))
        elif self.stopped:
            cause.append(self.stopped)
        where = " on cluster {0}".format(self.cluster) if self.cluster else ""
        return "Failed to {0}{1}: {2}. Fix: {3}".format(
            self.action, where, ", ".join(cause) or "no answer", self.hint)

    def naming(self, names):
        """This error, its fix naming the options as the task that failed spells them: ``names`` maps
        each connection option (``ca_cert``) to ``(the module's option, the role's variable)``, such
        as ``("source_ca_cert", "testbench_source_ca_cert")``: an operator of the role learns the
        variable to set, a user of the module its option."""
        def spelled(found):
            option, variable = names.get(found.group(1), (found.group(1), None))
            text = option + (found.group(2) or "")
            return "{0} ({1} in the testbench role)".format(text, variable) if variable else text

        self.hint = OPTION_WORDS.sub(spelled, self.hint)
        self.args = (self.message(),)
        return self

    def after_attempts(self, attempts, stopped=None):
        """This error, its message saying how many attempts were made and, when retries were left,
        why no other started (``stopped``)."""
        self.attempts = max(attempts, self.attempts or 0)
        if stopped:
            self.stopped = stopped
        self.args = (self.message(),)
        return self

    def as_dict(self):
        """The facts of the failure, for a module's result (never holds the key)."""
        return {
            "kind": type(self).__name__,
            "action": self.action,
            "cluster": self.cluster,
            "status": self.status,
            "server_message": self.server_message,
            "server_code": self.server_code,
            "error_id": self.error_id,
            "hint": self.hint,
            "failure": self.failure,
            "attempts": self.attempts or 1,
        }


class TaskFailed(Exception):
    """A failure a module explains itself: bad input, a source it refuses, a failed build or test.

    The message says what failed, where and what to do, like a ``ClusterError``'s. ``facts``
    go into the task's result beside the work done so far (``build_log``, ``test``...). Raised
    anywhere below a module's ``main()``; ``ClusterModule.reporting()`` is the one place that
    turns it (and every other failure) into ``fail_json``.
    """

    def __init__(self, message, **facts):
        super().__init__(message)
        self.facts = facts


class ClientConfigError(ClusterError):
    """The connection options are unusable; raised before any request is sent."""


class BadRequest(ClusterError):
    """400 / 422: the request was invalid."""


class AuthError(ClusterError):
    """401 (unknown key) or 403 (key lacks the permission)."""

    def default_hint(self):
        return HINTS["AuthError403"] if self.status == 403 else HINTS["AuthError401"]


class NotFound(ClusterError):
    """404: the algorithm, version, build, file or collection does not exist."""


class Conflict(ClusterError):
    """409: it exists already, or its state forbids the change."""


class RefRejected(Conflict):
    """A git push the cluster refused inside the git protocol because another push held the ref or
    moved it meanwhile (``ng refs/heads/master failed to lock``): lost a race, so worth another
    attempt, which reads master again first (retries.py)."""


class TooManyRequests(ClusterError):
    """429: rate limited."""


class ServerError(ClusterError):
    """5xx: the cluster failed."""


class InvalidResponse(ClusterError):
    """The answer was not what the API documents (not JSON, unexpected status)."""


class ClusterConnectionError(ClusterError):
    """No usable answer: refused, reset, DNS failure, interrupted stream (``failure`` says which)."""

    def default_hint(self):
        if self.failure in ANSWER_LOST:
            return HINTS["ConnectionBroke"]
        return HINTS["ClusterConnectionError"]


class ClusterTimeout(ClusterConnectionError):
    """No connection, or no answer, within the timeout."""

    def default_hint(self):
        return HINTS["ClusterTimeout"]


class TLSError(ClusterConnectionError):
    """The TLS handshake failed: an unknown CA or host name, or no protocol both sides speak.

    A connection that breaks after the handshake is a ``ClusterConnectionError``, not this.
    """

    def __init__(self, action, cluster, certificate=True, **kwargs):
        self.certificate = certificate
        kwargs.setdefault("failure", TLS_HANDSHAKE)
        super().__init__(action, cluster, **kwargs)

    def default_hint(self):
        return HINTS["TLSError"] if self.certificate else HINTS["TLSProtocol"]


_BY_STATUS = {400: BadRequest, 401: AuthError, 403: AuthError, 404: NotFound, 409: Conflict,
              410: NotFound, 422: BadRequest, 429: TooManyRequests}


def error_class_for_status(status):
    """The error type for an HTTP status that is not a success."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return BadRequest
    return InvalidResponse


def redact(text, secrets):
    """``text`` with every secret replaced: server messages may echo what they were sent.

    Secrets shorter than 4 characters are not keys anyone uses; replacing them would garble
    every message (and a key that short is guessable anyway).
    """
    if text is None:
        return None
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "********")
    return text
