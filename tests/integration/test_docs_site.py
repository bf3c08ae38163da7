"""The docs site as `make docs` builds it (tools/build_docs.py: antsibull-docs, then Sphinx with every
warning an error), opened in headless Chromium: its index links every module, the workflow lookup and
the testbench role, and the usage guide and the localcluster page are reachable from it and are the
Markdown files of docs/ as written. And antsibull-docs' linter finds nothing in the collection's docs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.integration.browser import browser_page
from tests.integration.playbook import ROOT, VENV_BIN, ansible_env, ensure_collection_link

COLLECTION_PAGES = "collections/algorithmia/testbench/"
# What the index must link: every module of plugins/modules/, the lookup, the callback, the role.
PLUGIN_PAGES = {f"algorithmia.testbench.{path.stem} module": f"{path.stem}_module.html"
                for path in sorted((ROOT / "plugins" / "modules").glob("*.py")) if path.name != "__init__.py"}
PLUGIN_PAGES["algorithmia.testbench.workflow lookup"] = "workflow_lookup.html"
PLUGIN_PAGES["algorithmia.testbench.preload callback"] = "preload_callback.html"
PLUGIN_PAGES["algorithmia.testbench.testbench role"] = "testbench_role.html"


def test_antsibull_docs_lint_finds_nothing():
    """The check community collections run in CI: every module's, plugin's and the role's
    documentation renders (markup, references to other plugins and options), and the extra docs of
    docs/docsite/ are well-formed, with valid references."""
    ensure_collection_link()
    done = subprocess.run([str(VENV_BIN / "antsibull-docs"), "lint-collection-docs", "--plugin-docs",
                           "--check-extra-docs-refs", "."], cwd=ROOT, env=ansible_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built by the command `make docs` runs, into a directory of this test."""
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(PY) tools/build_docs.py --output build/docs\n" in makefile, "make docs no longer runs tools/build_docs.py"
    output = tmp_path_factory.mktemp("docs")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--output", str(output)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    said = done.stdout + done.stderr
    # Sphinx runs with -W --keep-going: a warning fails the build, and every warning is printed.
    assert done.returncode == 0, said
    assert "warning" not in said.lower(), said
    return output / "html"


def _headings(markdown: Path) -> tuple[str, list[str]]:
    """The title (the `# ` heading) and the `## ` headings of a Markdown file, as a page shows them."""
    title, sections, fenced = None, [], False
    for line in markdown.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("# ") and title is None:
            title = line[2:].replace("`", "")
        elif not fenced and line.startswith("## "):
            sections.append(line[3:].replace("`", ""))
    return title, sections


def _plain(text: str) -> str:
    """Text as written: no permalink sign after a heading (the theme's icon or Sphinx's pilcrow), straight
    quotes where Sphinx made them curly, single spaces."""
    text = re.sub("[\u00b6\uf0c1]", "", text).translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))
    return re.sub(r"\s+", " ", text).strip()


def _shown_headings(page, tag: str) -> list[str]:
    return [_plain(text) for text in page.locator(tag).all_inner_texts()]


def _links(page) -> dict[str, str]:
    """Each link of the page's content (not its navigation) by its text."""
    found = page.locator("div[itemprop=articleBody] a[href]").evaluate_all(
        "links => links.map(link => [link.innerText, link.href])")
    return {_plain(text): href for text, href in found}


def _link_named(links: dict[str, str], name: str) -> str | None:
    """The link whose text is the plugin's name and its short description."""
    return next((href for text, href in links.items() if text.startswith(name + " ")), None)


def _open_guide(page, index: str, link_text: str, markdown: Path) -> None:
    """Follows the index's link to a guide and finds the Markdown file's title and every section."""
    page.goto(index)
    page.locator("div[itemprop=articleBody] a", has_text=link_text).first.click()
    page.wait_for_load_state("load")
    title, sections = _headings(markdown)
    assert _shown_headings(page, "h1") == [title], page.url
    shown = _shown_headings(page, "h2")
    assert [section for section in sections if section not in shown] == [], (page.url, shown)


def test_the_index_links_every_plugin_and_the_guides(site, tmp_path):
    index = (site / "index.html").as_uri()
    with browser_page(tmp_path) as (page, problems, requests):
        page.goto(index)
        links = _links(page)
        linked = {name: _link_named(links, name) for name in PLUGIN_PAGES}
        assert {name: href for name, href in linked.items() if href is None} == {}, sorted(links)
        for name, href in linked.items():
            assert href == (site / COLLECTION_PAGES / PLUGIN_PAGES[name]).as_uri(), name
            assert Path(urlparse(href).path).is_file(), href

        # A module's page as antsibull-docs writes it: the doc fragment's connection options merged in,
        # and the action group of module_defaults among its attributes.
        page.goto(linked["algorithmia.testbench.algo_create module"])
        text = _plain(page.locator("div[itemprop=articleBody]").inner_text())
        assert "api_key" in text and "ca_cert" in text and "Action group: algorithmia.testbench.cluster" in text
        # The role's page, from its argument specs.
        page.goto(linked["algorithmia.testbench.testbench role"])
        assert "testbench_api_key" in page.locator("div[itemprop=articleBody]").inner_text()

        _open_guide(page, index, "Using the testbench", ROOT / "docs" / "usage.md")
        assert page.url.startswith((site / COLLECTION_PAGES / "docsite").as_uri())
        _open_guide(page, index, "localcluster", ROOT / "docs" / "localcluster.md")
    assert problems == []
    assert [url for url in requests if not url.startswith("file:")] == []
