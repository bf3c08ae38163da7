# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Builds and versions of one algorithm: find the build of a commit, wait for it with a
deadline, read its log, and publish. Polling is plain logic with an injectable clock."""

from __future__ import annotations

import time

from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import ClusterTimeout, NotFound

IN_PROGRESS = "in-progress"
SUCCEEDED = "succeeded"
FAILED = "failed"
BUILD_PAGES = 5
LOG_TAIL_LINES = 40


class Deadline:
    """Polling with a deadline: ``wait()`` sleeps a little longer each time (0.5 s up to 5 s)."""

    def __init__(self, seconds, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self.seconds = seconds
        self._end = clock() + seconds
        self._pause = 0.5

    def expired(self):
        return self._clock() >= self._end

    def wait(self):
        remaining = self._end - self._clock()
        if remaining > 0:
            self._sleep(min(self._pause, remaining))
        self._pause = min(self._pause * 1.5, 5.0)


def poll(fetch, finished, deadline):
    """Call ``fetch()`` until ``finished(value)`` or the deadline; the last value either way."""
    while True:
        value = fetch()
        if finished(value) or deadline.expired():
            return value
        deadline.wait()


class AlgorithmBuilds:
    """Build and version calls for ``owner/name`` through an ``AlgorithmiaClient``."""

    def __init__(self, client, owner, name):
        self.client = client
        self.owner = owner
        self.name = name
        self.label = "{0}/{1}".format(owner, name)

    def algorithm(self):
        return self.client.get_json("/v1/algorithms/{0}/{1}", self.owner, self.name,
                                    action="read algorithm " + self.label)

    def build_of(self, commit):
        """The newest build of ``commit``, or ``None`` (builds are listed newest first)."""
        marker = None
        for _page in range(BUILD_PAGES):
            params = {"limit": 50}
            if marker:
                params["marker"] = marker
            page = self.client.get_json("/v1/algorithms/{0}/{1}/builds", self.owner, self.name, params=params,
                                        action="list the builds of " + self.label) or {}
            for build in page.get("results") or []:
                if build.get("commit_sha") == commit:
                    return build
            marker = page.get("marker")
            if not marker:
                return None
        return None

    def await_build(self, commit, deadline):
        """The finished build of ``commit``; ``ClusterTimeout`` if it is not done by the deadline."""
        build = poll(lambda: self.build_of(commit),
                     lambda found: found is not None and found.get("status") != IN_PROGRESS, deadline)
        if build is None or build.get("status") == IN_PROGRESS:
            state = "still in progress (build {0})".format(build["build_id"]) if build else "never started"
            raise ClusterTimeout(
                "await the build of {0} at {1}".format(self.label, commit), self.client.cluster,
                detail="the build is {0} after {1:g} s".format(state, deadline.seconds),
                hint="raise build_timeout, or check the cluster's build queue and the build's log.")
        return build

    def compile(self, timeout):
        """Build master again (after a failed build of an unchanged commit); the build record."""
        answer = self.client.post_json("/v1/algorithms/{0}/{1}/compile", self.owner, self.name,
                                       action="compile " + self.label, timeout=timeout) or {}
        return answer.get("build") or {}

    def log_tail(self, build_id, lines=LOG_TAIL_LINES):
        answer = self.client.get_json("/v1/algorithms/{0}/{1}/builds/{2}/logs", self.owner, self.name, build_id,
                                      action="read the log of build {0} of {1}".format(build_id, self.label)) or {}
        text = str(answer.get("logs") or "").rstrip()
        return "\n".join(text.splitlines()[-lines:])

    def published_version(self, commit):
        """The semantic version ``commit`` is published as, or ``None``."""
        try:
            version = self.client.get_json("/v1/algorithms/{0}/{1}/versions/{2}", self.owner, self.name, commit,
                                           action="read version {0} of {1}".format(commit, self.label))
        except NotFound:
            return None
        return ((version or {}).get("version_info") or {}).get("semantic_version")

    def publish(self, commit, version_type, algorithm):
        """Publish ``commit``; the new semantic version. Callability and label are the
        algorithm's own (the API requires both)."""
        settings = (algorithm or {}).get("settings") or {}
        details = (algorithm or {}).get("details") or {}
        body = {
            "settings": {"algorithm_callability": settings.get("algorithm_callability") or "private"},
            "details": {"label": details.get("label") or self.name},
            "version_info": {"version_type": version_type, "git_hash": commit,
                             "release_notes": "Published by algorithmia.testbench"},
        }
        answer = self.client.post_json("/v1/algorithms/{0}/{1}/versions", self.owner, self.name, body=body,
                                       action="publish {0} at {1}".format(self.label, commit)) or {}
        return (answer.get("version_info") or {}).get("semantic_version")
