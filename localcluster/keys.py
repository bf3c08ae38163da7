"""What an API key looks like, and keeping keys out of everything the cluster logs.

Keys look like real cluster keys, ``sim`` + 25 letters and digits (about 148 bits of entropy;
the official ``algo auth`` accepts only that shape). A key belongs in an ``Authorization``
header and nowhere else, but clients put keys where they do not belong (a path, a query, an
algorithm's input, which then appears in its error message): ``redact`` replaces anything of a
key's shape, and the request log and the server's own output go through it.
"""

from __future__ import annotations

import re
import secrets
import string

KEY_ALPHABET = string.ascii_letters + string.digits
# A key wherever it starts a word, even with more characters glued to its end.
KEY_RE = re.compile(r"(?<![A-Za-z0-9])sim[A-Za-z0-9]{25}")
REDACTED = "sim<redacted>"


def new_key() -> str:
    return "sim" + "".join(secrets.choice(KEY_ALPHABET) for _position in range(25))


def redact(text: str) -> str:
    return KEY_RE.sub(REDACTED, text)


class RedactingStream:
    """A text stream (the server's stdout or stderr) that writes everything through ``redact``.

    Log handlers write a record per call and tracebacks a line per call, so a key is never split
    between two writes.
    """

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)  # flush, isatty, fileno ... as the real stream
