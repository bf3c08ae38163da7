"""The catalogued languages localcluster does not build: their builds fail, saying why.

A real cluster builds Scala with sbt, R from CRAN, Rust with Cargo and C# with the .NET SDK.
Every one of those fetches its dependencies from a registry this machine cannot reach (only the
Python package index, Debian's packages and the npm registry are), so a build here could not
be honest: it fails at once, and the testbench's failure path for a language a cluster cannot
build is exercised by them.
"""

from __future__ import annotations

from localcluster.builds.languages.base import BuildContext, BuildFailed, WorkerSpec

WHY = {
    "scala-2": "Scala builds need sbt and the Scala library from Maven Central, which this machine cannot reach",
    "r36": "R algorithms need the algorithmia package and their packages.txt from CRAN, which this machine "
           "cannot reach",
    "rust": "Rust builds need the algorithmia crate and their Cargo.toml dependencies from crates.io, which this "
            "machine cannot reach",
    "csharp-dotnet-core2": "C# builds need the .NET SDK and NuGet packages, which are neither Debian packages "
                           "nor reachable from this machine",
}


def build(context: BuildContext) -> WorkerSpec:
    why = WHY.get(context.language, "no build step is known for it")
    raise BuildFailed(f"this localcluster cannot build {context.language} ({context.environment}): {why}. "
                      "localcluster builds Python, JavaScript, Java and Ruby; run this language's algorithms "
                      "on a real cluster.")


def starter(name: str) -> dict[str, str]:
    """No starter code: it could never build here. The README says so."""
    return {"README.md": f"# {name}\n\nThis localcluster does not build this algorithm's language: {name}'s "
                         "builds fail, saying why. Push the algorithm's sources here to see the build log.\n"}
