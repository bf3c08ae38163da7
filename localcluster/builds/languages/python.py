"""Python: a venv per build on the host's Python 3, requirements.txt through uv and a shared cache.

The algorithm is ``src/<Name>.py`` defining ``apply(input)`` (classic) or ``src/Algorithm.py``
building an ``ADK`` (see ``localcluster.builds.check.detect_style``); its worker is
``localcluster/execution/runner.py`` on the build's venv python.
"""

from __future__ import annotations

from localcluster.builds import check, installer
from localcluster.builds.artifacts import RUNNER
from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec, in_build
from localcluster.environments.templates import classic_template

starter = classic_template  # a new Python algorithm's files, as real clusters lay them out


def build(context: BuildContext) -> WorkerSpec:
    found = check.detect_style(context.checkout, context.name)
    if found is None:
        raise BuildFailed(f"No algorithm entry point: expected src/{context.name}.py defining apply(input), "
                          "or src/Algorithm.py using the ADK.")
    style, module_file = found
    venv = context.work / "venv"
    try:
        installer.create_venv(context.runner, context.host_python, venv)
        installer.install_requirements(context.runner, venv, context.checkout / "requirements.txt")
    except installer.InstallFailed as exc:
        raise BuildFailed(str(exc)) from None
    return WorkerSpec(
        argv=(in_build(venv / "bin" / "python", context), str(RUNNER), "--style", style,
              "--module-file", in_build(module_file, context)),
        style=style, main_file=module_file.relative_to(context.checkout).as_posix(),
        env={"VIRTUAL_ENV": in_build(venv, context), "PATH": in_build(venv / "bin", context) + ":{PATH}"})
