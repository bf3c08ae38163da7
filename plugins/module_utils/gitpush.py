# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Push a source tree to an algorithm's git repository over smart HTTP, with dulwich.

Why dulwich and not the ``git`` command: the controller may have no git, and a key given to
``git`` ends up in a URL, an argument list or a credential helper. Here the key travels only
as the password of dulwich's HTTP client, which sends it as an ``Authorization: Basic`` header
to the repository's origin only (not after a redirect elsewhere); it is never in the URL, so
it cannot reach a log line or an error message.

The remote master is fetched (algorithm repositories are small) so that the new commit has
it as parent (a fast-forward, history kept) and so that an unchanged tree is noticed by
comparing tree ids computed here: then nothing is pushed.
"""

from __future__ import annotations

import stat
import time
import traceback

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    AuthError,
    ClusterConnectionError,
    Conflict,
    NotFound,
)

try:
    import certifi
except ImportError:
    certifi = None

try:
    import urllib3
    from dulwich.client import HttpGitClient, HTTPUnauthorized
    from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
    from dulwich.objects import Blob, Commit, Tree
    from dulwich.repo import MemoryRepo
except ImportError:
    HAS_DULWICH = False
    DULWICH_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DULWICH = True
    DULWICH_IMPORT_ERROR = None

MASTER = b"refs/heads/master"
GIT_ERRORS = (GitProtocolError, HangupException, HTTPUnauthorized, NotGitRepository, OSError,
              urllib3.exceptions.HTTPError) if HAS_DULWICH else ()
IDENTITY = b"algorithmia.testbench <testbench@algorithmia.invalid>"


def _write_tree(object_store, tree):
    """Store ``{path: (mode, bytes)}`` as git objects; returns the root tree id (hex bytes)."""
    nested = {}
    for path, (mode, data) in tree.items():
        node = nested
        *dirs, leaf = path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        blob = Blob.from_string(data)
        object_store.add_object(blob)
        node[leaf] = (mode, blob.id)

    def write(node):
        git_tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                git_tree.add(name.encode("utf-8"), stat.S_IFDIR, write(value))
            else:
                git_tree.add(name.encode("utf-8"), value[0], value[1])
        object_store.add_object(git_tree)
        return git_tree.id

    return write(nested)


def tree_id(tree):
    """The git tree id of ``tree`` (hex str), computed locally."""
    repo = MemoryRepo()
    return _write_tree(repo.object_store, tree).decode("ascii")


def _flatten(object_store, root):
    """``{path: (mode, blob id)}`` of a stored tree."""
    return {entry.path.decode("utf-8"): (entry.mode, entry.sha)
            for entry in object_store.iter_tree_contents(root)}


class PushPlan:
    """What a push would do: ``changed_files`` (sorted paths) is empty when the remote master
    already holds exactly this tree."""

    def __init__(self, repo, tree_sha, master_sha, master_tree):
        self.repo = repo
        self.tree_sha = tree_sha
        self.master_sha = master_sha
        self.master_tree = master_tree
        self.master_paths = set()
        self.changed_files = self._changed_files()

    @property
    def up_to_date(self):
        return self.master_tree is not None and self.master_tree == self.tree_sha

    def _changed_files(self):
        if self.up_to_date:
            return []
        store = self.repo.object_store
        ours = _flatten(store, self.tree_sha)
        theirs = _flatten(store, self.master_tree) if self.master_tree else {}
        self.master_paths = set(theirs)
        return sorted(path for path in set(ours) | set(theirs) if ours.get(path) != theirs.get(path))


class GitRemote:
    """One algorithm repository: ``<git_address>/git/<owner>/<name>.git``."""

    def __init__(self, git_address, owner, name, username, api_key, verify=True, timeout=60.0, redact=None):
        self.url = "{0}/git/{1}/{2}.git".format(git_address.rstrip("/"), owner, name)
        self.cluster = git_address
        self._redact = redact or (lambda text: text)
        if verify is False:
            pool = urllib3.PoolManager(cert_reqs="CERT_NONE", timeout=timeout)
        else:
            ca_certs = verify if isinstance(verify, str) else (certifi.where() if certifi else None)
            pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_certs, timeout=timeout)
        self._client = HttpGitClient(self.url, pool_manager=pool, quiet=True, username=username,
                                     password=api_key)

    def _error(self, action, exc):
        action = action + " " + self.url
        if isinstance(exc, HTTPUnauthorized):
            return AuthError(action, self.cluster, status=401, reason="Unauthorized",
                             hint="use an API key of the algorithm's owner (or an admin key) of this cluster.")
        if isinstance(exc, NotGitRepository):
            return NotFound(action, self.cluster, status=404, reason="Not Found",
                            hint="create the algorithm first (algo_create), and check owner and name; set "
                                 "git_address if the cluster serves git at another address.")
        return ClusterConnectionError(
            action, self.cluster, detail=self._redact(str(exc) or type(exc).__name__),
            hint="check that the cluster serves git over HTTP at this address (git_address).")

    def plan(self, tree):
        """Fetch master and compare it with ``tree``; a ``PushPlan`` (nothing is sent)."""
        repo = MemoryRepo()
        try:
            fetched = self._client.fetch("", repo)
        except GIT_ERRORS as exc:
            raise self._error("fetch", exc) from None
        master_sha = fetched.refs.get(MASTER)
        master_tree = repo[master_sha].tree.decode("ascii") if master_sha else None
        tree_sha = _write_tree(repo.object_store, tree).decode("ascii")
        return PushPlan(repo, tree_sha.encode("ascii"),
                        master_sha.decode("ascii") if master_sha else None,
                        master_tree.encode("ascii") if master_tree else None)

    def push(self, plan, message):
        """Commit ``plan``'s tree on top of the fetched master and push it; the new commit id."""
        commit = Commit()
        commit.tree = plan.tree_sha
        commit.parents = [plan.master_sha.encode("ascii")] if plan.master_sha else []
        commit.author = commit.committer = IDENTITY
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode("utf-8")
        plan.repo.object_store.add_object(commit)
        expected = plan.master_sha.encode("ascii") if plan.master_sha else None

        def update_refs(refs):
            if refs.get(MASTER) != expected:
                raise Conflict("push to " + self.url, self.cluster,
                               detail="master moved while this task ran (someone else pushed)",
                               hint="re-run the task; it builds on the new master.")
            return {MASTER: commit.id}

        try:
            result = self._client.send_pack("", update_refs, plan.repo.object_store.generate_pack_data)
        except GIT_ERRORS as exc:
            raise self._error("push to", exc) from None
        status = (result.ref_status or {}).get(MASTER)
        if status:
            raise self._error("push to", RuntimeError("the server refused master: " + str(status)))
        return commit.id.decode("ascii")
