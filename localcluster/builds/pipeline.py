"""One build, start to finish: commit -> source tree -> the language's build step -> load check.

Everything is written under ``DATA/builds/.tmp-<build_id>`` and renamed to
``DATA/builds/<build_id>`` only once it succeeded, with ``manifest.json`` written last
(see ``localcluster.builds.artifacts``). A failed build leaves no build directory behind,
so it can never be mistaken for, or replace, a good one.

The algorithm's environment decides the language (``localcluster.builds.languages``); the
language's build step says how a worker starts, and the load check starts one that way.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from localcluster.builds import check, languages
from localcluster.builds.artifacts import Runnable, build_path, resolve, worker_env
from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec
from localcluster.builds.processes import ProcessRunner
from localcluster.environments import catalog
from localcluster.gitserver import repos

__all__ = ["BuildFailed", "BuildJob", "run_build"]


@dataclass(frozen=True)
class BuildJob:
    build_id: str
    algorithm_id: str
    owner: str
    name: str
    commit_sha: str
    settings: dict = field(default_factory=dict)

    def environment(self) -> tuple[str, str]:
        """(AEMS language, environment display name) of the algorithm's environment at this build."""
        spec = catalog.find_environment(str(self.settings.get("algorithm_environment") or ""))
        if spec is not None:
            return spec.language, spec.display_name
        language = catalog.LEGACY_LANGUAGES.get(str(self.settings.get("language") or "python3"), "python3")
        return language, catalog.LANGUAGES.get(language, {}).get("display_name", language)


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
    language, environment = job.environment()
    try:
        log.line(f"Building {job.owner}/{job.name} at commit {job.commit_sha} ({language}, {environment})")
        repos.export_commit(repos.repo_path(data_dir, job.owner, job.name), job.commit_sha, work / "src")
        context = BuildContext(owner=job.owner, name=job.name, language=language, environment=environment,
                               work=work, runner=runner, host_python=python)
        spec: WorkerSpec = languages.builder(language)(context)
        base = dict(os.environ)
        base.pop("VIRTUAL_ENV", None)
        base.update(check_env)
        check.check_algorithm(runner, [resolve(arg, work) for arg in spec.argv], work / "src", spec.style,
                              worker_env(base, spec.env, work))
        log.line("Build succeeded.")
        runnable = Runnable(
            algorithm_id=job.algorithm_id, owner=job.owner, name=job.name, git_hash=job.commit_sha,
            build_id=job.build_id, build_dir=final, style=spec.style,
            module_file=final / "src" / spec.main_file, language=language,
            command=tuple(spec.argv), env=dict(spec.env), settings=dict(job.settings))
        (work / "build.log").write_text(log.text())
        (work / "manifest.json").write_text(json.dumps(runnable.to_manifest(), indent=2))
        os.replace(work, final)
        return runnable
    except check.CheckFailed as exc:
        raise BuildFailed(str(exc)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
