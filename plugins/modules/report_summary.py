#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_summary
short_description: Merge the run bundles of several runs (the slices of a sliced job) into one verdict
version_added: 0.1.0
description:
  - Under AWX job slicing, each slice is its own C(ansible-playbook) run with its own run id, so each
    run bundle (M(algorithmia.testbench.report_bundle)) and each C(summary.json) covers only the
    clusters of its slice. This module reads each cluster's C(results.json) from the bundles given and
    writes one verdict of them all into O(dest) - C(index.html) (the run index's cluster x test matrix,
    each cluster linking to its page in its own bundle), C(input.json) (every cluster's input, keys
    masked) and C(summary.json) (the overall status, each cluster's status, run and bundle, one line
    per cluster).
  - A cluster without C(results.json) in a bundle whose index names it failed before its workflows
    ran, and counts as failed.
  - Refuses, before writing anything, a path that is not a directory, a bundle that holds no cluster,
    and a cluster that has different verdicts in two bundles.
  - A failed cluster is a verdict, not an error of this module - it returns C(status=failed); the
    playbook C(algorithmia.testbench.summary) fails on it.
  - Runs on the controller and contacts no cluster. The files are this merge's output, so C(changed)
    is always false. In check mode nothing is written.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  bundles:
    description:
      - The run bundles to merge, one per slice - C(<testbench_report_dir>/runs/<run id>), as the role's
        run artifacts name them (C(testbench_clusters.<cluster>.bundle)).
      - A report directory (one holding C(runs/)) stands for the run its C(summary.json) describes, the
        last run that wrote there. Give run bundles when several slices share one report directory.
      - A cluster in several bundles must have the same verdict in each; the last bundle's pages are linked.
    type: list
    elements: path
    required: true
  dest:
    description: The directory to write C(index.html), C(input.json) and C(summary.json) into; made when missing.
    type: path
    required: true
extends_documentation_fragment:
  - algorithmia.testbench.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; the verdict and the paths that would be written are returned.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: The same bundles give the same files; C(changed) is always false.
"""

EXAMPLES = r"""
- name: Merge the bundles of two slices into one verdict
  algorithmia.testbench.report_summary:
    bundles:
      - /srv/testbench/reports/runs/20250301T101500Z-000042
      - /srv/testbench/reports/runs/20250301T101502Z-000917
    dest: /srv/testbench/reports/merged
  register: merged

- name: Show one line per cluster
  ansible.builtin.debug:
    msg: "{{ merged.lines }}"

- name: Merge the bundles named by the artifacts of the slices (set_stats testbench_clusters)
  algorithmia.testbench.report_summary:
    bundles: "{{ testbench_clusters | dict2items | map(attribute='value.bundle') | unique }}"
    dest: /srv/testbench/reports/merged
"""

RETURN = r"""
status:
  description: The merged verdict - C(failed) when a cluster failed, else C(inconclusive) when one is, else C(passed).
  returned: always
  type: str
  sample: failed
passed:
  description: Whether every cluster passed (an inconclusive cluster is not a pass).
  returned: always
  type: bool
  sample: false
lines:
  description: One line per cluster - its verdict, why when it did not pass, and its run.
  returned: always
  type: list
  elements: str
  sample: ["prod-eu: passed (hello_world; run 20250301T101500Z-000042)"]
clusters:
  description:
    - Per cluster its C(status), C(run_id), C(bundle), C(api_address), C(report) and C(workflows); bundle by
      bundle in the order given, by name within one.
  returned: always
  type: list
  elements: dict
  sample: [{cluster: prod-eu, status: passed, run_id: 20250301T101500Z-000042, bundle: /srv/testbench/reports/runs/20250301T101500Z-000042}]
failed_clusters:
  description: The names of the clusters that failed.
  returned: always
  type: list
  elements: str
  sample: [prod-us]
bundles:
  description: The run bundles merged (a report directory given is replaced by its run bundle), with their run ids and clusters.
  returned: always
  type: list
  elements: dict
paths:
  description: The files written (in check mode, that would be written) - C(html), C(input) and C(summary).
  returned: always
  type: dict
  sample: {html: /srv/testbench/reports/merged/index.html}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import BundleError
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.summary import SummaryError, write_summary


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundles=dict(type="list", elements="path", required=True),
            dest=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    try:
        paths, summary = write_summary(module.params["bundles"], dest, module.check_mode)
    except (SummaryError, BundleError) as exc:
        module.fail_json(msg="Failed to merge the run bundles into {0}: {1}.".format(dest, exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="Failed to merge the run bundles into {0}: {1}. Fix: give bundles the testbench wrote, "
                             "unchanged, and a writable dest".format(dest, exc))
    module.exit_json(changed=False, paths=paths, status=summary["status"], passed=summary["passed"], lines=summary["lines"],
                     clusters=summary["clusters"], bundles=summary["bundles"],
                     failed_clusters=[entry["cluster"] for entry in summary["clusters"] if entry["status"] == "failed"])


if __name__ == "__main__":
    main()
