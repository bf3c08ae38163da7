# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A benchmark run as JSON, JUnit XML (for CI dashboards) and one self-contained HTML page.

The report is built only from the run's results and labels (cluster name, API address,
algorithm, version): it never holds a key. Error texts in it were redacted by the client.
"""

from __future__ import annotations

import html
import json
import os
import re
from xml.etree import ElementTree

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
    latency = result["latency_ms"]
    return "calls={0} errors={1} p50={2} ms p95={3} ms max={4} ms elapsed={5} s".format(
        result["calls"], result["errors"], latency["p50"], latency["p95"], latency["max"], result["elapsed_s"])


def render_junit(report):
    """One ``testsuite`` for the run, one ``testcase`` per test, ``failure`` when it failed,
    ``skipped`` when it is inconclusive (neither a pass nor a failure)."""
    results = report["tests"]
    failed = sum(1 for r in results if _status(r) == "failed")
    skipped = sum(1 for r in results if _status(r) == "inconclusive")
    suite_name = "benchmark {0}{1}@{2}".format(
        report["cluster"] + ": " if report.get("cluster") else "", report["algorithm"], report["version"])
    suites = ElementTree.Element("testsuites", {
        "name": "algorithmia.testbench", "tests": str(len(results)),
        "failures": str(failed), "errors": "0", "skipped": str(skipped),
        "time": "{0:.3f}".format(sum(r["elapsed_s"] for r in results))})
    suite = ElementTree.SubElement(suites, "testsuite", {
        "name": suite_name, "tests": suites.get("tests"), "failures": suites.get("failures"), "errors": "0",
        "skipped": str(skipped), "time": suites.get("time"), "timestamp": report["started_at"]})
    properties = ElementTree.SubElement(suite, "properties")
    for key in ("cluster", "api_address", "algorithm", "version", "git_hash"):
        if report.get(key) is not None:
            ElementTree.SubElement(properties, "property", {"name": key, "value": str(report[key])})
    classname = UNSAFE_FILE_CHARS.sub("_", "{0}.{1}".format(report.get("cluster") or "cluster",
                                                            report["algorithm"]))
    for result in results:
        case = ElementTree.SubElement(suite, "testcase", {
            "classname": classname, "name": result["name"], "time": "{0:.3f}".format(result["elapsed_s"])})
        status = _status(result)
        if status != "passed":
            why = result["failures"] or [status]
            element = ElementTree.SubElement(case, "failure" if status == "failed" else "skipped", {
                "message": ("" if status == "failed" else "inconclusive: ") + why[0][:500],
                "type": "BenchmarkGate" if status == "failed" else "Inconclusive"})
            element.text = "\n".join(why)
        out = ElementTree.SubElement(case, "system-out")
        out.text = _stats_line(result)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-top:1em}"
    "th,td{border:1px solid #ccc;padding:.35em .7em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}.pass{color:#176f2c;font-weight:bold}.fail{color:#b00020;font-weight:bold}"
    ".inconclusive{color:#8a5a00;font-weight:bold}td.num{text-align:right;font-variant-numeric:tabular-nums}pre{white-space:pre-wrap;margin:0}"
)


def _cell(value, css=None):
    shown = "" if value is None else html.escape(str(value))
    return "<td{0}>{1}</td>".format(' class="{0}"'.format(css) if css else "", shown)


def render_html(report):
    """A page that needs nothing else: inline style, no scripts, no external resources."""
    passed = report["passed"]
    statuses = [_status(result) for result in report["tests"]]
    if passed:
        css, verdict = "pass", "All tests passed"
    elif "failed" in statuses:
        css, verdict = "fail", "Some tests failed"
    else:
        css, verdict = "inconclusive", "Some tests are inconclusive (not a pass)"
    title = "Benchmark of {0} {1} on {2}".format(report["algorithm"], report["version"],
                                                 report.get("cluster") or report["api_address"])
    rows = []
    for result in report["tests"]:
        latency = result["latency_ms"]
        status = _status(result)
        rows.append("<tr>" + "".join([
            _cell(result["name"]),
            _cell(status, {"passed": "pass", "failed": "fail"}.get(status, "inconclusive")),
            _cell(result["calls"], "num"), _cell(result["concurrency"], "num"), _cell(result["errors"], "num"),
            _cell(latency["p50"], "num"), _cell(latency["p95"], "num"), _cell(latency["max"], "num"),
            _cell(result["elapsed_s"], "num"),
            "<td><pre>{0}</pre></td>".format(html.escape("\n".join(result["failures"]))),
        ]) + "</tr>")
    facts = "".join("<tr><th>{0}</th>{1}</tr>".format(html.escape(label), _cell(report.get(key)))
                    for label, key in (("Cluster", "cluster"), ("API address", "api_address"),
                                       ("Algorithm", "algorithm"), ("Version", "version"),
                                       ("Git hash", "git_hash"), ("Started", "started_at")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>{title}</title><style>{style}</style></head><body>\n"
        "<h1>{title}</h1>\n<p class=\"{css}\">{verdict}</p>\n<table>{facts}</table>\n"
        "<table><thead><tr><th>Test</th><th>Outcome</th><th>Calls</th><th>Concurrency</th><th>Errors</th>"
        "<th>p50 ms</th><th>p95 ms</th><th>max ms</th><th>Elapsed s</th><th>Why not passed</th></tr></thead>"
        "<tbody>{rows}</tbody></table>\n</body></html>\n"
    ).format(title=html.escape(title), style=HTML_STYLE, css=css, verdict=verdict, facts=facts, rows="".join(rows))


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
