"""Make ``ansible_collections.algorithmia.testbench`` importable from the checkout.

The same link ``make collections-link`` creates (git-ignored): tests then import the
collection's code exactly as Ansible does, by its FQCN.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / ".collections"


def ensure_importable():
    link = COLLECTIONS / "ansible_collections" / "algorithmia" / "testbench"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(Path("..", "..", ".."), target_is_directory=True)
        except FileExistsError:  # another pytest worker made it first
            pass
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
