# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The comparisons of one cluster in a run: its tests against each baseline it is given, judged by
``measure.judge``, written to ``<bundle>/<cluster>/comparison.json`` for the pages (``bundle``).

Three baselines, each optional:

- ``run``: an earlier run or a named snapshot of this cluster, or ``previous`` (``baselines``);
- ``peers``: other clusters of this run, their samples pooled test by test (a canary against the
  clusters beside it);
- ``source``: the same tests run on the source cluster's original algorithm in this run (their
  reports under ``<bundle>/sources/<source>/workflows/<workflow>/``); its calls are bounded, so
  only the load's shape has to match.

This run's tests, and the peers' and the source's, are read from the reports each benchmark wrote
into the bundle (``bundle.read_benchmark``), so the judge runs once every cluster is done.
"""

from __future__ import annotations

import json
import os

from ansible_collections.algorithmia.testbench.plugins.module_utils.atomic_file import write_text_atomically
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import baselines
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import (
    COMPARISON_FILE,
    cluster_dir_name,
    read_benchmark,
    safe_dir_name,
)

SOURCES = "sources"


def workflows_of(directory):
    """``[(workflow dir name, benchmark report), ...]`` under ``<directory>/workflows/``."""
    root = os.path.join(directory, "workflows")
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    found = []
    for name in names:
        report = read_benchmark(os.path.join(root, name))
        if report is not None:
            found.append((name, report))
    return found


def run_tests(bundle_dir, cluster, workflows):
    """``[(workflow, test result), ...]`` of ``cluster`` in this run, in the order of ``workflows``
    (the run's workflow names); a workflow without a benchmark report has no test to compare."""
    directory = os.path.join(bundle_dir, cluster_dir_name(cluster))
    reports = dict(workflows_of(directory))
    tests = []
    for workflow in workflows:
        for result in (reports.get(safe_dir_name(workflow)) or {}).get("tests") or []:
            if not result.get("skipped"):
                tests.append((workflow, result))
    return tests


def _benchmark_tests(document, workflow):
    for entry in document.get("workflows") or []:
        if entry.get("workflow") == workflow:
            return [test for test in ((entry.get("benchmark") or {}).get("tests") or []) if not test.get("skipped")]
    return []


def source_dir(bundle_dir, source_name):
    """Where the role has ``algo_benchmark`` write a source cluster's reports in the bundle."""
    return os.path.join(bundle_dir, SOURCES, safe_dir_name(source_name))


def _same_load(current, keys):
    return lambda candidate: not judge.load_difference(current, candidate, keys)


class Judging:
    """The comparisons of ``cluster`` in the run at ``bundle_dir``, with ``settings_for(workflow, test)``."""

    def __init__(self, bundle_dir, cluster, run_id, workflows, settings_for, pass_score=judge.PASS_SCORE,
                 marginal_score=judge.MARGINAL_SCORE):
        self.bundle_dir = bundle_dir
        self.cluster = cluster
        self.run_id = run_id
        self.workflows = list(workflows)
        self.settings_for = settings_for
        self.scores = (pass_score, marginal_score)
        self.tests = run_tests(bundle_dir, cluster, self.workflows)

    def _compare(self, kind, label, find, load_keys=judge.LOAD_KEYS):
        comparison = judge.compare(kind, label, self.tests, find, self.settings_for, *self.scores, load_keys=load_keys)
        return comparison

    def against_run(self, report_dir, name):
        """Against ``previous``, a snapshot or a run id (``baselines``)."""
        if name == baselines.PREVIOUS:
            previous = baselines.Previous(report_dir, self.cluster, self.run_id)
            used = []

            def find_previous(workflow, result):
                run_id, test = previous.find(workflow, result.get("name"), _same_load(result, judge.LOAD_KEYS))
                if run_id and run_id not in used:
                    used.append(run_id)
                if test is None:
                    return None, {"run": None, "reason": "unknown: no earlier run of {0} that did not fail has test {1!r} of "
                                                         "workflow {2!r} with this load".format(self.cluster, result.get("name"), workflow)}
                return test, {"run": run_id}

            comparison = self._compare(judge.RUN, "the previous run", find_previous)
            comparison["runs"] = used
            if not used:
                comparison["message"] += " (no earlier run of {0} in {1} that did not fail has these tests)".format(
                    self.cluster, os.path.join(report_dir, baselines.RUNS))
            return comparison
        label, run_id, document = baselines.named_baseline(report_dir, name, self.cluster)
        comparison = self._compare(judge.RUN, "{0} (run {1})".format(label, run_id) if label.startswith("snapshot") else label,
                                   lambda workflow, result: (baselines.find_test(document, workflow, result.get("name")),
                                                             {"run": run_id}))
        comparison["runs"] = [run_id] if run_id else []
        return comparison

    def against_peers(self, peers, report_dir=None, baseline=None):
        """Against the pooled samples of ``peers``, test by test: their tests of this run, or with
        ``baseline`` their snapshot or run of that name (a rollout's gate: the clusters not upgraded
        yet, as they were before it began). A peer whose test ran another load is left out of that
        test's pool; a peer without the baseline is left out."""
        if baseline:
            peer_tests = {}
            for peer in peers:
                try:
                    _label, _run, document = baselines.named_baseline(report_dir, baseline, peer)
                except baselines.BaselineError:
                    continue
                peer_tests[peer] = {(workflow, test.get("name")): test for workflow in self.workflows
                                    for test in _benchmark_tests(document, workflow)}
        else:
            peer_tests = {peer: dict(((w, r.get("name")), r) for w, r in run_tests(self.bundle_dir, peer, self.workflows))
                          for peer in peers}
        label = "its peer{0} {1}{2}".format("" if len(peers) == 1 else "s", ", ".join(peers),
                                            " ({0})".format(baseline) if baseline else "")

        def find_pooled(workflow, result):
            same = _same_load(result, judge.LOAD_KEYS)
            found = [(peer, tests[(workflow, result.get("name"))]) for peer, tests in peer_tests.items()
                     if (workflow, result.get("name")) in tests]
            pooled = [(peer, test) for peer, test in found if same(test)]
            extra = {"peers": [peer for peer, _test in pooled]}
            if not pooled:
                return (found[0][1] if found else None), extra  # None, or a peer's test of another load: unknown, said why
            return judge.pool([test for _peer, test in pooled]), extra

        comparison = self._compare(judge.PEERS, label, find_pooled)
        comparison["peers"] = list(peers)
        return comparison

    def against_source(self, sources):
        """Against the source's original algorithm, benchmarked in this run: ``sources`` maps each
        workflow to its source cluster (the API address; its reports are under ``source_dir``)."""
        reports = {address: dict(workflows_of(source_dir(self.bundle_dir, address))) for address in set(sources.values())}

        def find_source(workflow, result):
            if workflow not in sources:
                return None, {}
            tests = (reports[sources[workflow]].get(safe_dir_name(workflow)) or {}).get("tests") or []
            found = next((test for test in tests if test.get("name") == result.get("name") and not test.get("skipped")), None)
            return found, {"source": sources[workflow]}

        addresses = sorted(set(sources.values()))
        label = "the source cluster{0} {1}".format("" if len(addresses) == 1 else "s", ", ".join(addresses))
        comparison = self._compare(judge.SOURCE, label, find_source, load_keys=judge.SHAPE_KEYS)
        comparison["source"] = ", ".join(addresses)
        return comparison


def write(bundle_dir, cluster, comparisons, check_mode=False):
    """``comparison.json`` of the cluster; its path."""
    path = os.path.join(bundle_dir, cluster_dir_name(cluster), COMPARISON_FILE)
    if not check_mode:
        write_text_atomically(path, json.dumps({"cluster": cluster, "comparisons": comparisons}, indent=2, sort_keys=True,
                                               default=str) + "\n")
    return path


def verdict_of(comparisons):
    """The cluster's status from its comparisons: ``failed`` when one failed or is marginal,
    ``inconclusive`` when one could compare nothing, else ``passed``."""
    verdicts = [comparison["verdict"] for comparison in comparisons]
    if judge.VERDICT_FAIL in verdicts or judge.VERDICT_MARGINAL in verdicts:
        return "failed"
    if judge.VERDICT_INCONCLUSIVE in verdicts:
        return "inconclusive"
    return "passed"


def without_histograms(comparison):
    """A comparison as a module returns it: the baselines' histograms (kilobytes each) stay in the file."""
    return dict(comparison, tests=[{key: value for key, value in test.items() if key != "histograms"}
                                   for test in comparison["tests"]])


SUMMARY_KEYS = ("kind", "baseline", "verdict", "score", "compared_tests", "passed_tests", "unknown_tests", "message",
                "runs", "peers", "source")


def summary_of(comparison):
    """A comparison as a cluster's verdict carries it (the summary, summary.json): its verdict and, per
    test, its class and reason."""
    summary = {key: comparison[key] for key in SUMMARY_KEYS if key in comparison}
    summary["tests"] = [{"workflow": test["workflow"], "test": test["test"], "class": test["class"], "status": test["status"],
                         "reason": test["reason"]} for test in comparison["tests"]]
    return summary
