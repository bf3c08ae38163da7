"""Workflow schema, rules and normalisation, over the seed's variants and a corpus of bad files.

Each file in ``workflows/bad/`` carries ``x-expect``: substrings that the error must contain,
naming the JSON path, the value and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow import (
    WorkflowError,
    json_path,
    load_workflow,
    parse,
    validate_workflow,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCHEMA = json.loads((ROOT / "workflows" / "schema.json").read_text())
FIXTURES = HERE / "workflows"
ALGORITHMS = FIXTURES / "algorithms"
BAD = sorted((FIXTURES / "bad").glob("*.json"))
GOOD = sorted((FIXTURES / "good").glob("*.json"))


def load(path, **kwargs):
    kwargs.setdefault("algorithms_dir", str(ALGORITHMS))
    return load_workflow(str(path), SCHEMA, **kwargs)


def test_the_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(SCHEMA)


COLLECTION_WORKFLOWS = sorted(p for p in (ROOT / "workflows").glob("*.json") if p.name != "schema.json")


@pytest.mark.parametrize("path", COLLECTION_WORKFLOWS, ids=lambda p: p.name)
def test_the_collection_workflows_are_valid(path):
    workflow = load_workflow(str(path), SCHEMA)
    assert workflow["name"] == path.stem
    assert workflow["algorithms"]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_valid_variants_are_accepted(path):
    workflow = load(path)
    for algorithm in workflow["algorithms"]:
        assert algorithm["environment"] is None or len(algorithm["environment"]) == 1


def test_the_bad_corpus_is_big_enough():
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_workflows_name_the_field_and_the_fix(path):
    expected = json.loads(path.read_text())["x-expect"]
    with pytest.raises(WorkflowError) as caught:
        load(path)
    text = str(caught.value)
    assert "nothing was sent to any cluster" in text
    for fragment in expected:
        assert fragment in text, "{0!r} missing from:\n{1}".format(fragment, text)
    for problem in caught.value.problems:
        assert problem.path.startswith("$")
        assert "Fix: " in str(problem)


def test_every_problem_is_reported_in_document_order():
    with pytest.raises(WorkflowError) as caught:
        load(FIXTURES / "bad" / "many_problems_at_once.json")
    paths = [problem.path for problem in caught.value.problems]
    assert paths == ["$.algorithms[0].name", "$.algorithms[1]", "$.test_info.entrypoint",
                     "$.test_info.tests[0].timeout"]


def test_invalid_json_names_line_and_column():
    with pytest.raises(WorkflowError) as caught:
        parse('{\n  "algorithms": [\n    {"name": "a",}\n  ]\n}', "broken.json")
    text = str(caught.value)
    assert "broken.json" in text
    assert "$: not valid JSON at line 3, column 18" in text
    assert "Fix: correct the JSON syntax there" in text


@pytest.mark.parametrize("document, expected", [
    ([], "$: must be an object"),
    ("algorithms", "$: must be an object"),
    (None, "$: must be an object"),
])
def test_a_document_that_is_not_an_object(document, expected):
    with pytest.raises(WorkflowError) as caught:
        validate_workflow(document, SCHEMA, "odd")
    assert expected in str(caught.value)


def test_json_path_quotes_odd_keys():
    assert json_path(["algorithms", 2, "data_files", 0]) == "$.algorithms[2].data_files[0]"
    assert json_path(["x y"]) == '$["x y"]'


def test_normalised_shape_of_the_seed_variants():
    workflow = load(FIXTURES / "good" / "seed_language_code_path.json")
    assert workflow["source_api_address"] == "https://api.algorithmia.com"
    assert workflow["run_only"] is False
    assert workflow["entrypoint"] == "Thumbnailer"
    (algorithm,) = workflow["algorithms"]
    assert algorithm["environment"] == {"language": "python3"}
    assert algorithm["code_path"] == "data://.my/testbench_code/Thumbnailer.tar.gz"
    assert algorithm["template_dir"] is None
    assert algorithm["data_files"] == [
        {"source": "data://.my/assets/in.png", "destination": "data://.my/Thumbnailer/in.png",
         "filename": "in.png"},
        {"source": "data://quality/models/model.pkl", "destination": "data://.my/Thumbnailer/model.pkl",
         "filename": "model.pkl"},
    ]
    assert algorithm["has_test_payload"] is True
    assert algorithm["test_payload"] == {"image": "data://.my/Thumbnailer/in.png"}
    assert workflow["tests"] == [{
        "name": "basic", "payload": {"image": "data://.my/Thumbnailer/in.png"}, "timeout": 3000,
        "calls": 1, "concurrency": 1, "has_expected_output": False, "expected_output": None,
        "max_error_rate": 0, "max_latency_ms": {},
    }]


def test_one_canonical_field_per_concept():
    environment = load(FIXTURES / "good" / "seed_environment_template.json")["algorithms"][0]
    assert environment["environment"] == {"language": "python3"}
    assert environment["code_path"] is None
    assert environment["template_dir"] == str(ALGORITHMS / "Alpha")
    legacy = load(FIXTURES / "good" / "older_code_field.json")
    assert legacy["algorithms"][0]["code_path"] == "data://.my/code/Legacy.tgz"
    assert legacy["algorithms"][0]["environment"] == {"language": "tensorflow-1.14"}
    assert legacy["source_api_address"] == "https://api.example.com"
    assert legacy["entrypoint"] is None and legacy["tests"] == []
    named = load(FIXTURES / "good" / "environment_name_and_id.json")["algorithms"]
    assert named[0]["environment"] == {"environment_name": "Python 3.8"}
    assert named[1]["environment"] == {"environment_id": "717d36e0-222c-44a0-9aa8-06f4ebc1b82a"}


def test_run_only_needs_neither_environment_nor_code():
    workflow = load(FIXTURES / "good" / "run_only.json")
    assert workflow["run_only"] is True
    assert workflow["algorithms"][0]["environment"] is None
    assert workflow["tests"][0]["payload"] is None


def test_benchmark_fields_and_templating_for_the_entrypoint():
    workflow = load(FIXTURES / "good" / "benchmark_fields.json", user="quality")
    load_test, once = workflow["tests"]
    assert load_test["calls"] == 200 and load_test["concurrency"] == 8
    assert load_test["has_expected_output"] is True and load_test["expected_output"] == [1, 2, 3]
    assert load_test["max_error_rate"] == 0.01
    assert load_test["max_latency_ms"] == {"p50": 100, "p95": 250.5, "max": 2000}
    assert once["payload"] == {"who": "quality", "algo": "Pipeline"}
    assert once["timeout"] == 300
    assert workflow["algorithms"][2]["calls"] == ["Alpha", "Beta"]


def test_max_latency_ms_as_a_number_is_the_p95_gate_as_in_algo_benchmark(tmp_path):
    """algo_benchmark documents `max_latency_ms: 500` (a gate on p95): the schema and the workflow
    check take it too (max_latency_ms is the largest acceptable value: p(95) <= 500), and refuse
    what the module refuses."""
    from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import normalise_test

    document = json.loads((FIXTURES / "good" / "benchmark_checks_and_gates.json").read_text())
    document["test_info"]["tests"][0]["max_latency_ms"] = 500
    path = tmp_path / "number.json"
    path.write_text(json.dumps(document))
    test = load(path)["tests"][0]
    assert test["max_latency_ms"] == {"p95": 500}
    assert "p(95) <= 500" in normalise_test(test, 0)["gates"]
    for refused in (0, -5, "500", [500]):
        document["test_info"]["tests"][0]["max_latency_ms"] = refused
        path.write_text(json.dumps(document))
        with pytest.raises(WorkflowError, match="max_latency_ms"):
            load(path)


def test_user_and_source_user_template_their_own_side():
    workflow = load(FIXTURES / "good" / "seed_language_code_path.json", user="dest", source_user="src")
    (algorithm,) = workflow["algorithms"]
    assert algorithm["code_path"] == "data://src/testbench_code/Thumbnailer.tar.gz"
    assert algorithm["data_files"][0] == {"source": "data://src/assets/in.png",
                                          "destination": "data://dest/Thumbnailer/in.png", "filename": "in.png"}
    assert algorithm["test_payload"] == {"image": "data://dest/Thumbnailer/in.png"}
    assert workflow["tests"][0]["payload"] == {"image": "data://dest/Thumbnailer/in.png"}
    assert workflow["user"] == "dest" and workflow["source_user"] == "src"


def test_calling_an_algorithm_outside_the_workflow_is_a_warning(tmp_path):
    path = tmp_path / "calls_elsewhere.json"
    path.write_text(json.dumps({"algorithms": [{"name": "Gamma", "language": "python3"}]}))
    workflow = load(path)
    assert workflow["algorithms"][0]["calls"] == ["Elsewhere"]
    assert workflow["warnings"] == [
        "$.algorithms[0]: algorithm Gamma calls algo://.my/Elsewhere, which is not in this workflow; "
        "it must already exist on every destination cluster"]


def test_duplicate_test_names_are_a_warning(tmp_path):
    path = tmp_path / "twice.json"
    path.write_text(json.dumps({
        "test_info": {"entrypoint": "Alpha", "tests": [{"name": "t", "payload": 1}, {"name": "t", "payload": 2}]},
        "algorithms": [{"name": "Alpha", "language": "python3"}]}))
    assert "test name \"t\" is also used by test_info.tests[0]" in load(path)["warnings"][0]


def test_dependencies_in_order_pass():
    path = FIXTURES / "good" / "benchmark_fields.json"
    assert [a["name"] for a in load(path)["algorithms"]] == ["Alpha", "Beta", "Pipeline"]


def test_without_an_algorithms_dir_the_template_checks_are_skipped():
    document = {"algorithms": [{"name": "Beta", "language": "python3"}, {"name": "Alpha", "language": "python3"}]}
    workflow = validate_workflow(document, SCHEMA, "inline")
    assert workflow["algorithms"][0]["template_dir"] is None


def test_algorithm_owner_is_kept_and_other_schemes_in_payloads_are_not_data_uris():
    """The seed's algorithm_owner is accepted (preflight compares it with the key's user); an
    https URL with .. in a payload is no data URI, and a folder URI may end with one slash."""
    workflow = load(FIXTURES / "good" / "seed_algorithm_owner.json")
    assert workflow["algorithm_owner"] == "quality"
    assert workflow["tests"][0]["payload"]["page"] == "https://example.com/a/../b"
    assert load(FIXTURES / "good" / "minimal.json")["algorithm_owner"] is None
