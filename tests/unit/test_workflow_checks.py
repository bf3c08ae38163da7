"""The benchmark fields of a workflow's tests: gates, expected_subset and expected_pattern."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.algorithmia.testbench.plugins.module_utils.benchmark import normalise_test
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow import load_workflow

HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE.parents[1] / "workflows" / "schema.json").read_text())


def test_gates_and_checks_are_normalised_and_templated():
    workflow = load_workflow(str(HERE / "workflows" / "good" / "benchmark_checks_and_gates.json"), SCHEMA,
                             user="quality")
    gated, latency_only = workflow["tests"]
    assert gated["gates"] == ["p(95) < 300", "server p(99) < 200", "error_rate < 0.01", "dropped == 0"]
    assert gated["expected_subset"] == {"owner": "quality"} and gated["expected_pattern"] == "^\\{.*\\}$"
    # an error_rate gate, no max_error_rate: no default gate of 0 on top of it
    assert gated["max_error_rate"] is None
    assert latency_only["max_error_rate"] == 0 and "expected_subset" not in latency_only
    # what algo_benchmark gets from them
    test = normalise_test(dict(gated, payload=1), 0)
    assert test["gates"] == gated["gates"]
    assert normalise_test(latency_only, 1)["gates"] == ["p(50) < 100", "error_rate <= 0"]
