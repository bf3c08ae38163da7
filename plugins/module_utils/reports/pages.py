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

``comparisons`` (the judge's ``comparison.json`` of the cluster, see ``measure/judge.py``): each a
comparison with one baseline (an earlier run, the cluster's peers in this run, or the source
cluster) with its verdict, score and per test the shift of each metric with its interval. A cluster
with a comparison whose verdict is not ``pass`` is failed (``marginal`` too: a rollout gates on it,
as Kayenta fails a marginal score in the last interval). The cluster page shows them after the
verdicts and, per test, its latency curve over the baseline's; the index shows the clusters judged
against their peers as a cluster x test matrix.
"""

from __future__ import annotations

import html
import math
from urllib.parse import quote

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import charts

STYLE = """
:root{--ok:#15803d;--bad:#b91c1c;--warn:#a16207;--none:#6b7280;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;
--client:#2563eb;--server:#059669;--overhead:#d97706;--error:#dc2626;--dropped:#7c3aed;--baseline:#6b7280;--intended:#db2777;
--improvement:#0e7490;--marginal:#c2410c;--vs-run:#334155;--vs-peers:#9333ea;--vs-source:#92400e;--vs-other:#6b7280}
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
.badge.regression{background:var(--bad)}.badge.improvement{background:var(--improvement)}.badge.marginal{background:var(--marginal)}
pre{white-space:pre-wrap;margin:0;font-size:.92em}
.why{color:var(--bad)}
section.test{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1em 1.2em;margin:1.2em 0}
section.test header{display:flex;gap:.8em;align-items:baseline;flex-wrap:wrap}
section.comparison{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1em 1.2em;margin:1em 0;overflow-x:auto}
section.comparison header{display:flex;gap:.8em;align-items:baseline;flex-wrap:wrap}
section.comparison p{margin:.3em 0}table.comparison{width:100%}table.comparison td:last-child{min-width:12em}
.sub{display:block;color:var(--muted);font-size:.85em;font-weight:400}.nw{white-space:nowrap}
.compare{display:grid;grid-template-columns:minmax(0,3fr) minmax(300px,2fr);gap:1em;margin-top:.8em;align-items:start}
.compare table{width:100%}.compare td:first-child{white-space:nowrap}.compare p{margin:.3em 0}
@media (max-width:900px){.compare{grid-template-columns:1fr}}
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
svg .vs-run{fill:var(--vs-run);stroke:var(--vs-run)}svg .vs-peers{fill:var(--vs-peers);stroke:var(--vs-peers)}
svg .vs-source{fill:var(--vs-source);stroke:var(--vs-source)}svg .vs-other{fill:var(--vs-other);stroke:var(--vs-other)}
svg .vs-run.line,svg .vs-peers.line,svg .vs-source.line,svg .vs-other.line{stroke-dasharray:7 3}
svg .bar,svg .key{stroke:none}svg polyline.line{fill:none;stroke-width:2}svg .cross{fill:none;stroke-width:1.6}svg circle.client{opacity:.55}
table.matrix td,table.matrix th{text-align:center}table.matrix td a{text-decoration:none}
table.matrix td:first-child,table.matrix th:first-child{text-align:left}
table.matrix td .sub{color:var(--ink)}ul.comparisons li{margin:.25em 0}
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


def cluster_comparisons(document):
    """The cluster's comparisons with its baselines (``comparisons`` of its document), each a dict:
    an entry that is not one stands as a failed comparison saying so (no data is never a pass)."""
    found = document.get("comparisons") if isinstance(document, dict) else None
    if found is None:
        return []
    comparisons = []
    for entry in found if isinstance(found, list) else [found]:
        if isinstance(entry, dict):
            comparisons.append(entry)
        else:
            comparisons.append({"verdict": "fail", "baseline": "?", "tests": [],
                                "message": "fail: not a comparison: {0}".format(str(entry)[:200])})
    return comparisons


def comparison_passed(comparison):
    """Only a ``pass`` passes: ``marginal`` fails the cluster too, as a marginal score in Kayenta's last
    interval fails the canary (a rollout gates on this verdict; there is no later interval to wait for),
    and ``inconclusive`` (no test could be compared) is not a pass either."""
    return comparison.get("verdict") == "pass"


def comparisons_not_passed(document):
    return [comparison for comparison in cluster_comparisons(document) if not comparison_passed(comparison)]


def _run_status(document):
    """The verdict of the run itself: the one it decided when given, else from its workflows and tests."""
    if document.get("status") in (PASSED, FAILED, INCONCLUSIVE):
        return document["status"]
    statuses = [test_status(t) for w in document.get("workflows") or [] for t in benchmark_tests(w)]
    if any(w.get("passed") is False for w in document.get("workflows") or []):
        return FAILED
    return overall_status(statuses)


def cluster_status(document):
    """The cluster's verdict: failed when a comparison with a baseline failed or was marginal; else
    the run's own verdict, made inconclusive (not a pass) by a comparison that could compare no test."""
    not_passed = comparisons_not_passed(document)
    if any(comparison.get("verdict") != INCONCLUSIVE for comparison in not_passed):
        return FAILED
    status = _run_status(document)
    return INCONCLUSIVE if not_passed and status in (PASSED, NOT_RUN) else status


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


def _comparisons_count(comparisons, what):
    return "{0} comparison{1} with a baseline {2}".format(len(comparisons), "" if len(comparisons) == 1 else "s", what)


def verdict_sentence(document):
    status = cluster_status(document)
    statuses = [test_status(t) for w in document.get("workflows") or [] for t in benchmark_tests(w)]
    if status == PASSED:
        return "All tests passed" + (", and every comparison with a baseline" if cluster_comparisons(document) else "")
    if status == NOT_RUN:
        return "Nothing measured (check mode)"
    not_passed = comparisons_not_passed(document)
    failed = [comparison for comparison in not_passed if comparison.get("verdict") != INCONCLUSIVE]
    compared_nothing = [comparison for comparison in not_passed if comparison.get("verdict") == INCONCLUSIVE]
    parts = []
    if status == INCONCLUSIVE:
        if INCONCLUSIVE in statuses or not compared_nothing:
            parts.append("Some tests are inconclusive")
    elif FAILED in statuses:
        parts.append("Some tests failed")
    elif any(w.get("passed") is False for w in document.get("workflows") or []) or not failed:
        parts.append("A workflow failed" + (" (and some tests are inconclusive)" if INCONCLUSIVE in statuses else ""))
    if failed:
        parts.append(_comparisons_count(failed, "did not pass"))
    if compared_nothing:
        parts.append(_comparisons_count(compared_nothing, "could compare no test"))
    return "; ".join(parts) + (" (not a pass)" if status == INCONCLUSIVE else "")


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


# The judge's comparisons (``comparisons`` of the document): text of a shift, an interval, a p-value.

KIND_WORDS = {"run": "earlier run", "peers": "peers", "source": "source cluster"}
METRIC_WORDS = {"latency": "latency", "server": "server", "error_rate": "error rate", "dropped": "dropped"}
CLASSES = ("pass", "regression", "improvement", "unknown")
# The longest baseline name in a chart's legend: the legend is one line across the chart.
LEGEND_NAME_CHARS = 60


def _finite(value):
    """``value`` as a float when it is a finite number, else ``None`` (a field the judge left out or could not compute)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _signed(value, digits, unit=""):
    text = "{0:+.{1}f}".format(value, digits)
    if float(text) == 0:
        text = "+" + text[1:]  # no "-0%"
    return text + unit


def _percent_digits(*values):
    """Decimals of the percentages of ``values`` (fractions): whole percents as the judge writes them
    in its messages, unless the largest is under 1% (then it would read +0% (95% CI +0%..+0%))."""
    largest = max([abs(v) * 100 for v in values if v is not None] + [0])
    return 0 if largest >= 0.95 else 1 if largest >= 0.095 else 2


def confidence_text(metric):
    """``95%``: the confidence of the metric's interval (the judge's default when it does not say)."""
    confidence = _finite(metric.get("confidence"))
    return "{0:g}%".format(100 * (confidence if confidence and 0 < confidence < 1 else 0.95))


def p_text(value):
    """``p < 0.001`` below 0.001, else ``p = `` two significant figures; empty when there is none."""
    p_value = _finite(value)
    if p_value is None:
        return ""
    return "p < 0.001" if p_value < 0.001 else "p = {0:.2g}".format(p_value)


def _with_interval(parts):
    change, interval = parts
    return change if interval is None else "{0} ({1})".format(change, interval)


def shift_parts(metric):
    """A relative shift and its interval, ``("+38%", "95% CI +30%..+46%")``; ``("n/a", None)`` when not measured."""
    shift, lower, upper = (_finite(metric.get(key)) for key in ("shift", "lower", "upper"))
    if shift is None:
        return "n/a", None
    digits = _percent_digits(shift, lower, upper)
    if lower is None or upper is None:
        return _signed(100 * shift, digits, "%"), "no {0} CI".format(confidence_text(metric))
    return _signed(100 * shift, digits, "%"), "{0} CI {1}..{2}".format(
        confidence_text(metric), _signed(100 * lower, digits, "%"), _signed(100 * upper, digits, "%"))


def shift_text(metric):
    """A relative shift with its interval, ``+38% (95% CI +30%..+46%)``; ``n/a`` when not measured."""
    return _with_interval(shift_parts(metric))


def _rate(value):
    rate = _finite(value)
    if rate is None:
        return "n/a"
    percent = 100 * rate
    return "0%" if percent == 0 else "{0:.0f}%".format(percent) if percent >= 9.5 else "{0:.2g}%".format(percent)


def rate_change_parts(metric):
    """A change of a rate in percentage points and its interval, ``("+0.5 points", "95% CI -1.3..+2.4")``."""
    difference, lower, upper = (_finite(metric.get(key)) for key in ("difference", "lower", "upper"))
    if difference is None:
        return "n/a", None
    change = "{0} points".format(_signed(100 * difference, 1))
    if lower is None or upper is None:
        return change, "no {0} CI".format(confidence_text(metric))
    return change, "{0} CI {1}..{2}".format(confidence_text(metric), _signed(100 * lower, 1), _signed(100 * upper, 1))


def rate_change_text(metric):
    """A change of a rate in percentage points with its interval, ``+0.5 points (95% CI -1.3..+2.4)``."""
    return _with_interval(rate_change_parts(metric))


def metric_parts(metric):
    """The change of any metric and its interval: a shift for latency and server time, points for the rates."""
    return rate_change_parts(metric) if "difference" in metric or "rate" in metric else shift_parts(metric)


def metric_text(metric):
    return _with_interval(metric_parts(metric))


def metric_html(metric):
    """``metric_text`` that wraps, if it must, only between the change and its interval."""
    change, interval = metric_parts(metric)
    if interval is None:
        return "<span class=\"nw\">{0}</span>".format(esc(change))
    return "<span class=\"nw\">{0}</span> <span class=\"nw\">({1})</span>".format(esc(change), esc(interval))


def metric_detail(metric):
    """What the change is between: the medians, or the rates with their counts."""
    if "difference" in metric or "rate" in metric:
        return "{0} → {1} ({2}/{3} → {4}/{5})".format(
            _rate(metric.get("baseline_rate")), _rate(metric.get("rate")), _number(metric.get("baseline_count")),
            _number(metric.get("baseline_n")), _number(metric.get("count")), _number(metric.get("n")))
    if _finite(metric.get("median_ms")) is None and _finite(metric.get("baseline_median_ms")) is None:
        return "n = {0} vs {1}".format(_number(metric.get("n")) or "?", _number(metric.get("baseline_n")) or "?")
    return "median {0} → {1}".format(_ms(metric.get("baseline_median_ms")) or "n/a", _ms(metric.get("median_ms")) or "n/a")


def compared_tests(comparison):
    return [test for test in comparison.get("tests") or [] if isinstance(test, dict)]


def test_metrics(test):
    return {metric.get("metric"): metric for metric in test.get("metrics") or [] if isinstance(metric, dict)}


def deciding_metric(test):
    """The metric that gave the test its class (the first with that class), else its latency."""
    metrics = [metric for metric in test.get("metrics") or [] if isinstance(metric, dict)]
    for metric in metrics:
        if test.get("class") not in (None, "pass") and metric.get("class") == test.get("class"):
            return metric
    return test_metrics(test).get("latency") or (metrics[0] if metrics else {})


def test_class(test):
    return test.get("class") if test.get("class") in CLASSES else "unknown"


def baseline_name(comparison):
    return str(comparison.get("baseline") or KIND_WORDS.get(comparison.get("kind")) or "the baseline")


def _names(values):
    return [str(value) for value in (values if isinstance(values, list) else [values] if values else []) if value is not None]


def whom_text(comparison):
    """Whom the cluster was compared with: the runs, the peers (pooled) or the source cluster."""
    kind = comparison.get("kind")
    if kind == "peers":
        return "its peers in this run, pooled: {0}".format(", ".join(_names(comparison.get("peers"))) or "none named")
    if kind == "source":
        return "the source cluster {0}".format(comparison.get("source") or "(not named)")
    if kind == "run":
        runs = _names(comparison.get("runs"))
        return "{0} {1}".format("earlier run" if len(runs) == 1 else "earlier runs", ", ".join(runs) or "(not named)")
    return "{0} (kind {1})".format(baseline_name(comparison), kind)


def score_text(comparison):
    """The score line: the judge's message, or one made of the score when it gave none."""
    if comparison.get("message"):
        return str(comparison["message"])
    score, passing, marginal = (_finite(comparison.get(key)) for key in ("score", "pass_score", "marginal_score"))
    return "{0}: {1} of {2} tests pass (score {3}; pass needs {4}, marginal {5})".format(
        comparison.get("verdict") or "fail", _number(comparison.get("passed_tests")) or 0, _number(comparison.get("compared_tests")) or 0,
        *("{0:.0f}%".format(100 * v) if v is not None else "n/a" for v in (score, passing, marginal)))


def tests_passed_text(comparison):
    """``2 of 4 tests pass``, and ``, 1 not compared`` when the judge counts the unknown tests apart."""
    unknown = _finite(comparison.get("unknown_tests"))
    return "{0} of {1} tests pass{2}".format(
        _number(comparison.get("passed_tests")) or 0, _number(comparison.get("compared_tests")) or 0,
        ", {0:g} not compared".format(unknown) if unknown else "")


def comparison_anchor(index):
    return "cmp{0}".format(index)


def test_anchors(document):
    """``{(workflow, test name): anchor}`` of the tests on the cluster's page."""
    return {(w.get("workflow"), t.get("name")): test_anchor(wi, ti)
            for wi, w in enumerate(document.get("workflows") or []) for ti, t in enumerate(benchmark_tests(w))}


def _metric_cell(metric):
    if not metric:
        return "<td class=\"muted\" title=\"not compared\">–</td>"
    return "<td title=\"{0}\">{1}<span class=\"sub\">{2}</span></td>".format(
        esc(metric.get("message")), metric_html(metric), esc(metric_detail(metric)))


def _comparison_rows(comparison, ci, anchors, dropped_column):
    rows = []
    for test in compared_tests(comparison):
        metrics = test_metrics(test)
        anchor = anchors.get((test.get("workflow"), test.get("test")))
        name = esc(test.get("test"))
        if anchor:
            name = "<a href=\"#{0}-{1}\">{2}</a>".format(esc(anchor), esc(comparison_anchor(ci)), name)
        if test.get("run") and len(comparison.get("runs") or []) > 1:
            name += "<span class=\"sub\">vs run {0}</span>".format(esc(test["run"]))
        deciding = deciding_metric(test)
        cells = [_metric_cell(metrics.get("latency")), _metric_cell(metrics.get("server")), _metric_cell(metrics.get("error_rate"))]
        if dropped_column:
            cells.append(_metric_cell(metrics.get("dropped")))
        rows.append("<tr>{0}<td>{1}</td><td>{2}</td>{3}<td class=\"num\">{4}{5}</td><td>{6}</td></tr>".format(
            _cell(test.get("workflow")), name, badge(test_class(test), test_class(test)), "".join(cells), esc(p_text(deciding.get("p_value"))),
            "<span class=\"sub\">{0}</span>".format(esc(METRIC_WORDS.get(deciding.get("metric"), deciding.get("metric"))))
            if deciding.get("metric") not in (None, "latency") and deciding.get("p_value") is not None else "",
            esc(test.get("reason"))))
    return rows


def _comparison_block(comparison, ci, anchors):
    verdict = str(comparison.get("verdict") or "fail")
    parts = ["<section class=\"comparison\" id=\"{0}\"><header><h3>Against {1}</h3>{2}<span class=\"muted\">{3}</span></header>".format(
        esc(comparison_anchor(ci)), esc(baseline_name(comparison)), badge(verdict, verdict),
        esc(KIND_WORDS.get(comparison.get("kind"), comparison.get("kind")))),
        "<p class=\"{0}\">{1}</p>".format("score" if comparison_passed(comparison) else "score why", esc(score_text(comparison))),
        "<p class=\"muted\">Compared with {0}.</p>".format(esc(whom_text(comparison)))]
    tests = compared_tests(comparison)
    if not tests:
        parts.append("<p class=\"why\">No test was compared, and no data is never a pass.</p></section>")
        return "".join(parts)
    dropped_column = any("dropped" in test_metrics(test) for test in tests)
    head = "<th>Workflow</th><th>Test</th><th>Class</th><th>Latency</th><th>Server</th><th>Error rate</th>{0}<th>p</th><th>Reason</th>".format(
        "<th>Dropped</th>" if dropped_column else "")
    parts.append("<table class=\"comparison\"><thead><tr>{0}</tr></thead><tbody>{1}</tbody></table></section>".format(
        head, "".join(_comparison_rows(comparison, ci, anchors, dropped_column))))
    return "".join(parts)


def _comparisons_section(document):
    comparisons = cluster_comparisons(document)
    if not comparisons:
        return []
    anchors = test_anchors(document)
    return ["<h2>Comparisons</h2>",
            "<p class=\"muted\">Each shift is this run relative to the baseline, with its confidence interval; a test regresses "
            "only when the whole interval is past the tolerance, and is unknown when the samples cannot tell. A comparison "
            "passes only with the verdict <b>pass</b>: <b>marginal</b> fails the cluster too, as a marginal score in "
            "Kayenta's last interval fails the canary, and one that could compare no test is <b>inconclusive</b>, not a "
            "pass.</p>"] + [
        _comparison_block(comparison, ci, anchors) for ci, comparison in enumerate(comparisons)]


def comparisons_of_test(document, workflow, name):
    """``[(index of the comparison, comparison, its test)]`` of one benchmark test."""
    return [(ci, comparison, test) for ci, comparison in enumerate(cluster_comparisons(document))
            for test in compared_tests(comparison) if test.get("workflow") == workflow and test.get("test") == name]


def _legend_name(comparison):
    name = "baseline: " + baseline_name(comparison)
    return name if len(name) <= LEGEND_NAME_CHARS else name[:LEGEND_NAME_CHARS - 1] + "…"


def _test_comparison(result, anchor, ci, comparison, test):
    """This run's latency curve over the baseline's, and beside it each metric's shift, interval, p and class."""
    baseline = (test.get("histograms") or {}).get("latency") if isinstance(test.get("histograms"), dict) else None
    chart = charts.comparison_chart((result.get("histograms") or {}).get("latency"), baseline,
                                    charts.comparison_css(comparison.get("kind")), _legend_name(comparison))
    caption = "Latency by percentile: this run and {0}{1}".format(
        baseline_name(comparison), "" if baseline else " (the comparison carries no latency histogram of the baseline)")
    rows = "".join("<tr><td>{0}</td><td>{1}</td><td title=\"{2}\">{3}<span class=\"sub\">{4}</span></td><td class=\"num\">{5}</td></tr>".format(
        esc(METRIC_WORDS.get(metric.get("metric"), metric.get("metric"))), badge(metric.get("class") or "unknown", metric.get("class") or "unknown"),
        esc(metric.get("message")), metric_html(metric), esc(metric_detail(metric)), esc(p_text(metric.get("p_value"))))
        for metric in test.get("metrics") or [] if isinstance(metric, dict))
    return ("<div class=\"compare\" id=\"{0}-{1}\"><figure><figcaption>{2}</figcaption>{3}</figure><div>"
            "<p><b>Against {4}</b> {5}</p><table class=\"shifts\"><thead><tr><th>Metric</th><th>Class</th><th>This run vs baseline</th>"
            "<th>p</th></tr></thead><tbody>{6}</tbody></table><p class=\"{7}\">{8}</p></div></div>").format(
        esc(anchor), esc(comparison_anchor(ci)), esc(caption), chart, esc(baseline_name(comparison)),
        badge(test_class(test), test_class(test)), rows, "why" if test_class(test) == "regression" else "muted", esc(test.get("reason")))


def _test_section(workflow, result, anchor, comparisons=()):
    """A test's section; ``comparisons``: ``[(index, comparison, its test)]`` of this test with its baselines."""
    status = test_status(result)
    ratchet = result.get("ratchet") if isinstance(result.get("ratchet"), dict) else None
    title = "{0}{1}".format(workflow + ": " if workflow else "", result.get("name"))
    badges = [badge(ratchet.get("status"), "ratchet: {0}".format(ratchet.get("status")))] if ratchet and ratchet.get("status") else []
    badges += [badge(test_class(test), "vs {0}: {1}".format(baseline_name(comparison), test_class(test))) for _ci, comparison, test in comparisons]
    parts = ["<section class=\"test\" id=\"{0}\"><header><h3>{1}</h3>{2}{3}</header>".format(
        esc(anchor), esc(title), badge(status), "".join(" " + b for b in badges))]
    if result.get("skipped"):
        parts.append("<p class=\"muted\">{0}</p></section>".format(esc(result["skipped"])))
        return "".join(parts)
    parts.append("<p class=\"muted\">{0}</p>".format(_facts_line(result)))
    if result.get("failures"):
        parts.append("<pre class=\"why\">{0}</pre>".format(esc("\n".join(result["failures"]))))
    parts.append(_figures_table(result))
    parts.append(_ratchet_block(ratchet))
    parts += [_test_comparison(result, anchor, ci, comparison, test) for ci, comparison, test in comparisons]
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
    """The page of one cluster in one run: verdict, verdicts, comparisons with baselines and gates, then
    each test's charts (with its latency curve over each baseline's)."""
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
    body += ["<h2>Verdicts</h2>", _verdict_table(document)] + _comparisons_section(document)
    body += ["<h2>Gates</h2>", _gate_table(document)]
    sections = [_test_section(w.get("workflow"), result, test_anchor(wi, ti), comparisons_of_test(document, w.get("workflow"), result.get("name")))
                for wi, w in enumerate(document.get("workflows") or []) for ti, result in enumerate(benchmark_tests(w))]
    if sections:
        body.append("<h2>Tests</h2>")
        body += sections
    return _page("Benchmark of {0}: {1}".format(cluster, VERDICT_WORDS[status]), "\n".join(body))


def _column_headers(columns):
    """The two header rows of a matrix over ``(workflow, test)`` columns: the workflows spanning their tests."""
    workflows = []
    for workflow in dict.fromkeys(w for w, _t in columns):
        span = sum(1 for w, _t in columns if w == workflow)
        workflows.append("<th colspan=\"{0}\">{1}</th>".format(span, esc(workflow)))
    return "".join(workflows), "".join("<th>{0}</th>".format(esc(test if test is not None else "(workflow)")) for _w, test in columns)


def _peer_cell(href, anchors, ci, test):
    shown = "{0}<span class=\"sub\">{1}</span>".format(
        badge(test_class(test), test_class(test)), metric_html(test_metrics(test).get("latency") or {}))
    if not href:
        return "<td title=\"{0}\">{1}</td>".format(esc(test.get("reason")), shown)
    anchor = anchors.get((test.get("workflow"), test.get("test")))
    target = "{0}#{1}".format(href, "{0}-{1}".format(anchor, comparison_anchor(ci)) if anchor else comparison_anchor(ci))
    return "<td title=\"{0}\"><a href=\"{1}\">{2}</a></td>".format(esc(test.get("reason")), esc(target), shown)


def _peer_matrix(clusters):
    """The canary-vs-peers matrix: a row per cluster judged against its peers (pooled), a column per
    test, each cell the test's class and latency shift with its interval."""
    judged = [(name, href, document, ci, comparison) for name, href, document in clusters
              for ci, comparison in enumerate(cluster_comparisons(document or {})) if comparison.get("kind") == "peers"]
    if not judged:
        return []
    columns = list(dict.fromkeys((test.get("workflow"), test.get("test")) for _n, _h, _d, _ci, c in judged for test in compared_tests(c)))
    rows = []
    for name, href, document, ci, comparison in judged:
        verdict = str(comparison.get("verdict") or "fail")
        link = "<a href=\"{0}#{1}\">{2}</a>".format(esc(href), esc(comparison_anchor(ci)), esc(name)) if href else esc(name)
        by_column = {(test.get("workflow"), test.get("test")): test for test in compared_tests(comparison)}
        anchors = test_anchors(document or {})
        cells = [_peer_cell(href, anchors, ci, by_column[column]) if column in by_column else "<td class=\"muted\">not compared</td>"
                 for column in columns]
        rows.append("<tr><td>{0}</td><td title=\"{1}\">{2}</td><td>{3}</td>{4}</tr>".format(
            link, esc(score_text(comparison)), badge(verdict, verdict), esc(", ".join(_names(comparison.get("peers"))) or "none named"),
            "".join(cells)))
    workflows, tests = _column_headers(columns)
    return ["<h2>Against their peers in this run</h2>",
            "<p class=\"muted\">Each cluster judged against its peers (their samples pooled): the class of each test and its "
            "latency shift with its confidence interval. A marginal verdict fails the cluster too.</p>",
            "<table class=\"matrix peers\"><thead><tr><th rowspan=\"2\">Cluster</th><th rowspan=\"2\">Verdict</th>"
            "<th rowspan=\"2\">Peers</th>{0}</tr><tr>{1}</tr></thead><tbody>{2}</tbody></table>".format(workflows, tests, "".join(rows))]


def _other_comparisons(clusters):
    """A line per cluster for its comparisons with earlier runs and the source cluster."""
    lines = []
    for name, href, document in clusters:
        others = [(ci, c) for ci, c in enumerate(cluster_comparisons(document or {})) if c.get("kind") != "peers"]
        if not others:
            continue
        items = []
        for ci, comparison in others:
            verdict = str(comparison.get("verdict") or "fail")
            against = "against {0} ({1})".format(baseline_name(comparison), tests_passed_text(comparison))
            text = "<a href=\"{0}#{1}\">{2}</a>".format(esc(href), esc(comparison_anchor(ci)), esc(against)) if href else esc(against)
            items.append("<span title=\"{0}\">{1} {2}</span>".format(esc(score_text(comparison)), badge(verdict, verdict), text))
        lines.append("<li><b>{0}</b>: {1}</li>".format(esc(name), " · ".join(items)))
    if not lines:
        return []
    return ["<h2>Against earlier runs and the source cluster</h2>", "<ul class=\"comparisons\">{0}</ul>".format("".join(lines))]


def index_page(run_id, clusters):
    """The run's index: a cluster x test matrix of verdicts, each linking to the cluster's page; then
    the clusters judged against their peers as a cluster x test matrix of classes and shifts, and a
    line per cluster for its comparisons with earlier runs and the source.

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
    header_workflows, test_headers = _column_headers(columns)
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
    body = ["<h1>Testbench run {0}</h1>".format(esc(run_id)),
            "<div class=\"verdict {0}\"><span class=\"word\">{1}</span><span>{2} cluster{3}: {4}</span></div>".format(
                esc(overall), esc(VERDICT_WORDS[overall]), len(clusters), "" if len(clusters) == 1 else "s", esc(counts)),
            "<h2>Verdicts by cluster and test</h2>",
            "<table class=\"matrix\"><thead><tr><th rowspan=\"2\">Cluster</th><th rowspan=\"2\">Verdict</th>{0}</tr>"
            "<tr>{1}</tr></thead><tbody>{2}</tbody></table>".format(header_workflows, test_headers, "".join(rows)),
            "<p class=\"muted\">Each cluster links to its page: the gates, the comparisons with its baselines and with "
            "earlier runs, and the charts of every test. <code>input.json</code> beside this page holds the run's input "
            "(keys masked).</p>"] + _peer_matrix(clusters) + _other_comparisons(clusters)
    return _page("Testbench run {0}: {1}".format(run_id, VERDICT_WORDS[overall]), "\n".join(body))


def cluster_href(directory):
    """The relative link from the index to a cluster's page in the bundle."""
    return "{0}/report.html".format(quote(directory))
