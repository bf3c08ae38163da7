"""Templating an algorithm's source: renames, references, placeholders, binary files untouched."""

from __future__ import annotations

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.gitpush import tree_id
from ansible_collections.algorithmia.testbench.plugins.module_utils.source_tree import (
    SourceError,
    read_directory,
    render_value,
    template_tree,
)

F = 0o100644
PIPELINE = {
    "requirements.txt": (F, b"algorithmia>=2.0,<3\n"),
    "src/__init__.py": (F, b""),
    "src/ImageBenchmark.py": (F, b'THUMB = "algo://.my/ImageThumbnailer/latestPrivate"\n'
                                 b'IMG = "data://.my/<algo>/x.png"\n'
                                 b'OTHER = client.algo(".my/BoundingBoxDrawer/latestPrivate")\n'
                                 b'WHO = "<user>"\n'),
    "src/ImageBenchmark_test.py": (F, b"from . import ImageBenchmark\n\n"
                                      b"def test():\n    assert ImageBenchmark.THUMB\n"),
    "src/model.bin": (F, b"\x00\x01.my/ImageThumbnailer\x00"),
}


def text(tree, path):
    return tree[path][1].decode()


def test_same_name_only_renders_placeholders():
    tree = template_tree(PIPELINE, "ImageBenchmark", "alice", template_name="ImageBenchmark")
    main = text(tree, "src/ImageBenchmark.py")
    assert 'THUMB = "algo://alice/ImageThumbnailer/latestPrivate"' in main
    assert 'IMG = "data://alice/ImageBenchmark/x.png"' in main
    assert 'WHO = "alice"' in main
    assert tree["src/model.bin"] == PIPELINE["src/model.bin"]


def test_a_deployed_name_renames_files_imports_and_references():
    references = {"ImageThumbnailer": "ImageThumbnailer_ci", "BoundingBoxDrawer": "BoundingBoxDrawer_ci"}
    tree = template_tree(PIPELINE, "ImageBenchmark_ci", "alice", references, template_name="ImageBenchmark")
    assert sorted(tree) == ["requirements.txt", "src/ImageBenchmark_ci.py", "src/ImageBenchmark_ci_test.py",
                            "src/__init__.py", "src/model.bin"]
    main = text(tree, "src/ImageBenchmark_ci.py")
    assert "algo://alice/ImageThumbnailer_ci/latestPrivate" in main
    assert 'client.algo(".my/BoundingBoxDrawer_ci/latestPrivate")' in main
    assert "data://alice/ImageBenchmark_ci/x.png" in main
    assert text(tree, "src/ImageBenchmark_ci_test.py").startswith("from . import ImageBenchmark_ci\n")
    assert "ImageBenchmark_ci.THUMB" in text(tree, "src/ImageBenchmark_ci_test.py")
    assert tree["src/model.bin"] == PIPELINE["src/model.bin"]


def test_the_main_file_is_found_without_a_hint():
    tree = template_tree(PIPELINE, "Other", "bob", template_name="ArchiveName")
    assert "src/Other.py" in tree and "src/Other_test.py" in tree


def test_adk_sources_keep_their_file_names():
    adk = {"requirements.txt": (F, b"algorithmia\n"), "src/Algorithm.py": (F, b"from Algorithmia import ADK\n")}
    tree = template_tree(adk, "anything", "alice", template_name="x")
    assert sorted(tree) == ["requirements.txt", "src/Algorithm.py"]


def test_no_main_file_is_an_error_naming_what_was_found():
    two = {"src/a.py": (F, b""), "src/b.py": (F, b"")}
    with pytest.raises(SourceError, match="src/a.py, src/b.py"):
        template_tree(two, "hello", "alice")
    with pytest.raises(SourceError, match="no Python file"):
        template_tree({"requirements.txt": (F, b"")}, "hello", "alice")


def test_invalid_name_is_refused():
    with pytest.raises(SourceError, match="not an algorithm name"):
        template_tree(PIPELINE, "../x", "alice")


def test_payload_rendering_follows_references():
    payload = {"image": "data://.my/ImageThumbnailer/landscape.png", "who": ["<user>", "<algo>"], "n": 3}
    assert render_value(payload, "ImageBenchmark_ci", "alice", {"ImageThumbnailer": "ImageThumbnailer_ci"}) == {
        "image": "data://alice/ImageThumbnailer_ci/landscape.png", "who": ["alice", "ImageBenchmark_ci"], "n": 3}
    # A payload the workflow lookup already rendered with the owner's name is renamed too.
    assert render_value("data://alice/ImageThumbnailer/x.png", "A", "alice", {"ImageThumbnailer": "T_ci"}) == \
        "data://alice/T_ci/x.png"


def test_template_directory_is_read_without_caches_and_symlinks_are_refused(tmp_path):
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "__pycache__" / "x.pyc").write_bytes(b"\x00")
    (tmp_path / "src" / "hello.py").write_text("def apply(x):\n    return x\n")
    (tmp_path / "requirements.txt").write_text("algorithmia\n")
    assert sorted(read_directory(str(tmp_path))) == ["requirements.txt", "src/hello.py"]
    (tmp_path / "src" / "link.py").symlink_to(tmp_path / "src" / "hello.py")
    with pytest.raises(SourceError, match="symbolic link"):
        read_directory(str(tmp_path))
    with pytest.raises(SourceError, match="no src/"):
        read_directory(str(tmp_path / "src"))


def test_tree_id_is_stable_and_content_addressed():
    tree = template_tree(PIPELINE, "ImageBenchmark", "alice")
    assert tree_id(tree) == tree_id(dict(reversed(list(tree.items()))))
    changed = dict(tree, **{"requirements.txt": (F, b"algorithmia>=2.1\n")})
    assert tree_id(changed) != tree_id(tree)
    # git's own id of an empty-file tree: a known constant.
    assert tree_id({"a": (F, b"")}) == "496d6428b9cf92981dc9495211e6e1120fb6f2ba"
