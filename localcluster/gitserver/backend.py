"""Each algorithm's repository over git: who may use it, the protocol exchange, and the build a
push starts (state and logic, no HTTP).

The git server sits above the algorithms backend, which creates and reads repositories through
``repos``: so it is handed the two things it needs of algorithms when the app is built (find a
record, report a push) and imports nothing from ``localcluster.algorithms``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from localcluster.errors import Forbidden
from localcluster.gitserver import smarthttp
from localcluster.gitserver.repos import remove_stale_locks, repo_path
from localcluster.users.backend import Caller

# (owner, name) -> the algorithm's record, or NotFound.
FindAlgorithm = Callable[[str, str], dict]
# (owner, name, commit): a push moved master to ``commit``; starts a build of it.
OnPush = Callable[[str, str, str], object]


class GitBackend:
    """Pushes to one repository run one at a time; the loser of a race is refused in-protocol.

    Why both: with smart HTTP a push reads master (``info/refs``) and updates it (``git-receive-pack``)
    in two requests, so two pushes that read the same master race whatever the server does. git's
    own answer to the loser is to refuse its ref in the report-status (``ng refs/heads/master
    failed to lock``): the client shows a rejected push and may fetch and push again, and no push
    is lost or applied on top of a master it never saw (``smarthttp.GuardedReceivePack``).
    Serializing the receive-packs of one repository makes that comparison and the ref write one
    step, so two pushes never meet on dulwich's lock file (which escaped as an HTTP 500), and the
    master a push moved (the build it starts) is read without another push in between.
    """

    def __init__(self, data_dir: Path, find_algorithm: FindAlgorithm, on_push: OnPush) -> None:
        self.data_dir = Path(data_dir)
        self.find_algorithm = find_algorithm
        self.on_push = on_push
        self._push_locks: dict[Path, threading.Lock] = {}
        self._push_locks_guard = threading.Lock()
        remove_stale_locks(self.data_dir)

    def check_access(self, caller: Caller, owner: str, name: str) -> None:
        """NotFound without such an algorithm, Forbidden unless ``caller`` manages it: the source is the owner's."""
        record = self.find_algorithm(owner, name)
        if not caller.may_manage(record["owner"]):
            raise Forbidden(f"User {caller.username} may not access the repository of {owner}/{name}: "
                            "only its owner can.")

    def advertise_refs(self, owner: str, name: str, service: str) -> bytes:
        return smarthttp.advertise_refs(repo_path(self.data_dir, owner, name), service)

    def _push_lock(self, path: Path) -> threading.Lock:
        with self._push_locks_guard:
            return self._push_locks.setdefault(path, threading.Lock())

    def run_service(self, owner: str, name: str, service: str, body: bytes, content_encoding: str | None) -> bytes:
        """One RPC exchange; when it moved master (a push), the new head is built in the background.

        A fetch reads refs and objects that a push only adds to (a ref file is replaced whole), so
        only pushes wait for each other."""
        path = repo_path(self.data_dir, owner, name)
        if service != "git-receive-pack":
            return smarthttp.run_service(path, service, body, content_encoding)[0]
        with self._push_lock(path):
            output, moved_to = smarthttp.run_service(path, service, body, content_encoding)
            if moved_to is not None:
                # Still under the lock: the build is of this push's commit, started before the
                # next push can move master again.
                self.on_push(owner, name, moved_to)
        return output
