"""Shared by the execution tests: a cluster to call, and a way to put an algorithm on it.

``deploy(name, files)`` returns ``owner/name/<git hash>`` for a built version of ``files``
(paths relative to the algorithm's checkout, e.g. ``src/Echo.py``).
"""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import Algorithmia

from localcluster.algorithms.artifacts import STYLE_ADK, STYLE_CLASSIC, Runnable, build_path
from localcluster.errors import NotFound


class InProcessCluster:
    """A cluster app served from a thread of the test process, with builds made by hand.

    Stands in for the git push + build path until that exists: the "build" is the files
    written under DATA/builds/<id>/src, run by this interpreter (which has algorithmia).
    Versions resolve by git hash for their owner only.
    """

    def __init__(self, data_dir: Path) -> None:
        import uvicorn

        from localcluster.app import create_app
        from localcluster.settings import Settings

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        settings = Settings(data_dir=data_dir, port=port, public_url=self.url, python=sys.executable)
        self.app = create_app(settings)
        self.data_dir = settings.data_dir
        self._runnables: dict[tuple[str, str, str], Runnable] = {}
        self.app.state.algorithms = self
        users = self.app.state.users
        users.create_user("admin", admin=True)
        self.admin_key = users.create_key("admin")
        self.user = "alice"
        users.create_user(self.user)
        self.key = users.create_key(self.user)
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("in-process cluster did not start")
            time.sleep(0.01)

    # what app.state.algorithms offers
    def resolve_runnable(self, caller, owner, name, version):
        runnable = self._runnables.get((owner, name, version or ""))
        if runnable is None or caller.username != owner:
            raise NotFound(f"No such algorithm: {owner}/{name}/{version}")
        return runnable

    def deploy(self, name: str, files: dict[str, str], owner: str | None = None) -> str:
        owner = owner or self.user
        git_hash = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        build_id = str(uuid.uuid4())
        build_dir = build_path(self.data_dir, build_id)
        for rel, text in files.items():
            path = build_dir / "src" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        adk = "src/Algorithm.py" in files
        module = build_dir / "src" / ("src/Algorithm.py" if adk else f"src/{name}.py")
        self._runnables[(owner, name, git_hash)] = Runnable(
            algorithm_id=str(uuid.uuid4()), owner=owner, name=name, git_hash=git_hash, build_id=build_id,
            build_dir=build_dir, style=STYLE_ADK if adk else STYLE_CLASSIC, module_file=module,
            python=Path(sys.executable))
        return f"{owner}/{name}/{git_hash}"

    def new_user(self, name: str) -> str:
        self.app.state.users.create_user(name)
        return self.app.state.users.create_key(name)

    def client(self, key: str | None = None):
        return Algorithmia.client(key or self.key, self.url)

    def worker_stats(self) -> dict:
        import requests

        return requests.get(f"{self.url}/localcluster/workers", headers={"Authorization": self.admin_key},
                            timeout=30).json()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)
