# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An algorithm's source as it will be pushed: read, renamed and templated. Pure logic, no HTTP.

A tree is ``{relative posix path: (git mode, bytes)}``. The same tree always yields the same
git tree id, which is how a re-run knows there is nothing to push.

The source may be in any language the testbench knows: ``layouts.py`` tells its language and
``<Template>`` (the name it was written for) from its manifest and main file. Templating (the
seed's rules, plus deployed names), in every text file of any language:

- ``algo://.my/X``, ``data://.my/X`` and the client form ``.algo(".my/X")`` (also with
  ``<user>`` or the owner's name in place of ``.my``): ``X`` becomes ``references[X]``, so a
  pipeline calls the copies deployed beside it (a name suffix);
- then ``<algo>`` becomes the algorithm's name, ``<user>`` and ``.my`` the owner;
- deployed as ``<name>``, files and directories named ``<Template>`` (``src/<Template>.js``,
  ``src/<Template>_test.py``, ``src/main/java/algorithmia/<Template>/``, ``<Template>.csproj``)
  are renamed, and the language's sources and manifest say ``<name>`` where they said
  ``<Template>`` as a whole word (``from . import <Template>``, ``package algorithmia.<Template>;``,
  ``"name": "<Template>"``).

Only text files are templated; a file with a NUL byte, that is not UTF-8, or larger than
``TEMPLATE_FILE_LIMIT`` is pushed byte for byte.
"""

from __future__ import annotations

import os
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.environments import SHORTHANDS
from ansible_collections.algorithmia.testbench.plugins.module_utils.layouts import (
    ADK_MAIN,
    PYTHON,
    TEST_SUFFIX,
    LayoutError,
    detect,
    expected_layouts,
    for_language,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import render, render_text

# Caches, editors' and tools' state, and installed dependencies: never part of an algorithm's source.
SKIPPED_DIRS = (".git", "__pycache__", ".pytest_cache", ".venv", ".idea", ".vscode", "node_modules")
SKIPPED_FILES = (".DS_Store",)
BINARY_SNIFF = 8192
TEMPLATE_FILE_LIMIT = 2 * 1024 * 1024


class SourceError(ValueError):
    """The source cannot become an algorithm repository; the message says what to fix."""


def _walk(path):
    """``(relative posix path, full path)`` of each file of a template directory, in order."""
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for filename in sorted(files):
            if filename in SKIPPED_FILES or filename.endswith(".pyc"):
                continue
            full = os.path.join(root, filename)
            yield os.path.relpath(full, path).replace(os.sep, "/"), full


def read_directory(path):
    """The tree of a local template directory (``algorithms/<Name>``); symlinks are refused,
    so a template can never pull in files from elsewhere on the controller."""
    if not os.path.isdir(os.path.join(path, "src")):
        raise SourceError("template_dir {0} has no src/ directory; an algorithm template keeps its sources in "
                          "src/ ({1})".format(path, expected_layouts()))
    tree = {}
    for relative, full in _walk(path):
        if os.path.islink(full):
            raise SourceError("{0} in template_dir is a symbolic link; copy the file into the "
                              "template instead".format(relative))
        with open(full, "rb") as stream:
            data = stream.read()
        mode = 0o100755 if os.stat(full).st_mode & 0o111 else 0o100644
        tree[relative] = (mode, data)
    return tree


def is_text(data):
    if b"\x00" in data[:BINARY_SNIFF] or len(data) > TEMPLATE_FILE_LIMIT:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decoded(data):
    return data.decode("utf-8") if is_text(data) else ""


def layout_of(tree, hint=None):
    """``(layout, <Template>)`` of a tree (see ``layouts.detect``); ``<Template>`` is ``None`` for
    an ADK algorithm (``src/Algorithm.py``), which needs no renaming."""
    try:
        return detect(tree, lambda path: _decoded(tree[path][1]), hint)
    except LayoutError as exc:
        raise SourceError(str(exc)) from None


def directory_layout(path, hint=None):
    """``layout_of`` a template directory, reading only its file names and the manifest that
    names the algorithm (Cargo.toml): cheap enough for a workflow's checks."""
    files = dict(_walk(path))

    def read_text(relative):
        with open(files[relative], "rb") as stream:
            return _decoded(stream.read(TEMPLATE_FILE_LIMIT + 1))

    try:
        return detect(files, read_text, hint)
    except (LayoutError, OSError) as exc:
        raise SourceError(str(exc)) from None


def language_problem(layout, template, language):
    """``(problem, fix)`` when a ``layout`` template cannot be built with the environment of the
    language shorthand ``language``; ``None`` when it can, or ``language`` is no known shorthand."""
    if language not in SHORTHANDS or layout.builds_on(SHORTHANDS[language][0]):
        return None
    files = layout.describe(template) if template else "{0}, {1}".format(PYTHON.manifest, ADK_MAIN)
    problem = "is a {0} template ({1}) but language is {2}".format(layout.language, files, language)
    wanted = for_language(SHORTHANDS[language][0])
    if wanted is not None:
        problem += ", which builds {0} templates ({1})".format(wanted.language, wanted.describe())
    fits = [shorthand for shorthand, (aems, _name) in SHORTHANDS.items() if layout.builds_on(aems)]
    fix = "set language to {0}{1}, or give the algorithm a {2} template".format(
        fits[0], " (or {0})".format(", ".join(fits[1:])) if len(fits) > 1 else "",
        wanted.language if wanted is not None else language)
    return problem, fix


def renamed_path(path, template, name):
    """``path`` with each directory named ``template`` and each file whose name (up to its first
    dot) is ``template`` or ``template_test`` renamed for ``name``."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        stem, dot, rest = part.partition(".")
        if stem == template or (index == len(parts) - 1 and stem == template + TEST_SUFFIX):
            parts[index] = name + stem[len(template):] + dot + rest
    return "/".join(parts)


def _reference_pattern(owner):
    users = [re.escape(".my"), re.escape("<user>")]
    if owner:
        users.append(re.escape(owner))
    return re.compile(r"""((?:algo|data)://|\.algo\(\s*['"])({0})/([A-Za-z][A-Za-z0-9_]*)""".format("|".join(users)))


def rename_references(text, references, owner=None):
    """``algo://.my/X`` -> ``algo://.my/<references[X]>`` (and the data:// and client forms)."""
    if not references:
        return text
    pattern = _reference_pattern(owner)
    return pattern.sub(lambda m: m.group(1) + m.group(2) + "/" + references.get(m.group(3), m.group(3)), text)


def render_value(value, name, owner, references):
    """A JSON value (a test payload) with references renamed and placeholders rendered."""
    if isinstance(value, str):
        return render_text(rename_references(value, references, owner), name, owner)
    if isinstance(value, list):
        return [render_value(item, name, owner, references) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, name, owner, references) for key, item in value.items()}
    return render(value, name, owner)


def template_tree(tree, name, owner, references=None, template_name=None, language=None):
    """The tree to push for algorithm ``name`` of ``owner`` (see the module docstring).

    ``template_name`` is the name the template was written for (its directory or archive name);
    the main file decides when it does not exist. ``language``, a language shorthand, refuses a
    template of another language. Raises ``SourceError`` when the result has no main file the
    cluster could build.
    """
    if not ALGORITHM_NAME.match(name or ""):
        raise SourceError("name {0!r} is not an algorithm name (letters, digits and _, starting with "
                          "a letter)".format(name))
    layout, template = layout_of(tree, template_name)
    mismatch = language_problem(layout, template, language)
    if mismatch:
        raise SourceError("template {0} {1}. Fix: {2}".format(template or name, *mismatch))
    references = dict(references or {})
    if template and template != name:
        references.setdefault(template, name)
    own_name = re.compile(r"\b{0}\b".format(re.escape(template))) if template and template != name else None
    result = {}
    for path, (mode, data) in tree.items():
        new_path = renamed_path(path, template, name) if own_name is not None else path
        if is_text(data):
            text = render_text(rename_references(data.decode("utf-8"), references, owner), name, owner)
            if own_name is not None and layout.is_source(new_path):
                text = own_name.sub(name, text)
            data = text.encode("utf-8")
        if new_path in result:
            raise SourceError("{0} and another file both become {1} after renaming; remove one".format(path, new_path))
        result[new_path] = (mode, data)
    wanted = [ADK_MAIN] if template is None else layout.paths(name)
    missing = [path for path in wanted if path not in result]
    if missing:
        raise SourceError("the {0} source has no {1} after templating; the cluster could not build it".format(
            layout.language, " and no ".join(missing)))
    return result
