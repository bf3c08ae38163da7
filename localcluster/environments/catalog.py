"""What the AEMS masters offer: the environment specifications a cluster can sync.

A real cluster pulls environment images from an AEMS master (``prod`` or ``test``); the ids
below are each master's own, so an algorithm created with an environment id from one master
is refused by a cluster that only synced the other, as on real clusters. Display names are the
ones real clusters show, which is what the testbench's language shorthands are matched on.

Display names say what a real cluster would run, not what runs here: every Python environment
runs on the host's Python 3, JavaScript on the host's Node.js, Java on the host's JDK and Ruby on
the host's Ruby (see ``localcluster.builds.languages``). Scala, R, Rust and C# are catalogued so
clients and the testbench can select them as on a real cluster, but localcluster does not build
them: their builds fail with a build log that says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MASTERS = ("prod", "test")
DEFAULT_MASTER = "prod"


def _language_configuration(display_name: str, req_files: tuple[str, ...], artifacts: tuple[tuple[str, str], ...]) -> str:
    # Real clusters return this as a JSON *string* (the langpack's config file, verbatim).
    config: dict = {"display_name": display_name}
    if req_files:
        config["req_files"] = list(req_files)
    config["artifacts"] = [{"source": source, "destination": destination} for source, destination in artifacts]
    return json.dumps(config, indent=4) + "\n"


_PYTHON_ARTIFACTS = (("/home/algo/.local", "/home/algo/.local/"), ("/opt/algorithm", "/opt/algorithm/"))

# AEMS language name -> (display name, dependency files, build artifacts). The java11, scala-2, r36
# and csharp-dotnet-core2 rows are as real clusters list them (model-deployment_environments.md);
# javascript, ruby and rust have no documented AEMS name, so their pre-AEMS language names serve.
_LANGUAGE_ROWS = {
    "python2": ("Python 2.x (Environments)", ("requirements.txt",), _PYTHON_ARTIFACTS),
    "python3": ("Python 3.x (Environments)", ("requirements.txt",), _PYTHON_ARTIFACTS),
    "javascript": ("JavaScript Node.js (Environments)", ("package.json",),
                   (("/opt/algorithm", "/opt/algorithm/"),)),
    "java11": ("Java OpenJDK 11.0 (Environments)", (),
               (("/opt/algorithm/target/*.jar", "/opt/algorithm/target/algorithm.jar"),
                ("/opt/algorithm/target/lib", "/opt/algorithm/target/lib/"))),
    "ruby": ("Ruby (Environments)", ("Gemfile",), (("/opt/algorithm", "/opt/algorithm/"),)),
    "scala-2": ("Scala 2.x & sbt 1.3.x (Environments)", (),
                (("/opt/algorithm/target/universal/stage", "/opt/algorithm/stage/"),)),
    "r36": ("R 3.6.x (Environments)", ("packages.txt",),
            (("/opt/algorithm", "/opt/algorithm/"),
             ("/usr/local/lib/R/site-library", "/usr/local/lib/R/site-library/"))),
    "rust": ("Rust (Environments)", ("Cargo.toml",), (("/opt/algorithm/target/release", "/opt/algorithm/"),)),
    "csharp-dotnet-core2": ("C# .NET Core 2.x+ (Environments)", (),
                            (("/opt/algorithm/bin/Release/*/*", "/opt/algorithm/"),
                             ("/opt/algorithm/resources", "/opt/algorithm/resources/"),
                             ("/home/algo/.nuget", "/home/algo/.nuget/"))),
}

LANGUAGES: dict[str, dict] = {
    name: {"name": name, "display_name": display, "configuration": _language_configuration(display, req, artifacts)}
    for name, (display, req, artifacts) in _LANGUAGE_ROWS.items()
}

# settings.language values of the pre-AEMS API (algorithms.md) -> AEMS language name.
LEGACY_LANGUAGES = {"python3-1": "python3", "python2-langpack": "python2", "python2-lackpack": "python2",
                    "python3": "python3", "python2": "python2", "python": "python3",
                    "javascript": "javascript", "java": "java11", "java11": "java11", "ruby": "ruby",
                    "scala": "scala-2", "scala-2": "scala-2", "r": "r36", "r36": "r36", "rust": "rust",
                    "csharp": "csharp-dotnet-core2", "csharp-dotnet-core2": "csharp-dotnet-core2"}

# The testbench's language shorthands and the display name each one selects.
SHORTHAND_DISPLAY_NAMES = {
    "python3": "Python 3.7",
    "python2": "Python 2.7",
    "pytorch": "Python 3.8 + PyTorch 1.x",
    "tensorflow-2.3": "Python 3.7 + TensorFlow 2.3",
    "tensorflow-1.14": "Python 3.7 + TensorFlow GPU 1.14",
    "javascript": "Node.js 20",
    "java": "Java 11.0",
    "ruby": "Ruby 3.1",
    "scala": "Scala 2.x",
    "r": "R 3.6",
    "rust": "Rust 1.x",
    "csharp": "C# .NET Core 2.x",
}


@dataclass(frozen=True)
class EnvironmentSpec:
    master: str
    environment_id: str
    spec_id: str
    display_name: str
    description: str
    language: str
    machine_type: str  # "CPU" or "GPU"
    created_at: str

    def to_api(self) -> dict:
        return {
            "id": self.environment_id,
            "environment_specification_id": self.spec_id,
            "display_name": self.display_name,
            "description": self.description,
            "created_at": self.created_at,
            "language": dict(LANGUAGES[self.language]),
            "machine_type": self.machine_type,
        }


# (display name, description, language, machine type, prod env id, prod spec id, test env id, test spec id)
_ROWS = (
    ("Python 3.7", "Python 3.7 installation", "python3", "CPU",
     "4beb6189-3e18-4a7a-a466-473bebe68a9f", "8e0e5a2a-4b35-4a51-9b5c-2f1d0f3e4c11",
     "b1f3c6d2-7f3a-4a44-9a57-0a9c1e0e7a31", "0d6f4a8e-3c55-4b0e-8f77-51a2c9d1e6a2"),
    ("Python 3.8", "Python 3.8 installation", "python3", "CPU",
     "c0a9e1f4-2b6d-4e8a-9c3f-7d5b1a2e4f60", "5f2c8e1d-9a4b-4c7e-b1d3-6e8f0a2c4b71",
     "e7d1b3a9-4c2f-4d6e-8a0b-3f5c7e9a1d82", "2a4c6e8f-1b3d-4f5a-9c7e-0d2f4a6c8e93"),
    ("Python 2.7", "Python 2.7 installation", "python2", "CPU",
     "f7ed7c9b-d205-48ef-9ddf-61880b96c1f4", "a3c5e7f9-2d4f-4a6c-8e0a-1b3d5f7a9c04",
     "9b1d3f5a-7c9e-4b2d-a4f6-8e0c2a4e6b15", "6d8f0b2d-4f6a-4c8e-b0d2-3a5c7e9b1d26"),
    ("Python 3.7 + TensorFlow GPU 1.14", "Python 3.7 installation with CUDA 10.0 and TensorFlow 1.14 installed",
     "python3", "GPU",
     "27d3d02d-1da0-4868-986e-e0c6937e7d16", "1f3b5d7f-9a2c-4e4a-8c6e-0b2d4f6a8c37",
     "3e5a7c9e-1b4d-4f6b-a8d0-2c4e6a8c0e48", "7a9c1e3a-5c7e-4a9c-b1e3-5f7a9c1e3a59"),
    ("Python 3.7 + TensorFlow 2.3", "Python 3.7 installation with TensorFlow 2.3 installed", "python3", "CPU",
     "e9c1291c-1295-41b9-a4c5-30f7f44920aa", "4c6e8a0c-2e4a-4c6e-9a0c-6b8d0f2b4d60",
     "8d0f2b4d-6f8b-4d0f-b2d4-7c9e1a3c5e71", "0e2a4c6e-8a0c-4e2a-a4c6-9d1f3b5d7f82"),
    ("Python 3.8 + TensorFlow GPU 2.3", "Python 3.8 installation with CUDA 10.1 and TensorFlow 2.3 installed",
     "python3", "GPU",
     "fd980f4f-1f1c-4b2f-a128-d60b40c6567a", "36fd467e-fbfe-4ea6-aa66-df3f403b7132",
     "5b7d9f1b-3d5f-4b7d-a9f1-0e2a4c6e8a93", "9c1e3a5c-7e9a-4c1e-b3a5-1f3b5d7f9ba4"),
    ("Python 3.8 + PyTorch 1.x", "Python 3.8 installation with CUDA 10.2 and PyTorch 1.x installed",
     "python3", "GPU",
     "5b027084-5fa7-431a-bdbd-f4f8eefc6ae1", "02b3117b-08c3-4575-8982-a7038c139c5e",
     "2d4f6b8d-0f2b-4d4f-a6b8-2a4c6e8a0cb5", "6e8a0c2e-4a6c-4e8a-b0c2-3b5d7f9b1dc6"),
    ("Python 3.7 + MXNet 1.3.1", "Python 3.7 installation with CUDA 9.0 and MXNet 1.3.1 installed",
     "python3", "GPU",
     "ea8f42fe-ea59-4eab-920a-09176729b4fa", "c6d34b46-0851-455d-97f5-ea8fd8b70552",
     "1a3c5e7a-9c1e-4a3c-a5e7-4c6e8a0c2ed7", "5b7d9f1b-3d5f-4b7d-b9f1-5d7f9b1d3fe8"),
    ("Node.js 20", "Node.js 20 with npm", "javascript", "CPU",
     "07726ca2-8f3c-5066-ba97-28d4b6548f20", "51365f10-fd68-5682-8d7e-9b8e0a638fe3",
     "5bc918a1-e5d6-54b2-8d51-ffbce4ab4739", "289029c6-1825-5f42-bd6c-1ab54fd50e0f"),
    ("Java 11.0", "OpenJDK 11 with Maven dependencies", "java11", "CPU",
     "d56ed6bf-ec0d-561b-b4f7-4ef4f27d76a8", "c0d1e118-e226-5d5c-9745-3edacfd83b0f",
     "a0071164-7358-5b6f-b706-e7a53afe39b6", "77ced6bb-a145-5bea-9e75-044c67d5963b"),
    ("Ruby 3.1", "Ruby 3.1 with Bundler", "ruby", "CPU",
     "78062027-57e6-5fd1-b43e-7c56ecde51a5", "c3243ba6-0072-592b-980f-ad304e97f5cb",
     "8e7b5b9e-4448-5222-80f0-5f5d9bc36281", "1d5b4fd9-7a51-520c-ae8b-4cca3e541092"),
    ("Scala 2.x", "Scala 2.x with sbt 1.3.x", "scala-2", "CPU",
     "04cb4613-0a8b-5f0d-abd6-7975f003e488", "7569fca1-ac8e-5c2a-8376-f44126c4eb1c",
     "ddec260a-16d8-5960-84db-9bc53b845087", "1c388e62-d8b9-50e2-a386-e9602ed561ef"),
    ("R 3.6", "R 3.6 with CRAN packages", "r36", "CPU",
     "03d81af8-065c-5e37-a475-a90e32c3a613", "e9532884-0a6e-5f2f-b506-3a1a75c914d7",
     "fbbda29d-c6a6-5ba0-8d27-1564dccc12f7", "40279539-9ab6-54c7-aee2-b271caa4fed9"),
    ("Rust 1.x", "Rust 1.x with Cargo", "rust", "CPU",
     "25eaf3a5-ad12-543e-ae16-51ca0a54d5b7", "ccf4e2b3-c8aa-5445-8496-00ae02dec45f",
     "79254c5f-49f7-581a-9243-0db2fdae5701", "f5ecc08a-d193-54b3-8cc6-59881213d059"),
    ("C# .NET Core 2.x", "C# on .NET Core 2.x", "csharp-dotnet-core2", "CPU",
     "f00c27e3-f024-55a6-8db6-0b84396aa19d", "2e943483-ba8c-58a4-bb68-562a06970c1d",
     "88c29e21-c592-56e6-a4ca-e6344689a339", "7ab760a3-2125-502f-b1b2-37b3691cb2d9"),
)

CATALOG: tuple[EnvironmentSpec, ...] = tuple(
    EnvironmentSpec(master=master, environment_id=env_id, spec_id=spec_id, display_name=display,
                    description=description, language=language, machine_type=machine,
                    created_at="2021-06-03T18:03:14.704")
    for display, description, language, machine, prod_env, prod_spec, test_env, test_spec in _ROWS
    for master, env_id, spec_id in (("prod", prod_env, prod_spec), ("test", test_env, test_spec))
)

# What a fresh cluster has installed: the plain environment of each language (prod master), so
# that syncing the others (the testbench's DESTINATION_AEMS_MASTER flow) is a real step.
PREINSTALLED_SPEC_IDS = (
    "8e0e5a2a-4b35-4a51-9b5c-2f1d0f3e4c11",  # Python 3.7 (first: the default of tests that take one)
    "51365f10-fd68-5682-8d7e-9b8e0a638fe3",  # Node.js 20
    "c0d1e118-e226-5d5c-9745-3edacfd83b0f",  # Java 11.0
    "c3243ba6-0072-592b-980f-ad304e97f5cb",  # Ruby 3.1
    "7569fca1-ac8e-5c2a-8376-f44126c4eb1c",  # Scala 2.x
    "e9532884-0a6e-5f2f-b506-3a1a75c914d7",  # R 3.6
    "ccf4e2b3-c8aa-5445-8496-00ae02dec45f",  # Rust 1.x
    "2e943483-ba8c-58a4-bb68-562a06970c1d",  # C# .NET Core 2.x
)


def master_catalog(master: str) -> list[EnvironmentSpec]:
    return [spec for spec in CATALOG if spec.master == master]


def find_spec(spec_id: str) -> EnvironmentSpec | None:
    return next((spec for spec in CATALOG if spec.spec_id == spec_id), None)


def find_environment(environment_id: str) -> EnvironmentSpec | None:
    return next((spec for spec in CATALOG if spec.environment_id == environment_id), None)
