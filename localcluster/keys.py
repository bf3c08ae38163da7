"""What an API key looks like, and keeping keys out of everything the cluster logs.

Keys look like real cluster keys, ``sim`` + 25 letters and digits (about 148 bits of entropy;
the official ``algo auth`` accepts only that shape). A key belongs in an ``Authorization``
header and nowhere else, but clients put keys where they do not belong (a path, a query, an
algorithm's input, which then appears in its error message): ``redact`` replaces anything of a
key's shape, and the request log and the server's own output go through it.
"""

from __future__ import annotations

import os
import re
import string

KEY_ALPHABET = string.ascii_letters + string.digits
# A key wherever it starts a word, even with more characters glued to its end.
KEY_RE = re.compile(r"(?<![A-Za-z0-9])sim[A-Za-z0-9]{25}")
REDACTED = "sim<redacted>"


# Random bytes below this map evenly onto the alphabet (4 x 62); the rest are drawn again.
_UNBIASED = 256 - 256 % len(KEY_ALPHABET)


def new_key() -> str:
    """25 uniform draws from the alphabet out of the OS's CSPRNG, as ``secrets.choice`` would make
    them, but from one read of random bytes: every algorithm call mints a key."""
    chars: list[str] = []
    while len(chars) < 25:
        chars.extend(KEY_ALPHABET[b % len(KEY_ALPHABET)] for b in os.urandom(32) if b < _UNBIASED)
    return "sim" + "".join(chars[:25])


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
