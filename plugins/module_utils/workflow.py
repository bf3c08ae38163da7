# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workflow files: parse, validate, normalise. Pure logic, no HTTP.

Everything wrong with a workflow is reported at once, each problem as
``<JSON path>: <what is wrong> (found: <value>). Fix: <what to do>``, so an operator fixes a
file in one go, and before anything is sent to any cluster.

Checks happen in two layers: ``workflows/schema.json`` (shape, types, ranges) and the rules
below that JSON Schema cannot express well (cross-field and cross-item). The normalised form
has one canonical field per concept, whatever spelling the file used (see ``normalise``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import traceback

from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.engine import latency_gates, load_problems
from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import SHORTHANDS
from ansible_collections.algorithmia.testbench.plugins.module_utils.layouts import for_language
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import GateError, parse_gate
from ansible_collections.algorithmia.testbench.plugins.module_utils.source_tree import (
    SourceError,
    directory_layout,
    language_problem,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME, DATA_URI
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import (
    data_file_plan,
    render,
    render_text,
    template_calls,
    template_dir,
)

try:
    from jsonschema import Draft202012Validator
except ImportError:
    HAS_JSONSCHEMA = False
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JSONSCHEMA = True
    JSONSCHEMA_IMPORT_ERROR = None

DEFAULT_TEST_TIMEOUT = 300  # what the API applies when a call gives none
# A workflow describes work; its inputs are small. A payload is sent with every call and kept in
# memory by every fork: large inputs belong in data files.
MAX_WORKFLOW_BYTES = 8 * 1024 * 1024
MAX_PAYLOAD_BYTES = 1024 * 1024
# The spellings of "which environment", and the tag each becomes in the normalised form.
ENVIRONMENT_FIELDS = {
    "language": "language",
    "environment": "language",
    "environment_name": "environment_name",
    "environment_id": "environment_id",
}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The Data API's connectors (data, and s3/azureblob/dropbox/gs with an optional +label).
CONNECTOR = re.compile(r"^(data|(s3|azureblob|dropbox|gs)(\+[A-Za-z0-9_-]+)?)$")


class Problem:
    """One thing wrong with a workflow, where it is, and how to fix it."""

    def __init__(self, path, message, fix, value=None, show_value=True):
        self.path = path
        self.message = message
        self.fix = fix.rstrip(".")
        self.value = value
        self.show_value = show_value

    def __str__(self):
        found = " (found: {0})".format(show(self.value)) if self.show_value else ""
        return "{0}: {1}{2}. Fix: {3}.".format(self.path, self.message, found, self.fix)

    def __repr__(self):
        return "Problem({0!r})".format(str(self))


class WorkflowError(Exception):
    """A workflow that cannot be used; ``problems`` lists every reason."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__("Workflow {0} has {1} problem{2}; nothing was sent to any cluster:\n{3}".format(
            source, count, "" if count == 1 else "s", "\n".join("  - " + str(p) for p in self.problems)))


def show(value, limit=80):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def json_path(parts):
    """``("algorithms", 0, "name")`` -> ``$.algorithms[0].name``."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += "[{0}]".format(part)
        elif IDENTIFIER.match(str(part)):
            text += "." + str(part)
        else:
            text += "[{0}]".format(json.dumps(str(part)))
    return text


def suggest(word, choices):
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


# ---- parsing ---------------------------------------------------------------------------------

def parse(text, source):
    """The JSON document in ``text``; a syntax error becomes a ``WorkflowError`` with its place."""
    try:
        return json.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        where = " at line {0}, column {1}".format(line, column) if line else ""
        raise WorkflowError(source, [Problem(
            "$", "not valid JSON{0}: {1}".format(where, getattr(exc, "msg", str(exc))),
            "correct the JSON syntax there (a missing comma or quote, or a trailing comma, is typical)",
            show_value=False)]) from None


# ---- layer 1: the schema ---------------------------------------------------------------------

def _fix_from_schema(schema, default):
    return schema.get("x-fix", default) if isinstance(schema, dict) else default


def _schema_problem(error):
    """A jsonschema ``ValidationError`` as a Problem that names the field and the fix."""
    path = list(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if keyword == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict)
                   and name not in error.instance]
        problems = []
        for name in missing:
            field_schema = schema.get("properties", {}).get(name, {})
            problems.append(Problem(json_path(path + [name]), "required field is missing",
                                    "add {0}: {1}".format(json.dumps(name), _fix_from_schema(field_schema, "a value")),
                                    show_value=False))
        return problems
    if keyword == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        extras = [key for key in error.instance if key not in allowed
                  and not any(p.search(key) for p in patterns)]
        problems = []
        for key in extras:
            close = suggest(key, allowed)
            fix = ("rename it to {0}".format(json.dumps(close)) if close
                   else "remove it; the fields allowed here are {0}".format(", ".join(allowed)))
            problems.append(Problem(json_path(path + [key]), "unknown field", fix, error.instance[key]))
        return problems
    if keyword == "uniqueItems" and isinstance(error.instance, list):
        problems, seen = [], []
        for index, item in enumerate(error.instance):
            if item in seen:
                problems.append(Problem(json_path(path + [index]), "repeats item {0} of this list".format(
                    seen.index(item)), "remove the duplicate", item))
            seen.append(item)
        return problems
    messages = {
        "type": lambda: "must be {0}".format(_type_words(error.validator_value)),
        "enum": lambda: "must be one of {0}".format(", ".join(json.dumps(v) for v in error.validator_value)),
        "minimum": lambda: "must be at least {0}".format(error.validator_value),
        "maximum": lambda: "must be at most {0}".format(error.validator_value),
        "exclusiveMinimum": lambda: "must be more than {0}".format(error.validator_value),
        "minLength": lambda: "must not be empty",
        "maxLength": lambda: "is longer than {0} characters".format(error.validator_value),
        "minItems": lambda: "must have at least {0} item{1}".format(
            error.validator_value, "" if error.validator_value == 1 else "s"),
        "minProperties": lambda: "must not be empty",
        "pattern": lambda: "has the wrong form",
    }
    message = messages.get(keyword, lambda: error.message)()
    if keyword == "enum":
        fix = "use one of the values listed"
    else:
        fix = _fix_from_schema(schema, "see the field's description in workflows/schema.json")
    return [Problem(json_path(path), message, fix, error.instance)]


def _type_words(types):
    words = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
             "number": "a number", "boolean": "true or false", "null": "null"}
    if isinstance(types, str):
        types = [types]
    return " or ".join(words.get(t, t) for t in types)


def _path_key(problem_path):
    """Sort problems in document order: ``$.algorithms[10]`` after ``$.algorithms[2]``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"[^.\[\]\"]+", problem_path)]


def schema_problems(document, schema):
    """Every schema violation in ``document``, as Problems."""
    validator = Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(document):
        if isinstance(error.schema, dict) and "x-rule" in error.schema:
            # A rule the schema states for editors and other tools, which rule_problems reports in
            # algo_benchmark's words (a test's load fields: benchmark.load_problems).
            continue
        problems.extend(_schema_problem(error))
    return problems


# ---- layer 2: rules across fields and items ----------------------------------------------------

def _algorithms(document):
    """``(index, algorithm)`` for each algorithm that is an object with a string name."""
    items = document.get("algorithms") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return []
    return [(i, a) for i, a in enumerate(items) if isinstance(a, dict) and isinstance(a.get("name"), str)]


def rule_problems(document, algorithms_dir=None):
    """``(problems, warnings)`` for the rules JSON Schema does not express.

    ``algorithms_dir`` is where algorithm templates live (``algorithms/``); ``None`` skips the
    checks that need them (a code source exists, dependencies come first).
    """
    problems, warnings = [], []
    if not isinstance(document, dict):
        return problems, warnings
    run_only = document.get("run_only") is True
    algorithms = _algorithms(document)
    first_index = {}
    for index, algorithm in algorithms:
        name = algorithm["name"]
        if name in first_index:
            problems.append(Problem(
                json_path(["algorithms", index, "name"]),
                "is also the name of $.algorithms[{0}]".format(first_index[name]),
                "give each algorithm a unique name (names are case sensitive)", name))
        else:
            first_index[name] = index
        problems.extend(_environment_problems(index, algorithm, run_only))
        problems.extend(_code_problems(index, algorithm, run_only, algorithms_dir))
        problems.extend(_data_file_problems(index, algorithm))
    problems.extend(_address_problems(document))
    problems.extend(_uri_segment_problems(document))
    problems.extend(_payload_size_problems(document))
    if algorithms_dir:
        dependency_problems, dependency_warnings = _dependency_problems(algorithms, first_index, algorithms_dir)
        problems.extend(dependency_problems)
        warnings.extend(dependency_warnings)
    test_problems, test_warnings = _test_problems(document.get("test_info"), first_index)
    problems.extend(test_problems)
    warnings.extend(test_warnings)
    return problems, warnings


def _environment_problems(index, algorithm, run_only):
    given = [field for field in ENVIRONMENT_FIELDS if field in algorithm]
    if len(given) > 1:
        return [Problem(json_path(["algorithms", index]),
                        "sets {0}; they are alternatives".format(" and ".join(given)),
                        "keep only one of language, environment, environment_name, environment_id",
                        {field: algorithm[field] for field in given})]
    if not given and not run_only:
        return [Problem(json_path(["algorithms", index, "language"]),
                        "no environment for algorithm {0}".format(json.dumps(algorithm["name"])),
                        'add "language": "python3" (or environment_name / environment_id) to say what '
                        "the algorithm is built on",
                        show_value=False)]
    if given == ["environment"] and algorithm["environment"] in ("cpu", "gpu"):
        return [Problem(json_path(["algorithms", index, "environment"]),
                        "names hardware, but in a workflow environment is the language shorthand",
                        'use "language": "python3" (or the environment your algorithm needs)',
                        algorithm["environment"])]
    if given and given[0] in ("language", "environment") and isinstance(algorithm[given[0]], str) \
            and algorithm[given[0]] not in SHORTHANDS:
        close = suggest(algorithm[given[0]], SHORTHANDS)
        return [Problem(json_path(["algorithms", index, given[0]]),
                        "is not one of the language shorthands ({0})".format(", ".join(sorted(SHORTHANDS))),
                        ("use {0}, or ".format(json.dumps(close)) if close else "use one of those, or ")
                        + "name the environment by environment_name (its display name, e.g. \"Python 3.8\") "
                          "or environment_id", algorithm[given[0]])]
    return []


def _code_problems(index, algorithm, run_only, algorithms_dir):
    if "code" in algorithm and "code_path" in algorithm:
        return [Problem(json_path(["algorithms", index]), "sets both code_path and code",
                        "keep only code_path (code is its older spelling)",
                        {"code_path": algorithm["code_path"], "code": algorithm["code"]})]
    has_code_path = "code" in algorithm or "code_path" in algorithm
    if not ALGORITHM_NAME.match(algorithm["name"]):
        return []  # the schema reports the name; a template lookup would only add noise
    if not algorithms_dir or has_code_path or run_only:
        return []
    name = algorithm["name"]
    language = algorithm.get("language", algorithm.get("environment"))
    directory = template_dir(algorithms_dir, name)
    if not directory:
        layout = for_language(SHORTHANDS[language][0]) if language in SHORTHANDS else None
        files = " and ".join(layout.paths(name)) if layout else "its language's manifest and main file"
        return [Problem(json_path(["algorithms", index]),
                        "algorithm {0} has no code: no code_path, and no template algorithms/{0}/src/".format(name),
                        "add code_path (the source cluster's data URI of a .tar.gz of the algorithm's source), or "
                        "create the template algorithms/{0}/ with {1} (docs/usage.md, \"Writing a template in each "
                        "language\")".format(name, files), show_value=False)]
    # The template's language, read from its file names: a template another language's environment
    # cannot build fails here, before any cluster is contacted.
    try:
        layout, template = directory_layout(directory, name)
    except SourceError as exc:
        return [Problem(json_path(["algorithms", index]), "template {0}: {1}".format(name, exc),
                        "give the template its language's manifest and main file", show_value=False)]
    mismatch = language_problem(layout, template, language)
    if mismatch:
        return [Problem(json_path(["algorithms", index]), "template {0} {1}".format(name, mismatch[0]), mismatch[1],
                        show_value=False)]
    return []


def _data_file_problems(index, algorithm):
    files = algorithm.get("data_files")
    if not isinstance(files, list):
        return []
    problems, seen = [], {}
    for position, uri in enumerate(files):
        if not isinstance(uri, str):
            continue
        filename = uri.rstrip("/").rsplit("/", 1)[-1]
        if filename in seen and files[seen[filename]] != uri:
            problems.append(Problem(
                json_path(["algorithms", index, "data_files", position]),
                "has the same file name as data_files[{0}]; both would be copied to "
                "data://<owner>/{1}/{2}".format(seen[filename], algorithm["name"], filename),
                "rename one of the files on the source cluster, so each file name is used once", uri))
        seen.setdefault(filename, position)
    return problems


def _address_problems(document):
    """The client adds ``/v1`` to every path itself: an address that ends with it is a mistake."""
    address = (document.get("source_info") or {}).get("cluster_address") \
        if isinstance(document.get("source_info"), dict) else None
    if isinstance(address, str) and re.search(r"/v1/*$", address):
        return [Problem(json_path(["source_info", "cluster_address"]), "ends with /v1",
                        "give the API base URL without /v1, such as {0}".format(
                            json.dumps(re.sub(r"/v1/*$", "", address))), address)]
    return []


def uri_segment_problem(uri):
    """What is wrong with the path segments of a data URI of a Data API connector, or ``None``.

    An empty, ``.`` or ``..`` segment would make the Data API resolve a path the workflow does
    not name (``data://.my/../other/x`` is another user's file). Strings with another scheme
    (``https://...`` in a payload) are not data URIs; where a field must be one, the schema
    refuses other schemes.
    """
    match = DATA_URI.match(uri)
    if match is None or not CONNECTOR.match(match.group("connector")):
        return None
    # One trailing slash names a folder; anything else empty, . or .. is refused.
    path = match.group("path")
    for segment in (path[:-1] if path.endswith("/") else path).split("/"):
        if segment in ("", ".", ".."):
            return "has an empty, . or .. segment ({0!r}), so it would name another path".format(segment)
    return None


def _uri_segment_problems(document):
    """Data URIs in data_files, code_path / code, and strings of payloads that are data URIs."""
    problems = []
    fix = "give the file's full path without empty, . or .. segments, such as data://.my/collection/file.ext"

    def check(path, value):
        if isinstance(value, str):
            message = uri_segment_problem(value)
            if message:
                problems.append(Problem(json_path(path), message, fix, value))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                check(path + [position], item)
        elif isinstance(value, dict):
            for key, item in value.items():
                check(path + [key], item)

    for index, algorithm in _algorithms(document):
        for field in ("data_files", "code_path", "code", "test_payload"):
            if field in algorithm:
                check(["algorithms", index, field], algorithm[field])
    test_info = document.get("test_info")
    if isinstance(test_info, dict) and isinstance(test_info.get("tests"), list):
        for index, test in enumerate(test_info["tests"]):
            if isinstance(test, dict):
                for field in ("payload", "expected_output"):
                    if field in test:
                        check(["test_info", "tests", index, field], test[field])
    return problems


def _payload_size_problems(document):
    """Payloads above ``MAX_PAYLOAD_BYTES`` (as JSON): each call would carry them."""
    places = [(["algorithms", index, "test_payload"], algorithm["test_payload"])
              for index, algorithm in _algorithms(document) if "test_payload" in algorithm]
    test_info = document.get("test_info")
    if isinstance(test_info, dict) and isinstance(test_info.get("tests"), list):
        places += [(["test_info", "tests", index, "payload"], test["payload"])
                   for index, test in enumerate(test_info["tests"]) if isinstance(test, dict) and "payload" in test]
    problems = []
    for path, payload in places:
        size = len(json.dumps(payload).encode("utf-8"))
        if size > MAX_PAYLOAD_BYTES:
            problems.append(Problem(json_path(path), "is {0:.1f} MiB; at most {1} MiB is sent as a payload".format(
                size / (1024.0 * 1024.0), MAX_PAYLOAD_BYTES // (1024 * 1024)),
                "put the input in a data file (data_files) and give its data://.my/<algo>/<file> URI in the payload",
                show_value=False))
    return problems


def _dependency_problems(algorithms, first_index, algorithms_dir):
    """An algorithm that calls ``algo://.my/X`` must come after X, so X is built when it runs."""
    problems, warnings = [], []
    for index, algorithm in algorithms:
        name = algorithm["name"]
        for called in sorted(template_calls(template_dir(algorithms_dir, name)) - {name}):
            if called not in first_index:
                warnings.append("{0}: algorithm {1} calls algo://.my/{2}, which is not in this workflow; "
                                "it must already exist on every destination cluster".format(
                                    json_path(["algorithms", index]), name, called))
            elif first_index[called] > index:
                problems.append(Problem(
                    json_path(["algorithms", index]),
                    "algorithm {0} calls algo://.my/{1} (in algorithms/{0}/src/), but {1} comes later, "
                    "at $.algorithms[{2}]".format(name, called, first_index[called]),
                    "move {0} before {1}: list every algorithm after the ones it calls".format(called, name),
                    show_value=False))
    return problems, warnings


def _test_problems(test_info, first_index):
    problems, warnings = [], []
    if not isinstance(test_info, dict):
        return problems, warnings
    entrypoint = test_info.get("entrypoint")
    if isinstance(entrypoint, str) and entrypoint and entrypoint not in first_index:
        close = suggest(entrypoint, first_index)
        names = ", ".join(sorted(first_index)) or "none"
        fix = ("use {0}".format(json.dumps(close)) if close
               else "set it to the name of one of the algorithms ({0})".format(names))
        problems.append(Problem(json_path(["test_info", "entrypoint"]),
                                "names no algorithm of this workflow", fix, entrypoint))
    tests = test_info.get("tests")
    if isinstance(tests, list):
        seen = {}
        for index, test in enumerate(tests):
            if isinstance(test, dict) and isinstance(test.get("name"), str):
                if test["name"] in seen:
                    warnings.append("{0}: test name {1} is also used by test_info.tests[{2}]; reports will "
                                    "show both under one name".format(
                                        json_path(["test_info", "tests", index, "name"]),
                                        json.dumps(test["name"]), seen[test["name"]]))
                seen.setdefault(test["name"], index)
            if isinstance(test, dict):
                problems.extend(_gate_problems(index, test))
                problems.extend(Problem(json_path(["test_info", "tests", index, field]), problem, fix, test[field])
                                for field, problem, fix in load_problems(test))
    return problems, warnings


def _gate_problems(index, test):
    """A gate that does not parse, or an expected_pattern that is not a regular expression."""
    problems = []
    gates = test.get("gates")
    for number, gate in enumerate(gates if isinstance(gates, list) else []):
        if isinstance(gate, str):
            try:
                parse_gate(gate)
            except GateError as exc:
                problem, _sep, fix = str(exc).partition(". Fix: ")
                problems.append(Problem(json_path(["test_info", "tests", index, "gates", number]), problem,
                                        fix or "write it like \"p(95) < 300\"", gate))
    pattern = test.get("expected_pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(Problem(json_path(["test_info", "tests", index, "expected_pattern"]),
                                    "is not a regular expression ({0})".format(exc),
                                    "write a Python regular expression, escaping special characters with \\", pattern))
    return problems


# ---- normalising -----------------------------------------------------------------------------

def _has_error_rate_gate(test):
    for gate in test.get("gates", []):
        try:
            if parse_gate(gate).aggregate == "error_rate":
                return True
        except GateError:
            pass
    return False


def normalise(document, name, user=None, source_user=None, algorithms_dir=None, warnings=()):
    """The canonical form of a valid workflow, templated.

    ``user`` is the owner on the destination cluster, ``source_user`` on the source cluster;
    when unknown, ``.my`` stays (the cluster resolves it from the calling key).
    """
    algorithms = []
    for algorithm in document["algorithms"]:
        algo = algorithm["name"]
        environment = None
        for field, tag in ENVIRONMENT_FIELDS.items():
            if field in algorithm:
                environment = {tag: algorithm[field]}
        code_path = algorithm.get("code_path", algorithm.get("code"))
        directory = template_dir(algorithms_dir, algo)
        algorithms.append({
            "name": algo,
            "environment": environment,
            "code_path": render_text(code_path, algo, source_user) if code_path else None,
            "template_dir": directory,
            "calls": sorted(template_calls(directory) - {algo}),
            "data_files": [data_file_plan(uri, algo, source_user, user) for uri in algorithm.get("data_files", [])],
            "has_test_payload": "test_payload" in algorithm,
            "test_payload": render(algorithm.get("test_payload"), algo, user),
        })
    test_info = document.get("test_info") or {}
    entrypoint = test_info.get("entrypoint")
    tests = []
    for test in test_info.get("tests", []):
        checks = {}
        # The newer fields only when given, so that older normalised tests keep their shape.
        if "gates" in test:
            checks["gates"] = list(test["gates"])
        if "expected_subset" in test:
            checks["expected_subset"] = render(test["expected_subset"], entrypoint, user)
        if "expected_pattern" in test:
            checks["expected_pattern"] = test["expected_pattern"]  # a regular expression: not templated
        if "warmup" in test:
            checks["warmup"] = test["warmup"]
        if "judge" in test:
            checks["judge"] = dict(test["judge"])  # the judge's, not algo_benchmark's (tests.json.j2 leaves it out)
        # The load fields of the test's model only (algo_benchmark refuses the others), with the
        # defaults of a closed test of calls, today's shape.
        if "rate" in test:
            load = {field: test[field] for field in ("rate", "duration", "max_in_flight") if field in test}
        elif "duration" in test:
            load = {"duration": test["duration"], "concurrency": test.get("concurrency", 1)}
        else:
            load = {"calls": test.get("calls", 1), "concurrency": test.get("concurrency", 1)}
        tests.append(dict(checks, **dict(load, **{
            "name": test["name"],
            "payload": render(test["payload"], entrypoint, user),
            "timeout": test.get("timeout", DEFAULT_TEST_TIMEOUT),
            "has_expected_output": "expected_output" in test,
            "expected_output": render(test.get("expected_output"), entrypoint, user),
            # No max_error_rate: 0 (any failed call fails the test), unless a gate is on error_rate.
            "max_error_rate": test.get("max_error_rate", None if _has_error_rate_gate(test) else 0),
            # A number is the p95 shorthand, as algo_benchmark takes it.
            "max_latency_ms": latency_gates(test.get("max_latency_ms")),
        })))
    source_info = document.get("source_info") or {}
    address = source_info.get("cluster_address")
    return {
        "name": name,
        "algorithm_owner": document.get("algorithm_owner"),
        "source_api_address": address.rstrip("/") if address else None,
        "run_only": bool(document.get("run_only", False)),
        "algorithms": algorithms,
        "entrypoint": entrypoint,
        "tests": tests,
        "user": user,
        "source_user": source_user,
        "warnings": list(warnings),
    }


def validate_workflow(document, schema, name, user=None, source_user=None, algorithms_dir=None, source=None):
    """Check a parsed workflow and return its normalised form, or raise ``WorkflowError``."""
    problems = schema_problems(document, schema)
    more, warnings = rule_problems(document, algorithms_dir)
    problems.extend(more)
    if problems:
        problems.sort(key=lambda p: _path_key(p.path))
        raise WorkflowError(source or name, problems)
    return normalise(document, name, user=user, source_user=source_user,
                     algorithms_dir=algorithms_dir, warnings=warnings)


def load_workflow(path, schema, user=None, source_user=None, algorithms_dir=None):
    """Read, check and normalise the workflow file at ``path``.

    ``algorithms_dir`` defaults to ``algorithms/`` beside the file's ``workflows/`` directory.
    """
    if algorithms_dir is None:
        algorithms_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "algorithms")
    with open(path, "rb") as stream:
        raw = stream.read(MAX_WORKFLOW_BYTES + 1)
    if len(raw) > MAX_WORKFLOW_BYTES:
        raise WorkflowError(path, [Problem(
            "$", "the file is larger than {0} MiB".format(MAX_WORKFLOW_BYTES // (1024 * 1024)),
            "keep large inputs out of the workflow: put them in a data file (data_files) and refer to it "
            "with data://.my/<algo>/<file> in the payload", show_value=False)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowError(path, [Problem(
            "$", "is not UTF-8 text (binary data at byte {0})".format(exc.start),
            "save the workflow as UTF-8 JSON; binary inputs belong in a data file (data_files)",
            show_value=False)]) from None
    document = parse(text, path)
    name = os.path.splitext(os.path.basename(path))[0]
    return validate_workflow(document, schema, name, user=user, source_user=source_user,
                             algorithms_dir=algorithms_dir, source=path)
