"""The build's last step: load the algorithm in its own venv, as a worker would, without serving.

If the execution side's ``localcluster/execution/runner.py`` offers ``--check``, it does the
loading, so a build passes exactly when a worker could start. Otherwise a plain import of the
module (``src.<Name>`` / ``src.Algorithm``) stands in; for ADK algorithms ``ADK.init`` is made a
no-op first, because at import time it would run the local payload or read stdin forever.
"""

from __future__ import annotations

from pathlib import Path

from localcluster.algorithms.artifacts import STYLE_ADK, STYLE_CLASSIC
from localcluster.builds.processes import BuildTimedOut, ProcessRunner

CHECK_TIMEOUT_SECONDS = 120
RUNNER = Path(__file__).resolve().parent.parent / "execution" / "runner.py"

PLAIN_IMPORT = r"""
import importlib, os, sys
root, module, style = sys.argv[1:4]
sys.path.insert(0, root)
os.chdir(root)
if style == "adk":
    import adk.ADK
    adk.ADK.ADK.init = lambda self, *args, **kwargs: None  # define, don't serve
mod = importlib.import_module(module)
if style == "classic" and not callable(getattr(mod, "apply", None)):
    sys.exit("src/%s.py must define apply(input)" % module.split(".")[-1])
print("Loaded %s (%s)" % (module, style))
"""


class CheckFailed(Exception):
    pass


def detect_style(src_root: Path, name: str) -> tuple[str, Path] | None:
    """Which kind of algorithm the commit holds: (style, module file), or None if neither."""
    classic = src_root / "src" / f"{name}.py"
    adk = src_root / "src" / "Algorithm.py"
    if adk.is_file() and (not classic.is_file() or "ADK" in adk.read_text(errors="replace")):
        return STYLE_ADK, adk
    if classic.is_file():
        return STYLE_CLASSIC, classic
    return None


def runner_supports_check() -> bool:
    return RUNNER.is_file() and "--check" in RUNNER.read_text(errors="replace")


def check_algorithm(runner: ProcessRunner, python: Path, src_root: Path, style: str, module_file: Path,
                    env: dict) -> None:
    if runner_supports_check():
        runner.log.line(f"Checking that the algorithm loads (execution runner, {style} style)")
        cmd = [str(python), str(RUNNER), "--check", "--style", style, "--module-file", str(module_file)]
    else:
        module = "src." + module_file.stem
        runner.log.line(f"Checking that the algorithm imports ({module}, {style} style)")
        cmd = [str(python), "-c", PLAIN_IMPORT, str(src_root), module, style]
    try:
        code, _output = runner.run(cmd, cwd=src_root, env=env, timeout=CHECK_TIMEOUT_SECONDS)
    except BuildTimedOut:
        raise CheckFailed(f"The algorithm did not finish loading within {CHECK_TIMEOUT_SECONDS} s "
                          "(does it block at import time, e.g. waiting for input?).") from None
    if code != 0:
        raise CheckFailed(f"The algorithm failed to load (exit code {code}): see the error above.")
