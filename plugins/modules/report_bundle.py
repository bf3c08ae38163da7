#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_bundle
short_description: Write a run's report bundle, a cluster's pages and results, or the run's index and summary
version_added: 0.1.0
description:
  - Writes the files of one run of the testbench into its bundle directory, on the controller. It
    contacts no cluster.
  - With O(verdict), the files of one cluster (C(<bundle_dir>/<cluster>/)) - C(report.html) (a
    self-contained page - verdict and gate table first, then per test a latency histogram, the
    latency by percentile with the baseline's when the ratchet gives one, latency over time with
    the errors and dropped calls at their moment, calls started per second, and client vs server vs
    overhead), C(results.json) (each workflow's outcome and full benchmark results), C(junit.xml)
    (inconclusive tests as skipped), C(input.json) (O(input), keys masked) and C(history/) (the
    ratchet history each test was compared with).
  - When the judge wrote C(<bundle_dir>/<cluster>/comparison.json), its comparisons with the
    cluster's baselines (an earlier run, its peers, the source cluster) go into C(results.json) under
    C(comparisons), into C(junit.xml) as a testsuite each (a regression as a failure, an unknown
    test as skipped, a C(marginal) or C(fail) verdict as a failed C(verdict) testcase) and into
    C(report.html) (each test's shift with its interval, p-value and class, and its latency curve
    over the baseline's); a C(marginal) or C(fail) verdict fails the cluster, an C(inconclusive) one
    (no test compared) makes it inconclusive, never passed.
  - The full benchmark results are read from the reports C(algo_benchmark) wrote into
    C(<bundle_dir>/<cluster>/workflows/<workflow>/) (the role sets its C(report_dir)
    there), the name with every character other than letters, digits, C(_) and C(-) replaced by C(_).
  - With O(clusters), the run's C(index.html) (a cluster x test matrix of verdicts linking each
    cluster's page, then the clusters judged against their peers as a cluster x test matrix of
    classes and shifts, and each cluster's other comparisons) and C(input.json) (every cluster's
    input), from the files of each cluster; with
    O(summary_path) too, O(summary) written there as JSON, in the same task (the role writes its
    C(summary.json) so, without a task of its own).
  - Every value under a name that looks like a secret (containing C(key), C(secret), C(token),
    C(passw), C(credential) or C(auth)) is written as C(********), and that value is masked
    wherever else it appears.
  - Each file is written whole (a temporary file renamed over the old one), its directory made
    when missing.
  - The files are this run's output, so C(changed) is always false. In check mode nothing is written.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  bundle_dir:
    description: The run's bundle directory, C(<testbench_report_dir>/runs/<run id>) for the role.
    type: path
    required: true
  run_id:
    description: The run's name in the pages. Default is the last part of O(bundle_dir).
    type: str
  verdict:
    description:
      - The verdict of one cluster, as the role's C(testbench_verdict) - C(cluster) (its name, the
        directory in the bundle), C(api_address), C(status) and C(workflows) (each with C(workflow),
        C(passed), and C(step), C(message), C(summary) when it failed).
      - Exactly one of O(verdict) and O(clusters) is given.
    type: dict
  input:
    description:
      - The effective input of the cluster given by O(verdict), written to its C(input.json), such as
        C({workflows, settings}). Secret-looking values are masked before anything is written.
    type: dict
  clusters:
    description:
      - The names of every cluster of the run, in the order of the index. Writes C(index.html) and
        C(input.json) of the run. A cluster without C(results.json) is shown as failed before its
        workflows ran.
    type: list
    elements: str
  summary_path:
    description:
      - Where to write O(summary) as JSON, such as C(<testbench_report_dir>/summary.json); its
        directory is made when missing. Only with O(clusters), and with O(summary).
    type: path
  summary:
    description:
      - The run's verdicts to write to O(summary_path), as the role's C(summary.json) - C(passed),
        C(run_id), C(clusters) (each cluster's verdict) and C(lines) (the verdict as printed).
        Written as given, with its keys sorted; required with O(summary_path).
    type: dict
  snapshot:
    description:
      - With O(verdict), keep the cluster's C(results.json) of this run as the named baseline (such as
        V(before-upgrade-2026-12)) in C(<report_dir>/snapshots/<snapshot>/<cluster>.json), for
        O(algorithmia.testbench.benchmark_judge#module:baseline_run) of a later run. The same name again replaces it.
      - Not kept when the cluster failed (a slow or broken run must never become the level later runs are held to);
        RV(snapshot) then says why.
      - 1 to 100 letters, digits, C(.), C(_) and C(-), starting with a letter or digit.
    type: str
  report_dir:
    description: Where snapshots are kept (C(snapshots/) in it). Default is the directory above C(runs/) of O(bundle_dir).
    type: path
extends_documentation_fragment:
  - algorithmia.testbench.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the paths that would be written are returned.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: The same results give the same files; C(changed) is always false.
"""

EXAMPLES = r"""
- name: Write the reports of this cluster into the run bundle
  algorithmia.testbench.report_bundle:
    bundle_dir: "{{ testbench_report_dir }}/runs/{{ run_id }}"
    verdict: "{{ testbench_verdict }}"
    input:
      workflows: "{{ workflows }}"
      settings: {api_address: "https://api.example.com", api_key: "masked anyway"}

- name: Write the index of the run
  algorithmia.testbench.report_bundle:
    bundle_dir: "{{ testbench_report_dir }}/runs/{{ run_id }}"
    clusters: "{{ ansible_play_hosts_all }}"
  run_once: true

- name: Write the index of the run and the verdicts of every cluster to summary.json
  algorithmia.testbench.report_bundle:
    bundle_dir: "{{ testbench_report_dir }}/runs/{{ run_id }}"
    clusters: "{{ ansible_play_hosts_all }}"
    summary_path: "{{ testbench_report_dir }}/summary.json"
    summary:
      run_id: "{{ run_id }}"
      clusters: "{{ ansible_play_hosts_all | map('extract', hostvars, 'testbench_verdict') | list }}"
  run_once: true
"""

RETURN = r"""
paths:
  description:
    - The files written (in check mode, that would be written), by kind - C(html), C(results), C(junit),
      C(input) and C(history) (a list) for a cluster; C(html) and C(input) for the index, and
      C(summary) when O(summary_path) is given.
  returned: always
  type: dict
  sample: {html: reports/runs/20250301T101500Z-000042/prod-eu/report.html}
status:
  description: The cluster's verdict as its page shows it (C(passed), C(failed), C(inconclusive) or C(not-run)).
  returned: when O(verdict) is given
  type: str
  sample: passed
snapshot:
  description: With O(snapshot) - C(path) of the snapshot kept, or null, and C(kept) (true or false) with C(why) when not.
  returned: when O(snapshot) is given
  type: dict
  sample: {kept: true, path: reports/snapshots/before-upgrade/prod-eu.json}
statuses:
  description: Each cluster's verdict as the index shows it.
  returned: when O(clusters) is given
  type: dict
  sample: {prod-eu: passed, prod-us: failed}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.baselines import BaselineError, check_name, keep_snapshot
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import (
    BundleError,
    write_cluster,
    write_index,
)


def keep(params, bundle_dir, document, check_mode):
    """The cluster's results kept as the named snapshot, unless it failed."""
    if document["status"] == "failed":
        return {"kept": False, "path": None,
                "why": "{0} failed in this run: a failed run is never kept as a baseline".format(document["cluster"])}
    report_dir = params["report_dir"] or os.path.dirname(os.path.dirname(os.path.normpath(bundle_dir)))
    return {"kept": True, "path": keep_snapshot(report_dir, params["snapshot"], document["cluster"], document, check_mode)}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundle_dir=dict(type="path", required=True),
            run_id=dict(type="str"),
            verdict=dict(type="dict"),
            input=dict(type="dict"),
            clusters=dict(type="list", elements="str"),
            summary_path=dict(type="path"),
            summary=dict(type="dict"),
            snapshot=dict(type="str"),
            report_dir=dict(type="path"),
        ),
        mutually_exclusive=[("verdict", "clusters")],
        required_one_of=[("verdict", "clusters")],
        required_together=[("summary_path", "summary")],
        required_by={"summary_path": "clusters", "snapshot": "verdict"},
        supports_check_mode=True,
    )
    params = module.params
    bundle_dir = params["bundle_dir"]
    run_id = params["run_id"] or os.path.basename(os.path.normpath(bundle_dir))
    try:
        if params["verdict"] is not None:
            if params["snapshot"]:
                check_name(params["snapshot"], "snapshot")
            paths, document = write_cluster(bundle_dir, params["verdict"], run_id, params["input"], module.check_mode)
            result = dict(changed=False, paths=paths, status=document["status"])
            if params["snapshot"]:
                result["snapshot"] = keep(params, bundle_dir, document, module.check_mode)
            module.exit_json(**result)
        paths, statuses = write_index(bundle_dir, run_id, params["clusters"], module.check_mode,
                                      summary_path=params["summary_path"], summary=params["summary"])
        module.exit_json(changed=False, paths=paths, statuses=statuses)
    except (BundleError, BaselineError) as exc:
        module.fail_json(msg="Failed to write the report bundle {0}: {1}.".format(bundle_dir, exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="Failed to write the report bundle {0}: {1}. Fix: make testbench_report_dir a writable "
                             "directory, and keep the reports the run wrote in it.".format(bundle_dir, exc))


if __name__ == "__main__":
    main()
