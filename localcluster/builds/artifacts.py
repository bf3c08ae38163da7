"""What a build leaves on disk, and what execution needs to run it.

This is the one interface between the build side (``localcluster.builds``, driven by
``localcluster.algorithms``) and the execution side (``localcluster.execution``):

    DATA/repos/<owner>/<name>.git     the algorithm's bare git repository (gitserver.repos.repo_path)
    DATA/builds/<build_id>/           one build of one commit
        src/                          the commit's tree (requirements.txt, src/<Name>.py, ...), with what
                                      the language's build added (node_modules/, classes/, ...)
        venv/                         Python only: its own virtual environment, requirements installed
        build.log                     the full build log
        manifest.json                 Runnable fields below, written last (a build without it is incomplete)

A build directory is written under a temporary name and renamed into place when complete,
so a crash mid-build never leaves a half-built directory that looks finished.

Both sides start a build's runner with the same command (``Runnable.command``, which the
language's build step chose: ``RUNNER`` on the venv's python for Python, ``runners/<language>``
for the others): the build's load check with ``--check``, a worker serving calls without.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "execution" / "runner.py"
BUILD_DIR = "{build}"  # in Runnable.command and .env: the build directory

# The two algorithm styles a build may contain.
STYLE_CLASSIC = "classic"  # src/<Name>.py defines apply(input) (and optionally load())
STYLE_ADK = "adk"          # src/Algorithm.py builds ADK(apply, load) and calls .init(...)


@dataclass(frozen=True)
class Runnable:
    """A built, callable version of an algorithm."""

    algorithm_id: str
    owner: str
    name: str
    git_hash: str
    build_id: str
    build_dir: Path
    style: str                     # STYLE_CLASSIC or STYLE_ADK
    module_file: Path              # the algorithm's main file: src/<Name>.py, src/Algorithm.py, src/<Name>.js ...
    language: str = "python3"      # the AEMS language it was built for
    command: tuple = ()            # how a worker starts, "{build}" standing for build_dir (languages.base)
    env: dict = field(default_factory=dict)  # the worker's own variables, "{build}" and "{PATH}" as in command
    semantic_version: str | None = None
    settings: dict = field(default_factory=dict)  # the algorithm's settings at that version

    def worker_command(self) -> list[str]:
        return [resolve(arg, self.build_dir) for arg in self.command]

    @property
    def src_dir(self) -> Path:
        return self.build_dir / "src"

    @cached_property
    def manifest_path(self) -> str:
        """Where the build's manifest is: a build without it is gone (a plain str: checked per call)."""
        return os.path.join(self.build_dir, "manifest.json")

    def to_manifest(self) -> dict:
        data = asdict(self)
        for key in ("build_dir", "module_file"):
            data[key] = str(data[key])
        data["command"] = list(self.command)
        return data

    @classmethod
    def from_manifest(cls, build_dir: Path, **overrides) -> "Runnable":
        data = json.loads((build_dir / "manifest.json").read_text())
        data.update(overrides)
        data["build_dir"] = Path(data["build_dir"])
        data["module_file"] = Path(data["module_file"])
        data["command"] = tuple(data.get("command") or ())
        return cls(**data)


def build_path(data_dir: Path, build_id: str) -> Path:
    return Path(data_dir) / "builds" / build_id


def resolve(value: str, build_dir: Path) -> str:
    """``value`` of a Runnable's command or env with ``{build}`` filled in."""
    return value.replace(BUILD_DIR, str(build_dir))


def worker_env(base: dict, own: dict, build_dir: Path) -> dict:
    """``base`` plus a build's own variables ``own``, with ``{build}`` filled in and ``{PATH}``
    standing for base's PATH (a build prepends its bin directory)."""
    env = dict(base)
    for key, value in own.items():
        env[key] = resolve(value, build_dir).replace("{PATH}", base.get("PATH", ""))
    return env
