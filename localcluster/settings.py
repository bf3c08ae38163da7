"""Where a cluster keeps its state, how it is reached, and its limits: one ``Settings`` per cluster.

The environment is read here and nowhere else, by ``Settings.from_environment`` (the CLI calls
it); backends are handed values. Tunables, for tests and small machines:

==================================  =======  =================================================
LOCALCLUSTER_WORKERS_PER_VERSION    4        warm workers of one built version
LOCALCLUSTER_WORKERS_MAX            16       workers of all versions together
LOCALCLUSTER_WORKERS_HARD_MAX       64       the cap for calls made by algorithms
LOCALCLUSTER_WORKER_IDLE_SECONDS    300      an idle worker is stopped after this long
LOCALCLUSTER_BUILD_TIMEOUT          900      seconds a build may take
LOCALCLUSTER_CALL_DELAY_MS          0        every algorithm call answers this many ms later
==================================  =======  =================================================

(Why each pool limit is what it is: ``localcluster.execution.pool``.) An unset or empty
variable means the default. ``serve --call-delay-ms`` sets the delay too, and wins over the
variable. The delay stands for a platform made slower (by an upgrade, say): it is in the
latency a client measures but not in ``metadata.duration``, the algorithm's own time
(``localcluster.execution.routes.invoke_algorithm`` says why).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from fastapi import Request

# Settings field -> (environment variable, type). Counts are read as numbers and truncated,
# so "2.0" is 2.
ENVIRONMENT = {
    "workers_per_version": ("LOCALCLUSTER_WORKERS_PER_VERSION", int),
    "workers_max": ("LOCALCLUSTER_WORKERS_MAX", int),
    "workers_hard_max": ("LOCALCLUSTER_WORKERS_HARD_MAX", int),
    "worker_idle_seconds": ("LOCALCLUSTER_WORKER_IDLE_SECONDS", float),
    "build_timeout": ("LOCALCLUSTER_BUILD_TIMEOUT", float),
    "call_delay_ms": ("LOCALCLUSTER_CALL_DELAY_MS", float),
}


@dataclass
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    # Extra names the TLS certificate carries (``serve --tls-names``), e.g. api.<domain> and
    # git.<domain>, for tools that derive the git address from the API address as on a real cluster.
    tls_names: tuple[str, ...] = ()
    # Filled in once the socket is bound: what clients (and algorithm workers) use to reach us.
    public_url: str = ""
    # The Python that runs builds and workers (default: this one). Every environment runs on the
    # host's Python 3.
    python: str = field(default="")
    # The worker pool (localcluster.execution.pool) and the builds (localcluster.builds).
    workers_per_version: int = 4
    workers_max: int = 16
    workers_hard_max: int = 64
    worker_idle_seconds: float = 300.0
    build_timeout: float = 900.0
    # Milliseconds every algorithm call waits before it is accepted (localcluster.execution.routes).
    call_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.python = self.python or sys.executable
        self.tls_names = tuple(self.tls_names)
        if not 0 <= self.call_delay_ms < math.inf:  # NaN fails too
            raise ValueError(f"call_delay_ms (LOCALCLUSTER_CALL_DELAY_MS) must be 0 or more milliseconds, got {self.call_delay_ms}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **values) -> "Settings":
        """Settings from ``values`` (the command line), the tunables from ``environ`` (default: os.environ)."""
        environ = os.environ if environ is None else environ
        for name, (variable, kind) in ENVIRONMENT.items():
            raw = environ.get(variable)
            if raw:
                values.setdefault(name, kind(float(raw)))
        return cls(**values)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "state.db"

    @property
    def server_info_path(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def request_log_path(self) -> Path:
        return self.data_dir / "requests.log"

    @property
    def tmp_dir(self) -> Path:
        """Where the processes the cluster starts keep their temporary files (``localcluster.tmpdirs``)."""
        return self.data_dir / "tmp"

    @property
    def ca_cert_path(self) -> Path:
        return self.data_dir / "ca.pem"

    def subdir(self, name: str) -> Path:
        """A directory of the data dir, created on first use (data, repos, builds ...)."""
        path = self.data_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def api_env(self) -> dict:
        """What a process of an algorithm (a worker, a build's load check) needs to call this cluster
        back: its URL and, with TLS, our CA as the only one to trust (the official client and
        requests both honour REQUESTS_CA_BUNDLE; Node adds NODE_EXTRA_CA_CERTS to its roots; the
        Java and Ruby runners read REQUESTS_CA_BUNDLE themselves)."""
        env = {"ALGORITHMIA_API": self.public_url}
        if self.tls:
            env["REQUESTS_CA_BUNDLE"] = str(self.ca_cert_path)
            env["NODE_EXTRA_CA_CERTS"] = str(self.ca_cert_path)
        return env


async def cluster_settings(request: Request) -> Settings:
    """The cluster's ``Settings``, as a FastAPI dependency (async, as every accessor: see
    ``localcluster.users.auth.user_backend``)."""
    return request.app.state.settings
