"""The build's last step: load the algorithm as a worker would, without serving.

Every language's runner takes ``--check`` (``localcluster/execution/runner.py`` for Python, the
runners under ``localcluster/execution/runners/`` for the others): the same code a worker starts
with, so a build passes exactly when a worker could start.
"""

from __future__ import annotations

from pathlib import Path

from localcluster.builds.artifacts import STYLE_ADK, STYLE_CLASSIC
from localcluster.builds.processes import BuildTimedOut, ProcessRunner

CHECK_TIMEOUT_SECONDS = 120


class CheckFailed(Exception):
    pass


def detect_style(src_root: Path, name: str) -> tuple[str, Path] | None:
    """Which kind of Python algorithm the commit holds: (style, module file), or None if neither."""
    classic = src_root / "src" / f"{name}.py"
    adk = src_root / "src" / "Algorithm.py"
    if adk.is_file() and (not classic.is_file() or "ADK" in adk.read_text(errors="replace")):
        return STYLE_ADK, adk
    if classic.is_file():
        return STYLE_CLASSIC, classic
    return None


def check_algorithm(runner: ProcessRunner, argv: list[str], src_root: Path, style: str, env: dict) -> None:
    """Run the worker command ``argv`` with ``--check`` in the checkout ``src_root``."""
    runner.log.line(f"Checking that the algorithm loads (execution runner, {style} style)")
    try:
        code, _output = runner.run(list(argv) + ["--check"], cwd=src_root, env=env, timeout=CHECK_TIMEOUT_SECONDS)
    except BuildTimedOut:
        raise CheckFailed(f"The algorithm did not finish loading within {CHECK_TIMEOUT_SECONDS} s "
                          "(does it block at import time, e.g. waiting for input?).") from None
    if code != 0:
        raise CheckFailed(f"The algorithm failed to load (exit code {code}): see the error above.")
