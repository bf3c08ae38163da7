# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files that are either the old version or the new one, never half-written.

Reports and ratchet histories are read by people and tools while runs write them, and a run can
be killed at any moment: each is written whole to a temporary file in the same directory (a
rename never crosses filesystems), flushed to disk, then renamed over the old one.
"""

from __future__ import annotations

import os
import tempfile


def write_text_atomically(path, text, mode=0o644):
    """Replace ``path`` with ``text`` (UTF-8) in one rename; the file gets ``mode``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
