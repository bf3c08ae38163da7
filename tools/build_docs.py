"""`make docs`: the docs site of the collection, built the way community collections build theirs.

What `antsibull-docs sphinx-init` writes into build.sh, from the files in this checkout:

1. antsibull-docs writes the rst pages of the installed collection (this checkout, through the
   .collections link of ansible.cfg): a page per module, the workflow lookup and the testbench role
   (from its argument specs), the collection's index with its action group, links (galaxy.yml,
   docs/docsite/links.yml) and guides (the "extra docs" of docs/docsite/), and the plugin indexes;
2. the guides written in Markdown take the place of their rst pages: antsibull-docs reads only rst,
   and its linter checks extra docs file by file (no include), so docs/docsite/rst/usage.rst is a
   short page for docs sites built from the installed collection, and this site renders docs/usage.md
   (myst-parser) under the same name instead. The project's own pages (docs/localcluster.md:
   localcluster is not part of the collection) go beside the site's index (docs/sphinx/index.rst);
3. Sphinx builds the HTML with docs/sphinx/conf.py, every warning an error.

    python tools/build_docs.py [--output build/docs]     # the site is OUTPUT/html/index.html

Nothing is fetched: antsibull-docs reads the collection with ansible-doc, and the site has no
intersphinx (see docs/sphinx/conf.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = "algorithmia.testbench"
SPHINX_DIR = ROOT / "docs" / "sphinx"
# Where antsibull-docs puts the extra docs (docs/docsite/rst/) in the site's sources.
EXTRA_DOCS_IN_SITE = Path("collections", *COLLECTION.split("."), "docsite")
# Extra docs whose text is a Markdown guide: page of docs/docsite/rst/ -> the guide it stands for.
MARKDOWN_GUIDES = {"usage.rst": ROOT / "docs" / "usage.md"}
# Pages of the project around the collection (not shipped with it, so not extra docs): site page -> source.
PROJECT_PAGES = {"localcluster.md": ROOT / "docs" / "localcluster.md"}


def _tools_env() -> dict:
    """ansible-doc (which antsibull-docs runs) from this Python's environment, finding this checkout
    as the installed collection."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update({"PATH": bin_dir + os.pathsep + env.get("PATH", ""),
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections")})
    return env


def _ensure_collection_link() -> None:
    """What `make collections-link` does: this checkout is the installed collection."""
    link = ROOT / ".collections" / "ansible_collections" / Path(*COLLECTION.split("."))
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../../.."))


def _run(command: list[str]) -> None:
    print("+ " + " ".join(command), flush=True)
    done = subprocess.run(command, cwd=ROOT, env=_tools_env(), check=False)
    if done.returncode != 0:
        sys.exit(done.returncode)


def _render_markdown_guides(source_dir: Path) -> None:
    """Each Markdown guide replaces the rst page antsibull-docs copied for it: same page name, so the
    collection's index links it as one of its guides."""
    for page, guide in MARKDOWN_GUIDES.items():
        copied = source_dir / EXTRA_DOCS_IN_SITE / page
        if not copied.is_file():
            sys.exit("build_docs: antsibull-docs wrote no {0} (is docs/docsite/rst/{1} still an extra doc?)".format(
                copied, page))
        copied.unlink()
        shutil.copyfile(guide, copied.with_suffix(guide.suffix))


def build(output: Path) -> Path:
    """Builds the site into output/html; returns its index page."""
    source_dir = output / "rst"
    shutil.rmtree(source_dir, ignore_errors=True)
    source_dir.mkdir(parents=True)
    source_dir.chmod(0o755)  # antsibull-docs wants its output directory writable by its owner only
    _ensure_collection_link()
    bin_dir = Path(sys.executable).parent
    _run([str(bin_dir / "antsibull-docs"), "--config-file", str(SPHINX_DIR / "antsibull-docs.cfg"),
          "collection", "--use-current", "--fail-on-error", "--cleanup", "everything",
          "--dest-dir", str(source_dir), COLLECTION])
    _render_markdown_guides(source_dir)
    shutil.copyfile(SPHINX_DIR / "index.rst", source_dir / "index.rst")
    for page, source in PROJECT_PAGES.items():
        shutil.copyfile(source, source_dir / page)
    # -E: every page read again, so that every warning of every page is seen on every build.
    _run([sys.executable, "-m", "sphinx", "-M", "html", str(source_dir), str(output), "-c", str(SPHINX_DIR),
          "-E", "-W", "--keep-going", "-q"])
    return output / "html" / "index.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "docs",
                        help="the site goes into OUTPUT/html (default: build/docs)")
    args = parser.parse_args()
    index = build(args.output.resolve())
    print("docs site: {0}".format(index))


if __name__ == "__main__":
    main()
