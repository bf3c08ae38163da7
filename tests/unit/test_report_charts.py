"""The report's SVG charts: scales, ticks, each chart's marks from a test's result, no data, escaping."""

from __future__ import annotations

import math
import re
from xml.etree import ElementTree

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.reports import charts
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.histogram import Histogram
from tests.unit import report_fixtures


def parse(svg):
    """The chart as XML (an inline SVG is well-formed XML too); its root must be an svg with a size."""
    root = ElementTree.fromstring(svg)
    assert root.tag == "svg" and float(root.get("width")) > 0 and float(root.get("height")) > 0
    return root


def marks(root, css):
    return [e for e in root.iter() if css in (e.get("class") or "").split()]


def test_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 97, 4) == [0, 25, 50, 75]
    assert charts.nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.log_ticks(3, 600) == [5, 10, 20, 50, 100, 200, 500]
    narrow = charts.log_ticks(10.2, 11.9)
    assert len(narrow) >= 2 and all(10.2 <= t <= 11.9 for t in narrow)


def test_the_percentile_axis_gives_the_tail_room():
    assert charts.percentile_position(0) == 0
    assert charts.percentile_position(90) == pytest.approx(1)
    assert charts.percentile_position(99) == pytest.approx(2)
    assert charts.percentile_position(99.9) == pytest.approx(3)
    assert charts.percentile_position(100) == charts.PERCENTILE_AXIS_END


def test_milliseconds_read_well():
    assert [charts.format_ms(v) for v in (0.4321, 12.345, 250.4, 12500, None)] == [
        "0.43 ms", "12.3 ms", "250 ms", "12.5 s", "n/a"]


def histogram_of(values):
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram.to_dict()


def test_the_histogram_chart_regroups_buckets_and_counts_every_call():
    values = report_fixtures.latencies(500, 20, seed=5)
    root = parse(charts.histogram_chart(histogram_of(values), bins=30))
    bars = marks(root, "bar")
    assert 0 < len(bars) <= 30
    counted = sum(int(re.search(r": (\d+) calls", rect.find("title").text).group(1)) for rect in bars)
    assert counted == 500
    assert all(float(rect.get("height")) >= 0 and float(rect.get("width")) > 0 for rect in bars)
    # the tallest bar sits near the median on the log axis: its range holds the median
    tallest = max(bars, key=lambda rect: float(rect.get("height")))
    low, high = re.findall(r"([\d.]+) ms", tallest.find("title").text)[:2]
    assert float(low) <= 20 * 1.35 and float(high) >= 20 / 1.35


def test_one_value_still_draws_a_bar():
    root = parse(charts.histogram_chart(histogram_of([7.0])))
    assert len(marks(root, "bar")) == 1


@pytest.mark.parametrize("chart", [
    lambda: charts.histogram_chart(None),
    lambda: charts.histogram_chart({"layout": "other"}),
    lambda: charts.percentile_chart([("client", "client", [])]),
    lambda: charts.latency_over_time_chart(None, None),
    lambda: charts.calls_per_second_chart({"width_s": 1, "points": []}),
    lambda: charts.breakdown_chart({"latency_ms": {}, "server_ms": {}}),
])
def test_no_data_is_a_chart_that_says_so(chart):
    root = parse(chart())
    assert [e.text for e in marks(root, "empty")] and not marks(root, "bar")


def test_percentile_points_follow_the_histogram():
    values = list(range(1, 1001))
    points = charts.percentile_points(histogram_of(values))
    assert points[0] == (0.0, 1)
    assert points[-1][0] == pytest.approx(99.9)
    assert points[-1][1] == pytest.approx(999, rel=0.01)
    assert all(a[1] <= b[1] for a, b in zip(points, points[1:]))
    middle = dict(points)
    closest = min(middle, key=lambda p: abs(p - 50))
    assert middle[closest] == pytest.approx(closest * 10, rel=0.02)


def test_a_baseline_curve_is_read_from_its_gate_names():
    assert charts.curve_points({"p(99)": 30, "p(50)": 10, "max": 99, "p(x)": 1, "p(90)": True}) == [(50.0, 10.0), (99.0, 30.0)]
    root = parse(charts.percentile_chart([("client", "now", [(0, 5), (50, 10), (99, 40)]),
                                          ("baseline", "baseline <b>", [(50, 8.0), (99, 20.0)])]))
    lines = marks(root, "line")
    assert [line.get("class").split()[0] for line in lines] == ["client", "baseline"]
    assert len(marks(root, "dot")) == 5
    # a point further along the axis is further right; a larger latency is higher up (smaller y)
    baseline = [tuple(map(float, p.split(","))) for p in lines[1].get("points").split()]
    assert baseline[1][0] > baseline[0][0] and baseline[1][1] < baseline[0][1]
    assert "baseline <b>" in "".join(t.text or "" for t in root.iter("text"))


def test_latency_over_time_marks_failures_and_dropped_calls_at_their_moment():
    result = report_fixtures.measured("t", [10.0] * 40, failing={5, 30}, started_per_s=10, dropped_at=[1.5, 3.2, 3.4])
    root = parse(charts.latency_over_time_chart(result["reservoir"], result["timeseries"]))
    assert len(marks(root, "dot")) == 38
    crosses = marks(root, "cross")
    assert len(crosses) == 2 and all("http_5xx" in c.find("title").text for c in crosses)
    dropped = [e for e in marks(root, "dropped") if e.tag.endswith("rect") and "key" not in e.get("class")]
    assert sorted(e.find("title").text for e in dropped) == ["1 dropped at 1..2 s", "2 dropped at 3..4 s"]
    errors = [e for e in marks(root, "error") if e.tag.endswith("rect") and "key" not in e.get("class")]
    assert sorted(e.find("title").text for e in errors) == ["1 errors at 0..1 s", "1 errors at 3..4 s"]
    # the second failure (3 s in) is right of the first (0.5 s in)
    first, second = sorted(crosses, key=lambda c: float(c.get("d")[1:].split(",")[0]))
    assert "0.50 s" in first.find("title").text and "3.00 s" in second.find("title").text


def test_calls_per_second_stacks_the_dropped_calls():
    timeseries = {"width_s": 2, "points": [{"t": 0, "started": 20, "completed": 20, "errors": {}, "dropped": 0},
                                           {"t": 2, "started": 10, "completed": 9, "errors": {}, "dropped": 6}]}
    root = parse(charts.calls_per_second_chart(timeseries))
    started = [e for e in marks(root, "bar") if "client" in e.get("class")]
    dropped = [e for e in marks(root, "bar") if "dropped" in e.get("class")]
    assert [e.find("title").text for e in started] == ["0 s: 10 started/s", "2 s: 5 started/s"]
    assert [e.find("title").text for e in dropped] == ["2 s: 3 dropped/s"]
    # stacked: the dropped bar ends where the started bar of the same step begins
    assert float(dropped[0].get("y")) + float(dropped[0].get("height")) == pytest.approx(float(started[1].get("y")), abs=0.2)
    assert "dropped: 6" in "".join(t.text or "" for t in root.iter("text"))


def test_the_breakdown_shows_client_server_and_overhead_per_percentile():
    result = {"latency_ms": {"p50": 10, "p95": 20, "p99": 40}, "server_ms": {"p50": 7, "p95": 14, "p99": None},
              "overhead_ms": {"p50": 3, "p95": 6, "p99": 9}}
    root = parse(charts.breakdown_chart(result))
    bars = marks(root, "bar")
    assert len(bars) == 8
    widths = {rect.find("title").text: float(rect.get("width")) for rect in bars}
    assert widths["client latency p99 40.0 ms"] == pytest.approx(4 * widths["client latency p50 10.0 ms"], rel=0.01)
    assert "server (metadata.duration): n/a" in [t.text for t in root.iter("text")]


def test_every_chart_of_a_full_result_is_well_formed_and_escaped():
    for result in report_fixtures.mixed_tests():
        for svg in (charts.histogram_chart(result["histograms"]["latency"]),
                    charts.latency_over_time_chart(result["reservoir"], result["timeseries"]),
                    charts.calls_per_second_chart(result["timeseries"]), charts.breakdown_chart(result)):
            parse(svg)
            assert "<script" not in svg and "://" not in svg and "href" not in svg
    root = parse(charts.histogram_chart(None, label='a "b" <c>'))
    assert root.get("aria-label") == 'a "b" <c>'


def test_coordinates_stay_inside_the_chart():
    result = report_fixtures.mixed_tests()[3]
    for svg in (charts.latency_over_time_chart(result["reservoir"], result["timeseries"]),
                charts.calls_per_second_chart(result["timeseries"])):
        root = parse(svg)
        for element in root.iter():
            for name in ("x", "cx"):
                if element.get(name) is not None:
                    assert 0 <= float(element.get(name)) <= charts.WIDTH, (element.tag, element.attrib)
            for name in ("y", "cy"):
                if element.get(name) is not None:
                    assert 0 <= float(element.get(name)) <= float(root.get("height")), (element.tag, element.attrib)
    assert not math.isnan(charts.percentile_position(50))


def line_points(line):
    return [tuple(map(float, point.split(","))) for point in line.get("points").split()]


def test_a_comparison_draws_this_run_over_the_baseline():
    current = histogram_of(report_fixtures.latencies(400, 12, seed=1))
    baseline = histogram_of(report_fixtures.latencies(400, 12 / 1.38, seed=11))
    root = parse(charts.comparison_chart(current, baseline, charts.comparison_css("run"), "baseline: snapshot <b>"))
    lines = marks(root, "line")
    assert [line.get("class") for line in lines] == ["client line", "vs-run line"]
    now, before = (line_points(line) for line in lines)
    assert len(now) == len(before) == 61 and [x for x, _y in now] == [x for x, _y in before]
    # a regression: this run's curve is above the baseline's (smaller y) at the median
    assert now[30][1] < before[30][1]
    legend = [t.text for t in marks(root, "legend")]
    assert legend == ["this run", "baseline: snapshot <b>"]


def test_each_kind_of_baseline_has_its_own_class():
    assert [charts.comparison_css(kind) for kind in ("run", "peers", "source", None, "other")] == [
        "vs-run", "vs-peers", "vs-source", "vs-other", "vs-other"]


def test_a_comparison_without_the_baseline_histogram_draws_this_run_alone():
    current = histogram_of(report_fixtures.latencies(50, 12, seed=1))
    root = parse(charts.comparison_chart(current, None, "vs-peers", "baseline: peers"))
    assert [line.get("class") for line in marks(root, "line")] == ["client line"]
    root = parse(charts.comparison_chart({"layout": "other"}, None, "vs-peers", "baseline: peers"))
    assert marks(root, "empty") and not marks(root, "line")


def test_the_comparisons_of_the_fixtures_draw_well_formed_charts():
    tests = report_fixtures.mixed_tests()
    for comparison in report_fixtures.mixed_comparisons(tests):
        for test, result in zip(comparison["tests"], tests):
            svg = charts.comparison_chart(result["histograms"]["latency"], test["histograms"]["latency"],
                                          charts.comparison_css(comparison["kind"]), comparison["baseline"])
            root = parse(svg)
            assert len(marks(root, "line")) == 2 and "<script" not in svg
