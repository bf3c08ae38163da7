"""Run a localcluster as a child process: used by the tests, the benchmarks and ``make demo``.

``LocalClusterProcess(data_dir).start()`` starts ``python -m localcluster serve --port 0``,
waits until the server has written ``DIR/server.json`` (so the port is free by construction,
never fixed), and ``stop()`` sends SIGTERM (SIGKILL after a grace period).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from localcluster.requestlog import read_request_log


class LocalClusterProcess:
    def __init__(self, data_dir: str | os.PathLike, *, tls: bool = False, host: str = "127.0.0.1",
                 python: str | None = None, log_path: str | os.PathLike | None = None,
                 env: dict | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.tls = tls
        self.host = host
        self.python = python or sys.executable
        self.log_path = Path(log_path) if log_path else self.data_dir / "server.log"
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.port = 0

    @property
    def ca_cert(self) -> str | None:
        return str(self.data_dir / "ca.pem") if self.tls else None

    def start(self, timeout: float = 30.0, port: int = 0) -> "LocalClusterProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        info_path = self.data_dir / "server.json"
        if info_path.exists():
            info_path.unlink()  # left by a killed server: not ours
        cmd = [self.python, "-m", "localcluster", "serve", "--data-dir", str(self.data_dir),
               "--host", self.host, "--port", str(port)]
        if self.tls:
            cmd.append("--tls")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._child_env(),
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localcluster exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-4000:])
            if info_path.exists():
                try:
                    info = json.loads(info_path.read_text())
                except ValueError:
                    info = {}
                if info.get("pid") == self.proc.pid:
                    self.url, self.port = info["url"], info["port"]
                    return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"localcluster did not start within {timeout}s; see {self.log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the server and everything it started (builds, workers): a crash, for tests."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def create_user(self, name: str, *, admin: bool = False, existing_ok: bool = False) -> str:
        """The new user's API key, made by the CLI as a user would."""
        cmd = [self.python, "-m", "localcluster", "create-user", name, "--data-dir", str(self.data_dir)]
        if admin:
            cmd.append("--admin")
        if existing_ok:
            cmd.append("--existing-ok")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=self._child_env())
        return out.stdout.strip()

    def _child_env(self) -> dict:
        """The environment of ``python -m localcluster``: ours (or the one given), with this
        checkout importable."""
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
        return env

    def request_log(self) -> list[dict]:
        return read_request_log(self.data_dir)

    def __enter__(self) -> "LocalClusterProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
