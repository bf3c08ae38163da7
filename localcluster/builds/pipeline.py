"""One build, start to finish: commit -> source tree -> venv -> requirements -> load check.

Everything is written under ``DATA/builds/.tmp-<build_id>`` and renamed to
``DATA/builds/<build_id>`` only once it succeeded, with ``manifest.json`` written last
(see ``localcluster.builds.artifacts``). A failed build leaves no build directory behind,
so it can never be mistaken for, or replace, a good one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from localcluster.builds import check, installer
from localcluster.builds.artifacts import Runnable, build_path
from localcluster.builds.processes import ProcessRunner
from localcluster.gitserver import repos


@dataclass(frozen=True)
class BuildJob:
    build_id: str
    algorithm_id: str
    owner: str
    name: str
    commit_sha: str
    settings: dict = field(default_factory=dict)


class BuildFailed(Exception):
    pass


def temp_path(data_dir: Path, build_id: str) -> Path:
    return Path(data_dir) / "builds" / f".tmp-{build_id}"


def run_build(job: BuildJob, runner: ProcessRunner, *, data_dir: Path, python: str,
              check_env: dict) -> Runnable:
    """Build ``job``; returns its Runnable, or raises BuildFailed (the log says why)."""
    log = runner.log
    final = build_path(data_dir, job.build_id)
    work = temp_path(data_dir, job.build_id)
    shutil.rmtree(work, ignore_errors=True)
    (work / "src").mkdir(parents=True)
    try:
        log.line(f"Building {job.owner}/{job.name} at commit {job.commit_sha}")
        repos.export_commit(repos.repo_path(data_dir, job.owner, job.name), job.commit_sha, work / "src")
        found = check.detect_style(work / "src", job.name)
        if found is None:
            raise BuildFailed(f"No algorithm entry point: expected src/{job.name}.py defining apply(input), "
                              "or src/Algorithm.py using the ADK.")
        style, module_file = found
        installer.create_venv(runner, python, work / "venv")
        installer.install_requirements(runner, work / "venv", work / "src" / "requirements.txt")
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env.update(check_env)
        check.check_algorithm(runner, work / "venv" / "bin" / "python", work / "src", style, module_file, env)
        log.line("Build succeeded.")
        runnable = Runnable(
            algorithm_id=job.algorithm_id, owner=job.owner, name=job.name, git_hash=job.commit_sha,
            build_id=job.build_id, build_dir=final, style=style,
            module_file=final / "src" / module_file.relative_to(work / "src"),
            python=final / "venv" / "bin" / "python", settings=dict(job.settings))
        (work / "build.log").write_text(log.text())
        (work / "manifest.json").write_text(json.dumps(runnable.to_manifest(), indent=2))
        os.replace(work, final)
        return runnable
    except (installer.InstallFailed, check.CheckFailed) as exc:
        raise BuildFailed(str(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
