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

Repeats (``retries``): a fetch only reads, so it is safe and repeated whole into a fresh
repository. A push is guarded: each attempt reads master first and decides; our commit there
means the attempt whose answer was lost did push it (done, never pushed twice), a commit of the
same tree means another client pushed what we wanted (done), the old master means push (again),
anything else is someone else's push (``Conflict``). Two pushes that read the same master race:
the cluster takes one and refuses the other inside the git protocol (``failed to lock``); that
refusal is repeated like a failed attempt, so the loser reads master again and is done when the
winner pushed the same tree. dulwich's pool repeats nothing itself, and the answers it rejects
are noted, so a failure names its HTTP status and the server's message instead of dulwich's bare
"unexpected http resp".
"""

from __future__ import annotations

import ssl
import stat
import time
import traceback
from urllib.parse import urlsplit

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import (
    ERROR_BODY_LIMIT,
    connection_failure,
    describe,
    failure_detail,
    parse_error_body,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import (
    CONNECT_TIMEOUT,
    OTHER,
    READ_TIMEOUT,
    RESET,
    TLS_HANDSHAKE,
    AuthError,
    ClusterConnectionError,
    ClusterTimeout,
    Conflict,
    NotFound,
    RefRejected,
    TLSError,
    error_class_for_status,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.retries import RetryPolicy, retry_after_seconds

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
    from urllib3.util.retry import Retry
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
# How git servers refuse a ref another push holds or moved meanwhile (git's receive-pack: "failed to
# lock", newer ones "cannot lock ref '...': is at X but expected Y", "failed to update ref").
LOCK_REFUSALS = ("failed to lock", "cannot lock ref", "failed to update ref")
GIT_HINTS = {
    401: "use an API key of the algorithm's owner (or an admin key) of this cluster.",
    403: "use an API key of the algorithm's owner (or an admin key) of this cluster.",
    404: "create the algorithm first (algo_create), and check owner and name; set git_address if the cluster "
         "serves git at another address.",
}


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


class _AnswerLog:
    """The pool dulwich sends through, noting the last answer.

    dulwich turns an answer other than 200 into ``GitProtocolError("unexpected http resp 503 ...")``,
    its status only in the text, and refuses an answer of the wrong content type before reading its
    body; the answer noted here gives the status, the server's message and Retry-After, or shows
    that the body broke off.
    """

    def __init__(self, pool):
        self._pool = pool
        self.headers = pool.headers
        self.last = None

    def request(self, method, url, *args, **kwargs):
        self.last = None
        self.last = self._pool.request(method, url, *args, **kwargs)
        return self.last

    def take(self):
        last, self.last = self.last, None
        return last


class GitRemote:
    """One algorithm repository: ``<git_address>/git/<owner>/<name>.git``.

    ``retry_policy`` is the cluster's (``AlgorithmiaClient.retry_policy``), else the default one.
    """

    def __init__(self, git_address, owner, name, username, api_key, verify=True, timeout=60.0, redact=None,
                 retry_policy=None):
        self.url = "{0}/git/{1}/{2}.git".format(git_address.rstrip("/"), owner, name)
        self.cluster = git_address
        self.timeout = timeout
        self._redact = redact or (lambda text: text)
        self._policy = retry_policy or RetryPolicy()
        # urllib3 repeats nothing here either: fetch and push are repeated whole, as classified.
        options = dict(timeout=timeout, retries=Retry(0, read=False))
        if verify is False:
            pool = urllib3.PoolManager(cert_reqs="CERT_NONE", **options)
        else:
            ca_certs = verify if isinstance(verify, str) else (certifi.where() if certifi else None)
            pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_certs, **options)
        self._answers = _AnswerLog(pool)
        self._client = HttpGitClient(self.url, pool_manager=self._answers, quiet=True, username=username,
                                     password=api_key)

    def _error(self, action, exc):
        """The ``ClusterError`` for a failed git exchange: the HTTP status the cluster answered, or
        what happened to the connection."""
        action = action + " " + self.url
        answer = self._answers.take()
        if answer is not None and answer.status != 200:
            return self._status_error(action, answer)
        if isinstance(exc, HTTPUnauthorized):
            return AuthError(action, self.cluster, status=401, reason="Unauthorized", hint=GIT_HINTS[401])
        if isinstance(exc, NotGitRepository):
            return NotFound(action, self.cluster, status=404, reason="Not Found", hint=GIT_HINTS[404])
        if isinstance(exc, HangupException):
            return ClusterConnectionError(action, self.cluster, failure=RESET,
                                          detail="the cluster closed the connection in the middle of the git exchange")
        failure, cause = connection_failure(exc)
        why = self._redact(describe(cause))
        if failure == TLS_HANDSHAKE:
            return TLSError(action, self.cluster, certificate=isinstance(cause, ssl.SSLCertVerificationError),
                            detail="the TLS handshake failed: " + why)
        if failure == OTHER:
            return self._unexpected_answer(action, exc, answer)
        where = urlsplit(self.url).netloc
        detail = failure_detail(failure, cause, why, where, (self.timeout, self.timeout))
        error_class = ClusterTimeout if failure in (CONNECT_TIMEOUT, READ_TIMEOUT) else ClusterConnectionError
        return error_class(action, self.cluster, failure=failure, detail=detail)

    def _unexpected_answer(self, action, exc, answer):
        """A git exchange dulwich could not follow: an answer broken off mid-body (a transient fault),
        or one that is whole but no git (a web page: the address is wrong)."""
        start = b""
        if answer is not None:
            try:
                start = answer.read(ERROR_BODY_LIMIT)
            except GIT_ERRORS as broken:
                failure, cause = connection_failure(broken, during_answer=True)
                return ClusterConnectionError(action, self.cluster, failure=failure, detail=failure_detail(
                    failure, cause, self._redact(describe(cause)), urlsplit(self.url).netloc,
                    (self.timeout, self.timeout)))
            finally:
                answer.release_conn()
        shown, _code, _error_id = parse_error_body(start)
        detail = self._redact(describe(exc)) + ("; it answered: " + self._redact(shown) if shown else "")
        return ClusterConnectionError(action, self.cluster, failure=OTHER, detail=detail,
                                      hint="check that the cluster serves git over HTTP at this address (git_address).")

    def _status_error(self, action, response):
        try:
            body = response.read(ERROR_BODY_LIMIT)
        except GIT_ERRORS:
            body = b""
        finally:
            response.release_conn()
        message, code, error_id = parse_error_body(body)
        return error_class_for_status(response.status)(
            action, self.cluster, status=response.status, reason=response.reason,
            server_message=self._redact(message), server_code=code, error_id=error_id,
            hint=GIT_HINTS.get(response.status), retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def _retrying(self, attempt):
        return self._policy.run(attempt, self.timeout)

    def master(self):
        """The commit id (bytes) master holds on the cluster, or ``None``; one attempt."""
        try:
            return self._client.get_refs("").refs.get(MASTER)
        except GIT_ERRORS as exc:
            raise self._error("read the refs of", exc) from None

    def plan(self, tree):
        """Fetch master and compare it with ``tree``; a ``PushPlan`` (nothing is sent). Safe to repeat."""
        def fetch(_attempts):
            repo = MemoryRepo()
            try:
                return repo, self._client.fetch("", repo)
            except GIT_ERRORS as exc:
                raise self._error("fetch", exc) from None

        repo, fetched = self._retrying(fetch)
        master_sha = fetched.refs.get(MASTER)
        master_tree = repo[master_sha].tree.decode("ascii") if master_sha else None
        tree_sha = _write_tree(repo.object_store, tree).decode("ascii")
        return PushPlan(repo, tree_sha.encode("ascii"),
                        master_sha.decode("ascii") if master_sha else None,
                        master_tree.encode("ascii") if master_tree else None)

    def _tree_of(self, repo, commit_id):
        """The tree id of ``commit_id``, fetched into ``repo`` when it is not there yet. Safe to repeat."""
        if commit_id not in repo.object_store:
            try:
                self._client.fetch("", repo)
            except GIT_ERRORS as exc:
                raise self._error("fetch", exc) from None
        return repo[commit_id].tree

    def push(self, plan, message):
        """Commit ``plan``'s tree on top of the fetched master and push it; the commit id that holds
        the tree on master: ours, or an equal one another client pushed meanwhile.

        Guarded: every attempt reads master first (dulwich's push reads the refs before it sends)
        and decides there, in one place (``settled``): our commit already there (an attempt whose
        answer was lost) or another commit of the same tree is done; the master we built on means
        push; anything else is someone else's push (``Conflict``). A push the cluster refused
        in-protocol because another push held master (``RefRejected``) is repeated, so it meets
        that decision again on the master as it is now.
        """
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
        done = []

        def settled(master):
            """The commit that already holds our tree on master (nothing to push), or None: push."""
            if master == commit.id:
                return commit.id  # an attempt whose answer was lost pushed it
            if master == expected:
                return None
            if master is not None and self._tree_of(plan.repo, master) == plan.tree_sha:
                return master  # someone pushed this very tree meanwhile
            raise Conflict("push to " + self.url, self.cluster,
                           detail="master moved while this task ran (someone else pushed)",
                           hint="re-run the task; it builds on the new master.")

        def update_refs(refs):
            there = settled(refs.get(MASTER))
            if there is not None:
                done.append(there)
                return None  # dulwich sends nothing
            return {MASTER: commit.id}

        def attempt(_attempts):
            done.clear()
            try:
                result = self._client.send_pack("", update_refs, plan.repo.object_store.generate_pack_data)
            except GIT_ERRORS as exc:
                raise self._error("push to", exc) from None
            if done:
                return done[0]
            status = (result.ref_status or {}).get(MASTER)
            if not status:
                return commit.id
            refusal = self._redact(str(status))
            if any(words in refusal for words in LOCK_REFUSALS):
                raise RefRejected("push to " + self.url, self.cluster,
                                  detail="the cluster refused to update master: " + refusal)
            raise Conflict("push to " + self.url, self.cluster,
                           detail="the cluster refused to update master: " + refusal,
                           hint="re-run the task; it builds on the current master.")

        return self._retrying(attempt).decode("ascii")
