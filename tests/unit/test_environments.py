"""Choosing an environment from a cluster's listings: shorthands, display names, ids, errors."""

from __future__ import annotations

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import (
    SHORTHANDS,
    EnvironmentChoiceError,
    Wanted,
    choose,
    describe_all,
    languages_to_list,
    summary,
    sync_state,
)


def env(env_id, display_name, language="python3", machine="CPU", spec_id=None):
    return {"id": env_id, "display_name": display_name, "machine_type": machine,
            "environment_specification_id": spec_id or "spec-" + env_id,
            "language": {"name": language, "display_name": language + " (Environments)"}}


LISTING = [env("py37", "Python 3.7"), env("py38", "Python 3.8"), env("py27", "Python 2.7", "python2"),
           env("tf23", "Python 3.7 + TensorFlow 2.3"), env("torch", "Python 3.8 + PyTorch 1.x", machine="GPU")]


@pytest.mark.parametrize("shorthand, expected", [
    ("python3", "py37"), ("python2", "py27"), ("pytorch", "torch"), ("tensorflow-2.3", "tf23"),
])
def test_language_shorthands_select_by_display_name(shorthand, expected):
    assert choose(LISTING, Wanted(language=shorthand))["id"] == expected


def test_every_shorthand_names_a_language_and_a_display_name():
    python = {"python2", "python3", "pytorch", "tensorflow-2.3", "tensorflow-1.14"}
    assert all(SHORTHANDS[shorthand][0] in ("python2", "python3") and SHORTHANDS[shorthand][1] for shorthand in python)
    # issue 21's contract: every other language the platform runs, by its AEMS language and display name
    assert {shorthand: SHORTHANDS[shorthand] for shorthand in set(SHORTHANDS) - python} == {
        "javascript": ("javascript", "Node.js 20"), "java": ("java11", "Java 11.0"), "ruby": ("ruby", "Ruby 3.1"),
        "scala": ("scala-2", "Scala 2.x"), "r": ("r36", "R 3.6"), "rust": ("rust", "Rust 1.x"),
        "csharp": ("csharp-dotnet-core2", "C# .NET Core 2.x")}


def test_a_language_shorthand_chooses_only_in_its_own_language():
    listing = LISTING + [env("j11", "Java 11.0", "java11"), env("node", "Node.js 20", "javascript"),
                         env("fake", "Java 11.0", "python3")]
    assert choose(listing, Wanted(language="java"))["id"] == "j11"
    assert choose(listing, Wanted(language="javascript"))["id"] == "node"
    assert choose(listing, Wanted(language="scala")) is None
    with pytest.raises(EnvironmentChoiceError, match="'jav' is not one of the testbench's language shorthands: csharp"):
        Wanted(language="jav")


def test_a_label_names_the_language_and_the_environment():
    assert Wanted(language="java").label() == "java, 'Java 11.0'"
    assert Wanted(language="java").label({"display_name": "Java 11.0", "language": "java11"}) == "java, 'Java 11.0'"
    assert Wanted(environment_name="Python 3.8").label() == "'Python 3.8'"
    assert Wanted(environment_id="py38").label({"display_name": "Python 3.8", "language": "python3"}) == \
        "python3, 'Python 3.8'"
    assert Wanted(environment_id="py38").label() == "environment_id py38"


def test_a_shorthand_only_matches_its_own_language():
    impostor = [env("x", "Python 2.7", language="python3")]
    assert choose(impostor, Wanted(language="python2")) is None


def test_display_name_ignores_case_and_spacing():
    assert choose(LISTING, Wanted(environment_name=" python  3.7 + tensorflow 2.3 "))["id"] == "tf23"


def test_id_or_specification_id():
    assert choose(LISTING, Wanted(environment_id="py38"))["id"] == "py38"
    assert choose(LISTING, Wanted(environment_id="spec-py38"))["id"] == "py38"
    assert choose(LISTING, Wanted(environment_id="Python 3.8")) is None


def test_not_listed_is_none_and_missing_tensorflow_114():
    assert choose(LISTING, Wanted(language="tensorflow-1.14")) is None
    assert choose([], Wanted(environment_name="Python 3.7")) is None


def test_the_same_name_twice_is_ambiguous():
    listing = LISTING + [env("py37-gpu", "Python 3.7", machine="GPU")]
    with pytest.raises(EnvironmentChoiceError, match="matches several environments.*give environment_id"):
        choose(listing, Wanted(environment_name="Python 3.7"))


def test_the_same_entry_listed_twice_is_not_ambiguous():
    assert choose(LISTING + LISTING[:1], Wanted(language="python3"))["id"] == "py37"


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of language, environment_name or environment_id .got none"),
    ({"language": "python3", "environment_id": "x"}, "got language, environment_id"),
    ({"language": "cobol"}, "'cobol' is not one of the testbench's language shorthands: csharp, java, javascript, python2, python3"),
])
def test_wanted_refuses_what_cannot_be_chosen(kwargs, message):
    with pytest.raises(EnvironmentChoiceError, match=message):
        Wanted(**kwargs)


def test_descriptions_name_the_field():
    assert Wanted(language="pytorch").describe() == "language=pytorch ('Python 3.8 + PyTorch 1.x')"
    assert Wanted(environment_name="Python 3.8").describe() == "environment_name='Python 3.8'"
    assert Wanted(environment_id="abc").describe() == "environment_id='abc'"


def test_describe_all_lists_what_the_cluster_offers_sorted_and_bounded():
    text = describe_all(LISTING)
    assert text.startswith("'Python 2.7' (id py27, python2, CPU)")
    assert "'Python 3.8 + PyTorch 1.x' (id torch, python3, GPU)" in text
    assert describe_all([]) == "none"
    many = [env(str(i), "Env {0:02d}".format(i)) for i in range(40)]
    assert describe_all(many, limit=3).endswith("and 37 more")


def test_languages_to_list():
    assert languages_to_list(Wanted(language="pytorch"), ["python2", "python3", "r36"]) == ["python3"]
    assert languages_to_list(Wanted(environment_id="x"), ["python2", None, "r36"]) == ["python2", "r36"]


def test_summary_and_sync_state():
    assert summary(LISTING[0]) == {"id": "py37", "display_name": "Python 3.7", "language": "python3",
                                   "environment_specification_id": "spec-py37", "machine_type": "CPU"}
    assert sync_state({"sync_result": {"status": "failed", "message": "no disk"}}) == ("failed", "no disk")
    assert sync_state({}) == ("unknown", "")
    assert sync_state(None) == ("unknown", "")
