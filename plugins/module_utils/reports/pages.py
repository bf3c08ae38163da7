# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTML pages of a run: one page per cluster, and the run's index of every cluster's verdicts.

A page is one file that needs nothing else: inline CSS, inline SVG charts (``reports.charts``),
no script, no font, image or style fetched, so it opens the same from a CI artifact, a mail or a
laptop without network. Every text from a result is escaped (``html.escape``); failure messages
were already redacted by the client, and a page never holds a key.

What a cluster page reads (``results.json`` of the cluster in a run bundle)::

    {"cluster": "prod-eu", "api_address": "https://...", "run_id": "...", "status": "failed",
     "workflows": [{"workflow": "hello_world", "passed": false, "step": "...", "message": "...",
                    "benchmark": <an algo_benchmark report: algorithm, version, tests, ...> or null}]}

Optional fields of a test result are shown when present and skipped when absent: ``load``,
``dropped``, ``throughput``, ``warmup``, ``intended_latency_ms``, ``schedule_lag_ms``,
``histograms.intended`` (open-model load) and ``ratchet`` (the comparison with earlier runs).
"""

from __future__ import annotations

import html
from urllib.parse import quote

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import charts

STYLE = """
:root{--ok:#15803d;--bad:#b91c1c;--warn:#a16207;--none:#6b7280;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;
--client:#2563eb;--server:#059669;--overhead:#d97706;--error:#dc2626;--dropped:#7c3aed;--baseline:#6b7280;--intended:#db2777}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:#f8fafc}
main{max-width:1360px;margin:0 auto;padding:1.2em 1.6em 3em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em}h3{font-size:1.1em;margin:0 0 .4em}
a{color:#1d4ed8}
.verdict{border-radius:10px;padding:1em 1.3em;margin:.6em 0 1em;color:#fff;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}
.verdict .word{font-size:1.9em;font-weight:800;letter-spacing:.04em;text-transform:uppercase}
.verdict.passed{background:var(--ok)}.verdict.failed{background:var(--bad)}
.verdict.inconclusive{background:var(--warn)}.verdict.not-run{background:var(--none)}
table{border-collapse:collapse;background:#fff;margin:.4em 0 1em;font-size:.93em}
th,td{border:1px solid var(--line);padding:.35em .65em;text-align:left;vertical-align:top}
th{background:#f1f5f9;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.facts th{width:9em}
.badge{display:inline-block;border-radius:999px;padding:.05em .65em;font-weight:700;font-size:.85em;color:#fff;white-space:nowrap}
.badge.passed,.badge.pass,.badge.ok,.badge.improved,.badge.baseline{background:var(--ok)}
.badge.failed,.badge.fail,.badge.regressed{background:var(--bad)}
.badge.inconclusive,.badge.unknown,.badge.warming,.badge.warning{background:var(--warn)}
.badge.not-run,.badge.skipped,.badge.none{background:var(--none)}
pre{white-space:pre-wrap;margin:0;font-size:.92em}
.why{color:var(--bad)}
section.test{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1em 1.2em;margin:1.2em 0}
section.test header{display:flex;gap:.8em;align-items:baseline;flex-wrap:wrap}
.muted{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:1em;margin-top:.6em}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:.5em;background:#fff}
figcaption{font-weight:600;font-size:.92em;margin:0 0 .2em .3em}
svg.chart{width:100%;height:auto;display:block}
svg .frame{fill:#fff;stroke:#cbd5e1}svg .grid{stroke:#eef2f7}svg .strip{fill:#f8fafc;stroke:#e2e8f0}
svg text{font:11px system-ui,sans-serif;fill:#475569}svg .axis{font-size:12px;fill:#334155}
svg .legend{font-size:12px;fill:#334155}svg .value{font-size:11px;fill:#1f2937}svg .empty{font-size:14px;fill:#94a3b8}
svg .line{fill:none;stroke-width:2}svg .dot{stroke:none}
svg .client{fill:var(--client);stroke:var(--client)}svg .server{fill:var(--server);stroke:var(--server)}
svg .overhead{fill:var(--overhead);stroke:var(--overhead)}svg .error{fill:var(--error);stroke:var(--error)}
svg .dropped{fill:var(--dropped);stroke:var(--dropped)}svg .intended{fill:var(--intended);stroke:var(--intended)}
svg .baseline{fill:var(--baseline);stroke:var(--baseline)}svg .baseline.line{stroke-dasharray:6 4}
svg .bar,svg .key{stroke:none}svg polyline.line{fill:none;stroke-width:2}svg .cross{fill:none;stroke-width:1.6}svg circle.client{opacity:.55}
table.matrix td,table.matrix th{text-align:center}table.matrix td a{text-decoration:none}
table.matrix td:first-child,table.matrix th:first-child{text-align:left}
footer{margin-top:2em;color:var(--muted);font-size:.85em}
"""

PASSED, FAILED, INCONCLUSIVE, NOT_RUN = "passed", "failed", "inconclusive", "not-run"
VERDICT_WORDS = {PASSED: "passed", FAILED: "failed", INCONCLUSIVE: "inconclusive", NOT_RUN: "not run"}


def esc(value):
    return "" if value is None else html.escape(str(value), quote=True)


def test_status(result):
    """``passed``, ``failed``, ``inconclusive`` or ``not-run`` (check mode: nothing measured)."""
    status = result.get("status")
    if status in (PASSED, FAILED, INCONCLUSIVE):
        return status
    if result.get("passed") is None:
        return NOT_RUN
    return PASSED if result["passed"] else FAILED


def badge(status, text=None):
    css = status if status in (PASSED, FAILED, INCONCLUSIVE, NOT_RUN) else str(status or "none").replace(" ", "-")
    return '<span class="badge {0}">{1}</span>'.format(esc(css), esc(text or VERDICT_WORDS.get(status, status)))


def test_anchor(workflow_index, test_index):
    return "w{0}-t{1}".format(workflow_index, test_index)


def benchmark_tests(workflow):
    return ((workflow.get("benchmark") or {}).get("tests")) or []


def cluster_status(document):
    """The cluster's verdict: the one the run decided when given, else from its workflows and tests."""
    if document.get("status") in (PASSED, FAILED, INCONCLUSIVE):
        return document["status"]
    statuses = [test_status(t) for w in document.get("workflows") or [] for t in benchmark_tests(w)]
    if any(w.get("passed") is False for w in document.get("workflows") or []) or FAILED in statuses:
        return FAILED
    if INCONCLUSIVE in statuses:
        return INCONCLUSIVE
    if statuses and all(s == NOT_RUN for s in statuses):
        return NOT_RUN
    return PASSED


def overall_status(statuses):
    """The verdict of several clusters: failed if one failed, else inconclusive if one is, else passed
    (not-run when nothing was measured anywhere)."""
    if FAILED in statuses:
        return FAILED
    if INCONCLUSIVE in statuses:
        return INCONCLUSIVE
    if statuses and all(status == NOT_RUN for status in statuses):
        return NOT_RUN
    return PASSED


def verdict_sentence(document):
    status = cluster_status(document)
    statuses = [test_status(t) for w in document.get("workflows") or [] for t in benchmark_tests(w)]
    if status == PASSED:
        return "All tests passed"
    if status == NOT_RUN:
        return "Nothing measured (check mode)"
    if FAILED in statuses:
        return "Some tests failed"
    if status == FAILED:
        return "A workflow failed" + (" (and some tests are inconclusive)" if INCONCLUSIVE in statuses else "")
    return "Some tests are inconclusive (not a pass)"


def _page(title, body):
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>{0}</title><style>{1}</style></head><body><main>\n{2}\n"
            "<footer>algorithmia.testbench report: one self-contained file, nothing loaded from elsewhere.</footer>"
            "</main></body></html>\n").format(esc(title), STYLE, body)


def _number(value, digits=4):
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return "{0:.{1}g}".format(value, digits)


def _ms(value):
    return charts.format_ms(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _cell(value, css=None):
    return "<td{0}>{1}</td>".format(' class="{0}"'.format(css) if css else "", esc(value))


def load_text(result):
    """The test's load model in words: ``closed: 100 calls, 8 in flight``, ``open: 50 calls/s for 30 s, ...``."""
    load = result.get("load") or {}
    model = load.get("model")
    if model == "open":
        return "open: {0} calls/s for {1} s, at most {2} in flight".format(
            _number(load.get("rate")), _number(load.get("duration")), _number(load.get("max_in_flight")) or "?")
    concurrency = load.get("concurrency", result.get("concurrency"))
    if load.get("duration"):
        return "closed: {0} in flight for {1} s".format(_number(concurrency), _number(load.get("duration")))
    calls = load.get("calls", result.get("calls"))
    return "closed: {0} calls, {1} in flight".format(_number(calls), _number(concurrency))


def _warmup_text(warmup):
    if not isinstance(warmup, dict):
        return None
    latency = warmup.get("latency_ms")
    p50 = latency.get("p50") if isinstance(latency, dict) else latency
    parts = ["{0} calls".format(_number(warmup.get("calls"))), "{0} errors".format(_number(warmup.get("errors")) or 0)]
    if isinstance(warmup.get("first_ms"), (int, float)):
        parts.append("first (cold) {0}".format(_ms(warmup["first_ms"])))
    if isinstance(p50, (int, float)):
        parts.append("p50 {0}".format(_ms(p50)))
    return "warmup, not in the figures: " + ", ".join(parts)


def _facts_line(result):
    facts = [load_text(result), "{0} calls".format(_number(result.get("calls")))]
    errors = result.get("errors") or 0
    kinds = result.get("errors_by_kind") or {}
    facts.append("{0} errors{1}".format(errors, " ({0})".format(", ".join(
        "{0} {1}".format(n, kind) for kind, n in sorted(kinds.items()))) if kinds else ""))
    if result.get("dropped") or (result.get("load") or {}).get("model") == "open":
        facts.append("{0} dropped".format(_number(result.get("dropped") or 0)))
    if isinstance(result.get("throughput"), (int, float)):
        facts.append("{0} calls/s".format(_number(result["throughput"], 3)))
    if result.get("elapsed_s") is not None:
        facts.append("{0} s".format(_number(result["elapsed_s"])))
    warmup = _warmup_text(result.get("warmup"))
    if warmup:
        facts.append(warmup)
    return " · ".join(esc(fact) for fact in facts)


FIGURE_ROWS = (("client latency", "latency_ms"), ("server (metadata.duration)", "server_ms"),
               ("overhead", "overhead_ms"), ("latency from the intended start", "intended_latency_ms"),
               ("schedule lag", "schedule_lag_ms"))
FIGURE_COLUMNS = ("p50", "p90", "p95", "p99", "max", "mean")


def _figures_table(result):
    rows = []
    for name, key in FIGURE_ROWS:
        summary = result.get(key)
        if isinstance(summary, (int, float)) and not isinstance(summary, bool):
            summary = {"mean": summary}
        if not isinstance(summary, dict) or not summary:
            continue
        rows.append("<tr><th>{0}</th>{1}</tr>".format(esc(name), "".join(
            _cell(_ms(summary.get(column)), "num") for column in FIGURE_COLUMNS)))
    if not rows:
        return ""
    return "<table class=\"figures\"><thead><tr><th></th>{0}</tr></thead><tbody>{1}</tbody></table>".format(
        "".join("<th>{0}</th>".format(c) for c in FIGURE_COLUMNS), "".join(rows))


def _ratchet_block(ratchet):
    if not isinstance(ratchet, dict):
        return ""
    status = ratchet.get("status") or "unknown"
    head = "<p><b>Compared with earlier runs</b> {0} {1}{2}</p>".format(
        badge(status), esc(ratchet.get("message") or ""),
        " <span class=\"muted\">(this run was recorded in the history)</span>" if ratchet.get("recorded") else "")
    metrics = ratchet.get("metrics") or {}
    if not isinstance(metrics, dict) or not metrics:
        return head
    rows = []
    for name in sorted(metrics):
        metric = metrics[name] if isinstance(metrics[name], dict) else {}
        rows.append("<tr><td>{0}</td><td>{1}</td>{2}{3}{4}{5}</tr>".format(
            esc(name), badge(metric.get("verdict") or "unknown", metric.get("verdict") or "unknown"),
            _cell(_ms(metric.get("current")), "num"), _cell(_ms(metric.get("level")), "num"),
            _cell(_ms(metric.get("upper")), "num"), _cell(_number(metric.get("runs")), "num")))
    return head + ("<table class=\"ratchet\"><thead><tr><th>Metric</th><th>Verdict</th><th>This run</th>"
                   "<th>Usual level</th><th>Upper bound</th><th>Runs compared</th></tr></thead><tbody>{0}</tbody></table>"
                   ).format("".join(rows))


def _charts(result):
    histograms = result.get("histograms") or {}
    series = [("client", "client latency", charts.percentile_points(histograms.get("latency"))),
              ("server", "server", charts.percentile_points(histograms.get("server")))]
    if histograms.get("intended"):
        series.append(("intended", "from the intended start", charts.percentile_points(histograms.get("intended"))))
    baseline = (result.get("ratchet") or {}).get("baseline_curve") if isinstance(result.get("ratchet"), dict) else None
    if baseline:
        series.append(("baseline", "baseline (earlier runs)", charts.curve_points(baseline)))
    figures = [
        ("Latency histogram", charts.histogram_chart(histograms.get("latency"))),
        ("Latency by percentile" + (", with the baseline" if baseline else ""), charts.percentile_chart(series)),
        ("Latency over time, errors and dropped calls at their moment",
         charts.latency_over_time_chart(result.get("reservoir"), result.get("timeseries"))),
        ("Calls started per second", charts.calls_per_second_chart(result.get("timeseries"))),
        ("Client vs server vs overhead", charts.breakdown_chart(result)),
    ]
    return "<div class=\"charts\">{0}</div>".format("".join(
        "<figure><figcaption>{0}</figcaption>{1}</figure>".format(esc(caption), svg) for caption, svg in figures))


def _test_section(workflow, result, anchor):
    status = test_status(result)
    ratchet = result.get("ratchet") if isinstance(result.get("ratchet"), dict) else None
    title = "{0}{1}".format(workflow + ": " if workflow else "", result.get("name"))
    parts = ["<section class=\"test\" id=\"{0}\"><header><h3>{1}</h3>{2}{3}</header>".format(
        esc(anchor), esc(title), badge(status),
        " " + badge(ratchet.get("status"), "ratchet: {0}".format(ratchet.get("status"))) if ratchet and ratchet.get("status") else "")]
    if result.get("skipped"):
        parts.append("<p class=\"muted\">{0}</p></section>".format(esc(result["skipped"])))
        return "".join(parts)
    parts.append("<p class=\"muted\">{0}</p>".format(_facts_line(result)))
    if result.get("failures"):
        parts.append("<pre class=\"why\">{0}</pre>".format(esc("\n".join(result["failures"]))))
    parts.append(_figures_table(result))
    parts.append(_ratchet_block(ratchet))
    parts.append(_charts(result))
    parts.append("</section>")
    return "".join(parts)


def _verdict_table(document):
    rows = []
    for wi, workflow in enumerate(document.get("workflows") or []):
        name = workflow.get("workflow")
        tests = benchmark_tests(workflow)
        if not tests:
            rows.append("<tr>{0}<td colspan=\"2\">{1}</td><td colspan=\"6\"></td><td><pre>{2}</pre></td></tr>".format(
                _cell(name), badge(PASSED if workflow.get("passed") else FAILED, "workflow " + (
                    "passed" if workflow.get("passed") else "failed")),
                esc(workflow.get("summary") or workflow.get("message") or "no benchmark tests")))
            continue
        for ti, result in enumerate(tests):
            latency = result.get("latency_ms") or {}
            ratchet = result.get("ratchet") if isinstance(result.get("ratchet"), dict) else {}
            rows.append("<tr>{0}<td><a href=\"#{1}\">{2}</a></td><td>{3}</td>{4}{5}{6}{7}{8}<td>{9}</td><td><pre>{10}</pre></td></tr>".format(
                _cell(name) if name is not None else "", esc(test_anchor(wi, ti)), esc(result.get("name")),
                badge(test_status(result)), _cell(_number(result.get("calls")), "num"),
                _cell(_number(result.get("errors")), "num"), _cell(_number(result.get("dropped")), "num"),
                _cell(_ms(latency.get("p50")), "num"), _cell(_ms(latency.get("p95")), "num"),
                badge(ratchet["status"]) if ratchet.get("status") else "",
                esc("\n".join(result.get("failures") or []))))
    workflow_column = any(w.get("workflow") is not None for w in document.get("workflows") or [])
    head = "{0}<th>Test</th><th>Verdict</th><th>Calls</th><th>Errors</th><th>Dropped</th><th>p50</th><th>p95</th>" \
           "<th>Ratchet</th><th>Why not passed</th>".format("<th>Workflow</th>" if workflow_column else "")
    return "<table class=\"verdicts\"><thead><tr>{0}</tr></thead><tbody>{1}</tbody></table>".format(head, "".join(rows))


def _gate_table(document):
    rows = []
    for wi, workflow in enumerate(document.get("workflows") or []):
        for ti, result in enumerate(benchmark_tests(workflow)):
            for gate in result.get("gates") or []:
                if not isinstance(gate, dict):
                    continue
                rows.append("<tr><td><a href=\"#{0}\">{1}</a></td><td><code>{2}</code></td>{3}<td>{4}</td><td>{5}</td></tr>".format(
                    esc(test_anchor(wi, ti)), esc(result.get("name")), esc(gate.get("gate")),
                    _cell(_number(gate.get("value")), "num"), badge(gate.get("status") or "unknown"), esc(gate.get("why"))))
    if not rows:
        return "<p class=\"muted\">No gates were evaluated.</p>"
    return ("<table class=\"gates\"><thead><tr><th>Test</th><th>Gate</th><th>Measured</th><th>Result</th><th>Why</th>"
            "</tr></thead><tbody>{0}</tbody></table>").format("".join(rows))


def cluster_page(document):
    """The page of one cluster in one run: verdict, verdicts and gates, then each test's charts."""
    status = cluster_status(document)
    cluster = document.get("cluster") or document.get("api_address") or "cluster"
    benchmarks = [w.get("benchmark") for w in document.get("workflows") or [] if w.get("benchmark")]
    algorithms = ", ".join("{0} {1}".format(b.get("algorithm"), b.get("version") or "") for b in benchmarks)
    facts = [("Cluster", document.get("cluster")), ("API address", document.get("api_address")),
             ("Run", document.get("run_id")), ("Algorithms", algorithms or None),
             ("Git hash", ", ".join(str(b["git_hash"]) for b in benchmarks if b.get("git_hash")) or None),
             ("Started", ", ".join(str(b["started_at"]) for b in benchmarks if b.get("started_at")) or None)]
    body = ["<h1>Benchmark of {0}</h1>".format(esc(cluster)),
            "<div class=\"verdict {0}\"><span class=\"word\">{1}</span><span>{2}</span></div>".format(
                esc(status), esc(VERDICT_WORDS[status]), esc(verdict_sentence(document))),
            "<table class=\"facts\">{0}</table>".format("".join(
                "<tr><th>{0}</th>{1}</tr>".format(esc(label), _cell(value)) for label, value in facts if value))]
    failed_steps = [w for w in document.get("workflows") or [] if w.get("passed") is False and w.get("summary")]
    if failed_steps:
        body.append("<ul class=\"why\">{0}</ul>".format("".join("<li>{0}</li>".format(esc(w["summary"])) for w in failed_steps)))
    body += ["<h2>Verdicts</h2>", _verdict_table(document), "<h2>Gates</h2>", _gate_table(document)]
    sections = [_test_section(w.get("workflow"), result, test_anchor(wi, ti))
                for wi, w in enumerate(document.get("workflows") or []) for ti, result in enumerate(benchmark_tests(w))]
    if sections:
        body.append("<h2>Tests</h2>")
        body += sections
    return _page("Benchmark of {0}: {1}".format(cluster, VERDICT_WORDS[status]), "\n".join(body))


def index_page(run_id, clusters):
    """The run's index: a cluster x test matrix of verdicts, each linking to the cluster's page.

    ``clusters``: ``[(name, href of its page or None, results document or None), ...]``; a
    cluster without a document failed before its workflows ran."""
    columns = []
    for _name, _href, document in clusters:
        for workflow in (document or {}).get("workflows") or []:
            tests = benchmark_tests(workflow) or [None]
            for test in tests:
                column = (workflow.get("workflow"), test.get("name") if test else None)
                if column not in columns:
                    columns.append(column)
    statuses = [cluster_status(d) if d else FAILED for _n, _h, d in clusters]
    counts = ", ".join("{0} {1}".format(statuses.count(s), VERDICT_WORDS[s])
                       for s in (PASSED, FAILED, INCONCLUSIVE, NOT_RUN) if statuses.count(s))
    overall = overall_status(statuses)
    header_workflows = []
    for workflow in dict.fromkeys(w for w, _t in columns):
        span = sum(1 for w, _t in columns if w == workflow)
        header_workflows.append("<th colspan=\"{0}\">{1}</th>".format(span, esc(workflow)))
    rows = []
    for (name, href, document), status in zip(clusters, statuses):
        link = "<a href=\"{0}\">{1}</a>".format(esc(href), esc(name)) if href else "{0}<br><span class=\"muted\">{1}</span>".format(
            esc(name), "no results: failed before its workflows ran")
        cells = ["<td>{0}</td><td>{1}</td>".format(link, badge(status))]
        by_column = {}
        for wi, workflow in enumerate((document or {}).get("workflows") or []):
            tests = benchmark_tests(workflow)
            if not tests:
                by_column[(workflow.get("workflow"), None)] = (
                    PASSED if workflow.get("passed") else FAILED, None, workflow.get("summary"))
            for ti, test in enumerate(tests):
                by_column[(workflow.get("workflow"), test.get("name"))] = (
                    test_status(test), test_anchor(wi, ti), "; ".join(test.get("failures") or []))
                ratchet = test.get("ratchet") if isinstance(test.get("ratchet"), dict) else {}
                if ratchet.get("status"):
                    by_column[(workflow.get("workflow"), test.get("name"))] += (ratchet["status"],)
        for column in columns:
            found = by_column.get(column)
            if not found:
                cells.append("<td class=\"muted\">not run</td>")
                continue
            shown = badge(found[0])
            if len(found) > 3 and found[3] not in ("ok", "baseline"):
                shown += " " + badge(found[3], found[3])
            target = "{0}#{1}".format(href, found[1]) if href and found[1] else href
            cells.append("<td title=\"{0}\">{1}</td>".format(esc(found[2] or ""), "<a href=\"{0}\">{1}</a>".format(
                esc(target), shown) if target else shown))
        rows.append("<tr>{0}</tr>".format("".join(cells)))
    test_headers = "".join("<th>{0}</th>".format(esc(test if test is not None else "(workflow)")) for _w, test in columns)
    body = ["<h1>Testbench run {0}</h1>".format(esc(run_id)),
            "<div class=\"verdict {0}\"><span class=\"word\">{1}</span><span>{2} cluster{3}: {4}</span></div>".format(
                esc(overall), esc(VERDICT_WORDS[overall]), len(clusters), "" if len(clusters) == 1 else "s", esc(counts)),
            "<h2>Verdicts by cluster and test</h2>",
            "<table class=\"matrix\"><thead><tr><th rowspan=\"2\">Cluster</th><th rowspan=\"2\">Verdict</th>{0}</tr>"
            "<tr>{1}</tr></thead><tbody>{2}</tbody></table>".format("".join(header_workflows), test_headers, "".join(rows)),
            "<p class=\"muted\">Each cluster links to its page: the gates, the comparison with earlier runs and the "
            "charts of every test. <code>input.json</code> beside this page holds the run's input (keys masked).</p>"]
    return _page("Testbench run {0}: {1}".format(run_id, VERDICT_WORDS[overall]), "\n".join(body))


def cluster_href(directory):
    """The relative link from the index to a cluster's page in the bundle."""
    return "{0}/report.html".format(quote(directory))
