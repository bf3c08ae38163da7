# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The run bundle: everything one run of the testbench said about each cluster, in one directory.

    <report_dir>/runs/<run id>/
      index.html                  cluster x test matrix of verdicts, linking each cluster's page
      input.json                  the run's input per cluster: workflows as validated, settings (keys masked)
      <cluster>/
        record.jsonl              the run record (what the run created; written by the other steps)
        report.html               the cluster's page (pages.cluster_page)
        results.json              every workflow's outcome and full benchmark results, and the
                                  comparisons with its baselines (from comparison.json)
        comparison.json           the judge's comparisons with the cluster's baselines (written by the judge)
        junit.xml                 one testsuite per workflow benchmark and per comparison; inconclusive tests as skipped
        input.json                this cluster's part of input.json
        workflows/<workflow>/     the benchmark's own reports (algo_benchmark report_dir)
        history/<workflow>/<test>.json   the ratchet history each test was compared with

A bundle is read by people who were not at the run and kept as a CI artifact, so it must not hold
a key: every value under a name that looks like a secret (``SECRET_NAME``) is replaced by
``MASK``, and any other text holding one of those values gets it masked too. Files are written
whole (``atomic_file``), so a reader never sees half of one.
"""

from __future__ import annotations

import glob
import json
import os
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import pages
from ansible_collections.algorithmia.testbench.plugins.module_utils.atomic_file import write_text_atomically
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import render_cluster_junit, render_json

MASK = "********"
SECRET_NAME = re.compile(r"key|secret|token|passw|credential|auth", re.IGNORECASE)
# Shorter values are not worth masking in other texts (and would mask ordinary words).
MIN_SECRET_CHARS = 6
_UNSAFE_DIR_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


class BundleError(ValueError):
    """A bundle cannot be written as asked; the message names the field and the fix."""


def safe_dir_name(name):
    """A workflow or test name as one directory or file name: letters, digits, ``_`` and ``-``
    (the role computes the same with ``regex_replace('[^A-Za-z0-9_-]+', '_')``)."""
    return _UNSAFE_DIR_CHARS.sub("_", str(name)) or "_"


def cluster_dir_name(cluster):
    """The cluster's directory in the bundle: its inventory name, as the run records use it."""
    if not isinstance(cluster, str) or not cluster or cluster in (".", "..") or "/" in cluster or "\\" in cluster \
            or "\0" in cluster:
        raise BundleError("the cluster name {0!r} cannot name a directory of the bundle. Fix: give the inventory "
                          "host name, without slashes".format(cluster))
    return cluster


def _secret_values(value, found, secret=False):
    if isinstance(value, dict):
        for name, item in value.items():
            _secret_values(item, found, secret or bool(SECRET_NAME.search(str(name))))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _secret_values(item, found, secret)
    elif secret and isinstance(value, str) and len(value) >= MIN_SECRET_CHARS and value != MASK:
        found.add(value)
    return found


def mask_secrets(value):
    """A copy of ``value`` with every non-empty value under a secret-looking name (at any depth)
    replaced by ``MASK``, and those values masked wherever else they appear in a text."""
    secrets = sorted(_secret_values(value, set()), key=len, reverse=True)

    def masked(item, secret=False):
        if isinstance(item, dict):
            return {name: masked(entry, secret or bool(SECRET_NAME.search(str(name)))) for name, entry in item.items()}
        if isinstance(item, (list, tuple)):
            return [masked(entry, secret) for entry in item]
        if secret and item not in (None, "", [], {}):
            return MASK
        if isinstance(item, str):
            for value_ in secrets:
                item = item.replace(value_, MASK)
        return item

    return masked(value)


def workflow_reports_dir(bundle_dir, cluster, workflow):
    """Where the role has ``algo_benchmark`` write the reports of a workflow's benchmark."""
    return os.path.join(bundle_dir, cluster_dir_name(cluster), "workflows", safe_dir_name(workflow))


def read_benchmark(directory):
    """The ``algo_benchmark`` JSON report in ``directory`` (the newest, if several), or ``None``."""
    paths = sorted(glob.glob(os.path.join(glob.escape(directory), "benchmark-*.json")), key=os.path.getmtime)
    if not paths:
        return None
    with open(paths[-1], encoding="utf-8") as stream:
        return json.load(stream)


OUTCOME_KEYS = ("workflow", "passed", "step", "step_language", "message", "summary", "algorithms")
COMPARISON_FILE = "comparison.json"


def _unreadable_comparison(path, why):
    return {"kind": None, "baseline": COMPARISON_FILE, "verdict": "fail", "score": 0.0, "passed_tests": 0, "compared_tests": 0,
            "tests": [], "message": "fail: {0} could not be read ({1}), so the comparisons with this cluster's baselines are "
                                    "unknown, not a pass. Fix: run the judge again for this cluster".format(path, why)}


def read_comparisons(bundle_dir, cluster):
    """The judge's comparisons of ``cluster`` (its ``comparison.json``), or ``None`` when it wrote none.
    A file that cannot be read is one failed comparison saying why: the judge was asked and did not
    answer, and no answer is never a pass."""
    path = os.path.join(bundle_dir, cluster_dir_name(cluster), COMPARISON_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            found = json.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        return [_unreadable_comparison(path, error)]
    if not isinstance(found, dict) or not isinstance(found.get("comparisons"), list):
        return [_unreadable_comparison(path, "it holds no list under \"comparisons\"")]
    return found["comparisons"]


def cluster_document(bundle_dir, verdict, run_id):
    """``results.json`` of a cluster: the run's verdict of it, with each workflow's full benchmark
    results read from the reports its benchmark wrote into the bundle, and the judge's comparisons
    (``comparisons``) when it wrote its ``comparison.json``: one that did not pass fails the cluster."""
    cluster = cluster_dir_name(verdict.get("cluster"))
    workflows = []
    for outcome in verdict.get("workflows") or []:
        entry = {key: outcome.get(key) for key in OUTCOME_KEYS if key in outcome}
        entry["benchmark"] = read_benchmark(workflow_reports_dir(bundle_dir, cluster, outcome.get("workflow")))
        workflows.append(entry)
    document = {"cluster": cluster, "api_address": verdict.get("api_address"), "run_id": run_id,
                "status": verdict.get("status"), "passed": verdict.get("passed"), "workflows": workflows}
    comparisons = read_comparisons(bundle_dir, cluster)
    if comparisons is not None:
        document["comparisons"] = comparisons
    document["status"] = pages.cluster_status(document)
    if document["status"] in (pages.FAILED, pages.INCONCLUSIVE) and document["passed"]:
        document["passed"] = False
    return document


def history_files(document):
    """``{relative path: text}`` of the history each test was compared with: the ratchet's
    ``history`` in the results, else a copy of its ``history_file`` (when it exists)."""
    files = {}
    for workflow in document.get("workflows") or []:
        for test in pages.benchmark_tests(workflow):
            ratchet = test.get("ratchet")
            if not isinstance(ratchet, dict):
                continue
            path = os.path.join("history", safe_dir_name(workflow.get("workflow") or "benchmark"),
                                safe_dir_name(test.get("name")) + ".json")
            if isinstance(ratchet.get("history"), list):
                files[path] = render_json({"history_file": ratchet.get("history_file"), "runs": ratchet["history"]})
            elif isinstance(ratchet.get("history_file"), str) and os.path.isfile(ratchet["history_file"]):
                with open(ratchet["history_file"], encoding="utf-8") as stream:
                    files[path] = stream.read()
    return files


def write_files(files, check_mode):
    """Write ``{path: text}`` (nothing in check mode); the paths written."""
    if not check_mode:
        for path, text in files.items():
            write_text_atomically(path, text)
    return sorted(files)


def write_cluster(bundle_dir, verdict, run_id, effective_input=None, check_mode=False):
    """A cluster's files in the bundle; ``{"html": path, "results": path, ...}`` of those written."""
    document = cluster_document(bundle_dir, verdict, run_id)
    directory = os.path.join(bundle_dir, document["cluster"])
    paths = {"results": os.path.join(directory, "results.json"), "junit": os.path.join(directory, "junit.xml"),
             "html": os.path.join(directory, "report.html"), "input": os.path.join(directory, "input.json")}
    files = {paths["results"]: render_json(document), paths["junit"]: render_cluster_junit(document),
             paths["html"]: pages.cluster_page(document),
             paths["input"]: render_json(mask_secrets(effective_input or {}))}
    history = {os.path.join(directory, path): text for path, text in history_files(document).items()}
    files.update(history)
    write_files(files, check_mode)
    paths["history"] = sorted(history)
    return paths, document


def read_json(path):
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        return None


def render_summary(summary):
    """The text of ``summary.json``: as Ansible's ``to_nice_json`` writes it."""
    return json.dumps(summary, indent=4, sort_keys=True, separators=(",", ": "), default=str) + "\n"


def write_index(bundle_dir, run_id, clusters, check_mode=False, summary_path=None, summary=None):
    """``index.html`` and ``input.json`` of the run from the clusters' files; a cluster without a
    ``results.json`` failed before its workflows ran. ``{"html": path, "input": path}``. With
    ``summary_path``, ``summary`` (the run's verdicts) is written there too (``"summary": path``),
    in the same call, its directory made when missing."""
    entries, inputs = [], {}
    for cluster in clusters:
        name = cluster_dir_name(cluster)
        document = read_json(os.path.join(bundle_dir, name, "results.json"))
        entries.append((name, pages.cluster_href(name) if document else None, document))
        inputs[name] = read_json(os.path.join(bundle_dir, name, "input.json"))
    paths = {"html": os.path.join(bundle_dir, "index.html"), "input": os.path.join(bundle_dir, "input.json")}
    files = {paths["html"]: pages.index_page(run_id, entries),
             paths["input"]: render_json(mask_secrets({"run_id": run_id, "clusters": inputs}))}
    if summary_path:
        paths["summary"] = summary_path
        files[summary_path] = render_summary(summary if summary is not None else {})
    write_files(files, check_mode)
    statuses = {name: pages.cluster_status(document) if document else "failed" for name, _h, document in entries}
    return paths, statuses
