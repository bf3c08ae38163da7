"""Ruby: the host's ruby (Debian's ``ruby`` package), gems from this machine, ``runners/ruby``.

The algorithm is ``src/<Name>.rb`` defining ``def apply(input)`` (optionally ``def load``), with its
gems in a ``Gemfile``. A real cluster runs Bundler against RubyGems, which this machine cannot
reach, so the build takes each gem the Gemfile asks for from what is installed here: Ruby's own
gems (json, csv, minitest, ...) and Debian's ``ruby-*`` packages. A gem that is not installed, or
is to be fetched from git or a path, fails the build with the Gemfile line and what would provide
it; the official ``algorithmia`` gem is not available, so algorithms call the API with net/http
(``ALGORITHMIA_API``, ``ALGORITHMIA_API_KEY``).

Steps, each in the build log: the toolchain (``ruby --version``), ``ruby -c`` on the main file (a
syntax error fails with ruby's message), the Gemfile (``runners/ruby/gemfile.rb`` writes the gems
it found to ``gems.json`` in the build directory, which the runner activates at those versions).
The pipeline's load check then requires the algorithm as a worker does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec, in_build

RUNNER_DIR = Path(__file__).resolve().parent.parent.parent / "execution" / "runners" / "ruby"
RUNNER = RUNNER_DIR / "runner.rb"
GEMFILE_STEP = RUNNER_DIR / "gemfile.rb"
# Source files are UTF-8 by default; -E makes files the algorithm reads UTF-8 too, whatever the
# server's locale (a real cluster's image runs in a UTF-8 locale). Without error_highlight, an
# error's message is the message, not a drawing of the source line under it.
RUBY_FLAGS = ("-EUTF-8", "--disable-error_highlight")


def build(context: BuildContext) -> WorkerSpec:
    log, checkout = context.runner.log, context.checkout
    main = checkout / "src" / f"{context.name}.rb"
    if not main.is_file():
        raise BuildFailed(f"No algorithm entry point: expected src/{context.name}.rb defining apply(input).")
    ruby = shutil.which("ruby")
    if ruby is None:
        raise BuildFailed("ruby is not installed on this machine: Ruby algorithms run on Debian's ruby package "
                          "(apt-get install ruby; `make toolchains` installs it).")
    log.line(f"Ruby toolchain: {ruby}")
    context.runner.run([ruby, "--version"])

    log.line(f"Checking the syntax of src/{context.name}.rb (ruby -c)")
    code, output = context.runner.run([ruby, *RUBY_FLAGS, "-c", f"src/{context.name}.rb"], cwd=checkout)
    if code != 0:
        first = next((line for line in output.splitlines() if line.strip()), f"exit code {code}")
        raise BuildFailed(f"src/{context.name}.rb does not compile: {first}")

    gems = context.work / "gems.json"
    if (checkout / "Gemfile").is_file():
        log.line("Resolving the Gemfile against the gems installed on this machine (Ruby's own and Debian's "
                 "ruby-* packages; RubyGems is not reachable from here)")
        code, _output = context.runner.run([ruby, str(GEMFILE_STEP), "Gemfile", str(gems)], cwd=checkout)
        if code != 0:
            raise BuildFailed(_gemfile_failure(gems, code))
    else:
        log.line("No Gemfile: the algorithm uses Ruby's standard library only.")
        gems.write_text(json.dumps({"gems": [], "unmet": [], "problems": []}))

    return WorkerSpec(
        argv=(ruby, *RUBY_FLAGS, str(RUNNER), "--main", in_build(main, context), "--gems", in_build(gems, context)),
        style="ruby", main_file=main.relative_to(checkout).as_posix())


def _gemfile_failure(gems: Path, code: int) -> str:
    """The build log's last word on a Gemfile that cannot be had here (the lines above say each why)."""
    try:
        found = json.loads(gems.read_text())
        unmet, problems = found["unmet"], found["problems"]
    except (OSError, ValueError, KeyError):
        return f"Reading the Gemfile failed (exit code {code}): see the output above."
    if unmet:
        return (f"The Gemfile asks for gems this machine does not have: {', '.join(unmet)}. They would come from "
                "RubyGems, which this machine cannot reach: a Ruby algorithm here uses Ruby's own gems and those "
                "installed from Debian's ruby-* packages (see above).")
    return f"The Gemfile cannot be used here: {' '.join(problems)}"


def starter(name: str) -> dict[str, str]:
    """A new Ruby algorithm's files, laid out as real clusters do (Gemfile, src/<Name>.rb and its
    minitest). A real cluster's starter also asks for the ``algorithmia`` gem and requires it; that
    gem comes from RubyGems, which this machine cannot reach, so here the starter does without it
    and builds as it is."""
    return {
        "Gemfile": 'source "https://rubygems.org"\n',
        f"src/{name}.rb": (
            "# API calls will begin at the apply() method, with the request body passed as 'input'\n"
            "# For more details, see algorithmia.com/developers/algorithm-development/languages\n"
            "def apply(input)\n"
            "  \"hello #{input}\"\n"
            "end\n"
        ),
        f"src/{name}_test.rb": (
            "require 'minitest/autorun'\n"
            f"require_relative '{name}'\n"
            "\n"
            f"class {name[:1].upper()}{name[1:]}Test < Minitest::Test\n"
            f"  def test_{name}\n"
            "    assert_equal 'hello Jane', apply('Jane')\n"
            "  end\n"
            "end\n"
        ),
    }
