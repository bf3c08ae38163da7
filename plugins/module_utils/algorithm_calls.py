# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who the key belongs to, and calling an algorithm: shared by algo_build_publish and algo_benchmark."""

from __future__ import annotations

import json
import time

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClusterError, InvalidResponse

# The HTTP read waits this much longer than the call's own timeout, so the cluster's answer
# ("timed out after N s") arrives instead of a bare read timeout of our own.
READ_TIMEOUT_MARGIN = 30
MAX_CALL_TIMEOUT = 3000


def key_user(client):
    """The user the API key belongs to: the Data API root lists exactly that user's folder
    (what the seed tool did to learn its ``algorithm_owner``)."""
    listing = client.get_json("/v1/connector/data/", action="list the Data API root (to learn the key's user)")
    folders = (listing or {}).get("folders") or []
    if len(folders) != 1 or not isinstance(folders[0], dict) or not folders[0].get("name"):
        raise InvalidResponse("learn the key's user from the Data API root", client.cluster,
                              detail="expected one folder named after the user, got {0}".format(
                                  json.dumps(folders)[:200]),
                              hint="set owner explicitly.")
    return str(folders[0]["name"])


def request_body(payload):
    """``(bytes, content type)`` as the official client's ``pipe()`` sends them: a string as
    text, bytes as binary, anything else as JSON."""
    if isinstance(payload, str):
        return payload.encode("utf-8"), "text/plain"
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload), "application/octet-stream"
    return json.dumps(payload).encode("utf-8"), "application/json"


class CallOutcome:
    """One call: ``ok``, ``result`` (when ok), ``error`` (a message when not), ``duration_ms``
    (as the controller measured it) and the cluster's own ``metadata``."""

    def __init__(self, ok, duration_ms, result=None, error=None, error_type=None, metadata=None):
        self.ok = ok
        self.duration_ms = duration_ms
        self.result = result
        self.error = error
        self.error_type = error_type
        self.metadata = metadata or {}


def _algorithm_error(error):
    if not isinstance(error, dict):
        return str(error), None
    message = str(error.get("message") or "the algorithm failed without a message")
    trace = error.get("stacktrace") or error.get("stack_trace")
    if trace:
        lines = str(trace).rstrip().splitlines()[-8:]
        message += "\n" + "\n".join(lines)
    return message, error.get("error_type")


def call_algorithm(client, owner, name, version, payload, timeout, clock=time.monotonic):
    """Call ``/v1/algo/<owner>/<name>/<version>`` once; a ``CallOutcome`` (never raises for a
    failed call: an error answer, a refusal or a timeout is an outcome with ``ok`` false)."""
    data, content_type = request_body(payload)
    template = "/v1/algo/{0}/{1}/{2}" if version else "/v1/algo/{0}/{1}"
    args = (owner, name, version) if version else (owner, name)
    action = "call {0}/{1}{2}".format(owner, name, "/" + str(version) if version else "")
    started = clock()
    try:
        response = client.request("POST", template, *args, action=action, params={"timeout": int(timeout)},
                                  data=data, headers={"Content-Type": content_type},
                                  timeout=timeout + READ_TIMEOUT_MARGIN)
        body = response.content
    except ClusterError as exc:
        return CallOutcome(False, (clock() - started) * 1000.0, error=str(exc), error_type=type(exc).__name__)
    duration_ms = (clock() - started) * 1000.0
    try:
        document = json.loads(body)
    except ValueError:
        return CallOutcome(False, duration_ms, error="the answer was not JSON: {0!r}".format(
            client.redact(body[:200].decode("utf-8", "replace"))), error_type="InvalidResponse")
    if not isinstance(document, dict):
        return CallOutcome(False, duration_ms, error="unexpected answer {0!r}".format(document),
                           error_type="InvalidResponse")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    if "error" in document:
        message, error_type = _algorithm_error(document["error"])
        return CallOutcome(False, duration_ms, error=client.redact(message), error_type=error_type,
                           metadata=metadata)
    return CallOutcome(True, duration_ms, result=document.get("result"), metadata=metadata)
