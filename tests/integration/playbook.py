"""Run ``ansible-playbook`` from the checkout as a user would, and read its results as JSON.

Secrets (API keys) go to the playbook through a 0600 vars file passed as ``-e @file``,
never on the command line, so they cannot show up in a process listing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def ensure_collection_link() -> None:
    """What ``make collections-link`` does: the checkout is the installed collection."""
    link = ROOT / ".collections" / "ansible_collections" / "algorithmia" / "testbench"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../.."))


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(ROOT / ".ansible" / "tmp"),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    # A machine-wide CA bundle must not override the ca_cert a test gives a module.
    env.pop("REQUESTS_CA_BUNDLE", None)
    env.pop("CURL_CA_BUNDLE", None)
    env.update(extra or {})
    return env


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    result: dict = field(default_factory=dict)  # what callback_plugins/record_results.py wrote

    @property
    def stats(self) -> dict:
        return self.result.get("stats", {})

    def tasks(self, name: str) -> list[dict]:
        """Per host results of every task with that name, across plays."""
        found = []
        for play in self.result.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == name:
                    found.append(task["hosts"])
        return found

    def task(self, name: str, host: str = "localhost") -> dict:
        matches = self.tasks(name)
        assert matches, f"no task named {name!r}; stdout:\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"
        return matches[-1][host]


def run_playbook(playbook: str | Path, tmp_path: Path, *, extra_vars: dict | None = None,
                 inventory: str | Path | None = None, args: list[str] | None = None,
                 env: dict | None = None, timeout: float = 1200, while_running=None) -> PlaybookRun:
    """Run a playbook (a path, or YAML text written to tmp_path) and collect its results.

    stdout is ansible's usual output; the structured results come from the test-only
    ``record_results`` callback. ``while_running`` is called once the playbook has started and
    may act on the clusters meanwhile (a crash test kills one); the run is awaited after it returns.
    """
    ensure_collection_link()
    tmp_path.mkdir(parents=True, exist_ok=True)
    if isinstance(playbook, str) and "\n" in playbook:
        path = tmp_path / "playbook.yml"
        path.write_text(playbook)
        playbook = path
    cmd = [str(VENV_BIN / "ansible-playbook"), str(playbook)]
    if inventory is None:
        cmd += ["-i", "localhost,", "-c", "local"]
    else:
        cmd += ["-i", str(inventory)]
    if extra_vars:
        vars_file = tmp_path / "vars.json"
        fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(extra_vars, fh)
        cmd += ["-e", f"@{vars_file}"]
    cmd += args or []
    results_file = tmp_path / "results.json"
    if results_file.exists():
        results_file.unlink()
    extra_env = {
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).resolve().parent / "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "TESTBENCH_RESULTS_FILE": str(results_file),
    }
    extra_env.update(env or {})
    # Output goes to files, not pipes: a full pipe would stall the playbook while while_running waits.
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out_path, "w", encoding="utf-8") as out, open(err_path, "w", encoding="utf-8") as err:
        with subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True, env=ansible_env(extra_env)) as proc:
            try:
                if while_running is not None:
                    while_running()
                proc.wait(timeout=timeout)
            except BaseException:
                proc.kill()
                raise
    result = json.loads(results_file.read_text()) if results_file.exists() else {}
    return PlaybookRun(proc.returncode, out_path.read_text(encoding="utf-8", errors="replace"),
                       err_path.read_text(encoding="utf-8", errors="replace"), result)
