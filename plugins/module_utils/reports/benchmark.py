# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A benchmark run as JSON, JUnit XML (for CI dashboards) and one self-contained HTML page.

The report is built only from the run's results and labels (cluster name, API address,
algorithm, version): it never holds a key. Error texts in it were redacted by the client.
"""

from __future__ import annotations

import json
import os
import re
from xml.etree import ElementTree

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import pages
from ansible_collections.algorithmia.testbench.plugins.module_utils.atomic_file import write_text_atomically

UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def report_basename(algorithm, cluster_name=None):
    """``benchmark-<cluster>-<algorithm>``, safe as a file name on any system."""
    parts = ["benchmark"] + ([cluster_name] if cluster_name else []) + [algorithm]
    return UNSAFE_FILE_CHARS.sub("_", "-".join(parts)).strip("._") or "benchmark"


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


def _status(result):
    """``passed``, ``failed`` or ``inconclusive`` (results from before statuses: from ``passed``)."""
    return result.get("status") or ("passed" if result["passed"] else "failed")


def _stats_line(result):
    latency = result.get("latency_ms") or {}
    return "calls={0} errors={1} p50={2} ms p95={3} ms max={4} ms elapsed={5} s".format(
        result.get("calls"), result.get("errors"), latency.get("p50"), latency.get("p95"), latency.get("max"),
        result.get("elapsed_s"))


def _add_suite(suites, report, name_prefix=""):
    """One ``testsuite`` of a benchmark report under ``suites``: a ``testcase`` per test, ``failure``
    when it failed, ``skipped`` when it is inconclusive (neither a pass nor a failure)."""
    results = report["tests"]
    failed = sum(1 for r in results if _status(r) == "failed")
    skipped = sum(1 for r in results if _status(r) == "inconclusive")
    suite_name = "{0}benchmark {1}{2}@{3}".format(
        name_prefix, report["cluster"] + ": " if report.get("cluster") else "", report["algorithm"], report["version"])
    suite = ElementTree.SubElement(suites, "testsuite", {
        "name": suite_name, "tests": str(len(results)), "failures": str(failed), "errors": "0",
        "skipped": str(skipped), "time": "{0:.3f}".format(sum(r.get("elapsed_s") or 0 for r in results)),
        "timestamp": report["started_at"]})
    properties = ElementTree.SubElement(suite, "properties")
    for key in ("cluster", "api_address", "algorithm", "version", "git_hash"):
        if report.get(key) is not None:
            ElementTree.SubElement(properties, "property", {"name": key, "value": str(report[key])})
    classname = UNSAFE_FILE_CHARS.sub("_", "{0}.{1}".format(report.get("cluster") or "cluster",
                                                            report["algorithm"]))
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": classname, "name": result["name"], "time": "{0:.3f}".format(result.get("elapsed_s") or 0)})
        status = _status(result)
        if status != "passed":
            why = result["failures"] or [status]
            element = ElementTree.SubElement(case, "failure" if status == "failed" else "skipped", {
                "message": ("" if status == "failed" else "inconclusive: ") + why[0][:500],
                "type": "BenchmarkGate" if status == "failed" else "Inconclusive"})
            element.text = "\n".join(why)
        out = ElementTree.SubElement(case, "system-out")
        out.text = _stats_line(result)
    return suite


def _testsuites(suites):
    """Totals of the suites on the ``testsuites`` element, and the document as text."""
    for field in ("tests", "failures", "skipped"):
        suites.set(field, str(sum(int(suite.get(field)) for suite in suites)))
    suites.set("errors", "0")
    suites.set("time", "{0:.3f}".format(sum(float(suite.get("time")) for suite in suites)))
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def render_junit(report):
    """One ``testsuite`` for the run, one ``testcase`` per test, ``failure`` when it failed,
    ``skipped`` when it is inconclusive (neither a pass nor a failure)."""
    suites = ElementTree.Element("testsuites", {"name": "algorithmia.testbench"})
    _add_suite(suites, report)
    return _testsuites(suites)


def _add_comparison_suite(suites, cluster, comparison):
    """One ``testsuite`` ``<cluster> vs <baseline>`` of a comparison with a baseline: a ``testcase``
    per compared test, ``failure`` when it regressed, ``skipped`` when unknown (inconclusive), the
    metrics' messages as text; and a failed ``verdict`` testcase when the comparison's verdict is
    ``marginal`` or ``fail`` (a marginal score fails the cluster, and CI must see it even without a
    regression), a skipped one when it is ``inconclusive`` (no test could be compared)."""
    tests = pages.compared_tests(comparison)
    classes = [pages.test_class(test) for test in tests]
    verdict_case = None if pages.comparison_passed(comparison) else "skipped" if comparison.get("verdict") == pages.INCONCLUSIVE else "failure"
    suite = ElementTree.SubElement(suites, "testsuite", {
        "name": "{0} vs {1}".format(cluster, pages.baseline_name(comparison)), "tests": str(len(tests) + bool(verdict_case)),
        "failures": str(classes.count("regression") + (verdict_case == "failure")), "errors": "0",
        "skipped": str(classes.count("unknown") + (verdict_case == "skipped")), "time": "0.000"})
    properties = ElementTree.SubElement(suite, "properties")
    for key in ("kind", "baseline", "verdict", "score", "runs", "peers", "source"):
        value = comparison.get(key)
        if value not in (None, "", []):
            ElementTree.SubElement(properties, "property", {
                "name": key, "value": ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)})
    classname = UNSAFE_FILE_CHARS.sub("_", "{0}.vs_{1}".format(cluster, comparison.get("kind") or "baseline"))
    for test, test_class in zip(tests, classes):
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": UNSAFE_FILE_CHARS.sub("_", "{0}.{1}".format(classname, test.get("workflow"))),
            "name": str(test.get("test")), "time": "0.000"})
        messages = "\n".join(str(m["message"]) for m in test.get("metrics") or [] if isinstance(m, dict) and m.get("message"))
        reason = str(test.get("reason") or test_class)
        if test_class in ("regression", "unknown"):
            element = ElementTree.SubElement(case, "failure" if test_class == "regression" else "skipped", {
                "message": ("" if test_class == "regression" else "inconclusive: ") + reason[:500],
                "type": "Regression" if test_class == "regression" else "Inconclusive"})
            element.text = messages or reason
        out = ElementTree.SubElement(case, "system-out")
        out.text = "{0}: {1}\n{2}".format(test_class, reason, messages).strip()
    if verdict_case:
        case = ElementTree.SubElement(suite, "testcase", {"classname": classname, "name": "verdict", "time": "0.000"})
        why = pages.score_text(comparison)
        element = ElementTree.SubElement(case, verdict_case, {
            "message": ("inconclusive: " if verdict_case == "skipped" else "") + why[:500],
            "type": "ComparisonVerdict" if verdict_case == "failure" else "Inconclusive"})
        element.text = why
    return suite


def render_cluster_junit(document):
    """The JUnit XML of a cluster in a run (``reports.pages`` describes the document): a
    ``testsuite`` per workflow's benchmark and per comparison with a baseline, and one ``testcase``
    failed for each workflow that failed before its benchmark reported (a failed build is a failure
    in CI too)."""
    suites = ElementTree.Element("testsuites", {"name": "algorithmia.testbench {0}".format(document.get("cluster") or "")})
    steps = []
    for workflow in document.get("workflows") or []:
        if workflow.get("benchmark"):
            _add_suite(suites, workflow["benchmark"], "{0}: ".format(workflow.get("workflow")))
        elif workflow.get("passed") is False:
            steps.append(workflow)
    for comparison in pages.cluster_comparisons(document):
        _add_comparison_suite(suites, document.get("cluster") or "cluster", comparison)
    if steps:
        suite = ElementTree.SubElement(suites, "testsuite", {
            "name": "workflows of {0}".format(document.get("cluster")), "tests": str(len(steps)),
            "failures": str(len(steps)), "errors": "0", "skipped": "0", "time": "0.000"})
        for workflow in steps:
            case = ElementTree.SubElement(suite, "testcase", {
                "classname": UNSAFE_FILE_CHARS.sub("_", "{0}.workflows".format(document.get("cluster") or "cluster")),
                "name": str(workflow.get("workflow")), "time": "0.000"})
            why = str(workflow.get("summary") or workflow.get("message") or "failed")
            failure = ElementTree.SubElement(case, "failure", {"message": why[:500], "type": "WorkflowStep"})
            failure.text = why
    return _testsuites(suites)


def render_html(report):
    """The page of one benchmark: ``pages.cluster_page`` with this benchmark as its only
    workflow (verdict, gates, and each test's charts; inline CSS and SVG, no script)."""
    return pages.cluster_page({"cluster": report.get("cluster"), "api_address": report.get("api_address"),
                               "workflows": [{"workflow": None, "benchmark": report}]})


def write_reports(report, report_dir, basename):
    """Write ``<basename>.json``, ``.xml`` and ``.html`` into ``report_dir``; their paths by kind."""
    os.makedirs(report_dir, exist_ok=True)
    paths = {}
    kinds = (("json", ".json", render_json), ("junit", ".xml", render_junit), ("html", ".html", render_html))
    for kind, extension, render in kinds:
        path = os.path.join(report_dir, basename + extension)
        write_text_atomically(path, render(report))
        paths[kind] = path
    return paths
