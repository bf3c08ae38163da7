"""Run a localcluster as a child process: used by the tests, the benchmarks and ``make demo``.

``LocalClusterProcess(data_dir).start()`` starts ``python -m localcluster serve --port 0``,
waits until the server has written ``DIR/server.json`` (so the port is free by construction,
never fixed), and ``stop()`` sends SIGTERM (SIGKILL after a grace period). ``restart(env=...)``
stops it and starts it again on the same data dir and port with other environment values (an
"upgrade" to other settings, ``localcluster.settings``): its URL stays what clients were given.

``stop_server(data_dir)`` stops the server serving a data dir whoever started it (a script
that restarts a test's cluster is not its parent): ``tests/integration/restart_cluster.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from localcluster.requestlog import read_request_log


class LocalClusterProcess:
    def __init__(self, data_dir: str | os.PathLike, *, tls: bool = False, host: str = "127.0.0.1",
                 python: str | None = None, log_path: str | os.PathLike | None = None,
                 env: dict | None = None, tls_names: tuple[str, ...] | list[str] = ()) -> None:
        self.data_dir = Path(data_dir).resolve()
        # Names for the certificate (serve --tls-names), which imply TLS.
        self.tls_names = tuple(tls_names)
        self.tls = tls or bool(self.tls_names)
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
        if self.tls_names:
            cmd += ["--tls-names", ",".join(self.tls_names)]
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

    def restart(self, env: Mapping[str, str | None] | None = None, timeout: float = 30.0) -> "LocalClusterProcess":
        """Stop the server and start it again on the same data dir and port: same URL, same state.

        ``env`` changes the environment the new server starts with (the settings it reads once at
        start-up, e.g. ``{"LOCALCLUSTER_CALL_DELAY_MS": "40"}``): a value is set, None unsets; the
        rest stays as before. The change is kept for later starts."""
        if self.proc is None or not self.port:
            raise RuntimeError("restart() needs a server started by this LocalClusterProcess: call start() first")
        if env:
            changed = dict(os.environ if self.env is None else self.env)
            for name, value in env.items():
                if value is None:
                    changed.pop(name, None)
                else:
                    changed[name] = str(value)
            self.env = changed
        self.stop()
        return self.start(timeout, port=self.port)

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


def stop_server(data_dir: str | os.PathLike, timeout: float = 15.0) -> dict:
    """Stop the localcluster serving ``data_dir``, whatever process started it.

    Reads its pid and port from ``DIR/server.json``, checks that the pid is a ``localcluster
    serve`` of this data dir (a stale file may name a reused pid), sends SIGTERM, then SIGKILL to
    its process group after ``timeout`` seconds, and waits until it has ended (a zombie of another
    parent counts) and its port can be bound again. Returns what server.json said (``url``,
    ``port``, ``pid``, ``tls``, ``ca_cert``) and ``environment``: the ``LOCALCLUSTER_*`` variables
    the server started with, which a restart keeps. Raises RuntimeError, saying why, when no
    localcluster serves the data dir or it cannot be stopped. Linux only (/proc).
    """
    data_dir = Path(data_dir).resolve()
    info_path = data_dir / "server.json"
    try:
        info = json.loads(info_path.read_text())
        pid, port = int(info["pid"]), int(info["port"])
    except FileNotFoundError:
        raise RuntimeError(f"no localcluster serves {data_dir}: {info_path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"cannot read the pid and port of the localcluster serving {data_dir} from {info_path}: {exc}") from None
    host = urlsplit(info.get("url", "")).hostname or "127.0.0.1"
    if not _serves(pid, data_dir):
        raise RuntimeError(f"no localcluster serves {data_dir}: pid {pid} named by {info_path} is not a running "
                           f"'localcluster serve --data-dir {data_dir}' (a server killed without clean-up leaves the file)")
    info["environment"] = _localcluster_environment(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass  # it ended meanwhile
    if not _ended(pid, timeout):
        try:
            if os.getpgid(pid) == pid:  # its own process group (start_new_session): its builds and workers too
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not _ended(pid, 10.0):
            raise RuntimeError(f"the localcluster serving {data_dir} (pid {pid}) did not end after SIGTERM and SIGKILL")
    deadline = time.monotonic() + timeout
    while not _bindable(host, port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the localcluster serving {data_dir} (pid {pid}) ended, but port {port} on {host} is "
                               f"still in use after {timeout}s (a process it started may hold it)")
        time.sleep(0.05)
    return info


def _serves(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` runs ``python -m localcluster serve --data-dir <data_dir>`` (its own
    relative path resolved from its working directory)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            args = [arg.decode(errors="replace") for arg in fh.read().split(b"\0")]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    if not _runs(pid) or "localcluster" not in args or "serve" not in args:
        return False
    given = [after for arg, after in zip(args, args[1:]) if arg == "--data-dir"]
    given += [arg.partition("=")[2] for arg in args if arg.startswith("--data-dir=")]
    return any(path and (Path(cwd) / path).resolve() == data_dir for path in given)


def _localcluster_environment(pid: int) -> dict:
    """The LOCALCLUSTER_* variables ``pid`` was started with (what its settings were read from)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            pairs = [item.decode(errors="replace").partition("=") for item in fh.read().split(b"\0") if item]
    except OSError:
        return {}
    return {name: value for name, _eq, value in pairs if name.startswith("LOCALCLUSTER_")}


def _runs(pid: int) -> bool:
    """Whether ``pid`` exists and has not ended (a zombie, waiting for a parent that is not us
    to reap it, has ended: it holds no socket any more)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _ended(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _runs(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _bindable(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (with SO_REUSEADDR, as ``serve`` binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
