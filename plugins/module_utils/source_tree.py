# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An algorithm's source as it will be pushed: read, renamed and templated. Pure logic, no HTTP.

A tree is ``{relative posix path: (git mode, bytes)}``. The same tree always yields the same
git tree id, which is how a re-run knows there is nothing to push.

Templating (the seed's rules, plus deployed names):

- ``algo://.my/X``, ``data://.my/X`` and the client form ``.algo(".my/X")`` (also with
  ``<user>`` or the owner's name in place of ``.my``): ``X`` becomes ``references[X]``, so a
  pipeline calls the copies deployed beside it (a name suffix);
- then ``<algo>`` becomes the algorithm's name, ``<user>`` and ``.my`` the owner;
- the template's main file ``src/<Template>.py`` (and its ``_test.py``) become
  ``src/<name>.py``, and the Python files of ``src/`` say ``<name>`` where they said
  ``<Template>`` as a whole word (the test's ``from . import <Template>``).

Only text files are templated; a file with a NUL byte or that is not UTF-8 is left as it is.
"""

from __future__ import annotations

import os
import re

from ansible_collections.algorithmia.testbench.plugins.module_utils.uris import ALGORITHM_NAME
from ansible_collections.algorithmia.testbench.plugins.module_utils.workflow_template import render, render_text

SKIPPED_DIRS = (".git", "__pycache__", ".pytest_cache", ".venv", ".idea", ".vscode")
SKIPPED_FILES = (".DS_Store",)
ADK_MAIN = "src/Algorithm.py"
BINARY_SNIFF = 8192
TEMPLATE_FILE_LIMIT = 2 * 1024 * 1024


class SourceError(ValueError):
    """The source cannot become an algorithm repository; the message says what to fix."""


def read_directory(path):
    """The tree of a local template directory (``algorithms/<Name>``); symlinks are refused,
    so a template can never pull in files from elsewhere on the controller."""
    if not os.path.isdir(os.path.join(path, "src")):
        raise SourceError("template_dir {0} has no src/ directory; an algorithm template holds "
                          "requirements.txt and src/<Name>.py".format(path))
    tree = {}
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for filename in sorted(files):
            if filename in SKIPPED_FILES or filename.endswith(".pyc"):
                continue
            full = os.path.join(root, filename)
            relative = os.path.relpath(full, path).replace(os.sep, "/")
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


def main_module(tree, hint=None):
    """The template's algorithm name as its main file says (``src/<Template>.py``), or ``None``
    for an ADK algorithm (``src/Algorithm.py``), which needs no renaming."""
    if ADK_MAIN in tree:
        return None
    if hint and "src/{0}.py".format(hint) in tree:
        return hint
    candidates = sorted(
        path[len("src/"):-len(".py")] for path in tree
        if path.startswith("src/") and path.count("/") == 1 and path.endswith(".py")
        and not path.endswith("_test.py") and path != "src/__init__.py")
    if len(candidates) == 1:
        return candidates[0]
    raise SourceError(
        "cannot tell the algorithm's main file: expected src/{0}.py or src/Algorithm.py, found {1}".format(
            hint or "<Name>", ", ".join("src/{0}.py".format(c) for c in candidates) or "no Python file in src/"))


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


def template_tree(tree, name, owner, references=None, template_name=None):
    """The tree to push for algorithm ``name`` of ``owner`` (see the module docstring).

    ``template_name`` is the name the template was written for (its directory or archive name);
    the main file decides when it does not exist. Raises ``SourceError`` when the result has no
    main file the cluster could build.
    """
    if not ALGORITHM_NAME.match(name or ""):
        raise SourceError("name {0!r} is not an algorithm name (letters, digits and _, starting with "
                          "a letter)".format(name))
    template = main_module(tree, template_name)
    references = dict(references or {})
    if template and template != name:
        references.setdefault(template, name)
    own_name = re.compile(r"\b{0}\b".format(re.escape(template))) if template and template != name else None
    result = {}
    for path, (mode, data) in tree.items():
        new_path = path
        if own_name is not None and path in ("src/{0}.py".format(template), "src/{0}_test.py".format(template)):
            new_path = "src/{0}{1}".format(name, path[len("src/") + len(template):])
        if is_text(data):
            text = render_text(rename_references(data.decode("utf-8"), references, owner), name, owner)
            if own_name is not None and path.startswith("src/") and path.endswith(".py"):
                text = own_name.sub(name, text)
            data = text.encode("utf-8")
        if new_path in result:
            raise SourceError("{0} and another file both become {1} after renaming; remove one".format(path, new_path))
        result[new_path] = (mode, data)
    if "src/{0}.py".format(name) not in result and ADK_MAIN not in result:
        raise SourceError("the source has no src/{0}.py (classic) or src/Algorithm.py (ADK); the cluster "
                          "could not build it".format(name))
    return result
