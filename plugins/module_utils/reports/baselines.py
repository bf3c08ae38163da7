# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the judge finds a baseline: earlier run bundles and named snapshots in the report directory.

    <report_dir>/runs/<run id>/<cluster>/results.json     a cluster's results in a run (``bundle``)
    <report_dir>/snapshots/<name>/<cluster>.json          a named baseline: that file, kept

A snapshot (``testbench_snapshot: before-upgrade-2026-12``) is a copy of the cluster's
``results.json`` with ``snapshot``, ``run_id`` and ``kept_at`` added, not a pointer to the run's
bundle: run bundles are one run's output and get deleted, while a snapshot is what the next run is
judged against. Keeping it again under the same name replaces it (the latest run under that name
is the baseline). A snapshot is kept only of a cluster that did not fail: a slow run must never
become the level the next runs are held to.

A baseline named by ``testbench_baseline_run`` is, in this order: ``previous`` (per test, the
newest earlier run of this cluster with that workflow, test and load whose cluster did not fail),
a snapshot of that name, or a run id. ``baseline_problem`` says what is wrong with a name before
anything is measured, with the fix.
"""

from __future__ import annotations

import datetime
import json
import os
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.atomic_file import write_text_atomically

RUNS, SNAPSHOTS = "runs", "snapshots"
PREVIOUS = "previous"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NAME_RULE = "1 to 100 letters, digits, '.', '_' and '-', starting with a letter or digit"


class BaselineError(ValueError):
    """A baseline or snapshot name that cannot be used; the message names it and the fix."""


def check_name(name, field):
    if not isinstance(name, str) or not NAME.match(name) or name in (".", ".."):
        raise BaselineError("{0} {1!r} is not a name of {2}. Fix: use such a name, like before-upgrade-2026-12".format(
            field, name, NAME_RULE))
    return name


def run_results_path(report_dir, run_id, cluster):
    return os.path.join(report_dir, RUNS, run_id, cluster, "results.json")


def snapshot_path(report_dir, name, cluster):
    return os.path.join(report_dir, SNAPSHOTS, name, cluster + ".json")


def read_document(path):
    """The JSON document at ``path``; ``None`` when there is none; ``BaselineError`` when unreadable."""
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise BaselineError("{0} cannot be read as a run's results ({1}). Fix: restore it, or delete it and keep a new "
                            "baseline with testbench_snapshot".format(path, error)) from None
    if not isinstance(document, dict) or not isinstance(document.get("workflows"), list):
        raise BaselineError("{0} holds no run results (no workflows). Fix: restore it, or delete it and keep a new "
                            "baseline with testbench_snapshot".format(path))
    return document


def kept_snapshots(report_dir, cluster):
    """The names of the snapshots kept of ``cluster``, sorted."""
    root = os.path.join(report_dir, SNAPSHOTS)
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(name for name in names if os.path.isfile(snapshot_path(report_dir, name, cluster)))


def baseline_problem(report_dir, name, cluster, run_id=None):
    """Why ``testbench_baseline_run: name`` cannot be judged against for ``cluster``, or ``None``."""
    if name == PREVIOUS:
        return None
    try:
        check_name(name, "testbench_baseline_run")
    except BaselineError as error:
        return str(error)
    if name == run_id:
        return ("testbench_baseline_run {0!r} is this run itself. Fix: name an earlier run, a snapshot, or "
                "previous".format(name))
    if os.path.isfile(snapshot_path(report_dir, name, cluster)) or os.path.isfile(run_results_path(report_dir, name, cluster)):
        return None
    kept = kept_snapshots(report_dir, cluster)
    return ("testbench_baseline_run {0!r} names neither a snapshot of {1} ({2}) nor a run of it ({3}). Fix: name {4}a run "
            "id under {5}, or previous (the latest earlier run of this cluster)".format(
                name, cluster, snapshot_path(report_dir, name, cluster), run_results_path(report_dir, name, cluster),
                "one of its snapshots ({0}), ".format(", ".join(kept)) if kept else "a snapshot kept by testbench_snapshot, ",
                os.path.join(report_dir, RUNS)))


def find_test(document, workflow, name):
    """The benchmark result of test ``name`` of ``workflow`` in a results document, or ``None``."""
    for entry in (document or {}).get("workflows") or []:
        if entry.get("workflow") != workflow:
            continue
        for test in ((entry.get("benchmark") or {}).get("tests")) or []:
            if test.get("name") == name and not test.get("skipped"):
                return test
    return None


def _run_ids(report_dir):
    """Run ids under ``runs/``, newest first: the playbook names runs ``%Y%m%dT%H%M%SZ-<random>``,
    so the name sorts by start time; an id of another shape sorts by its results' age."""
    root = os.path.join(report_dir, RUNS)
    try:
        names = [name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name))]
    except OSError:
        return []
    stamped = re.compile(r"^\d{8}T\d{6}Z")
    return sorted(names, key=lambda name: (name[:16] if stamped.match(name) else _age(os.path.join(root, name)), name),
                  reverse=True)


def _age(path):
    try:
        return datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    except OSError:
        return ""


class Previous:
    """``previous``: per test, the newest earlier run of the cluster, not failed, with that test.

    The runs are read newest first and only as far back as a test still needs one, each once."""

    def __init__(self, report_dir, cluster, run_id):
        self.report_dir = report_dir
        self.cluster = cluster
        self.run_id = run_id
        self._runs = iter(_run_ids(report_dir))
        self._read = []

    def _documents(self):
        yield from self._read
        for run_id in self._runs:
            if run_id == self.run_id:
                continue
            try:
                document = read_document(run_results_path(self.report_dir, run_id, self.cluster))
            except BaselineError:
                document = None  # an unreadable old bundle is not a baseline; an explicit name would be refused
            if document is None or document.get("status") == "failed":
                continue
            self._read.append((run_id, document))
            yield run_id, document

    def find(self, workflow, name, same_load):
        """``(run id, test result)`` of the newest run whose test ``same_load(result)`` accepts, or ``(None, None)``."""
        for run_id, document in self._documents():
            test = find_test(document, workflow, name)
            if test is not None and same_load(test):
                return run_id, test
        return None, None


def named_baseline(report_dir, name, cluster):
    """``(label, run id, results document)`` of a snapshot or run named ``name``."""
    document = read_document(snapshot_path(report_dir, name, cluster))
    if document is not None:
        return "snapshot {0}".format(name), document.get("run_id"), document
    document = read_document(run_results_path(report_dir, name, cluster))
    if document is None:
        raise BaselineError(baseline_problem(report_dir, name, cluster) or "no results of {0} in run {1}".format(cluster, name))
    return "run {0}".format(name), name, document


def keep_snapshot(report_dir, name, cluster, document, check_mode=False):
    """Keep ``document`` (a cluster's results of this run) as snapshot ``name``; its path."""
    check_name(name, "testbench_snapshot")
    # its own comparisons (with their baselines' histograms) are not what a later run is judged against
    kept = {key: value for key, value in document.items() if key != "comparisons"}
    kept.update(snapshot=name, kept_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = snapshot_path(report_dir, name, cluster)
    if not check_mode:
        write_text_atomically(path, json.dumps(kept, indent=2, sort_keys=True, default=str) + "\n")
    return path
