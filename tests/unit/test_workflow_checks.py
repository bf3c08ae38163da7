"""The benchmark fields of a workflow's tests: gates, expected_subset, expected_pattern and the load models."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import (
    BenchmarkSpecError,
    load_problems,
    normalise_test,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow import (
    WorkflowError,
    load_workflow,
    validate_workflow,
)

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


LOAD_FIELDS = {"calls": 10, "concurrency": 2, "duration": 5, "rate": 4, "max_in_flight": 3}


def workflow_with(test):
    return {"test_info": {"entrypoint": "Alpha", "tests": [dict(test, name="t", payload=1)]},
            "algorithms": [{"name": "Alpha", "language": "python3"}]}


@pytest.mark.parametrize("present", [combination for size in range(len(LOAD_FIELDS) + 1)
                                     for combination in itertools.combinations(sorted(LOAD_FIELDS), size)],
                         ids=lambda present: "+".join(present) or "none")
def test_the_schema_and_algo_benchmark_agree_on_the_load_models(present):
    """Every combination of the load fields: the schema's rules refuse exactly what the workflow
    check and algo_benchmark refuse, and the workflow check names each field with its fix."""
    test = {field: LOAD_FIELDS[field] for field in present}
    document = workflow_with(test)
    schema_refuses = any(True for _error in Draft202012Validator(SCHEMA).iter_errors(document))
    problems = load_problems(test)
    assert schema_refuses == bool(problems)
    if problems:
        with pytest.raises(BenchmarkSpecError):
            normalise_test(dict(test, name="t", payload=1), 0)
        with pytest.raises(WorkflowError) as caught:
            validate_workflow(document, SCHEMA, "w")
        # the schema's own errors are left to the rules: one problem each, in algo_benchmark's words
        assert sorted(str(p) for p in caught.value.problems) == sorted(
            "$.test_info.tests[0].{0}: {1} (found: {2}). Fix: {3}.".format(field, problem, test[field], fix)
            for field, problem, fix in problems)
    else:
        (normalised,) = validate_workflow(document, SCHEMA, "w")["tests"]
        module_test = normalise_test(normalised, 0)  # what the role hands algo_benchmark
        for field in present:
            assert module_test[field] == LOAD_FIELDS[field]


def test_the_workflow_passes_only_the_fields_of_the_test_s_load_model():
    document = workflow_with({})
    document["test_info"]["tests"] = [
        {"name": "calls", "payload": 1},
        {"name": "timed", "payload": 1, "duration": 30, "warmup": 5},
        {"name": "open", "payload": 1, "rate": 20, "duration": 60, "warmup": 2},
    ]
    calls, timed, opened = validate_workflow(document, SCHEMA, "w")["tests"]
    assert (calls["calls"], calls["concurrency"]) == (1, 1) and "duration" not in calls and "warmup" not in calls
    assert (timed["duration"], timed["concurrency"], timed["warmup"]) == (30, 1, 5) and "calls" not in timed
    assert (opened["rate"], opened["duration"], opened["warmup"]) == (20, 60, 2)
    assert "calls" not in opened and "concurrency" not in opened and "max_in_flight" not in opened
    assert normalise_test(opened, 2)["max_in_flight"] == 40 and normalise_test(opened, 2)["gates"][-1] == "dropped == 0"


@pytest.mark.parametrize("field, value, words", [
    ("duration", 0, "$.test_info.tests[0].duration: must be more than 0"),
    ("rate", 20000, "$.test_info.tests[0].rate: must be at most 10000"),
    ("warmup", -1, "$.test_info.tests[0].warmup: must be at least 0"),
    ("max_in_flight", 1.5, "$.test_info.tests[0].max_in_flight: must be a whole number"),
])
def test_load_field_values_are_checked_by_the_schema(field, value, words):
    test = {"rate": 5, "duration": 1} if field in ("rate", "max_in_flight") else {}
    with pytest.raises(WorkflowError) as caught:
        validate_workflow(workflow_with(dict(test, **{field: value})), SCHEMA, "w")
    assert words in str(caught.value) and "Fix: " in str(caught.value)
