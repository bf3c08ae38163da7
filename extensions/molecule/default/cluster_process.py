"""Start or stop the scenario's localcluster: ``cluster_process.py start|stop STATE_DIR``.

(Not named localcluster.py: run from this directory, that would shadow the package.)

``start`` leaves the server running (it has its own session) and writes, 0600, the role's
variables for it (``vars.json``) and its pid (``server.pid``); ``stop`` ends that pid only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from localcluster.process import LocalClusterProcess  # noqa: E402


def start(state: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    proc = LocalClusterProcess(state / "cluster").start()
    key = proc.create_user("molecule", admin=True)
    values = {"testbench_api_address": proc.url, "testbench_api_key": key,
              "testbench_workflows": ["hello_world"], "testbench_report_dir": str(state / "reports")}
    fd = os.open(state / "vars.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as stream:
        json.dump(values, stream)
    (state / "server.pid").write_text(str(proc.proc.pid))
    print(proc.url)


def stop(state: Path) -> None:
    pid_file = state / "server.pid"
    if not pid_file.exists():
        print("not running")
        return
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)  # the server leads its own process group
    except ProcessLookupError:
        pass
    pid_file.unlink()
    print("stopped")


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]](Path(sys.argv[2]))
