"""What the AEMS masters offer: the environment specifications a cluster can sync.

A real cluster pulls environment images from an AEMS master (``prod`` or ``test``); the ids
below are each master's own, so an algorithm created with an environment id from one master
is refused by a cluster that only synced the other, as on real clusters. Display names are the
ones real clusters show, which is what the testbench's language shorthands are matched on.

Every localcluster environment runs on the host's Python 3 (see the package docstring): the
names say what a real cluster would run, not what runs here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MASTERS = ("prod", "test")
DEFAULT_MASTER = "prod"


def _language_configuration(display_name: str) -> str:
    # Real clusters return this as a JSON *string* (the langpack's config file, verbatim).
    config = {
        "display_name": display_name,
        "req_files": ["requirements.txt"],
        "artifacts": [
            {"source": "/home/algo/.local", "destination": "/home/algo/.local/"},
            {"source": "/opt/algorithm", "destination": "/opt/algorithm/"},
        ],
    }
    return json.dumps(config, indent=4) + "\n"


LANGUAGES: dict[str, dict] = {
    name: {"name": name, "display_name": display, "configuration": _language_configuration(display)}
    for name, display in (("python2", "Python 2.x (Environments)"), ("python3", "Python 3.x (Environments)"))
}

# settings.language values of the pre-AEMS API (algorithms.md) -> AEMS language name.
LEGACY_LANGUAGES = {"python3-1": "python3", "python2-langpack": "python2", "python2-lackpack": "python2",
                    "python3": "python3", "python2": "python2", "python": "python3"}

# The testbench's language shorthands and the display name each one selects.
SHORTHAND_DISPLAY_NAMES = {
    "python3": "Python 3.7",
    "python2": "Python 2.7",
    "pytorch": "Python 3.8 + PyTorch 1.x",
    "tensorflow-2.3": "Python 3.7 + TensorFlow 2.3",
    "tensorflow-1.14": "Python 3.7 + TensorFlow GPU 1.14",
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
)

CATALOG: tuple[EnvironmentSpec, ...] = tuple(
    EnvironmentSpec(master=master, environment_id=env_id, spec_id=spec_id, display_name=display,
                    description=description, language=language, machine_type=machine,
                    created_at="2021-06-03T18:03:14.704")
    for display, description, language, machine, prod_env, prod_spec, test_env, test_spec in _ROWS
    for master, env_id, spec_id in (("prod", prod_env, prod_spec), ("test", test_env, test_spec))
)

# What a fresh cluster has installed: enough to create Python 3 algorithms, so that syncing
# the others (the testbench's DESTINATION_AEMS_MASTER flow) is a real step.
PREINSTALLED_SPEC_IDS = ("8e0e5a2a-4b35-4a51-9b5c-2f1d0f3e4c11",)


def master_catalog(master: str) -> list[EnvironmentSpec]:
    return [spec for spec in CATALOG if spec.master == master]


def find_spec(spec_id: str) -> EnvironmentSpec | None:
    return next((spec for spec in CATALOG if spec.spec_id == spec_id), None)


def find_environment(environment_id: str) -> EnvironmentSpec | None:
    return next((spec for spec in CATALOG if spec.environment_id == environment_id), None)
