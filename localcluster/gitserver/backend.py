"""Each algorithm's repository over git: who may use it, the protocol exchange, and the build a
push starts (state and logic, no HTTP).

The git server sits above the algorithms backend, which creates and reads repositories through
``repos``: so it is handed the two things it needs of algorithms when the app is built (find a
record, report a push) and imports nothing from ``localcluster.algorithms``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from localcluster.errors import Forbidden
from localcluster.gitserver import smarthttp
from localcluster.gitserver.repos import repo_path
from localcluster.users.backend import Caller

# (owner, name) -> the algorithm's record, or NotFound.
FindAlgorithm = Callable[[str, str], dict]
# (owner, name): a push moved master; starts a build of the new head.
OnPush = Callable[[str, str], object]


class GitBackend:
    def __init__(self, data_dir: Path, find_algorithm: FindAlgorithm, on_push: OnPush) -> None:
        self.data_dir = Path(data_dir)
        self.find_algorithm = find_algorithm
        self.on_push = on_push

    def check_access(self, caller: Caller, owner: str, name: str) -> None:
        """NotFound without such an algorithm, Forbidden unless ``caller`` manages it: the source is the owner's."""
        record = self.find_algorithm(owner, name)
        if not caller.may_manage(record["owner"]):
            raise Forbidden(f"User {caller.username} may not access the repository of {owner}/{name}: "
                            "only its owner can.")

    def advertise_refs(self, owner: str, name: str, service: str) -> bytes:
        return smarthttp.advertise_refs(repo_path(self.data_dir, owner, name), service)

    def run_service(self, owner: str, name: str, service: str, body: bytes, content_encoding: str | None) -> bytes:
        """One RPC exchange; when it moved master (a push), the new head is built in the background."""
        output, master_moved = smarthttp.run_service(repo_path(self.data_dir, owner, name), service, body,
                                                     content_encoding)
        if master_moved:
            self.on_push(owner, name)
        return output
