"""A fresh copy of the checkout, as a new user's clone, and the environment of their login shell.

The README's commands are tested on such a copy (test_readme_inventory.py, test_demo.py): what a
clone holds is what they find, and nothing of the test run leaks into their environment.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.integration.playbook import ROOT, VENV_BIN


def copy_checkout(destination: Path, untracked: bool = False) -> None:
    """The checkout's files as git lists them, their content in the working tree, into a new
    ``destination``: the tracked files, and with ``untracked`` the new ones not ignored too."""
    destination.mkdir()
    listing = "git ls-files -z" + (" --cached --others --exclude-standard" if untracked else "")
    subprocess.run(listing + " | tar --null --files-from=- --ignore-failed-read -cf - | tar -xf - -C " + str(destination),
                   shell=True, cwd=ROOT, check=True)


def fresh_copy(clone: Path) -> None:
    """What a fresh clone holds: the tracked files (their content in the working tree, so that the
    test checks the README being edited, not the last commit's), and no .venv, no .collections.

    .venv is then linked to this checkout's instead of made anew: `make setup` would install the
    same packages from the package index for minutes. Its stamps say the venv was made from these
    requirement files; the copies are dated a second before the stamps, so that `make setup` in the
    copy sees them as installed (newer copies would reinstall them into the shared venv) and does
    the rest of its work, the collection link, as on a fresh clone."""
    copy_checkout(clone)
    assert not (clone / ".collections").exists() and not (clone / ".venv").exists()
    venv = (ROOT / ".venv").resolve()
    stamps = [venv / ".installed-demo", venv / ".installed"]  # the demo's install, then the rest
    assert all(stamp.is_file() for stamp in stamps), "the checkout's .venv was not made by `make setup`: run it first"
    (clone / ".venv").symlink_to(venv)
    before_stamp = min(stamp.stat().st_mtime_ns for stamp in stamps) - 1_000_000_000
    for requirements in clone.glob("requirements*.txt"):
        os.utime(requirements, ns=(before_stamp, before_stamp))


def operator_env(home: Path, prompt: str = "$ ") -> dict:
    """A login's environment: no Ansible settings of the test run, nothing of the venv on PATH, and
    ``prompt`` as its shell prompt."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ANSIBLE_", "ALGORITHMIA_", "PYTEST_")) and name not in (
               "VIRTUAL_ENV", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PYTHONPATH",
               # `make test`'s own: a make started under them is a sub-make ("make[1]: Entering ...")
               "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")}
    venv_bins = {str(VENV_BIN), str(VENV_BIN.resolve()), str((ROOT / ".venv" / "bin").resolve())}
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                                  if part not in venv_bins)
    env.update({"HOME": str(home), "PS1": prompt, "TERM": "dumb",
                # plain text in the log a person reads when this fails; the commands stay the README's
                "ANSIBLE_NOCOLOR": "1"})
    return env
