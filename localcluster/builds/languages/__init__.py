"""Each language's build step, by the AEMS language of an algorithm's environment.

    base.py         the contract: BuildContext in, WorkerSpec out (how to start a worker)
    python.py       python2, python3: a venv, requirements.txt, runner.py
    javascript.py   javascript: node, package.json from the npm registry, runners/javascript
    java.py         java11: javac against the host JDK and Debian's jars, runners/java
    ruby.py         ruby: the host's ruby, Gemfile from the standard library and Debian, runners/ruby
    unbuildable.py  scala-2, r36, rust, csharp-dotnet-core2: catalogued, the build fails saying why

A language module has ``build(context) -> WorkerSpec``, raising ``BuildFailed``, and
``starter(name) -> {path: text}``: what a new algorithm's repository holds after "create".
"""

from __future__ import annotations

import importlib

# AEMS language -> the module that builds it.
MODULES = {
    "python2": "python",
    "python3": "python",
    "javascript": "javascript",
    "java11": "java",
    "ruby": "ruby",
    "scala-2": "unbuildable",
    "r36": "unbuildable",
    "rust": "unbuildable",
    "csharp-dotnet-core2": "unbuildable",
}


def builder(language: str):
    """The ``build`` function of ``language`` (an AEMS language name); unknown ones cannot be built."""
    module = MODULES.get(language, "unbuildable")
    return importlib.import_module(f"{__name__}.{module}").build


def starter(language: str, name: str) -> dict[str, str]:
    """The files of a new ``language`` algorithm's first commit, as a real cluster lays them out."""
    module = MODULES.get(language, "unbuildable")
    return importlib.import_module(f"{__name__}.{module}").starter(name)
