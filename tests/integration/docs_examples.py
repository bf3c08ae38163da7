"""The output the docs show, checked against the output of real runs, so that the docs cannot drift.

An example is a fenced block of a Markdown file. Each of its lines must match a line of the real
output, in the same order (the example may leave lines out), where only what changes from run to
run is free: numbers (times, counts, ports, run ids), hex hashes, a run of ``*`` (Ansible's task
banner fills the terminal's width) and ``...`` (the example leaves out the rest). A test whose run
names things otherwise than the docs (its hosts, addresses, workflow) maps the docs' names to its
own explicitly, with ``names``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.playbook import ROOT

USAGE = ROOT / "docs" / "usage.md"
README = ROOT / "README.md"

# The output examples of docs/usage.md (its fenced blocks without a language), by the start of
# their first line, and the test that checks each against a real run. tests/integration/test_docs.py
# checks that every such block is one of these and that each test still checks its example.
USAGE_OUTPUT = {
    "verdict": ("TASK [algorithmia.testbench.testbench : Show the verdict of every cluster]", "test_docs_examples.py"),
    "preflight": ("Preflight found ", "test_playbook_preflight.py"),
    "progress": ("[prod-eu] algo_deploy: ", "test_progress.py"),
    "history": ("history/<cluster>/", "test_playbook_ratchet.py"),
    "regression": ("prod-us (https://api.us.example.com): FAILED", "test_playbook_ratchet.py"),
    "judged": ("prod-eu (https://api.eu.example.com): FAILED", "test_playbook_judge.py"),
    "bundle": ("reports/runs/", "test_docs_examples.py"),
    "stuck": ("prod-asia (https://api.asia.example.com): FAILED", "test_playbook_stuck.py"),
    "forks": ("[WARNING]: This run checks ", "test_playbook_forks.py"),
}

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def fenced_blocks(document: Path | str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced block of a file (or of Markdown text), the lines without
    the fence's own indentation."""
    text = document.read_text(encoding="utf-8") if isinstance(document, Path) else document
    blocks = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        lines = [line[indent:] if line[:indent].strip() == "" else line for line in match["body"].split("\n")[:-1]]
        blocks.append((match["lang"].strip(), lines))
    return blocks


def output_blocks(path: Path = USAGE) -> list[list[str]]:
    """The blocks without a language: what the docs show a run print or write."""
    return [lines for lang, lines in fenced_blocks(path) if lang == ""]


def usage_example(name: str) -> list[str]:
    """The lines of the output example ``name`` of docs/usage.md (see USAGE_OUTPUT)."""
    start = USAGE_OUTPUT[name][0]
    found = [lines for lines in output_blocks() if lines and lines[0].startswith(start)]
    assert len(found) == 1, f"docs/usage.md has {len(found)} output blocks starting with {start!r}"
    return found[0]


# What may change from run to run, in the order it is tried at each position of an example's line.
_FREE = re.compile(r"(?P<rest>\.\.\.)|(?P<stars>\*{3,})"
                   r"|(?P<hash>\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b)|(?P<number>\d+(?:\.\d+)?)")
_FREE_PATTERNS = {"rest": ".*?", "stars": r"\*+", "hash": "[0-9a-f]{7,40}", "number": r"\d+(?:\.\d+)?"}


def line_pattern(line: str, names: dict[str, str] | None = None) -> re.Pattern:
    """A regular expression for the real lines an example's line stands for."""
    names = names or {}
    by_length = sorted(names, key=len, reverse=True)
    named = re.compile("|".join(re.escape(name) for name in by_length)) if names else None
    parts, position = [], 0
    while position < len(line):
        own = named.match(line, position) if named else None
        if own:
            parts.append(re.escape(names[own.group(0)]))
            position = own.end()
            continue
        free = _FREE.match(line, position)
        if free:
            parts.append(_FREE_PATTERNS[free.lastgroup])
            position = free.end()
            continue
        parts.append(re.escape(line[position]))
        position += 1
    return re.compile("".join(parts))


def unmatched(example: list[str], real_lines: list[str], names: dict[str, str] | None = None) -> list[str]:
    """The example's lines that match no real line after the previous match ([] when all match)."""
    missing, position = [], 0
    for line in example:
        pattern = line_pattern(line, names)
        found = next((at for at in range(position, len(real_lines)) if pattern.fullmatch(real_lines[at])), None)
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing


def assert_shown(example: list[str], real_output: str | list[str], names: dict[str, str] | None = None) -> None:
    real_lines = real_output.splitlines() if isinstance(real_output, str) else list(real_output)
    missing = unmatched(example, real_lines, names)
    assert not missing, ("the docs show lines that the real output has not (in this order):\n"
                         + "\n".join(missing) + "\n--- real output\n" + "\n".join(real_lines[-200:]))
