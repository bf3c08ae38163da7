"""What a build leaves on disk, and what execution needs to run it.

This is the one interface between the build side (``localcluster.builds``, driven by
``localcluster.algorithms``) and the execution side (``localcluster.execution``):

    DATA/repos/<owner>/<name>.git     the algorithm's bare git repository (gitserver.repos.repo_path)
    DATA/builds/<build_id>/           one build of one commit
        src/                          the commit's tree (requirements.txt, src/<Name>.py, ...)
        venv/                         its own virtual environment, requirements installed
        build.log                     the full build log
        manifest.json                 Runnable fields below, written last (a build without it is incomplete)

A build directory is written under a temporary name and renamed into place when complete,
so a crash mid-build never leaves a half-built directory that looks finished.

Both sides run a build with ``RUNNER`` (stdlib only, so any venv's python runs it): the build's
load check as ``RUNNER --check``, a worker as ``RUNNER`` serving calls.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

RUNNER = Path(__file__).resolve().parent.parent / "execution" / "runner.py"

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
    module_file: Path              # the file to load: src/<Name>.py or src/Algorithm.py
    python: Path                   # the build venv's interpreter
    semantic_version: str | None = None
    settings: dict = field(default_factory=dict)  # the algorithm's settings at that version

    @property
    def src_dir(self) -> Path:
        return self.build_dir / "src"

    @cached_property
    def manifest_path(self) -> str:
        """Where the build's manifest is: a build without it is gone (a plain str: checked per call)."""
        return os.path.join(self.build_dir, "manifest.json")

    def to_manifest(self) -> dict:
        data = asdict(self)
        for key in ("build_dir", "module_file", "python"):
            data[key] = str(data[key])
        return data

    @classmethod
    def from_manifest(cls, build_dir: Path, **overrides) -> "Runnable":
        data = json.loads((build_dir / "manifest.json").read_text())
        data.update(overrides)
        data["build_dir"] = Path(data["build_dir"])
        data["module_file"] = Path(data["module_file"])
        data["python"] = Path(data["python"])
        return cls(**data)


def build_path(data_dir: Path, build_id: str) -> Path:
    return Path(data_dir) / "builds" / build_id
