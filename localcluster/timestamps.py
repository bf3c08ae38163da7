"""Timestamps as the API writes them: ISO 8601 in UTC, milliseconds, a ``Z``.

The Data API's ``last_modified`` and the algorithm API's build times look the same; the
official client parses exactly ``'%Y-%m-%dT%H:%M:%S.%fZ'``.
"""

from __future__ import annotations

from datetime import datetime, timezone


def api_timestamp(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
