"""Private temporary directories for the processes a cluster starts: algorithm workers, build steps.

Programs delete their temporary files at a normal exit, and these processes are killed
(timeouts, idle reaping, shutdown): whatever they wrote to the system's temp dir stayed there
for good. Under TLS the official client inside every worker alone wrote a 230 KB CA bundle per
client. So each such process gets a directory of its own, ``<data dir>/tmp/<kind>/<id>/`` (mode
0700), as ``TMPDIR``, ``TEMP`` and ``TMP``. Its owner removes it once the process has ended,
however it ended, and a starting server empties the roots a killed one left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

VARIABLES = ("TMPDIR", "TEMP", "TMP")


def fresh_root(root: Path) -> Path:
    """``root``, created empty: what an earlier server left in it is gone (that server is dead)."""
    remove(root)
    root.mkdir(parents=True, mode=0o700)
    return root


def private_dir(root: Path, prefix: str) -> Path:
    """A new directory under ``root`` that only this user can enter."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def with_tmp(env: Mapping[str, str], tmp: Path) -> dict:
    """``env`` with ``tmp`` as the temporary directory of every common convention."""
    return dict(env, **{name: str(tmp) for name in VARIABLES})


def remove(path: Path) -> None:
    """Remove a tree, even one its process made read-only; a missing one is fine."""

    def allow_and_retry(function, failed, _exc_info):
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            function(failed)
        except OSError:
            pass  # gone meanwhile, or not ours: nothing more to do

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=allow_and_retry)
