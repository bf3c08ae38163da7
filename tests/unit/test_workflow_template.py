"""Templating of <algo>, <user> and .my, and the scan of a template's algorithm calls."""

from __future__ import annotations

from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import (
    data_file_plan,
    render,
    render_text,
    template_calls,
    template_dir,
)


def test_placeholders_with_a_known_user():
    assert render_text("data://.my/<algo>/in.png", "Thumb", "quality") == "data://quality/Thumb/in.png"
    assert render_text("algo://.my/Other/latestPrivate", "Thumb", "quality") == "algo://quality/Other/latestPrivate"
    assert render_text("<user> runs <algo>", "Thumb", "quality") == "quality runs Thumb"


def test_without_a_user_my_stays_and_user_becomes_my():
    assert render_text("data://<user>/<algo>/in.png", "Thumb") == "data://.my/Thumb/in.png"
    assert render_text("data://.my/c/f", "Thumb") == "data://.my/c/f"


def test_my_is_only_replaced_in_data_and_algo_uris():
    assert render_text("see .my/notes and s3://.my/x", "A", "u") == "see .my/notes and s3://.my/x"


def test_render_walks_lists_and_dict_values_but_not_keys():
    value = {"<algo>": ["data://.my/<algo>/a", 3, None, {"k": "<user>"}], "n": 1.5, "b": True}
    assert render(value, "A", "u") == {"<algo>": ["data://u/A/a", 3, None, {"k": "u"}], "n": 1.5, "b": True}


def test_data_files_land_in_a_collection_named_after_the_algorithm():
    assert data_file_plan("data://.my/<algo>_assets/m.pkl", "Thumb", "src", "dst") == {
        "source": "data://src/Thumb_assets/m.pkl", "destination": "data://dst/Thumb/m.pkl", "filename": "m.pkl"}


def test_template_calls_finds_both_spellings(tmp_path):
    src = tmp_path / "Caller" / "src"
    src.mkdir(parents=True)
    (src / "Caller.py").write_text(
        'A = "algo://.my/First/latestPrivate"\nclient.algo(".my/Second/1.0.0")\nclient.algo("other/Third")\n')
    (src / "notes.txt").write_text("algo://.my/Fourth")
    (src / "big.bin").write_bytes(b"\0" * (3 * 1024 * 1024))
    directory = template_dir(str(tmp_path), "Caller")
    assert directory == str(tmp_path / "Caller")
    assert template_calls(directory) == {"First", "Second", "Fourth"}
    assert template_calls(None) == set()


def test_template_dir_needs_src_and_a_plain_name(tmp_path):
    (tmp_path / "NoSrc").mkdir()
    (tmp_path / "outside" / "src").mkdir(parents=True)
    assert template_dir(str(tmp_path), "NoSrc") is None
    assert template_dir(str(tmp_path / "x"), "../outside") is None
    assert template_dir(None, "Caller") is None
