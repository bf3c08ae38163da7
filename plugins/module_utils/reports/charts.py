# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The charts of a benchmark report: small pure functions from a test's result to inline SVG.

A report page must open anywhere (a CI artifact, a mail attachment, an air-gapped laptop), so
the charts are SVG text in the page itself: no script, no font or library fetched. Each
function takes the JSON forms a test result carries (``Histogram.to_dict``, ``Reservoir.to_dict``,
``TimeSeries.to_dict``, the ``latency_ms`` / ``server_ms`` / ``overhead_ms`` summaries) and
returns one ``<svg>`` element; no data gives a chart saying so, never an error. Every text is
escaped. Colours are CSS classes (``reports.pages.STYLE``), so the page decides how they look.
"""

from __future__ import annotations

import html
import math
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 30, 40
# The percentile axis ends at p(99.9): -log10(1 - p/100) puts 0, 90, 99 and 99.9 equally apart.
PERCENTILE_AXIS_END = 3.0
PERCENTILE_TICKS = (0, 50, 90, 99, 99.9)
_PERCENTILE_KEY = re.compile(r"^p\(?(\d+(?:\.\d+)?)\)?$")


def _escape(text):
    return html.escape(str(text), quote=True)


def format_ms(value):
    """A duration for a label: 3 significant figures, in ms up to 10 s, in s above."""
    if value is None:
        return "n/a"
    if value >= 10000:
        return "{0:.3g} s".format(value / 1000.0)
    if value >= 100:
        return "{0:.0f} ms".format(value)
    if value >= 10:
        return "{0:.1f} ms".format(value)
    return "{0:.2f} ms".format(value)


def _number(value):
    """A tick label: no trailing zeros, thousands kept short."""
    if value == 0:
        return "0"
    if abs(value) >= 10000:
        return "{0:.3g}k".format(value / 1000.0)
    return "{0:.4g}".format(value)


def nice_ticks(low, high, count=5):
    """Round tick values (1, 2 or 5 times a power of ten apart) covering ``low`` .. ``high``."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 10))
        value += step
    return ticks


def log_ticks(low, high):
    """1-2-5 ticks between ``low`` and ``high`` (> 0) for a log axis; linear ones when the range
    is too narrow to hold two of them."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks if len(ticks) >= 2 else nice_ticks(low, high, 4)


def _svg(label, body, height=HEIGHT):
    return ('<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}">'
            '<title>{label}</title>{body}</svg>').format(w=WIDTH, h=height, label=_escape(label), body="".join(body))


def _empty(label, why):
    return _svg(label, ['<rect class="frame" x="{0}" y="{1}" width="{2}" height="{3}"/>'.format(
        LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM),
        '<text class="empty" x="{0}" y="{1}" text-anchor="middle">{2}</text>'.format(
            (LEFT + WIDTH - RIGHT) / 2, HEIGHT / 2, _escape(why))])


def _text(x, y, text, anchor="middle", css="tick"):
    return '<text class="{0}" x="{1:.1f}" y="{2:.1f}" text-anchor="{3}">{4}</text>'.format(css, x, y, anchor, _escape(text))


class _Frame:
    """A plot area with its x and y scales (linear or log) and the axes drawn in the SVG."""

    def __init__(self, x_range, y_range, x_log=False, y_log=False, height=HEIGHT, bottom=BOTTOM):
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = height - bottom, TOP
        self.x_range, self.y_range, self.x_log, self.y_log = x_range, y_range, x_log, y_log

    @staticmethod
    def _scale(value, value_range, log, start, end):
        low, high = value_range
        if log:
            value, low, high = (math.log10(max(v, 1e-9)) for v in (value, low, high))
        fraction = (value - low) / (high - low) if high != low else 0.5
        return start + (end - start) * min(max(fraction, 0.0), 1.0)

    def x(self, value):
        return self._scale(value, self.x_range, self.x_log, self.x0, self.x1)

    def y(self, value):
        return self._scale(value, self.y_range, self.y_log, self.y0, self.y1)

    def axes(self, x_ticks, y_ticks, x_label, y_label, x_format=_number, y_format=_number, x_tick_gap=15):
        parts = ['<rect class="frame" x="{0}" y="{1}" width="{2}" height="{3}"/>'.format(
            self.x0, self.y1, self.x1 - self.x0, self.y0 - self.y1)]
        for tick in y_ticks:
            y = self.y(tick)
            parts.append('<line class="grid" x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}"/>'.format(self.x0, self.x1, y))
            parts.append(_text(self.x0 - 6, y + 4, y_format(tick), "end"))
        for tick in x_ticks:
            x = self.x(tick)
            parts.append('<line class="grid" x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}"/>'.format(x, self.y1, self.y0))
            parts.append(_text(x, self.y0 + x_tick_gap, x_format(tick)))
        parts.append(_text((self.x0 + self.x1) / 2, self.y0 + 32, x_label, css="axis"))
        parts.append('<text class="axis" transform="translate(13,{0:.1f}) rotate(-90)" text-anchor="middle">{1}</text>'.format(
            (self.y0 + self.y1) / 2, _escape(y_label)))
        return parts


def _legend(entries, y=18):
    """``[(css class, label), ...]`` as coloured keys along the top of the chart."""
    parts, x = [], LEFT
    for css, label in entries:
        parts.append('<rect class="{0} key" x="{1}" y="{2}" width="12" height="8"/>'.format(css, x, y - 8))
        parts.append(_text(x + 16, y, label, "start", "legend"))
        x += 26 + 7 * len(label)
    return parts


def _histogram(data):
    try:
        return Histogram.from_dict(data) if data else None
    except (ValueError, TypeError):
        return None


def histogram_chart(data, label="Latency histogram", bins=40):
    """Bars of the calls per latency range: the histogram's log-linear buckets regrouped into
    ``bins`` equal steps on a log axis (a few hundred thin buckets would read as noise)."""
    histogram = _histogram(data)
    if histogram is None or not histogram.count:
        return _empty(label, "no successful call")
    low, high = histogram.min, histogram.max
    if high <= low * 1.2:
        low, high = low / 1.1, high * 1.1
    low, high = max(low, 0.001), max(high, 0.002)
    log_low, log_high = math.log10(low), math.log10(high)
    counts = [0] * bins
    for lower, upper, count in histogram.buckets():
        middle = min(max((lower + upper) / 2.0, histogram.min), histogram.max)
        position = (math.log10(max(middle, low)) - log_low) / (log_high - log_low)
        counts[min(int(position * bins), bins - 1)] += count
    frame = _Frame((low, high), (0, max(counts) * 1.08), x_log=True)
    parts = frame.axes(log_ticks(low, high), nice_ticks(0, max(counts) * 1.08, 4), "latency (ms, log scale)", "calls")
    edges = [10 ** (log_low + (log_high - log_low) * i / bins) for i in range(bins + 1)]
    for i, count in enumerate(counts):
        if count:
            x0, x1 = frame.x(edges[i]), frame.x(edges[i + 1])
            parts.append('<rect class="client bar" x="{0:.1f}" y="{1:.1f}" width="{2:.1f}" height="{3:.1f}">'
                         '<title>{4} .. {5}: {6} calls</title></rect>'.format(
                             x0 + 0.5, frame.y(count), max(x1 - x0 - 1, 1), frame.y0 - frame.y(count),
                             format_ms(edges[i]), format_ms(edges[i + 1]), count))
    parts += _legend([("client", "{0} successful calls, min {1}, max {2}".format(
        histogram.count, format_ms(histogram.min), format_ms(histogram.max)))])
    return _svg(label, parts)


def percentile_position(percent):
    """Where percentile ``percent`` sits on the percentile axis: ``-log10(1 - p/100)``, capped."""
    if percent >= 100:
        return PERCENTILE_AXIS_END
    return min(-math.log10(1 - percent / 100.0), PERCENTILE_AXIS_END)


def percentile_points(data, steps=60):
    """``[(percent, ms), ...]`` of a histogram from p(0) to p(99.9), evenly spread on the axis."""
    histogram = _histogram(data)
    if histogram is None or not histogram.count:
        return []
    points = []
    for step in range(steps + 1):
        percent = round(100.0 * (1 - 10 ** (-PERCENTILE_AXIS_END * step / steps)), 6)
        points.append((percent, histogram.percentile(min(percent, 100.0))))
    return points


def curve_points(curve):
    """``[(percent, ms), ...]`` of a ``{"p(50)": ms, ...}`` curve (a ratchet baseline), sorted;
    keys that are not percentiles are left out."""
    points = []
    for key, value in (curve or {}).items():
        match = _PERCENTILE_KEY.match(str(key).strip())
        if match and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= float(match.group(1)) <= 100:
            points.append((float(match.group(1)), float(value)))
    return sorted(points)


def percentile_chart(series, label="Latency by percentile"):
    """Lines of latency by percentile, one per ``(css class, name, [(percent, ms), ...])``; the
    percentile axis is logarithmic in ``1 - p`` so that the tail (p(99), p(99.9)) gets room."""
    series = [entry for entry in series if entry[2]]
    if not series:
        return _empty(label, "no successful call")
    top = max(ms for entry in series for _p, ms in entry[2]) * 1.08 or 1.0
    frame = _Frame((0, PERCENTILE_AXIS_END), (0, top))
    parts = frame.axes([percentile_position(p) for p in PERCENTILE_TICKS], nice_ticks(0, top, 4),
                       "percentile (log scale of 1 - p)", "latency (ms)",
                       x_format=_percent_label)
    for css, name, points in series:
        coordinates = " ".join("{0:.1f},{1:.1f}".format(frame.x(percentile_position(p)), frame.y(ms)) for p, ms in points)
        parts.append('<polyline class="{0} line" points="{1}"/>'.format(css, coordinates))
        if len(points) <= 12:  # a few named points (a baseline): mark each, with its value on hover
            for p, ms in points:
                parts.append('<circle class="{0} dot" cx="{1:.1f}" cy="{2:.1f}" r="3"><title>{3} p({4:g}) {5}</title></circle>'.format(
                    css, frame.x(percentile_position(p)), frame.y(ms), _escape(name), p, format_ms(ms)))
    parts += _legend([(css, name) for css, name, _points in series])
    return _svg(label, parts)


# A baseline's series by the kind of its comparison (``reports.pages.STYLE`` colours each; dashed).
COMPARISON_CSS = {"run": "vs-run", "peers": "vs-peers", "source": "vs-source"}


def comparison_css(kind):
    """The CSS class of a baseline's series: one per kind of comparison, so a page with several reads apart."""
    return COMPARISON_CSS.get(kind, "vs-other")


def comparison_chart(current, baseline, css, baseline_name, label="Latency by percentile, this run and the baseline"):
    """This run's latency by percentile (``client``) and the baseline's (``css``, dashed) over it, from
    the two histograms (``Histogram.to_dict``): where the curves part shows which calls moved (all
    of them, or only the tail)."""
    return percentile_chart([("client", "this run", percentile_points(current)),
                             (css, baseline_name, percentile_points(baseline))], label)


def _percent_label(position):
    for percent in PERCENTILE_TICKS:
        if abs(percentile_position(percent) - position) < 1e-9:
            return "p{0:g}".format(percent)
    return ""


def _test_span(reservoir, timeseries):
    """The test's duration in s, from the time series and the samples' offsets."""
    width = (timeseries or {}).get("width_s") or 1
    ends = [point.get("t", 0) + width for point in (timeseries or {}).get("points") or []]
    ends += [sample[0] for sample in (reservoir or {}).get("samples") or []]
    return max(ends + [1.0])


def latency_over_time_chart(reservoir, timeseries, label="Latency over time"):
    """The sampled calls (latency by start time; failed calls as red crosses), and under the plot
    two strips: errors and dropped calls per time step, exact counts from the time series."""
    samples = [s for s in (reservoir or {}).get("samples") or [] if isinstance(s, (list, tuple)) and len(s) >= 3]
    points = (timeseries or {}).get("points") or []
    if not samples and not points:
        return _empty(label, "no call")
    height = HEIGHT + 36
    span = _test_span(reservoir, timeseries)
    top = max([s[1] for s in samples] + [0.001]) * 1.08
    frame = _Frame((0, span), (0, top), height=height, bottom=BOTTOM + 36)
    # the x tick labels go under the two strips
    parts = frame.axes(nice_ticks(0, span, 6), nice_ticks(0, top, 4), "", "latency (ms)", x_tick_gap=50)
    for offset, latency, kind in (s[:3] for s in samples):
        x, y = frame.x(offset), frame.y(latency)
        if kind == "ok":
            parts.append('<circle class="client dot" cx="{0:.1f}" cy="{1:.1f}" r="2"/>'.format(x, y))
        else:
            parts.append('<path class="error cross" d="M{0:.1f},{1:.1f}l6,6m0,-6l-6,6"><title>{2} at {3:.2f} s after {4}</title></path>'.format(
                x - 3, y - 3, _escape(kind), offset, format_ms(latency)))
    width = (timeseries or {}).get("width_s") or 1
    strips = (("error", "errors", lambda p: sum((p.get("errors") or {}).values())),
              ("dropped", "dropped", lambda p: p.get("dropped") or 0))
    for row, (css, name, count_of) in enumerate(strips):
        y = frame.y0 + 8 + row * 15
        parts.append(_text(frame.x0 - 6, y + 9, name, "end"))
        parts.append('<rect class="strip" x="{0}" y="{1}" width="{2}" height="11"/>'.format(frame.x0, y, frame.x1 - frame.x0))
        counts = [(p.get("t", 0), count_of(p)) for p in points]
        most = max([c for _t, c in counts] + [1])
        for start, count in counts:
            if count:
                x0, x1 = frame.x(start), frame.x(start + width)
                parts.append('<rect class="{0}" x="{1:.1f}" y="{2}" width="{3:.1f}" height="11" opacity="{4:.2f}">'
                             '<title>{5} {6} at {7:g}..{8:g} s</title></rect>'.format(
                                 css, x0, y, max(x1 - x0, 1.5), 0.35 + 0.65 * count / most, count, name, start, start + width))
    parts.append(_text((frame.x0 + frame.x1) / 2, height - 6, "seconds since the test started", css="axis"))
    parts += _legend([("client", "sampled calls ({0})".format(len(samples))), ("error", "failed call"),
                      ("dropped", "dropped (not started)")])
    return _svg(label, parts, height)


def calls_per_second_chart(timeseries, label="Calls started per second"):
    """Bars of the calls started per second in each time step, the calls dropped stacked on top."""
    points = (timeseries or {}).get("points") or []
    if not points:
        return _empty(label, "no call")
    width = (timeseries or {}).get("width_s") or 1
    rates = [(p.get("t", 0), (p.get("started") or 0) / width, (p.get("dropped") or 0) / width) for p in points]
    span = max(t for t, _s, _d in rates) + width
    top = max(s + d for _t, s, d in rates) * 1.1 or 1.0
    frame = _Frame((0, span), (0, top))
    parts = frame.axes(nice_ticks(0, span, 6), nice_ticks(0, top, 4), "seconds since the test started",
                       "calls / s")
    for start, started, dropped in rates:
        x0, x1 = frame.x(start), frame.x(start + width)
        bar_width = max(x1 - x0 - 1, 1)
        if started:
            parts.append('<rect class="client bar" x="{0:.1f}" y="{1:.1f}" width="{2:.1f}" height="{3:.1f}">'
                         '<title>{4:g} s: {5:.4g} started/s</title></rect>'.format(
                             x0 + 0.5, frame.y(started), bar_width, frame.y0 - frame.y(started), start, started))
        if dropped:
            parts.append('<rect class="dropped bar" x="{0:.1f}" y="{1:.1f}" width="{2:.1f}" height="{3:.1f}">'
                         '<title>{4:g} s: {5:.4g} dropped/s</title></rect>'.format(
                             x0 + 0.5, frame.y(started + dropped), bar_width, frame.y(started) - frame.y(started + dropped),
                             start, dropped))
    total_dropped = sum(p.get("dropped") or 0 for p in points)
    parts += _legend([("client", "started"), ("dropped", "dropped: {0}".format(total_dropped))])
    return _svg(label, parts)


BREAKDOWN = (("client", "client latency", "latency_ms"), ("server", "server (metadata.duration)", "server_ms"),
             ("overhead", "overhead (network, API, queue)", "overhead_ms"))


def breakdown_chart(result, label="Client vs server vs overhead"):
    """p50, p95 and p99 of the client latency, the cluster's own duration and their difference,
    as grouped horizontal bars with their values."""
    rows = ("p50", "p95", "p99")
    values = {key: (result.get(key) or {}) for _css, _name, key in BREAKDOWN}
    known = [v for key in values for v in (values[key].get(row) for row in rows) if isinstance(v, (int, float))]
    if not known:
        return _empty(label, "no successful call")
    height = HEIGHT
    top = max(known) * 1.18 or 1.0
    left = LEFT
    plot = WIDTH - left - RIGHT
    band = (height - TOP - BOTTOM) / len(rows)
    thickness = (band - 10) / len(BREAKDOWN)
    parts = ['<rect class="frame" x="{0}" y="{1}" width="{2}" height="{3}"/>'.format(left, TOP, plot, height - TOP - BOTTOM)]
    for tick in nice_ticks(0, top, 5):
        x = left + plot * tick / top
        if x <= left + plot:
            parts.append('<line class="grid" x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}"/>'.format(x, TOP, height - BOTTOM))
            parts.append(_text(x, height - BOTTOM + 15, _number(tick)))
    parts.append(_text(left + plot / 2, height - BOTTOM + 32, "ms", css="axis"))
    for r, row in enumerate(rows):
        y_band = TOP + r * band + 5
        parts.append(_text(left - 8, y_band + band / 2, row, "end", "axis"))
        for b, (css, name, key) in enumerate(BREAKDOWN):
            value = values[key].get(row)
            y = y_band + b * thickness
            if isinstance(value, (int, float)):
                width = plot * value / top
                parts.append('<rect class="{0} bar" x="{1}" y="{2:.1f}" width="{3:.1f}" height="{4:.1f}"><title>{5} {6} {7}</title></rect>'.format(
                    css, left, y, max(width, 1), thickness - 2, _escape(name), row, format_ms(value)))
                parts.append(_text(left + width + 4, y + thickness - 4, format_ms(value), "start", "value"))
            else:
                parts.append(_text(left + 4, y + thickness - 4, "{0}: n/a".format(name), "start", "value"))
    parts += _legend([(css, name) for css, name, _key in BREAKDOWN])
    return _svg(label, parts, height)
