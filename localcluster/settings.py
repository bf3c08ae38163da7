"""Where a cluster keeps its state and how it is reached."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    # Filled in once the socket is bound: what clients (and algorithm workers) use to reach us.
    public_url: str = ""
    # The Python that runs builds and workers. Every environment runs on the host's Python 3.
    python: str = field(default="")

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()

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
    def ca_cert_path(self) -> Path:
        return self.data_dir / "ca.pem"

    def subdir(self, name: str) -> Path:
        """A directory of the data dir, created on first use (data, repos, builds, tmp ...)."""
        path = self.data_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
