"""What every language's build step is given and what it leaves: the contract between the build
pipeline and a language (``localcluster.builds.languages``).

A language's ``build(context)`` turns the commit's checkout (``context.work / "src"``) into
something a worker can run, logging each step to the build log, and returns a ``WorkerSpec``:
the command that starts a worker speaking the frame protocol of ``localcluster/execution/runner.py``.
The pipeline then runs that command with ``--check`` (load, do not serve) as the build's last
step, so a build succeeds exactly when a worker could start.

Paths in a ``WorkerSpec`` are written with ``{build}`` for the build directory: a build runs in
``DATA/builds/.tmp-<id>`` and is renamed to ``DATA/builds/<id>`` once it succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from localcluster.builds.artifacts import BUILD_DIR
from localcluster.builds.processes import ProcessRunner


class BuildFailed(Exception):
    """The build cannot succeed; the message is the build log's last word on why."""


@dataclass(frozen=True)
class BuildContext:
    owner: str
    name: str                 # the algorithm's name: its main file is named after it
    language: str             # the AEMS language of the algorithm's environment (python3, java11, ...)
    environment: str          # the environment's display name, for the log
    work: Path                # the build directory while building; the checkout is work / "src"
    runner: ProcessRunner     # runs the build's commands into the build log (runner.log.line for notes)
    host_python: str          # the interpreter Python builds make their venvs from

    @property
    def checkout(self) -> Path:
        return self.work / "src"


@dataclass(frozen=True)
class WorkerSpec:
    """How to start a worker of a build: ``argv`` (+ ``--check`` for the load check, + ``--parent-pid
    N`` when serving), in the checkout, with ``env`` added to the worker's environment."""

    argv: tuple[str, ...]
    style: str                # what kind of algorithm: classic, adk, node, java, ruby (the builds table's style)
    main_file: str            # the algorithm's main file, relative to the checkout
    env: dict = field(default_factory=dict)


def in_build(path: Path, context: BuildContext) -> str:
    """``path`` (under the build directory) as a WorkerSpec writes it: relative to ``{build}``."""
    return BUILD_DIR + "/" + Path(path).relative_to(context.work).as_posix()
