# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One verdict out of several run bundles: the slices of a sliced job.

AWX job slicing (and any split of an inventory into runs of its own) runs each slice as its own
``ansible-playbook`` run with its own run id, so each run bundle (``report_bundle``) and each
``summary.json`` covers only its slice. This reads each cluster's ``results.json`` from the given
bundles and writes, into one directory::

    index.html      the run index's matrix (pages.index_page) over every cluster of every
                    bundle, each cluster linking to its page in its own bundle
    input.json      every cluster's input, from each bundle's input.json (keys masked)
    summary.json    {"status", "passed", "clusters": [{cluster, status, run_id, bundle, workflows,
                     comparisons, ...}], "bundles", "lines"}: one line per cluster (a comparison
                     with a baseline that did not pass fails its cluster here too)

A merge that could hide a verdict is refused before anything is written: a path that is not a
bundle, a bundle without a cluster, a cluster whose verdicts in two bundles differ.
"""

from __future__ import annotations

import os

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import pages
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import render_json
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import (
    cluster_dir_name,
    mask_secrets,
    read_json,
    write_files,
)

FIX_BUNDLE = ("Fix: give the run bundle of each slice, <testbench_report_dir>/runs/<run id> (the artifacts' "
              "testbench_clusters.<cluster>.bundle), or the testbench_report_dir of a slice")


# What summary.json keeps of a comparison: its verdict and why; the shifts stay in the cluster's results.json.
COMPARISON_KEYS = ("kind", "baseline", "runs", "peers", "source", "verdict", "score", "passed_tests", "compared_tests", "message")


class SummaryError(ValueError):
    """The bundles cannot be merged as given; the message names the bundle and the fix."""


def run_bundle(path, label):
    """The run bundle that ``path`` stands for: the path itself, or for a report directory (one
    holding ``runs/``) the run its ``summary.json`` describes, the last run that wrote there."""
    if not os.path.isdir(path):
        raise SummaryError("{0} ({1}) is not a directory. {2}".format(label, path, FIX_BUNDLE))
    if not os.path.isdir(os.path.join(path, "runs")):
        return path
    summary = read_json(os.path.join(path, "summary.json"))
    run_id = summary.get("run_id") if isinstance(summary, dict) else None
    if not isinstance(run_id, str) or not run_id or not os.path.isdir(os.path.join(path, "runs", run_id)):
        raise SummaryError("{0} ({1}) is a report directory whose summary.json names no run bundle under runs/. "
                           "Fix: give the run bundle itself, {1}/runs/<run id>".format(label, path))
    return os.path.join(path, "runs", run_id)


def read_bundle(bundle, label):
    """``(run id, {cluster: (results document or None, input or None)})`` of a run bundle, by
    name. The index's ``input.json`` names every cluster of the run, those that failed before
    their workflows ran (no ``results.json``) too; without it, each directory with a ``results.json``."""
    index_input = read_json(os.path.join(bundle, "input.json"))
    index_input = index_input if isinstance(index_input, dict) else {}
    inputs = index_input.get("clusters") if isinstance(index_input.get("clusters"), dict) else {}
    names = sorted(inputs) or sorted(name for name in os.listdir(bundle) if os.path.isfile(os.path.join(bundle, name, "results.json")))
    clusters = {}
    for name in names:
        path = os.path.join(bundle, cluster_dir_name(name), "results.json")
        document = read_json(path)
        if document is not None and not isinstance(document, dict):
            raise SummaryError("{0}: {1} is not the results.json of a cluster. {2}".format(label, path, FIX_BUNDLE))
        clusters[name] = (document, inputs.get(name))
    return index_input.get("run_id") or os.path.basename(os.path.normpath(bundle)), clusters


def cluster_line(entry):
    """One line of the merged verdict: the cluster, its verdict, why when not passed (a failed workflow,
    a failed test, a comparison with a baseline that did not pass, with its message), its run."""
    document, status = entry["document"], entry["status"]
    run = "run {0}".format(entry["run_id"])
    if document is None:
        return "{0}: failed before its workflows ran ({1}; no results.json in {2})".format(entry["cluster"], run, entry["bundle"])
    workflows = document.get("workflows") or []
    names = ", ".join(str(w.get("workflow")) for w in workflows)
    if status == pages.FAILED:
        why = [str(w.get("summary") or w.get("message") or "workflow {0} failed".format(w.get("workflow")))
               for w in workflows if w.get("passed") is False]
        why += ["test {0!r} of workflow {1} failed".format(t.get("name"), w.get("workflow"))
                for w in workflows if w.get("passed") is not False for t in pages.benchmark_tests(w)
                if pages.test_status(t) == pages.FAILED]
        why += ["against {0}: {1}".format(pages.baseline_name(c), pages.score_text(c)) for c in pages.comparisons_not_passed(document)]
        return "{0}: failed ({1}): {2}".format(entry["cluster"], run, "; ".join(why) or pages.verdict_sentence(document))
    if status == pages.INCONCLUSIVE:
        why = "".join("; against {0}: {1}".format(pages.baseline_name(c), pages.score_text(c)) for c in pages.comparisons_not_passed(document))
        return "{0}: inconclusive, not a pass ({1}; {2}{3})".format(entry["cluster"], names, run, why)
    return "{0}: {1} ({2}; {3})".format(entry["cluster"], pages.VERDICT_WORDS[status], names, run)


def merge(paths):
    """The clusters of every bundle, each once: ``(entries, bundles)``. A cluster in two bundles
    must have the same verdict in both (the later bundle's pages are linked)."""
    if not paths:
        raise SummaryError("no bundle was given. " + FIX_BUNDLE)
    entries, bundles = {}, []
    for number, path in enumerate(paths):
        label = "bundles[{0}]".format(number)
        bundle = run_bundle(path, label)
        run_id, clusters = read_bundle(bundle, label)
        if not clusters:
            raise SummaryError("{0} ({1}) holds no cluster: no <cluster>/results.json and no input.json of a run. The run may "
                               "have stopped before any cluster was benchmarked, or ran in check mode. {2}".format(label, bundle, FIX_BUNDLE))
        bundles.append({"path": bundle, "run_id": run_id, "clusters": list(clusters)})
        for name, (document, cluster_input) in clusters.items():
            status = pages.cluster_status(document) if document else pages.FAILED
            earlier = entries.get(name)
            if earlier and earlier["status"] != status:
                raise SummaryError(
                    "cluster {0} is {1} in {2} (run {3}) but {4} in {5} (run {6}): two slices disagree on one cluster. "
                    "Fix: merge the bundles of one sliced run only, or give only the bundle of the run that "
                    "counts for that cluster".format(name, earlier["status"], earlier["bundle"], earlier["run_id"], status, bundle, run_id))
            entries[name] = {"cluster": name, "status": status, "run_id": (document or {}).get("run_id") or run_id,
                             "bundle": bundle, "document": document, "input": cluster_input}
    return list(entries.values()), bundles


def write_summary(paths, dest, check_mode=False):
    """Merge the bundles at ``paths`` into ``dest``: ``(files written, summary document)``; nothing is
    written in check mode or when the merge is refused (``SummaryError``)."""
    entries, bundles = merge(paths)
    run_label = " + ".join(dict.fromkeys(b["run_id"] for b in bundles))
    rows = []
    for entry in entries:
        cluster_dir = os.path.join(entry["bundle"], entry["cluster"])
        href = pages.cluster_href(os.path.relpath(cluster_dir, dest)) if entry["document"] else None
        rows.append((entry["cluster"], href, entry["document"]))
    lines = [cluster_line(entry) for entry in entries]
    status = pages.overall_status([entry["status"] for entry in entries])
    summary = {
        "status": status, "passed": status == pages.PASSED, "runs": run_label, "lines": lines,
        "bundles": [{"path": b["path"], "run_id": b["run_id"], "clusters": b["clusters"]} for b in bundles],
        "clusters": [{"cluster": e["cluster"], "status": e["status"], "run_id": e["run_id"], "bundle": e["bundle"],
                      "api_address": (e["document"] or {}).get("api_address"),
                      "report": os.path.join(e["bundle"], e["cluster"], "report.html") if e["document"] else None,
                      "workflows": [{key: w.get(key) for key in ("workflow", "passed", "step", "summary") if key in w}
                                    for w in (e["document"] or {}).get("workflows") or []],
                      "comparisons": [{key: c.get(key) for key in COMPARISON_KEYS if key in c}
                                      for c in pages.cluster_comparisons(e["document"] or {})]}
                     for e in entries],
    }
    paths = {"html": os.path.join(dest, "index.html"), "input": os.path.join(dest, "input.json"),
             "summary": os.path.join(dest, "summary.json")}
    write_files({paths["html"]: pages.index_page(run_label, rows),
                 paths["input"]: render_json(mask_secrets({"runs": run_label, "clusters": {e["cluster"]: e["input"] for e in entries}})),
                 paths["summary"]: render_json(summary)}, check_mode)
    return paths, summary
