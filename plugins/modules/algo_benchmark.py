#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: algo_benchmark
short_description: Run benchmark tests against a published algorithm and gate on errors and latency
version_added: 0.1.0
description:
  - Calls one published version of an algorithm (a workflow's entrypoint) with each test's payload,
    in order, and measures every call on the controller.
  - Each call is made exactly once (no retry). A test is closed (O(tests[].calls) calls, or calls for
    O(tests[].duration) seconds, with O(tests[].concurrency) in flight) or open (O(tests[].rate) calls
    started per second on a fixed schedule for O(tests[].duration) seconds, at most O(tests[].max_in_flight)
    in flight, the calls that cannot start on time counted as dropped). Per call it measures the latency on
    the controller, the cluster's own duration (C(metadata.duration)) and their difference (the overhead),
    kept in log-linear histograms and a bounded sample reservoir; an open test also measures how late each
    call started and its latency from its due time.
  - O(tests[].warmup) calls are made first and reported apart.
  - 'A stuck cluster (it takes the calls, then answers nothing) ends a test within its O(tests[].timeout) plus 30 s:
    when no call of the test has been answered for that long while calls wait, the test starts no new call (an open
    test''s schedule stops; the calls due while O(tests[].max_in_flight) calls hung were dropped), counts the calls
    still waiting as timeouts, and fails with C(stuck: no answer in N s), whatever its number of calls or duration.
    Nothing is retried to find this out.'
  - Per test it reports calls, errors by kind, latency percentiles and the last errors, checks the
    results (O(tests[].expected_output), O(tests[].expected_subset), O(tests[].expected_pattern)) and
    evaluates the gates (O(tests[].gates), O(tests[].max_error_rate), O(tests[].max_latency_ms)).
  - A test is C(passed), C(failed) (a gate failed, or every call failed whatever the gates) or
    C(inconclusive) (a gate could not be judged, such as a percentile with too few successful calls,
    or no call completed). All tests run; then the task fails if any test failed (or, with O(strict),
    is inconclusive), naming each such test and why.
  - With O(history_dir), each test is then compared with the accepted runs of its history (the ratchet),
    per cluster, workflow, test and load (payload, calls, concurrency). Its C(server p(50\)) or
    C(latency p(95\)) regresses when it is worse than the history's level (the geometric mean) by more
    than O(ratchet_tolerance) and by more than O(ratchet_floor_ms), and above the 99% prediction interval
    of the last runs.
  - 'A regression fails the test, with a failure such as C(regressed: latency p(95\) 12 ms -> 113 ms).
    With fewer than 5 runs in the history the verdict is C(warming), a warning at most, never a failure;
    improvements never fail.'
  - A test whose gates passed and that did not regress is added to its history; a regressed one only with
    O(accept_baseline), which records it as the new baseline (the level restarts from it). A test that is
    failed or inconclusive by its own gates is never recorded, O(accept_baseline) or not.
  - It changes nothing on the cluster, so C(changed) is always false. Writing the report files in
    O(report_dir) and the history files in O(history_dir) are its only side effects.
author: Algorithmia testbench maintainers (@algorithmiaio)
options:
  algorithm:
    description: Name of the algorithm to call.
    type: str
    required: true
  owner:
    description: Owner of the algorithm. Default is the user of O(api_key), as the Data API root listing names it.
    type: str
  version:
    description:
      - Version to call, a semantic version such as V(1.2.0) or a git hash.
      - Default is the latest published version, resolved once so that every test calls the same version.
    type: str
  tests:
    description: The tests, run one after the other.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the test in the result and the reports.
        type: str
        required: true
      payload:
        description: Input of each call; a string is sent as text, anything else as JSON.
        type: raw
        required: true
      timeout:
        description:
          - Seconds the cluster lets each call run (the API's maximum is 3000). It is passed as the
            call's C(timeout) and the HTTP read waits that long plus 30 s (a call with no answer by then is a
            C(timeout)); when no call of the test has been answered for that long, the test is stuck (see above).
        type: int
        default: 300
      calls:
        description:
          - Closed test - how many times to call the algorithm with O(tests[].payload) (at most 1000000).
          - Default is V(1) for a test with neither O(tests[].duration) nor O(tests[].rate).
          - Not with O(tests[].duration) or O(tests[].rate).
        type: int
      concurrency:
        description:
          - Closed test - how many calls are in flight at once (at most 1000); a new call starts when one ends.
          - Default is V(1). Not with O(tests[].rate) (use O(tests[].max_in_flight)).
        type: int
      duration:
        description:
          - Seconds the test runs (above 0, at most 86400).
          - Without O(tests[].rate) - a closed test that keeps O(tests[].concurrency) calls in flight until the
            duration has passed; the calls started by then complete.
          - With O(tests[].rate) - the length of the open test's schedule.
        type: float
      rate:
        description:
          - Open test - calls started per second (above 0, at most 10000), on an absolute schedule - call N is due
            at start + N / rate, whatever happened to the calls before it. Needs O(tests[].duration).
          - A call due while O(tests[].max_in_flight) calls are running is not started and is counted in
            C(dropped) (never delayed into a closed loop); the test gets the gate V(dropped == 0) unless it has a
            gate on V(dropped).
        type: float
      max_in_flight:
        description:
          - Open test - the most calls running at once (1 to 1000), each on a kept-alive connection.
          - Default is enough for calls of up to 2 s on average at O(tests[].rate) (rate x 2, by Little's law),
            at least 10 and at most 1000. Only with O(tests[].rate).
        type: int
      warmup:
        description:
          - Calls made before the test (0 to 10000, default V(0)), at O(tests[].concurrency) (one at a time for an
            open test), with the same payload and checks.
          - They are reported apart in C(warmup) (the first one is the cold call) and count in no figure and no gate.
        type: int
      expected_output:
        description:
          - When set, every call's result must equal this value exactly (JSON equality); a different
            result counts as a failed call (kind C(check_failed)).
        type: raw
      expected_subset:
        description:
          - When set, every call's result must contain this JSON object; objects are compared key by key,
            recursively, any other value (lists included) must be equal. Else the call is C(check_failed).
        type: dict
      expected_pattern:
        description:
          - When set, a regular expression (Python C(re.search)) that every call's result must match; a
            result that is not a string is matched as its JSON text. Else the call is C(check_failed).
        type: str
      gates:
        description:
          - Gate expressions, k6 style, such as V(p(95\) < 300), V(server p(99\) < 200), V(error_rate < 0.01)
            or V(dropped == 0); see the usage guide for every metric.
          - A percentile gate needs enough successful calls (V(p(99\)) 100, V(p(99.9\)) 1000); with fewer it
            is unknown and the test inconclusive.
        type: list
        elements: str
      has_expected_output:
        description:
          - Whether O(tests[].expected_output) is given, so that an expected V(null) can be checked.
          - The workflow lookup sets it; default is whether O(tests[].expected_output) is not null.
        type: bool
      max_latency_ms:
        description:
          - Latency gate in milliseconds on the successful calls. A number is a gate on the 95th percentile;
            a dict gates several, with keys V(p50), V(p90), V(p95), V(p99) and V(max).
          - A shorthand for the gates V(p(95\) <= N) and so on.
        type: raw
      max_error_rate:
        description:
          - Largest fraction of failed calls (0 to 1) for the test to pass; a shorthand for the gate V(error_rate <= N).
          - When neither it nor an V(error_rate) gate is given, any failed call fails the test (V(0)).
        type: float
  strict:
    description:
      - Whether an inconclusive test fails the task. When false, inconclusive tests give a warning and are
        listed in RV(inconclusive); they are never counted as passed.
    type: bool
    default: false
  report_dir:
    description:
      - Directory on the controller to write C(benchmark-<cluster_name>-<algorithm>.json), C(.xml)
        (JUnit) and C(.html) into. Created if missing. Not written in check mode.
    type: path
  cluster_name:
    description:
      - Label of the cluster in the result and the reports, such as the inventory host name.
      - Also the cluster's part of the history's name (O(history_dir)); default there is the host and port
        of O(api_address).
    type: str
  history_dir:
    description:
      - Directory on the controller of the ratchet's history files, one JSON file per cluster, workflow,
        test and load spec (C(<history_dir>/<cluster>/<workflow>/<test>-<spec hash>.json)), meant to be
        reviewed and committed. Created if missing.
      - Unset, no test is compared with earlier runs and nothing is recorded.
      - Not written in check mode; a history file that cannot be read fails the task before any call.
    type: path
  workflow:
    description:
      - The workflow's part of the history's name (O(history_dir)). Default is O(algorithm).
    type: str
  run_id:
    description:
      - Identifier of this run in the history files, such as the role's run id. Default is the time in UTC
        and four random hex digits, such as V(20250301T101500Z-4f1c).
    type: str
  accept_baseline:
    description:
      - Whether to record this run as the new baseline of each test's history even if it regressed, for a
        change of level that is intended (a new algorithm version, other hardware). Later runs are compared
        with it, warming up again for the next 5 runs.
      - A test failed or inconclusive by its own gates is still not recorded.
    type: bool
    default: false
  ratchet_tolerance:
    description:
      - Relative change a metric must exceed (and O(ratchet_floor_ms)) to count as a regression or an
        improvement, such as V(0.15) for 15%.
    type: float
    default: 0.15
  ratchet_floor_ms:
    description:
      - Absolute change in milliseconds a metric must exceed (and O(ratchet_tolerance)) to count as a
        regression or an improvement; keeps fast tests from failing on differences nobody acts on.
    type: float
    default: 5.0
  max_calls:
    description:
      - The most calls each test makes, for a cluster that must not be loaded more (the role's source comparison).
        A closed test of more calls, or of a O(tests[].duration), makes this many; an open test's schedule is cut
        to this many calls (its duration shortened). The load's shape (model, concurrency, rate) stays.
      - Unset, each test makes the calls it asks for.
    type: int
extends_documentation_fragment:
  - algorithmia.testbench.cluster
  - algorithmia.testbench.attributes
  - algorithmia.testbench.attributes.actiongroup_cluster
attributes:
  check_mode:
    support: full
    details:
      - In check mode no call is made (an algorithm may write data when called) and no report is
        written; the version that would be called is resolved and each test is returned with
        C(skipped) set. An algorithm that does not exist yet (a check run before the one that creates
        it) is reported with a warning, not as a failure. History files are read (a broken one
        fails the task) but never written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Never changes anything on the cluster.
seealso:
  - module: algorithmia.testbench.algo_build_publish
"""

EXAMPLES = r"""
- name: Benchmark hello_world
  algorithmia.testbench.algo_benchmark:
    api_address: https://api.example.com
    api_key: "{{ testbench_api_key }}"
    algorithm: hello_world
    cluster_name: "{{ inventory_hostname }}"
    report_dir: "{{ playbook_dir }}/reports"
    tests:
      - name: basic test
        payload: Algorithmia
        timeout: 10
        expected_output: hello Algorithmia
      - name: under load
        payload: Algorithmia
        calls: 50
        concurrency: 5
        max_latency_ms: 500
        max_error_rate: 0.02
      - name: gated
        payload: {"n": 1}
        calls: 200
        concurrency: 4
        expected_subset: {"status": ok}
        gates: ["p(95) < 300", "server p(99) < 200", "error_rate < 0.01"]
      - name: for a minute
        payload: {"n": 1}
        duration: 60
        concurrency: 8
        warmup: 8
        gates: ["p(95) < 300", "throughput > 50"]
      - name: steady arrivals
        payload: {"n": 1}
        rate: 50
        duration: 30
        max_in_flight: 20
        warmup: 5
        gates: ["p(99) < 500", "dropped == 0"]

- name: Benchmark with the ratchet (compared with, and recorded into, the committed history)
  algorithmia.testbench.algo_benchmark:
    api_address: https://api.example.com
    api_key: "{{ testbench_api_key }}"
    algorithm: hello_world
    cluster_name: "{{ inventory_hostname }}"
    workflow: hello_world
    history_dir: "{{ inventory_dir }}/history"
    accept_baseline: "{{ accept_new_level | default(false) }}"
    tests:
      - name: steady
        payload: Algorithmia
        calls: 100
        concurrency: 2
"""

RETURN = r"""
owner:
  description: Owner of the algorithm.
  returned: always
  type: str
  sample: alice
version:
  description: The version every test called.
  returned: success
  type: str
  sample: 0.2.0
git_hash:
  description: Git hash of that version, when the latest published version was resolved.
  returned: success
  type: str
passed:
  description: Whether every test passed (null in check mode, where no test runs); false when one is inconclusive.
  returned: success
  type: bool
inconclusive:
  description: Names of the tests that are inconclusive.
  returned: success
  type: list
  elements: str
tests:
  description: One result per test, in order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The test's name.
      type: str
    status:
      description: V(passed), V(failed) or V(inconclusive) (null for a test skipped in check mode).
      type: str
    passed:
      description: Whether the test's status is V(passed) (null for a test skipped in check mode).
      type: bool
    skipped:
      description: Why the test did not run (check mode).
      type: str
      returned: in check mode
    failures:
      description: Why the test failed or is inconclusive, one sentence per broken or unknown gate.
      type: list
      elements: str
    gates:
      description: Each gate's result, with keys C(gate), C(metric), C(value), C(threshold), C(status) and C(why).
      type: list
      elements: dict
    errors_by_kind:
      description:
        - Failed calls by kind, one of C(connect), C(tls), C(timeout), C(http_4xx), C(http_5xx), C(algorithm_error)
          and C(check_failed); they add up to C(errors). Calls due that never started are in C(dropped), not here.
      type: dict
    last_errors:
      description: The last few failures, each with C(kind) and C(message).
      type: list
      elements: dict
    server_ms:
      description: p50, p95, p99, max and mean of the cluster's own duration of the successful calls, in milliseconds.
      type: dict
    overhead_ms:
      description: p50, p95, p99, max and mean of latency minus server duration, in milliseconds.
      type: dict
    histograms:
      description:
        - The log-linear histograms of C(latency), C(server) and C(overhead), in their compact JSON form.
        - An open test adds C(intended) (latency from the due time) and C(schedule_lag) (start - due time).
      type: dict
    load:
      description:
        - The test's load model - C(model) V(closed) with C(calls) (or C(duration)) and C(concurrency), or
          C(model) V(open) with C(rate), C(duration) and C(max_in_flight).
      type: dict
    dropped:
      description:
        - Open test - calls due while O(tests[].max_in_flight) calls were running, never started (0 for a closed test).
        - They are not calls made - not in C(calls), C(errors), C(errors_by_kind) or C(error_rate).
      type: int
    throughput:
      description: Successful calls per second of the test (the figure of the V(throughput) gate), warmup apart.
      type: float
    warmup:
      description:
        - The warmup calls (null without O(tests[].warmup)) - C(calls), C(errors), C(errors_by_kind), C(latency_ms)
          (of the successful ones), C(first_ms) (the first, cold, call) and C(last_error).
      type: dict
    intended_latency_ms:
      description:
        - Open test - min, mean, p50, p90, p95, p99 and max of the successful calls' latency from their due time
          (schedule lag included, as wrk2 measures it); null for a closed test.
      type: dict
    schedule_lag_ms:
      description: Open test - min, mean, p50, p90, p95, p99 and max of how late the calls started; null for a closed test.
      type: dict
    reservoir:
      description: A uniform sample of at most 1000 calls, each C([offset s, latency ms, kind]).
      type: dict
    timeseries:
      description: Per-second counts of calls started, completed, failed by kind and dropped (at their due second).
      type: dict
    calls:
      description: Calls made (warmup and dropped calls apart).
      type: int
    errors:
      description: Calls that failed or whose result failed a check.
      type: int
    error_rate:
      description: The fraction of the calls made that failed (dropped calls are not calls made).
      type: float
    p50_ms:
      description: Median latency of the successful calls, in milliseconds, measured on the controller.
      type: float
    p95_ms:
      description: 95th percentile latency of the successful calls, in milliseconds.
      type: float
    latency_ms:
      description: min, mean, p50, p90, p95, p99 and max latency in milliseconds.
      type: dict
    durations_ms:
      description: Latency of the successful calls in the sample reservoir (at most 1000), in time order.
      type: list
      elements: float
    elapsed_s:
      description: Wall time of the test in seconds, warmup apart.
      type: float
    last_error:
      description: The last error message, or null.
      type: str
    result:
      description: What the first successful call returned.
      type: raw
    ratchet:
      description:
        - The test against its history (the ratchet). C(status) is V(baseline) (no history yet), V(warming)
          (fewer than 5 runs, no verdict), V(ok), V(improved), V(regressed) (the test failed for it) or
          V(accepted) (recorded as the new baseline by O(accept_baseline)); null when no metric could be
          compared (no successful call, or too few for the percentile).
        - C(message) says the verdict with its figures. C(metrics) has per metric (C(server p(50\)),
          C(latency p(95\))) its C(verdict), C(current) and C(level) (the history's geometric mean) in ms,
          C(upper) (the prediction interval's upper bound, ms) and C(runs) (how many runs it was compared with).
        - C(recorded) says whether this run was added to C(history_file); C(history) lists the runs compared
          with (C(run), C(time), C(baseline), C(metrics)); C(baseline_curve) is their latency percentile
          curve (C(p(50\)) and so on, in ms, the geometric mean per percentile), or null.
      type: dict
      returned: when O(history_dir) is set and not in check mode
      sample:
        status: regressed
        message: "regressed: latency p(95) 12 ms -> 113 ms (+842%, above the 99% prediction interval 10.9-13.2 ms of the last 6 runs)"
        metrics: {"latency p(95)": {verdict: regressed, current: 113.0, level: 12.0, upper: 13.2, runs: 6}}
        recorded: false
        history_file: history/dest1/hello_world/steady-3f2a9c1e.json
        history: [{run: 20250301T101500Z-4f1c, time: "2025-03-01T10:15:00Z", baseline: true, metrics: {"latency p(95)": 12.1}}]
        baseline_curve: {"p(50)": 9.4, "p(90)": 11.8, "p(95)": 12.1}
reports:
  description: Paths of the written report files, by kind (V(json), V(junit), V(html)).
  returned: when O(report_dir) is set and not in check mode
  type: dict
  sample: {json: reports/benchmark-dest1-hello_world.json}
"""

import binascii
import itertools
import os
import time
from urllib.parse import urlsplit

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.reports.benchmark import (
    report_basename,
    write_reports,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import (
    BenchmarkSpecError,
    bounded_test,
    failure_summary,
    normalise_test,
    pool_size,
    run_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.progress import report_progress
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure import ratchet
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import FAILED, INCONCLUSIVE
from ansible_collections.algorithmia.testbench.plugins.module_utils.data_api import key_owner
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import NotFound, TaskFailed


class Benchmark:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False)

    def resolve_version(self, algorithm):
        """``(version, git hash)``: the given one, or the latest published version."""
        if self.params["version"]:
            return self.params["version"], None
        try:
            record = algorithm.read()
        except NotFound as exc:
            if self.module.check_mode:
                # A check run ahead of the run that creates and publishes it: nothing to resolve yet.
                self.module.warn("{0} does not exist on cluster {1} yet; a real run calls the version it "
                                 "publishes.".format(algorithm.label, algorithm.client.cluster))
                return None, None
            exc.hint = "create, build and publish the algorithm first (algo_build_publish)."
            raise
        info = (record or {}).get("version_info") or {}
        if not info.get("semantic_version") and self.module.check_mode:
            return None, None
        if not info.get("semantic_version"):
            raise TaskFailed(
                "Failed to benchmark {0} on cluster {1}: it has no published version. Fix: publish one "
                "(algo_build_publish), or set version to a git hash.".format(algorithm.label, algorithm.client.cluster))
        return info["semantic_version"], info.get("git_hash")

    def load_histories(self, client, tests):
        """Each test's ``(History, accepted runs)``, read before any call so that a broken history file
        stops the task before anything is measured; ``None`` without ``history_dir``."""
        history_dir = self.params["history_dir"]
        if not history_dir:
            return None
        if os.path.exists(history_dir) and not os.path.isdir(history_dir):
            raise TaskFailed("history_dir {0} is not a directory; nothing was called. Fix: give the directory the "
                             "history files are (to be) kept in.".format(history_dir))
        cluster = self.params["cluster_name"] or urlsplit(client.api_address).netloc or client.api_address
        workflow = self.params["workflow"] or self.params["algorithm"]
        histories = []
        for test in tests:
            history = ratchet.History(history_dir, cluster, workflow, test["name"], ratchet.load_spec(test))
            try:
                histories.append((history, history.runs()))
            except ratchet.HistoryError as exc:
                raise TaskFailed("Invalid ratchet history of test {0!r}; nothing was called: {1}".format(
                    test["name"], exc)) from None
        return histories

    def apply_ratchet(self, histories, results):
        """Each test's result against its history (``ratchet.assess``), then the run recorded where
        the rules say so (never in check mode): a regression fails its test."""
        accept = self.params["accept_baseline"]
        run_id = self.params["run_id"] or "{0}-{1}".format(time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
                                                           binascii.hexlify(os.urandom(2)).decode("ascii"))
        written = set()
        for (history, runs), result in zip(histories, results):
            outcome = ratchet.assess(runs, result, run_id, accept, self.params["ratchet_tolerance"],
                                     self.params["ratchet_floor_ms"])
            field = outcome["ratchet"]
            field["history_file"] = history.path
            if outcome["entry"] is not None and history.path in written:
                # Two tests of one run with the same name and load share a file: one entry per run.
                field["message"] += "; not recorded: an earlier test of this run has the same name and load"
            elif outcome["entry"] is not None and not self.module.check_mode:
                try:
                    history.record(outcome["entry"], accepted=True, accept_baseline=accept)
                except OSError as exc:
                    raise TaskFailed("Failed to record test {0!r} in the ratchet history {1}: {2}. Fix: make "
                                     "history_dir a writable directory.".format(result["name"], history.path, exc)) from None
                field["recorded"] = True
                written.add(history.path)
            for warning in outcome["warnings"]:
                self.module.warn("test {0!r}: {1}".format(result["name"], warning))
            ratchet.apply(result, outcome)

    def run(self, client, tests):
        histories = self.load_histories(client, tests)
        # One kept-alive connection per call in flight (concurrency, or an open test's max_in_flight):
        # no test measures connection set-up.
        client.ensure_pool(max(pool_size(test) for test in tests))
        owner = self.params["owner"] or key_owner(client)
        algorithm = Algorithm(client, owner, self.params["algorithm"])
        self.result["owner"] = owner
        version, git_hash = self.resolve_version(algorithm)
        self.result.update(version=version, git_hash=git_hash)
        started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.module.check_mode:
            self.result.update(passed=None, tests=[skipped_test(test) for test in tests])
            return self.result

        caller = algorithm.caller(version)
        try:
            results = [run_test(test, counted_calls(caller, test["name"])) for test in tests]
        finally:
            caller.close()
        if histories is not None:
            self.apply_ratchet(histories, results)
        inconclusive = [r["name"] for r in results if r["status"] == INCONCLUSIVE]
        self.result.update(tests=results, passed=all(r["passed"] for r in results), inconclusive=inconclusive)
        strict = self.params["strict"]
        if inconclusive and not strict:
            self.module.warn("Inconclusive (not a pass; strict makes it fail): {0}.".format(
                " | ".join(failure_summary([r for r in results if r["status"] == INCONCLUSIVE], strict=True))))
        if self.params["report_dir"] and not self.module.check_mode:
            report = {
                "cluster": self.params["cluster_name"], "api_address": client.api_address,
                "algorithm": algorithm.label, "version": version, "git_hash": git_hash,
                "started_at": started_at, "passed": self.result["passed"], "tests": results,
            }
            try:
                self.result["reports"] = write_reports(report, self.params["report_dir"],
                                                       report_basename(algorithm.name, self.params["cluster_name"]))
            except OSError as exc:
                raise TaskFailed("Failed to write the benchmark reports to {0}: {1}. Fix: make report_dir a "
                                 "writable directory.".format(self.params["report_dir"], exc)) from None
        if any(r["status"] == FAILED for r in results) or (strict and inconclusive):
            regressed = any((r.get("ratchet") or {}).get("status") == ratchet.REGRESSED for r in results)
            raise TaskFailed(
                "Benchmark of {0} {1} on cluster {2} failed: {3}. Fix: see each test's failures and "
                "last_error{4}{5}.".format(algorithm.label, version, self.params["cluster_name"] or client.cluster,
                                           " | ".join(failure_summary(results, strict)),
                                           " and the reports" if self.result.get("reports") else "",
                                           "; if a regression is an intended new level, run again with "
                                           "accept_baseline: true to record it as the new baseline" if regressed else ""))
        return self.result


def counted_calls(caller, test_name):
    """The call function of one test (``Algorithm.caller``), reporting how many calls it has made as
    the task's progress."""
    made = itertools.count(1)

    def call(payload, timeout):
        report_progress("test {0!r}: {1} calls started".format(test_name, next(made)))
        return caller(payload, timeout)

    return call


def skipped_test(test):
    """A test's result in check mode: what would run, nothing measured."""
    return {"name": test["name"], "status": None, "passed": None, "skipped": "check mode: no call made", "calls": 0,
            "errors": 0, "error_rate": None, "p50_ms": None, "p95_ms": None, "latency_ms": {}, "durations_ms": [],
            "failures": [], "last_error": None, "result": None}


def main():
    test_spec = dict(
        name=dict(type="str", required=True),
        payload=dict(type="raw", required=True),
        timeout=dict(type="int", default=300),
        calls=dict(type="int"),
        concurrency=dict(type="int"),
        duration=dict(type="float"),
        rate=dict(type="float"),
        max_in_flight=dict(type="int"),
        warmup=dict(type="int"),
        expected_output=dict(type="raw"),
        has_expected_output=dict(type="bool"),
        max_latency_ms=dict(type="raw"),
        max_error_rate=dict(type="float"),
        expected_subset=dict(type="dict"),
        expected_pattern=dict(type="str"),
        gates=dict(type="list", elements="str"),
    )
    argument_spec = dict(
        algorithm=dict(type="str", required=True),
        owner=dict(type="str"),
        version=dict(type="str"),
        tests=dict(type="list", elements="dict", required=True, options=test_spec),
        report_dir=dict(type="path"),
        cluster_name=dict(type="str"),
        strict=dict(type="bool", default=False),
        history_dir=dict(type="path"),
        workflow=dict(type="str"),
        run_id=dict(type="str"),
        accept_baseline=dict(type="bool", default=False),
        ratchet_tolerance=dict(type="float", default=ratchet.TOLERANCE),
        ratchet_floor_ms=dict(type="float", default=ratchet.FLOOR_MS),
        max_calls=dict(type="int"),
    )
    module = ClusterModule(argument_spec, supports_check_mode=True)
    benchmark = Benchmark(module)
    with module.reporting("benchmark " + module.params["algorithm"], lambda: benchmark.result):
        if module.params["max_calls"] is not None and module.params["max_calls"] < 1:
            raise TaskFailed("Invalid max_calls {0!r}; nothing was called. Fix: give at least 1, or leave it unset for no "
                             "bound.".format(module.params["max_calls"]))
        try:
            tests = [bounded_test(normalise_test(test, index), module.params["max_calls"])
                     for index, test in enumerate(module.params["tests"])]
        except BenchmarkSpecError as exc:
            raise TaskFailed("Invalid tests; nothing was called: {0}.".format(exc)) from None
        if not tests:
            raise TaskFailed("Invalid tests; nothing was called: give at least one test.")
        for option, default in (("ratchet_tolerance", ratchet.TOLERANCE), ("ratchet_floor_ms", ratchet.FLOOR_MS)):
            if not 0 <= module.params[option] < float("inf"):
                raise TaskFailed("Invalid {0} {1!r}; nothing was called. Fix: give a number of at least 0, such as "
                                 "{2:g} (the default).".format(option, module.params[option], default))
        result = benchmark.run(module.connect(), tests)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
