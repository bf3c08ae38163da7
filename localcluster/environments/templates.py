"""The starter files of a new algorithm's repository and of an environment's template download.

``classic_template`` is what a new Python algorithm's repository holds after "create", as real
clusters lay it out (``src/<Name>.py`` with ``apply``, its test, ``requirements.txt``);
``adk_template`` is the ADK layout (``src/Algorithm.py``) that AEMS environment templates use.
"""

from __future__ import annotations

import io
import tarfile
import time

CLASSIC_REQUIREMENTS = "algorithmia>=1.0.0,<3.0\n"
ADK_REQUIREMENTS = "algorithmia>=2.0,<3.0\n"


def classic_template(name: str) -> dict[str, str]:
    return {
        "requirements.txt": CLASSIC_REQUIREMENTS,
        "src/__init__.py": "",
        f"src/{name}.py": (
            "import Algorithmia\n"
            "\n"
            "# API calls will begin at the apply() method, with the request body passed as 'input'\n"
            "# For more details, see algorithmia.com/developers/algorithm-development/languages\n"
            "def apply(input):\n"
            "    return \"hello {}\".format(input)\n"
        ),
        f"src/{name}_test.py": (
            f"from . import {name}\n"
            "\n"
            f"def test_{name}():\n"
            f"    assert {name}.apply(\"Jane\") == \"hello Jane\"\n"
        ),
    }


def adk_template() -> dict[str, str]:
    return {
        "requirements.txt": ADK_REQUIREMENTS,
        "src/__init__.py": "",
        "src/Algorithm.py": (
            "from Algorithmia import ADK\n"
            "\n"
            "\n"
            "# API calls will begin at the apply() method, with the request body passed as 'input'\n"
            "# For more details, see algorithmia.com/developers/algorithm-development/languages\n"
            "def apply(input):\n"
            "    return \"hello {}\".format(input)\n"
            "\n"
            "\n"
            "# init() runs the algorithm: on the platform it serves requests, locally it runs once\n"
            "# on the payload given here and prints the result.\n"
            "algorithm = ADK(apply)\n"
            "algorithm.init(\"Algorithmia\")\n"
        ),
        "src/Algorithm_test.py": (
            "from . import Algorithm\n"
            "\n"
            "def test_algorithm():\n"
            "    assert Algorithm.apply(\"Jane\") == \"hello Jane\"\n"
        ),
    }


def as_tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
