"""The changelog the community's way: changelogs/changelog.yaml is its source, antsibull-changelog
finds nothing to fault in it or in the fragments waiting in changelogs/fragments/, CHANGELOG.md is
exactly what antsibull-changelog generates from it, and no module, plugin or role claims to be added
in a version after the collection's own (antsibull-changelog would never list it as new)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import yaml
from packaging.version import Version

from tests.integration.fresh_clone import copy_checkout
from tests.integration.playbook import ROOT, VENV_BIN

ANTSIBULL_CHANGELOG = str(VENV_BIN / "antsibull-changelog")


def _changelog(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([ANTSIBULL_CHANGELOG, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, "antsibull-changelog {0}\n{1}\n{2}".format(" ".join(args), done.stdout, done.stderr)
    return done


def test_antsibull_changelog_lint_finds_nothing():
    # The fragments waiting in changelogs/fragments/ and changelog.yaml itself, strictly (no unknown keys).
    done = _changelog(["lint"], ROOT)
    assert done.stdout == "", done.stdout
    done = _changelog(["lint-changelog-yaml", "--strict", "changelogs/changelog.yaml"], ROOT)
    assert done.stdout == "", done.stdout


def test_changelog_md_is_what_antsibull_changelog_generates(tmp_path):
    # On a copy of the tree (tracked and new files, as git sees them) without CHANGELOG.md: generating
    # must write it back exactly as committed.
    copy = tmp_path / "tree"
    copy_checkout(copy, untracked=True)
    (copy / "CHANGELOG.md").unlink()
    _changelog(["generate"], copy)
    generated = (copy / "CHANGELOG.md").read_text()
    assert generated == (ROOT / "CHANGELOG.md").read_text(), (
        "CHANGELOG.md differs from what antsibull-changelog generates from changelogs/changelog.yaml: "
        "run `make changelog` and commit CHANGELOG.md (never edit it by hand)")


def _documented_version_added(path: Path) -> str | None:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(target, "id", None) for target in node.targets] == ["DOCUMENTATION"]:
            return yaml.safe_load(ast.literal_eval(node.value)).get("version_added")
    raise AssertionError(f"{path.relative_to(ROOT)} has no DOCUMENTATION")


def test_nothing_is_added_in_a_version_after_the_collections_own():
    collection_version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    added = {}
    for kind in ("modules", "lookup", "filter", "callback", "inventory", "connection"):
        for path in sorted((ROOT / "plugins" / kind).glob("*.py")):
            if path.name != "__init__.py":
                added[f"{kind}/{path.stem}"] = _documented_version_added(path)
    for specs in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        entry_points = yaml.safe_load(specs.read_text())["argument_specs"]
        added["role/" + specs.parents[1].name] = entry_points["main"].get("version_added")
    print("\n".join(f"{name}: version_added {version}" for name, version in added.items()))
    assert added and all(added.values()), "every module, plugin and role states its version_added: " + repr(added)
    late = {name: version for name, version in added.items()
            if Version(str(version)) > Version(collection_version)}
    assert not late, f"added after the collection's version {collection_version}: {late}"
