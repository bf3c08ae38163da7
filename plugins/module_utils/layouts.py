# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Algorithmia testbench maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What an algorithm template looks like in each language. Pure logic, no I/O, one table.

``<Name>`` is the algorithm's name as the template was written for it:

    language    manifest          main file                                         AEMS languages
    Python      requirements.txt  src/<Name>.py (or src/Algorithm.py, the ADK)      python3, python2
    JavaScript  package.json      src/<Name>.js                                     javascript
    Java        pom.xml           src/main/java/algorithmia/<Name>/<Name>.java      java11
    Ruby        Gemfile           src/<Name>.rb                                     ruby
    Scala       build.sbt         src/main/scala/algorithmia/<Name>/<Name>.scala    scala-2
    R           packages.txt      src/<Name>.R                                      r36
    Rust        Cargo.toml        src/lib.rs (<Name>: the package's name)           rust
    C#          <Name>.csproj     src/<Name>.cs                                     csharp-dotnet-core2

A layout is recognised by its manifest and its main file together. Python's manifest is optional
(templates made for the seed tool may lack it) and its main file is any one ``src/*.py``, so every
other language is tried first. When a template is deployed under another name, ``<Name>`` as a
whole word is replaced in the files the layout lists as its sources and manifests (the Java
``package algorithmia.<Name>;``, the ``artifactId`` in pom.xml, ``"name"`` in package.json).
"""

from __future__ import annotations

import re

NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_]*"
# A file beside the main one, not the main one: hello_test.py, hello_test.rb, hello_test.js.
TEST_SUFFIX = "_test"
ADK_MAIN = "src/Algorithm.py"


def _path_pattern(template):
    """``src/main/java/algorithmia/<Name>/<Name>.java`` as a regular expression that captures the
    first ``<Name>`` and requires the others to be the same."""
    parts = re.escape(template).split(re.escape("<Name>"))
    pattern = parts[0]
    for index, part in enumerate(parts[1:]):
        pattern += ("(?P<name>{0})".format(NAME_PATTERN) if index == 0 else "(?P=name)") + part
    return re.compile("^{0}$".format(pattern))


class Layout:
    """One language's template layout (see the table above)."""

    def __init__(self, language, aems_languages, manifest, main, sources=(), manifests=(), manifest_required=True,
                 name_from_manifest=None):
        # Python's manifest (requirements.txt) lists dependencies only, and is optional: it is neither
        # required nor renamed in, so a dependency that shares the template's name stays as it is.
        self.language = language
        self.aems_languages = tuple(aems_languages)
        self.manifest = manifest
        self.main = main
        self.sources = tuple(sources)  # suffixes of the files where <Name> is a whole word to replace
        self.manifests = tuple(manifests)  # file names where it is replaced too (package.json, pom.xml ...)
        self.manifest_required = manifest_required
        self.name_from_manifest = name_from_manifest  # (manifest text) -> <Name>, when the main path has none
        self._manifest = _path_pattern(manifest)
        self._main = _path_pattern(main)

    def __repr__(self):
        return "Layout({0})".format(self.language)

    def describe(self, name=None):
        """``pom.xml, src/main/java/algorithmia/<Name>/<Name>.java``, with ``name`` filled in when given."""
        text = "{0}, {1}".format(self.manifest, self.main)
        return text.replace("<Name>", name) if name else text

    def paths(self, name):
        """The files a template of this layout named ``name`` must hold (manifest, main file)."""
        wanted = [self.main.replace("<Name>", name)]
        if self.manifest_required:
            wanted.insert(0, self.manifest.replace("<Name>", name))
        return wanted

    def manifests_in(self, paths):
        return sorted(path for path in paths if self._manifest.match(path))

    def names_in_manifests(self, paths):
        """The names that manifest paths carry (``hello.csproj`` -> ``hello``); empty for the others."""
        return {match.group("name") for match in map(self._manifest.match, paths)
                if match is not None and "name" in match.groupdict()}

    def mains_in(self, paths):
        """``{name: path}`` of the main files among ``paths`` (test files and ``__init__`` are none)."""
        found = {}
        for path in paths:
            match = self._main.match(path)
            if match is None:
                continue
            name = match.groupdict().get("name")
            if name is None or not (name.endswith(TEST_SUFFIX) or name == "__init__"):
                found[name] = path
        return found

    def is_source(self, path):
        """Whether ``<Name>`` as a whole word is replaced in the file at ``path`` on a rename."""
        leaf = path.rsplit("/", 1)[-1]
        in_manifest = self.manifest_required and bool(self._manifest.match(path))
        return leaf.endswith(self.sources) or leaf in self.manifests or in_manifest

    def builds_on(self, aems_language):
        return aems_language in self.aems_languages


def _cargo_package_name(text):
    """The ``name`` of Cargo.toml's ``[package]`` table, or ``None``."""
    section = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        header = re.match(r"^\[([^\[\]]+)\]$", line)
        if header:
            section = header.group(1).strip()
            continue
        found = re.match(r"""^name\s*=\s*["']([^"']+)["']$""", line)
        if section == "package" and found:
            return found.group(1)
    return None


PYTHON = Layout("Python", ("python3", "python2"), "requirements.txt", "src/<Name>.py", sources=(".py",),
                manifest_required=False)
LAYOUTS = (
    Layout("JavaScript", ("javascript",), "package.json", "src/<Name>.js", sources=(".js", ".mjs", ".cjs"),
           manifests=("package-lock.json",)),
    Layout("Java", ("java11",), "pom.xml", "src/main/java/algorithmia/<Name>/<Name>.java", sources=(".java",)),
    Layout("Ruby", ("ruby",), "Gemfile", "src/<Name>.rb", sources=(".rb",)),
    Layout("Scala", ("scala-2",), "build.sbt", "src/main/scala/algorithmia/<Name>/<Name>.scala",
           sources=(".scala", ".sbt")),
    Layout("R", ("r36",), "packages.txt", "src/<Name>.R", sources=(".R", ".r")),
    Layout("Rust", ("rust",), "Cargo.toml", "src/lib.rs", sources=(".rs",), manifests=("Cargo.lock",),
           name_from_manifest=_cargo_package_name),
    Layout("C#", ("csharp-dotnet-core2",), "<Name>.csproj", "src/<Name>.cs", sources=(".cs", ".sln")),
    PYTHON,
)


class LayoutError(ValueError):
    """No layout, or more than one, fits the source; the message says what each language expects."""


def expected_layouts():
    """What every language's template holds, for error messages."""
    return "; ".join("{0}: {1}".format(layout.language, layout.describe()) + (
        " (or {0})".format(ADK_MAIN) if layout is PYTHON else "") for layout in LAYOUTS)


def _main_name(layout, paths, read_text, hint):
    """``(name, None)`` of ``layout``'s main file among ``paths``, or ``(None, why not)``."""
    manifests = layout.manifests_in(paths)
    if layout.name_from_manifest is not None:
        declared = layout.name_from_manifest(read_text(manifests[0]) or "")
        if not declared:
            return None, "{0} names no package (name in [package])".format(manifests[0])
        if not layout.mains_in(paths):
            return None, "{0} holds {1} but no {2}".format(layout.language, manifests[0], layout.main)
        return declared, None
    mains = layout.mains_in(paths)
    # A manifest that carries the name (<Name>.csproj) must name the main file.
    named = layout.names_in_manifests(manifests)
    if named:
        mains = {name: path for name, path in mains.items() if name in named}
    if hint in mains:
        return hint, None
    if len(mains) == 1:
        return next(iter(mains)), None
    expected = layout.main.replace("<Name>", hint or "<Name>")
    found = ", ".join(sorted(mains.values())) or "none"
    return None, "a {0} template ({1}) needs {2}; main files found: {3}".format(
        layout.language, ", ".join(manifests) or layout.manifest, expected, found)


def detect(paths, read_text, hint=None):
    """``(layout, <Name>)`` of a source given its file ``paths`` and ``read_text(path)`` (for a
    manifest that names the algorithm); ``<Name>`` is ``None`` for Python's ADK.

    ``hint`` is the name the template is known by (its directory or archive name): it picks the
    main file when a layout finds several. ``LayoutError`` when no layout fits, or several do.
    """
    paths = sorted(paths)
    found, problems = [], []
    for layout in LAYOUTS:
        if layout is PYTHON or not layout.manifests_in(paths):
            continue
        name, problem = _main_name(layout, paths, read_text, hint)
        if name is not None:
            found.append((layout, name))
        else:
            problems.append(problem)
    python = None
    if ADK_MAIN in paths:
        python = (PYTHON, None)
    else:
        mains = PYTHON.mains_in(paths)
        if hint in mains:
            python = (PYTHON, hint)
        elif len(mains) == 1:
            python = (PYTHON, next(iter(mains)))
        else:
            problems.append("expected src/{0}.py or {1}, found {2}".format(
                hint or "<Name>", ADK_MAIN, ", ".join(sorted(mains.values())) or "no Python file in src/"))
    # Python's main file is any one src/*.py: it counts against another language only with its manifest.
    if python is not None and (not found or PYTHON.manifests_in(paths)):
        found.append(python)
    if len(found) == 1:
        return found[0]
    if found:
        raise LayoutError("the source has the layouts of several languages: {0}; keep one language's files".format(
            ", ".join("{0} ({1})".format(layout.language, layout.describe(name or hint)) for layout, name in found)))
    raise LayoutError("cannot tell the algorithm's language and main file: {0}. A template holds, by language: "
                      "{1}".format("; ".join(problems), expected_layouts()))


def for_language(aems_language):
    """The layout that environments of ``aems_language`` build, or ``None`` when none is known."""
    for layout in LAYOUTS:
        if layout.builds_on(aems_language):
            return layout
    return None
