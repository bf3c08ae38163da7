"""A code_path archive in another language than the algorithm's (issue 21), against running localclusters:
preflight names the archive, its language and the algorithm's, and algo_deploy refuses it before it
creates anything; every problem names the algorithm's language."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.collection import ensure_importable
from tests.integration.modules_support import run_module

ensure_importable()

# pylint: disable=wrong-import-position
from ansible_collections.algorithmia.testbench.plugins.modules import algo_deploy, algo_preflight  # noqa: E402

JAVA = {"pom.xml": b"<project><artifactId>hello_java</artifactId></project>\n",
        "src/main/java/algorithmia/hello_java/hello_java.java":
            b"package algorithmia.hello_java;\npublic class hello_java { public String apply(String s) { return s; } }\n"}
NO_MAIN = {"package.json": b"{}\n", "src/one.js": b"", "src/two.js": b""}


def tar_gz(files: dict[str, bytes], top: str) -> bytes:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return stream.getvalue()


@pytest.fixture(scope="module")
def connection(cluster, source_cluster):
    client = source_cluster.client()
    client.dir("data://.my/testbench_code").create()
    client.file("data://.my/testbench_code/hello_java.tar.gz").put(tar_gz(JAVA, "hello_java"))
    client.file("data://.my/testbench_code/no_main.tar.gz").put(tar_gz(NO_MAIN, "no_main"))
    return {"api_address": cluster.url, "api_key": cluster.key,
            "source_api_address": source_cluster.url, "source_api_key": source_cluster.key}


def algorithm(name, language, code_path):
    return {"name": name, "environment": {"language": language}, "code_path": code_path, "template_dir": None,
            "data_files": [], "calls": []}


def test_preflight_names_the_archive_its_language_and_the_algorithms(connection, source_cluster, capsys):
    workflow = {"name": "mixed", "run_only": False, "algorithms": [
        algorithm("hello_java", "python3", "data://.my/testbench_code/hello_java.tar.gz"),
        algorithm("no_main", "python3", "data://.my/testbench_code/no_main.tar.gz"),
        algorithm("fine_java", "java", "data://.my/testbench_code/hello_java.tar.gz")]}
    result = run_module(algo_preflight, dict(connection, workflows=[workflow], cluster_name="dest"), capsys)
    assert not result.get("failed"), result.get("msg")
    archives = [problem for problem in result["problems"] if ".code_path: " in problem]
    assert archives == [
        "dest ({0}): workflow mixed, $.algorithms[0].code_path: the archive data://{1}/testbench_code/hello_java.tar.gz "
        "is a Java template (pom.xml, src/main/java/algorithmia/hello_java/hello_java.java) but language is python3, "
        "which builds Python templates (requirements.txt, src/<Name>.py). Fix: set language to java, or give the "
        "algorithm a Python template.".format(connection["api_address"], source_cluster.user),
        "dest ({0}): workflow mixed, $.algorithms[1].code_path: the archive data://{1}/testbench_code/no_main.tar.gz: "
        "cannot tell the algorithm's language and main file: a JavaScript template (package.json) needs "
        "src/no_main.js; main files found: src/one.js, src/two.js; expected src/no_main.py or src/Algorithm.py, found "
        "no Python file in src/. A template holds, by language: JavaScript: package.json, src/<Name>.js; Java: pom.xml, "
        "src/main/java/algorithmia/<Name>/<Name>.java; Ruby: Gemfile, src/<Name>.rb; Scala: build.sbt, "
        "src/main/scala/algorithmia/<Name>/<Name>.scala; R: packages.txt, src/<Name>.R; Rust: Cargo.toml, src/lib.rs; "
        "C#: <Name>.csproj, src/<Name>.cs; Python: requirements.txt, src/<Name>.py (or src/Algorithm.py). Fix: rebuild "
        "the archive from the algorithm's source in its language's layout.".format(
            connection["api_address"], source_cluster.user)]
    assert result["algorithms"] == [
        {"workflow": "mixed", "name": "hello_java", "language": "python3, 'Python 3.7'"},
        {"workflow": "mixed", "name": "no_main", "language": "python3, 'Python 3.7'"},
        {"workflow": "mixed", "name": "fine_java", "language": "java, 'Java 11.0'"}]
    # every other problem of an algorithm names its language
    others = [problem for problem in result["problems"] if problem not in archives]
    assert all(" (java, 'Java 11.0'): " in problem for problem in others), others


def test_algo_deploy_refuses_an_archive_in_another_language_before_any_change(cluster, connection, capsys):
    algorithms = [{"name": "DeployFirst", "language": "python3",
                   "code_path": "data://.my/testbench_code/hello_java.tar.gz"}]
    starts = len(cluster.request_log())
    result = run_module(algo_deploy, dict(connection, algorithms=algorithms), capsys)
    assert result.get("failed") is True
    assert result["step"] == "build and publish DeployFirst"
    assert "template hello_java is a Java template (pom.xml, src/main/java/algorithmia/hello_java/hello_java.java) " \
           "but language is python3" in result["msg"] and "Nothing was pushed" in result["msg"]
    assert result["failed_algorithm"]["language"] == "python3, 'Python 3.7'"
    assert result["algorithms"] == [] and result["changed"] is False
    writes = [entry for entry in cluster.request_log()[starts:] if entry["method"] not in ("GET", "HEAD")]
    assert writes == [], writes
    assert cluster.client().algo(f"{cluster.user}/DeployFirst").exists() is False
