# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One run at a time per cluster: a lease kept on the cluster itself, so every controller sees it.

Where, and why there. Two operators with their own checkouts, AWX slices, a laptop and AWX share
no file system; the one thing they share is the cluster. The lease lives in the Data API of the
owner the run works as (its key's user: the algorithms and collections it changes are that
user's), in a collection made for it:

    data://<owner>/testbench_leases/<generation>/lease.json

Why a folder per generation. Taking the lease must be atomic, and a real cluster guarantees one
such operation on data: creating a folder that exists already is refused (the documented error of
"Create a folder"; the cluster checks and creates in one step on its side). Writing a file is not:
a PUT replaces whatever is there. So the lease is the folder ``<generation>`` (1, 2, 3...): the run
whose create of the next generation succeeds holds it, any other gets the refusal and reads who
won. ``lease.json``, written by the holder right after, says who it is: ``run_id``, ``host`` (the
controller), ``started``, ``ttl_s`` and ``expires`` (the holder's clock, for people).

Expiry by the cluster's clock. Whether a lease is past its expiry is judged from the cluster's own
times: the file's ``last_modified`` in the folder's listing and the ``Date`` of that listing's
answer; so controllers whose clocks disagree still agree on a lease's age. A renewal rewrites the
file, which moves ``last_modified``.

Taking over. A lease past its expiry (its holder died) is taken over by creating the next
generation, which is atomic again: of two runs that both found it expired, one wins. The winner
deletes the old generation. A generation without ``lease.json`` (its taker died between the two
calls) is abandoned once ``ABANDONED_AFTER_S`` have passed without the file appearing.

A holder that comes back after its lease was taken over finds its ``lease.json`` gone or naming
another run at its next renewal: ``LeaseLost``. Release deletes the generation's folder (with
``force``: the file and the folder in one call), only if it still names this run.
"""

from __future__ import annotations

import datetime
import json
import socket
import threading
import time
from email.utils import parsedate_to_datetime

from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import data_path
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClusterError, Conflict, NotFound, TaskFailed

COLLECTION = "testbench_leases"
LEASE_FILE = "lease.json"
DEFAULT_TTL_S = 900
# A taker writes lease.json within a request of creating its folder: a folder that stays without
# one this long lost its taker between the two calls.
ABANDONED_AFTER_S = 10.0
PROGRESS_EVERY_S = 10.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class LeaseHeld(TaskFailed):
    """Another run holds the cluster's lease; ``holder`` is its lease document (with ``age_s``)."""

    def __init__(self, message, holder):
        super().__init__(message)
        self.holder = holder


class LeaseLost(TaskFailed):
    """This run's lease was taken over (it was past its expiry) or is gone."""


def utc_text(moment):
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime(TIME_FORMAT)


def describe(holder):
    """``run 20261207T101500Z-000042 from ops-laptop, started 2026-12-07T10:15:00Z, 95 s ago, expires in 805 s``."""
    age, ttl = holder.get("age_s"), holder.get("ttl_s")
    if age is None or ttl is None:
        left = ""
    elif ttl > age:
        left = ", expires in {0:.0f} s".format(ttl - age)
    else:
        left = ", expired {0:.0f} s ago".format(age - ttl)
    return "run {0} from {1}, started {2}{3}{4}".format(
        holder.get("run_id"), holder.get("host"), holder.get("started"),
        "" if age is None else ", {0:.0f} s ago".format(age), left)


class ClusterLease:
    """The lease of ``owner``'s work on the cluster of ``client`` (see the module's docstring)."""

    def __init__(self, client, owner, clock=time.time, sleep=time.sleep):
        self.client = client
        self.owner = owner
        self.clock = clock
        self.sleep = sleep
        self._missing = False  # the lease collection was found missing (current())

    # ---- reading ---------------------------------------------------------------------------

    def _uri(self, *parts):
        return "data://" + "/".join((self.owner, COLLECTION) + tuple(str(part) for part in parts))

    def _listing(self, uri, action):
        """``(folders, files, server now)`` of a folder (first page: a lease folder holds one file,
        the collection a handful of generations); ``None`` when it does not exist."""
        response = self.client.request("GET", data_path(uri), retry=True, action=action, ok=(200, 404))
        try:
            if response.status_code == 404:
                return None
            page = response.json() or {}
        finally:
            response.close()
        try:
            now = parsedate_to_datetime(response.headers.get("Date")).timestamp()
        except (TypeError, ValueError):
            now = self.clock()
        folders = [entry.get("name") for entry in page.get("folders") or [] if isinstance(entry, dict)]
        files = {entry.get("filename"): entry for entry in page.get("files") or [] if isinstance(entry, dict)}
        return folders, files, now

    def generations(self):
        """The generation folders there are, oldest first; ``None`` when the lease collection is missing."""
        found = self._listing(self._uri(), "list the leases of {0} on cluster {1}".format(self.owner, self.client.cluster))
        if found is None:
            return None
        return sorted(int(name) for name in found[0] if isinstance(name, str) and name.isdigit())

    def read(self, generation):
        """The lease document of ``generation`` with ``generation`` and ``age_s`` (by the cluster's
        clock), or ``None`` when its folder or file is missing (or unreadable)."""
        found = self._listing(self._uri(generation), "read the lease of cluster {0}".format(self.client.cluster))
        if not found or LEASE_FILE not in found[1]:
            return None
        files, now = found[1], found[2]
        try:
            stream = self.client.download(data_path(self._uri(generation, LEASE_FILE)), retry=True,
                                          action="read the lease of cluster {0}".format(self.client.cluster))
            with stream:
                document = json.loads(b"".join(stream).decode("utf-8"))
        except (NotFound, ValueError):
            return None
        if not isinstance(document, dict):
            return None
        modified = iso_seconds(files[LEASE_FILE].get("last_modified"))
        document.update(generation=generation, age_s=None if modified is None else max(now - modified, 0.0))
        return document

    def current(self):
        """``(generation, document)`` of the newest generation (``(None, None)`` without one); a
        document ``None`` there is a generation being taken, or abandoned."""
        generations = self.generations()
        if not generations:
            if generations is None:
                self._missing = True
            return None, None
        return generations[-1], self.read(generations[-1])

    def holder(self):
        """The lease document of the run holding the lease now (``expired`` says whether it is past
        its expiry), or ``None`` when nobody holds it."""
        generation, document = self.current()
        if generation is None:
            return None
        if document is None:
            document = self._await_document(generation)
            if document is None:
                return None  # abandoned by a taker that died between its two calls
        document["expired"] = expired(document)
        return document

    def _await_document(self, generation):
        waited = 0.0
        while waited < ABANDONED_AFTER_S:
            self.sleep(1.0)
            waited += 1.0
            document = self.read(generation)
            if document is not None:
                return document
        return None

    # ---- changing --------------------------------------------------------------------------

    def take(self, run_id, ttl_s=DEFAULT_TTL_S, wait_s=0.0, host=None, progress=None):
        """Take the lease for ``run_id``: ``{"generation", "document", "took_over" (the expired
        holder's document or None), "waited_s"}``; renew it when this run holds it already.
        ``LeaseHeld`` when another run holds a live one and ``wait_s`` has passed; ``progress(text)``
        hears of the wait every ``PROGRESS_EVERY_S``."""
        host = host or socket.gethostname()
        started = self.clock()
        said = started - PROGRESS_EVERY_S  # the first wait says so at once: the play shows it at its next line
        while True:
            generation, document = self.current()
            if self._missing:
                # the first run of this owner on the cluster: once made, the collection stays, so that
                # every other lease request is under its path (a request log tells them apart)
                self.ensure_collection()
                self._missing = False
            if generation is not None and document is None:
                document = self._await_document(generation)
            if document is not None and document.get("run_id") == run_id:
                renewed = self.renew(generation, run_id, ttl_s, host)
                return {"generation": generation, "document": renewed, "took_over": None, "waited_s": self.clock() - started}
            if document is not None and not expired(document):
                waited = self.clock() - started
                if waited >= wait_s:
                    raise LeaseHeld(held_message(self.client.cluster, document, wait_s), document)
                if progress is not None and self.clock() - said >= PROGRESS_EVERY_S:
                    said = self.clock()
                    progress("waiting {0:.0f} s of {1:.0f} for the lease held by {2}".format(waited, wait_s, describe(document)))
                self.sleep(min(1.0, max(wait_s - waited, 0.0)))
                continue
            taken = self._create(0 if generation is None else generation, run_id, ttl_s, host)
            if taken is None:
                continue  # another run created that generation first: read who
            if generation is not None:
                self._delete(generation)
            return {"generation": taken[0], "document": taken[1], "took_over": document, "waited_s": self.clock() - started}

    def ensure_collection(self):
        try:
            self.client.post_json("/v1/connector/data/{0}", self.owner, body={"name": COLLECTION}, retry=True,
                                  action="create the lease collection data://{0}/{1}".format(self.owner, COLLECTION))
        except Conflict:
            pass  # there already: what was wanted

    def _create(self, previous, run_id, ttl_s, host):
        """Create generation ``previous + 1`` and write its lease; ``None`` when another run created it first."""
        generation = previous + 1

        def attempt(attempts):
            try:
                self.client.post_json(data_path(self._uri()), body={"name": str(generation)}, retry=False,
                                      action="take the lease of cluster {0}".format(self.client.cluster))
            except Conflict:
                if attempts.answer_lost and self._unclaimed(generation):
                    return True  # our lost attempt made it: nobody else can have written its lease yet
                return False
            return True

        if not self.client.retrying(attempt):
            return None
        return generation, self._write(generation, run_id, ttl_s, host, self.clock())

    def _unclaimed(self, generation):
        found = self._listing(self._uri(generation), "read the lease of cluster {0}".format(self.client.cluster))
        return found is not None and LEASE_FILE not in found[1]

    def _write(self, generation, run_id, ttl_s, host, started):
        now = self.clock()
        document = {"run_id": run_id, "host": host, "started": utc_text(started), "renewed": utc_text(now),
                    "ttl_s": ttl_s, "expires": utc_text(now + ttl_s), "owner": self.owner}
        body = json.dumps(document, sort_keys=True).encode("utf-8")
        self.client.upload(data_path(self._uri(generation, LEASE_FILE)), chunks=lambda: [body], retry=True,
                           action="write the lease of cluster {0}".format(self.client.cluster))
        return dict(document, generation=generation, age_s=0.0)

    def renew(self, generation, run_id, ttl_s=DEFAULT_TTL_S, host=None):
        """Write the lease again with a new expiry, if it still names ``run_id``; ``LeaseLost`` if not."""
        document = self.read(generation)
        if document is None or document.get("run_id") != run_id:
            raise LeaseLost(lost_message(self.client.cluster, run_id, document))
        started = _parse_utc(document.get("started")) or self.clock()
        return self._write(generation, run_id, ttl_s, host or document.get("host"), started)

    def release(self, generation, run_id):
        """Delete the lease if it still names ``run_id``: ``True`` when deleted, ``False`` when it was
        not this run's any more (taken over) or gone."""
        document = self.read(generation)
        if document is None or document.get("run_id") != run_id:
            return False
        return self._delete(generation)

    def _delete(self, generation):
        return self.client.delete(data_path(self._uri(generation)), params={"force": "true"}, missing_ok=True, retry=True,
                                  action="release the lease of cluster {0}".format(self.client.cluster))


def expired(document):
    age, ttl = document.get("age_s"), document.get("ttl_s")
    return isinstance(age, (int, float)) and isinstance(ttl, (int, float)) and age > ttl


def held_message(cluster, holder, wait_s):
    return ("Cluster {0} is being changed by another testbench run: {1}. Nothing was changed. Fix: wait for that run "
            "to end{2}; set testbench_lease_wait (seconds) to wait for it; if that run died, its lease expires by "
            "itself{3}.".format(cluster, describe(holder), " (waited {0:.0f} s)".format(wait_s) if wait_s else "",
                                " in {0:.0f} s".format(holder["ttl_s"] - holder["age_s"])
                                if isinstance(holder.get("ttl_s"), (int, float)) and isinstance(holder.get("age_s"), (int, float))
                                else ""))


def lost_message(cluster, run_id, document):
    if document is None:
        return ("This run ({0}) lost its lease on cluster {1}: it is gone (released or taken over after it expired). "
                "Fix: run again; raise testbench_lease_ttl if the run's steps outlast it.".format(run_id, cluster))
    return ("This run ({0}) lost its lease on cluster {1} to {2} (it was past its expiry). Fix: run again once that run "
            "is done; raise testbench_lease_ttl if the run's steps outlast it.".format(run_id, cluster, describe(document)))


def _parse_utc(text):
    try:
        return datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def iso_seconds(text):
    """Seconds since the epoch of an ISO 8601 time as the Data API writes it (``2020-03-18T17:00:33.000Z``)."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)).timestamp()


class LeaseKeeper:
    """Renews a run's lease while a module works (a build awaited, a long benchmark), in a thread of
    its own with a client of its own (a session is not shared across threads), every third of the
    lease's time to live. ``lost`` is the message when the lease was taken over meanwhile; a
    renewal that fails for another reason (the cluster busy) is tried again at the next turn."""

    def __init__(self, client, lease, interval_s=None):
        self.lease = ClusterLease(client, lease["owner"])
        self.generation = lease["generation"]
        self.run_id = lease["run_id"]
        self.ttl_s = lease.get("ttl") or DEFAULT_TTL_S
        self.interval_s = interval_s if interval_s is not None else self.ttl_s / 3.0
        self.lost = None
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval_s):
            try:
                self.lease.renew(self.generation, self.run_id, self.ttl_s)
                self.renewals += 1
            except LeaseLost as exc:
                self.lost = str(exc)
                return
            except ClusterError:
                continue  # the next turn tries again, well within the lease's time to live

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.lease.client.close()
