"""The figures line the benchmarks print and the table `make bench` makes of them (pure logic)."""

from __future__ import annotations

from bench.figures import emit, figure, parse, table


def test_a_criterion_is_read_on_the_ratio_when_there_is_an_anchor():
    line = figure("11.1", "data sync", 4.2, "s", "curl | curl", 3.5, "<= 1.3")
    assert line["ratio"] == 1.2 and line["met"] is True
    assert figure("11.1", "data sync", 5.0, "s", "curl | curl", 3.5, "<= 1.3")["met"] is False


def test_a_criterion_is_read_on_the_value_without_an_anchor():
    assert figure("11.1", "peak RSS", 40.0, "MiB", criterion="< 64")["met"] is True
    assert figure("11.1", "peak RSS", 64.0, "MiB", criterion="< 64")["met"] is False


def test_nothing_to_read_is_neither_met_nor_failed():
    assert figure("11.3", "p50", 1.6, "ms", "wrk", 2.0)["met"] is None  # no criterion
    # an anchor that measured nothing (0 calls/s) gives no ratio, and so no verdict
    assert figure("11.3", "throughput", 400.0, "calls/s", "wrk", 0.0, ">= 0.9")["met"] is None


def test_the_printed_line_is_parsed_back_and_other_lines_are_not(capsys):
    printed = emit("11.4", "warm call c=1", 500.0, "calls/s", "uvicorn", 600.0, ">= 0.7")
    (line,) = capsys.readouterr().out.splitlines()
    assert parse(line) == printed
    assert parse("c=1: wrk 440 calls/s") is None
    assert parse("BENCH-JSON not json") is None


def test_the_table_has_a_row_per_figure_with_its_verdict():
    rows = table([figure("11.1", "data sync", 4.2, "s", "curl | curl", 3.5, "<= 1.3"),
                  figure("11.3", "throughput", 300.0, "calls/s", "wrk", 400.0, ">= 0.9")]).splitlines()
    assert rows[0].split()[:3] == ["goal", "figure", "value"]
    assert rows[2].startswith("11.1") and "curl | curl" in rows[2] and rows[2].endswith("yes")
    assert rows[3].startswith("11.3") and "0.75" in rows[3] and rows[3].endswith("NO")
