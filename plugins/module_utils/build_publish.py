# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One algorithm pushed, built, tested and published (algo_build_publish, algo_deploy)."""

from __future__ import annotations

import os

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import (
    FAILED,
    MAX_CALL_TIMEOUT,
    READ_TIMEOUT_MARGIN,
    SUCCEEDED,
    Algorithm,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import DataFiles, key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import SHORTHANDS
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import BadRequest, NotFound, TaskFailed
from ansible_collections.algorithmia.testbench.plugins.module_utils.gitpush import GitRemote
from ansible_collections.algorithmia.testbench.plugins.module_utils.source_tree import (
    SourceError,
    read_directory,
    render_value,
    template_tree,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.tarsafe import fetch_code_archive
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME, data_uri_basename
from ansible_collections.algorithmia.testbench.plugins.module_utils.waiting import Deadline


def build_options():
    """algo_build_publish's own options (without the clusters' and the run record's)."""
    return dict(
        name=dict(type="str", required=True),
        owner=dict(type="str"),
        template_dir=dict(type="path"),
        code_path=dict(type="str"),
        language=dict(type="str", choices=list(SHORTHANDS)),
        git_address=dict(type="str"),
        references=dict(type="dict", default={}),
        test_payload=dict(type="raw"),
        test_timeout=dict(type="int", default=300),
        version_type=dict(type="str", choices=["major", "minor", "revision"], default="minor"),
        publish=dict(type="bool", default=True),
        build_timeout=dict(type="float", default=900),
    )


BUILD_CONSTRAINTS = dict(
    mutually_exclusive=[("template_dir", "code_path")],
    required_one_of=[("template_dir", "code_path")],
    required_by={"code_path": ("source_api_address", "source_api_key")},
)


def archive_template_name(code_path):
    """``data://.my/code/ImageThumbnailer.tar.gz`` -> ``ImageThumbnailer``."""
    base = data_uri_basename(code_path)
    for suffix in (".tar.gz", ".tgz"):
        if base.endswith(suffix):
            return base[:-len(suffix)]
    return base


class BuildPublisher:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False, pushed=False, published=False, changed_files=[], version=None)
        self.tree = None

    # ---- the source ------------------------------------------------------------------------

    def _archive_tree(self, code_path):
        return fetch_code_archive(DataFiles(self.module.connect(prefix="source_"), "source"), code_path)

    def templated_tree(self, owner):
        params = self.params
        try:
            if params["template_dir"]:
                directory = os.path.normpath(params["template_dir"])
                tree = read_directory(directory)
                template_name = os.path.basename(directory)
            else:
                tree = self._archive_tree(params["code_path"])
                template_name = archive_template_name(params["code_path"])
            return template_tree(tree, params["name"], owner, params["references"], template_name,
                                 language=params["language"])
        except (SourceError, OSError) as exc:
            raise TaskFailed("Failed to prepare the source of {0}/{1}: {2}. Nothing was pushed.".format(
                owner, params["name"], exc)) from None

    def prepare(self, owner):
        """Read and template the source now (algo_deploy does so for every algorithm before its first change)."""
        self.tree = self.templated_tree(owner)
        return self.result

    # ---- the steps -------------------------------------------------------------------------

    def run(self, client):
        params = self.params
        owner = params["owner"] or key_owner(client)
        self.result["owner"] = owner
        tree = self.tree if self.tree is not None else self.templated_tree(owner)
        remote = GitRemote(params["git_address"] or client.api_address, owner, params["name"], owner,
                           params["api_key"], verify=client.verify, timeout=client.timeout, redact=client.redact,
                           retry_policy=client.retry_policy)
        try:
            plan = remote.plan(tree)
        except NotFound:
            if not self.module.check_mode:
                raise
            return self._predict_new(tree)
        self.result["changed_files"] = plan.changed_files
        self.result["pushed"] = not plan.up_to_date
        if self.module.diff_mode:
            self.result["diff"] = self._diff(plan, tree)
        algorithm = Algorithm(client, owner, params["name"])
        if self.module.check_mode:
            return self._predict(plan, algorithm)
        if plan.up_to_date:
            commit = plan.master_sha
        else:
            commit = remote.push(plan, "algorithmia.testbench: {0} for {1}/{2}".format(
                params["template_dir"] and os.path.basename(os.path.normpath(params["template_dir"]))
                or params["code_path"], owner, params["name"]))
            self.result["changed"] = True
        self.result["git_hash"] = commit
        build = self._await_build(algorithm, commit, pushed=not plan.up_to_date)
        self.result["build"] = {"id": build.get("build_id"), "status": build.get("status")}
        if params["test_payload"] is not None:
            self._test(algorithm, commit)
        self.result["version"] = algorithm.published_version(commit)
        if params["publish"] and self.result["version"] is None:
            record = self.module.record(client, owner)
            record.intent("version", name=algorithm.name, git_hash=commit)
            self.result["version"] = algorithm.publish(commit, params["version_type"], algorithm.read())
            record.done("version", name=algorithm.name, git_hash=commit, version=self.result["version"])
            self.result["published"] = True
            self.result["changed"] = True
        return self.result

    def _predict(self, plan, algorithm):
        self.result["git_hash"] = plan.master_sha
        if not plan.up_to_date:
            self.result["published"] = self.params["publish"]
        else:
            self.result["version"] = algorithm.published_version(plan.master_sha)
            self.result["published"] = self.params["publish"] and self.result["version"] is None
        self.result["changed"] = self.result["pushed"] or self.result["published"]
        return self.result

    def _predict_new(self, tree):
        """Check mode before the algorithm exists (the check run of a first deployment): all of
        the source would be pushed, built, tested and published."""
        self.module.warn("{0} does not exist on this cluster yet (algo_create creates it first in a real run); "
                         "reporting what would be pushed and published.".format(self.params["name"]))
        self.result.update(changed_files=sorted(tree), pushed=True, published=self.params["publish"],
                           changed=True, git_hash=None)
        if self.module.diff_mode:
            self.result["diff"] = {"before_header": "{0} (does not exist yet)".format(self.params["name"]),
                                   "after_header": "templated source", "before": "",
                                   "after": "".join(path + " (new)\n" for path in sorted(tree))}
        return self.result

    def _diff(self, plan, tree):
        """The differing files: on master before, in the templated source after."""
        before = [path for path in plan.changed_files if path in plan.master_paths]
        after = [path for path in plan.changed_files if path in tree]
        return {
            "before_header": "{0} master {1}".format(self.params["name"], (plan.master_sha or "(none)")[:12]),
            "after_header": "templated source",
            "before": "".join(path + "\n" for path in before),
            "after": "".join(path + (" (changed)" if path in plan.master_paths else " (new)") + "\n"
                             for path in after),
        }

    def _await_build(self, algorithm, commit, pushed):
        deadline = Deadline(self.params["build_timeout"])
        build = algorithm.build_of(commit)
        if not pushed and (build is None or build.get("status") == FAILED):
            # An unchanged commit that never built (the repository's first commit) or whose build
            # failed (maybe a transient install error): build it again, once.
            try:
                # within the build's time: its wait must not be longer than the build timeout
                algorithm.compile(timeout=max(deadline.remaining(), 1.0))
            except BadRequest:
                pass  # a failed compilation answers 400; the build's own log is reported below
            self.result["changed"] = True
            self.result["rebuilt"] = True
        build = algorithm.await_build(commit, deadline)
        if build.get("status") != SUCCEEDED:
            build_id = build.get("build_id")
            self.result["build"] = {"id": build_id, "status": build.get("status")}
            tail = algorithm.log_tail(build_id)
            raise TaskFailed(
                "Failed to build {0} at commit {1} on cluster {2}: build {3} {4}{5}. Fix: correct the source or "
                "its dependencies (requirements.txt, package.json, pom.xml, Gemfile ...; see the end of the build "
                "log below), or deploy it where its language is built, and run again.\n{6}".format(
                    algorithm.label, commit, algorithm.client.cluster, build_id, build.get("status"),
                    last_words(tail), tail),
                build_log=tail)
        return build

    def _test(self, algorithm, commit):
        params = self.params
        payload = render_value(params["test_payload"], params["name"], algorithm.owner, params["references"])
        # The check call is safe to repeat (only its answer counts); the benchmark's calls never are.
        outcome = algorithm.call(commit, payload, params["test_timeout"], retry=True)
        if outcome.unanswered:
            raise TaskFailed(
                "Failed to test {0} at commit {1} on cluster {2}: stuck: no answer in {3} s to the test_payload call "
                "(test_timeout {4} s plus {5} s; not repeated: a cluster that does not answer would not answer a repeat "
                "either). Nothing was published. Fix: check the cluster's algorithm workers and load; if the algorithm "
                "needs longer, raise test_timeout (testbench_test_timeout in the testbench role).".format(
                    algorithm.label, commit, algorithm.client.cluster, params["test_timeout"] + READ_TIMEOUT_MARGIN,
                    params["test_timeout"], READ_TIMEOUT_MARGIN),
                test={"error": outcome.error, "error_type": outcome.error_type, "stuck": True})
        if not outcome.ok:
            raise TaskFailed(
                "Failed to test {0} at commit {1} on cluster {2}: the test_payload call failed: {3}. "
                "Nothing was published. Fix: correct the algorithm or test_payload and run again.".format(
                    algorithm.label, commit, algorithm.client.cluster, outcome.error),
                test={"error": outcome.error, "error_type": outcome.error_type})
        duration = outcome.metadata.get("duration")
        self.result["test"] = {"result": outcome.result,
                               "duration": round(duration if isinstance(duration, (int, float))
                                                 else outcome.duration_ms / 1000.0, 4)}


def validate(params):
    problems = []
    if not ALGORITHM_NAME.match(params["name"] or ""):
        problems.append("name {0!r} is not an algorithm name (letters, digits and _, starting with a letter)".format(
            params["name"]))
    for key, value in (params["references"] or {}).items():
        if not ALGORITHM_NAME.match(str(key)) or not ALGORITHM_NAME.match(str(value)):
            problems.append("references {0!r}: {1!r}: both must be algorithm names".format(key, value))
    if not 1 <= params["test_timeout"] <= MAX_CALL_TIMEOUT:
        problems.append("test_timeout must be 1 to {0} seconds".format(MAX_CALL_TIMEOUT))
    if params["build_timeout"] <= 0:
        problems.append("build_timeout must be more than 0 seconds")
    if params["template_dir"] and not os.path.isdir(params["template_dir"]):
        problems.append("template_dir {0} is not a directory on the controller".format(params["template_dir"]))
    if problems:
        raise TaskFailed("Invalid options; nothing was sent to any cluster: " + "; ".join(problems) + ".")


def last_words(log):
    """``: <the log's last line>``, the reason a build log gives last (``""`` for an empty log), so a
    verdict's headline says why a build failed, not only that it did."""
    lines = [line.strip() for line in (log or "").splitlines() if line.strip()]
    return ": " + lines[-1].rstrip(".") if lines else ""
