#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: benchmark_judge
short_description: Judge a cluster's benchmark tests against an earlier run, a snapshot, its peers or the source cluster
version_added: 0.1.0
description:
  - Compares each benchmark test of one cluster in a run with the same test of a baseline, from what
    one baseline run measured, and says per test C(regression), C(improvement), C(pass) or
    C(unknown), and per baseline a verdict C(pass), C(marginal), C(fail) or C(inconclusive).
    It contacts no cluster - it reads the reports the run's benchmarks wrote into the run bundle.
  - Baselines, each optional - O(baseline_run) (an earlier run of this cluster, a snapshot kept by
    O(algorithmia.testbench.report_bundle#module:snapshot), or V(previous)); O(peers) (other clusters of
    this run, pooled test by test); O(sources) (the same tests run on the source cluster's original
    algorithm in this run).
  - Per test, the latency and the server time (C(metadata.duration)) of the successful calls - the
    Hodges-Lehmann shift of their logarithms with its confidence interval, widened by O(run_noise),
    as a relative change, and the Mann-Whitney p-value. A regression needs the interval's lower bound
    above O(tolerance) and, in milliseconds at the baseline's median, above O(floor_ms); an improvement
    is the mirror image.
  - The error rate (and the dropped starts of an open-model test) - the difference of the two rates
    with Newcombe's interval and Fisher's exact p-value; a regression needs the lower bound above
    O(error_tolerance).
  - Fewer than O(min_samples) successful calls on either side, no server time, or a baseline test that
    ran another load (payload, calls, concurrency, rate...) is C(unknown), and its test
    C(inconclusive), never a pass. For the source only the load's shape must match (its calls are bounded).
  - The verdict of a baseline is the share of the compared tests (those not unknown) that pass, against
    O(pass_score) and O(marginal_score) - C(pass) at or above the first, C(marginal) at or above the second
    (the cluster fails all the same), else C(fail); C(inconclusive) when no test could be compared.
  - Writes C(<bundle_dir>/<cluster>/comparison.json), which C(algorithmia.testbench.report_bundle) shows on
    the cluster's page, in its C(results.json) and C(junit.xml), and in the run's index.
  - The file is this run's output, so C(changed) is always false. The task fails only on bad input or an
    unreadable baseline; the verdicts are returned for the caller to act on.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  bundle_dir:
    description: The run's bundle directory, C(<testbench_report_dir>/runs/<run id>) for the role.
    type: path
    required: true
  cluster:
    description: The cluster judged - its directory in the bundle (the inventory host name).
    type: str
    required: true
  workflows:
    description: The names of the run's workflows, in order; their benchmark tests are compared.
    type: list
    elements: str
    required: true
  run_id:
    description: This run's id (never its own baseline). Default is the last part of O(bundle_dir).
    type: str
  report_dir:
    description:
      - Where earlier runs (C(runs/<run id>/)) and snapshots (C(snapshots/<name>/)) are. Default is the
        directory above C(runs/) of O(bundle_dir).
    type: path
  baseline_run:
    description:
      - An earlier run to judge against - a snapshot name (kept by O(algorithmia.testbench.report_bundle#module:snapshot)),
        a run id under C(<report_dir>/runs/), or V(previous) (per test, the latest earlier run of this cluster
        with the same workflow, test and load that did not fail).
    type: str
  peers:
    description: Other clusters whose samples are pooled, test by test, as the baseline - of this run, or of O(peers_baseline).
    type: list
    elements: str
  peers_baseline:
    description:
      - A snapshot name or run id whose results of each of O(peers) are pooled, instead of their tests of this run - a
        rollout's gate judges the upgraded clusters against the clusters not upgraded yet as they were snapshotted
        before the rollout began. A peer without it is left out.
    type: str
  sources:
    description:
      - The source cluster of each workflow, benchmarked in this run (its API address), by workflow name; its
        reports are under C(<bundle_dir>/sources/<address with every character other than letters, digits, _ and -
        replaced by _>/workflows/<workflow>/), where the role's source entry point has algo_benchmark write them.
    type: dict
  tolerance:
    description: Relative change of latency or server time the interval must clear to be a regression or improvement.
    type: float
    default: 0.1
  floor_ms:
    description: Change in milliseconds (at the baseline's median) the interval must also clear.
    type: float
    default: 2.0
  run_noise:
    description:
      - The run-to-run coefficient of variation two healthy runs of a cluster show; every duration interval
        is widened by it (in quadrature), since no number of calls inside one run shows it.
    type: float
    default: 0.03
  error_tolerance:
    description: Increase of the error rate (a fraction) the interval's lower bound must exceed to be a regression.
    type: float
    default: 0.0
  min_samples:
    description: Successful calls each side needs for a duration comparison; with fewer it is C(unknown).
    type: int
    default: 20
  pass_score:
    description: Share of the compared tests, in per cent, that must pass for the verdict C(pass).
    type: float
    default: 100
  marginal_score:
    description: Share in per cent at or above which a verdict below O(pass_score) is C(marginal), not C(fail).
    type: float
    default: 75
  tests:
    description: Per-test values of O(tolerance) and O(floor_ms), from the workflow's tests.
    type: list
    elements: dict
    default: []
    suboptions:
      workflow:
        description: The workflow of the test.
        type: str
        required: true
      name:
        description: The test's name.
        type: str
        required: true
      tolerance:
        description: This test's O(tolerance).
        type: float
      floor_ms:
        description: This test's O(floor_ms).
        type: float
extends_documentation_fragment:
  - algorithmia.testbench.attributes
attributes:
  check_mode:
    support: full
    details: In check mode the comparisons are made and returned, and nothing is written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: The same reports give the same comparisons; C(changed) is always false.
seealso:
  - module: algorithmia.testbench.algo_benchmark
  - module: algorithmia.testbench.report_bundle
"""

EXAMPLES = r"""
- name: Judge this cluster against the snapshot kept before the upgrade
  algorithmia.testbench.benchmark_judge:
    bundle_dir: "{{ testbench_report_dir }}/runs/{{ run_id }}"
    cluster: "{{ inventory_hostname }}"
    workflows: [hello_world]
    baseline_run: before-upgrade-2026-12

- name: Judge a canary against the clusters beside it, with a looser tolerance for one test
  algorithmia.testbench.benchmark_judge:
    bundle_dir: "{{ testbench_report_dir }}/runs/{{ run_id }}"
    cluster: "{{ inventory_hostname }}"
    workflows: [image_benchmark]
    peers: "{{ ansible_play_hosts | difference(groups['canary']) }}"
    tests:
      - {workflow: image_benchmark, name: large image, tolerance: 0.2}
  register: judged
"""

RETURN = r"""
comparisons:
  description:
    - One per baseline - C(kind) (V(run), V(peers) or V(source)), C(baseline) (its label), C(verdict), C(score)
      (a fraction, null when nothing was compared), C(compared_tests), C(passed_tests), C(unknown_tests), C(message),
      C(runs), C(peers) or C(source), and C(tests) - per test C(workflow), C(test), C(class), C(status), C(reason)
      and C(metrics) (per metric its C(class), C(shift), C(lower), C(upper), C(p_value), C(message) and figures).
    - comparison.json holds the same with the baselines' histograms.
  returned: success
  type: list
  elements: dict
  sample:
    - kind: run
      baseline: snapshot before-upgrade (run 20261207T101500Z-000042)
      verdict: fail
      score: 0.0
      message: "fail: 0 of 1 compared test pass against snapshot before-upgrade (run 20261207T101500Z-000042) (score 0%; ...)"
status:
  description: V(passed), V(failed) (a verdict C(fail) or C(marginal)) or V(inconclusive) (a baseline could compare nothing).
  returned: success
  type: str
verdicts:
  description:
    - The comparisons in short, as the role keeps them in the cluster's verdict - C(kind), C(baseline), C(verdict),
      C(score), C(message), C(runs), C(peers) or C(source), and per test C(workflow), C(test), C(class), C(status) and C(reason).
  returned: success
  type: list
  elements: dict
messages:
  description: One line per baseline - its verdict, then the reason of each test that did not pass.
  returned: success
  type: list
  elements: str
path:
  description: The comparison.json written (in check mode, that would be written).
  returned: success
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import judge
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import comparisons
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.baselines import BaselineError, baseline_problem
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.bundle import BundleError


def check_settings(params):
    """Every problem with the numbers, named with the fix (nothing is read before they are right)."""
    problems = []
    for name, low, high in (("tolerance", 0, 10), ("floor_ms", 0, 1e6), ("run_noise", 0, 1), ("error_tolerance", 0, 1),
                            ("pass_score", 0, 100), ("marginal_score", 0, 100)):
        value = params[name]
        if not low <= value <= high:
            problems.append("{0} {1!r} is out of range. Fix: give a number from {2:g} to {3:g}".format(name, value, low, high))
    if params["marginal_score"] > params["pass_score"]:
        problems.append("marginal_score {0:g} is above pass_score {1:g}. Fix: make it at most pass_score".format(
            params["marginal_score"], params["pass_score"]))
    if params["min_samples"] < 2:
        problems.append("min_samples {0} is below 2. Fix: give at least 2 (20 is the default)".format(params["min_samples"]))
    for test in params["tests"]:
        for name in ("tolerance", "floor_ms"):
            if test.get(name) is not None and not 0 <= test[name] < 1e6:
                problems.append("tests: {0} of test {1!r} of workflow {2!r} is {3!r}. Fix: give a number of at least 0".format(
                    name, test["name"], test["workflow"], test[name]))
    return problems


def settings_lookup(params):
    base = judge.Settings(params["tolerance"], params["floor_ms"], params["run_noise"], params["error_tolerance"],
                          min_samples=params["min_samples"])
    overrides = {(test["workflow"], test["name"]): {"tolerance": test.get("tolerance"), "floor_ms": test.get("floor_ms")}
                 for test in params["tests"]}
    return lambda workflow, name: base.with_overrides(overrides.get((workflow, name)))


def messages_of(compared):
    lines = []
    for comparison in compared:
        lines.append(comparison["message"])
        lines += ["  {0}: {1}".format(test["test"], test["reason"]) for test in comparison["tests"] if test["class"] != judge.PASS]
    return lines


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bundle_dir=dict(type="path", required=True),
            cluster=dict(type="str", required=True),
            workflows=dict(type="list", elements="str", required=True),
            run_id=dict(type="str"),
            report_dir=dict(type="path"),
            baseline_run=dict(type="str"),
            peers=dict(type="list", elements="str"),
            peers_baseline=dict(type="str"),
            sources=dict(type="dict"),
            tolerance=dict(type="float", default=judge.TOLERANCE),
            floor_ms=dict(type="float", default=judge.FLOOR_MS),
            run_noise=dict(type="float", default=judge.RUN_NOISE),
            error_tolerance=dict(type="float", default=judge.ERROR_TOLERANCE),
            min_samples=dict(type="int", default=judge.MIN_SAMPLES),
            pass_score=dict(type="float", default=judge.PASS_SCORE * 100, no_log=False),
            marginal_score=dict(type="float", default=judge.MARGINAL_SCORE * 100),
            tests=dict(type="list", elements="dict", default=[], options=dict(
                workflow=dict(type="str", required=True), name=dict(type="str", required=True),
                tolerance=dict(type="float"), floor_ms=dict(type="float"))),
        ),
        required_one_of=[("baseline_run", "peers", "sources")],
        supports_check_mode=True,
    )
    params = module.params
    bundle_dir = params["bundle_dir"]
    run_id = params["run_id"] or os.path.basename(os.path.normpath(bundle_dir))
    report_dir = params["report_dir"] or os.path.dirname(os.path.dirname(os.path.normpath(bundle_dir)))
    cluster = params["cluster"]
    problems = check_settings(params)
    if params["baseline_run"]:
        problem = baseline_problem(report_dir, params["baseline_run"], cluster, run_id)
        if problem:
            problems.append(problem)
    if params["peers"] is not None and not [peer for peer in params["peers"] if peer != cluster]:
        problems.append("peers names no cluster but {0} itself. Fix: give the other clusters of the run".format(cluster))
    if problems:
        module.fail_json(msg="Invalid input to judge {0}; nothing was compared: {1}.".format(cluster, "; ".join(problems)))
    judging = comparisons.Judging(bundle_dir, cluster, run_id, params["workflows"], settings_lookup(params),
                                  params["pass_score"] / 100.0, params["marginal_score"] / 100.0)
    try:
        compared = []
        if params["baseline_run"]:
            compared.append(judging.against_run(report_dir, params["baseline_run"]))
        if params["peers"]:
            compared.append(judging.against_peers([peer for peer in params["peers"] if peer != cluster], report_dir,
                                                  params["peers_baseline"]))
        if params["sources"]:
            compared.append(judging.against_source(params["sources"]))
        path = comparisons.write(bundle_dir, cluster, compared, module.check_mode)
    except (BaselineError, BundleError) as exc:
        module.fail_json(msg="Failed to judge {0}: {1}.".format(cluster, exc))
    except OSError as exc:
        module.fail_json(msg="Failed to judge {0}: {1}. Fix: make testbench_report_dir a writable directory, and keep "
                             "the reports the run wrote in it.".format(cluster, exc))
    module.exit_json(changed=False, comparisons=[comparisons.without_histograms(c) for c in compared],
                     verdicts=[comparisons.summary_of(c) for c in compared], status=comparisons.verdict_of(compared),
                     messages=messages_of(compared), path=path)


if __name__ == "__main__":
    main()
