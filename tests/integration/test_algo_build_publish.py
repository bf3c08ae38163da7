"""algo_build_publish against a real localcluster: push over git, build, test, publish, idempotence.

Builds cost seconds each, so the module shares one cluster and a few algorithms; the tests
run in file order and build on each other's versions (hello_world: 0.1.0 -> 0.2.0 -> 1.0.0 -> 1.0.1).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELLO_TEMPLATE = ROOT / "algorithms" / "hello_world"
SETTINGS = {"language": "python3-1", "source_visibility": "closed", "license": "apl", "network_access": "full",
            "pipeline_enabled": True, "environment": "cpu"}
RECEIVE_PACK = "git-receive-pack"


def playbook(*tasks, check=False):
    """A play with the connection set once through the action group (JSON is YAML)."""
    play = {
        "name": "Build and publish",
        "hosts": "localhost",
        "gather_facts": False,
        "check_mode": check,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": {"group/algorithmia.testbench.cluster": {
            "api_address": "{{ api_address }}", "api_key": "{{ api_key }}"}},
        "tasks": list(tasks),
    }
    return json.dumps([play], indent=2) + "\n"


def build_task(title="Build", **options):
    return {"name": title, "algorithmia.testbench.algo_build_publish": options, "ignore_errors": True}


def create_algorithm(cluster, name):
    cluster.client().algo(f"{cluster.user}/{name}").create(details={"label": name}, settings=SETTINGS)


def template_copy(tmp_path, name, source, requirements=None):
    """A template directory ``<tmp>/<name>/`` with ``src/<name>.py`` = ``source``."""
    directory = tmp_path / name
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "src").mkdir(parents=True)
    (directory / "src" / "__init__.py").write_text("")
    (directory / "src" / f"{name}.py").write_text(source)
    (directory / "requirements.txt").write_text(requirements or "algorithmia>=2.0,<3\n")
    return directory


def greeting(word):
    return f'def apply(input):\n    return "{word} {{}}".format(input)\n'


def receive_packs(cluster, name):
    return [e for e in cluster.request_log()
            if e["method"] == "POST" and e["path"] == f"/git/{cluster.user}/{name}.git/{RECEIVE_PACK}"]


@pytest.fixture(scope="module")
def connection(cluster):
    for name in ("hello_world", "Broken", "Checked", "FromArchive", "Malicious"):
        create_algorithm(cluster, name)
    return {"api_address": cluster.url, "api_key": cluster.key}


@pytest.fixture(scope="module")
def first_run(cluster, connection, tmp_path_factory):
    from tests.integration.playbook import run_playbook

    return run_playbook(playbook(build_task(name="hello_world", template_dir=str(HELLO_TEMPLATE),
                                            test_payload="Algorithmia")),
                        tmp_path_factory.mktemp("first"), extra_vars=connection)


def test_first_run_pushes_builds_tests_and_publishes(cluster, first_run):
    result = first_run.task("Build")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["pushed"] and result["published"]
    assert result["version"] == "0.1.0"
    assert result["test"]["result"] == "hello Algorithmia"
    assert result["build"]["status"] == "succeeded"
    assert result["changed_files"] == ["requirements.txt", "src/hello_world.py", "src/hello_world_test.py"]
    algo = cluster.client().algo(f"{cluster.user}/hello_world/0.1.0")
    assert algo.pipe("Ops").result == "hello Ops"
    version = cluster.client().algo(f"{cluster.user}/hello_world").info(result["git_hash"])
    assert version["version_info"]["semantic_version"] == "0.1.0"


def test_second_identical_run_changes_nothing(cluster, connection, first_run, run_playbook):
    pushes_before = len(receive_packs(cluster, "hello_world"))
    run = run_playbook(playbook(build_task(name="hello_world", template_dir=str(HELLO_TEMPLATE),
                                           test_payload="Algorithmia")), extra_vars=connection)
    result = run.task("Build")
    assert not result.get("failed"), result.get("msg")
    assert not result["changed"] and not result["pushed"] and not result["published"]
    assert result["version"] == "0.1.0"
    assert result["git_hash"] == first_run.task("Build")["git_hash"]
    assert result["test"]["result"] == "hello Algorithmia"
    assert len(receive_packs(cluster, "hello_world")) == pushes_before


def test_check_mode_says_what_would_change_and_pushes_nothing(cluster, connection, run_playbook, tmp_path):
    pushes_before = len(receive_packs(cluster, "hello_world"))
    builds_before = cluster.client().algo(f"{cluster.user}/hello_world").get_builds()["results"]
    template = template_copy(tmp_path, "hello_world", greeting("hi"))
    run = run_playbook(playbook(build_task(name="hello_world", template_dir=str(template), test_payload="x"),
                                check=True), extra_vars=connection, args=["--diff"])
    result = run.task("Build")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["pushed"] and result["published"]
    assert "src/hello_world.py" in result["changed_files"]
    assert "src/hello_world.py (changed)" in result["diff"]["after"]
    assert "test" not in result and result["version"] is None
    assert len(receive_packs(cluster, "hello_world")) == pushes_before
    assert cluster.client().algo(f"{cluster.user}/hello_world").get_builds()["results"] == builds_before


def test_changed_source_publishes_the_next_versions(cluster, connection, run_playbook, tmp_path):
    tasks = [
        build_task("Minor", name="hello_world", template_dir=str(template_copy(tmp_path / "a", "hello_world",
                                                                               greeting("hi"))),
                   test_payload="Algorithmia"),
        build_task("Major", name="hello_world", template_dir=str(template_copy(tmp_path / "b", "hello_world",
                                                                               greeting("hey"))),
                   test_payload="Algorithmia", version_type="major"),
        build_task("Revision", name="hello_world", template_dir=str(template_copy(tmp_path / "c", "hello_world",
                                                                                  greeting("howdy"))),
                   test_payload="Algorithmia", version_type="revision"),
    ]
    run = run_playbook(playbook(*tasks), extra_vars=connection)
    expected = {"Minor": ("0.2.0", "hi"), "Major": ("1.0.0", "hey"), "Revision": ("1.0.1", "howdy")}
    hashes = set()
    for task, (version, word) in expected.items():
        result = run.task(task)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] and result["pushed"] and result["published"], task
        assert result["version"] == version
        assert result["test"]["result"] == f"{word} Algorithmia"
        hashes.add(result["git_hash"])
    assert len(hashes) == 3
    assert cluster.client().algo(f"{cluster.user}/hello_world/1.0.1").pipe("x").result == "howdy x"


def test_a_failing_build_fails_the_task_with_its_log(cluster, connection, run_playbook, tmp_path):
    template = template_copy(tmp_path, "Broken", greeting("hello"),
                             requirements="algorithmia>=2.0,<3\nno-such-package-testbench-zz==0.0.1\n")
    task = build_task(name="Broken", template_dir=str(template), test_payload="x")
    run = run_playbook(playbook(task, dict(task, name="Again")), extra_vars=connection)
    result = run.task("Build")
    assert result["failed"]
    assert result["build"]["status"] == "failed"
    assert "Failed to build alice/Broken" in result["msg"]
    assert "no-such-package-testbench-zz" in result["msg"]  # from the build log's tail
    assert "Build failed" in result["build_log"]
    assert not result["published"]
    # The same source again: nothing to push, but the failed commit is built once more.
    again = run.task("Again")
    assert again["failed"] and not again["pushed"] and again["rebuilt"]
    assert again["git_hash"] == result["git_hash"] and again["build"]["id"] != result["build"]["id"]
    assert "no-such-package-testbench-zz" in again["msg"]
    assert cluster.client().algo(f"{cluster.user}/Broken").versions()["results"] == []


def test_a_failing_test_payload_fails_with_the_algorithm_error(cluster, connection, run_playbook, tmp_path):
    source = ('def apply(input):\n    if input == "boom":\n        raise ValueError("boom was requested")\n'
              '    return input\n')
    template = template_copy(tmp_path, "Checked", source)
    run = run_playbook(playbook(build_task(name="Checked", template_dir=str(template), test_payload="boom")),
                       extra_vars=connection)
    result = run.task("Build")
    assert result["failed"]
    assert "the test_payload call failed" in result["msg"] and "boom was requested" in result["msg"]
    assert "Nothing was published" in result["msg"]
    assert not result["published"] and result["build"]["status"] == "succeeded"
    assert cluster.client().algo(f"{cluster.user}/Checked").versions(published=True)["results"] == []


def tar_gz(files, top=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{top}/{path}" if top else path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def template_files(directory):
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def archive_vars(cluster, source_cluster, connection):
    """hello_world as a tar.gz (under one top directory) and a malicious one, on the source cluster."""
    client = source_cluster.client()
    client.dir("data://.my/testbench_code").create()
    client.file("data://.my/testbench_code/hello_world.tar.gz").put(
        tar_gz(template_files(HELLO_TEMPLATE), top="hello_world"))
    evil = dict(template_files(HELLO_TEMPLATE), **{"../escape.py": b"print('out')\n"})
    client.file("data://.my/testbench_code/Malicious.tar.gz").put(tar_gz(evil))
    return dict(connection, source_api_address=source_cluster.url, source_api_key=source_cluster.key)


def archive_task(title, code_path, **options):
    return build_task(title, code_path=code_path, source_api_address="{{ source_api_address }}",
                      source_api_key="{{ source_api_key }}", **options)


@pytest.fixture(scope="module")
def archive_run(archive_vars, tmp_path_factory):
    from tests.integration.playbook import run_playbook

    return run_playbook(playbook(
        archive_task("From archive", "data://.my/testbench_code/hello_world.tar.gz", name="FromArchive",
                     test_payload="archive"),
        archive_task("Malicious archive", "data://.my/testbench_code/Malicious.tar.gz", name="Malicious",
                     test_payload="x"),
    ), tmp_path_factory.mktemp("archive"), extra_vars=archive_vars, args=["-vvv"])


def test_code_path_archive_is_renamed_built_and_published(cluster, archive_run):
    result = archive_run.task("From archive")
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["version"] == "0.1.0"
    assert result["test"]["result"] == "hello archive"
    # Renamed from src/hello_world.py: compared with the cluster's starter files of the same names.
    assert result["changed_files"] == ["requirements.txt", "src/FromArchive.py", "src/FromArchive_test.py"]
    assert cluster.client().algo(f"{cluster.user}/FromArchive/0.1.0").pipe("x").result == "hello x"


def test_a_malicious_archive_is_refused_before_any_push(cluster, archive_run):
    result = archive_run.task("Malicious archive")
    assert result["failed"]
    assert "Refused the code archive data://.my/testbench_code/Malicious.tar.gz" in result["msg"]
    assert "'../escape.py'" in result["msg"] and "Nothing was pushed" in result["msg"]
    assert receive_packs(cluster, "Malicious") == []
    assert not [e for e in cluster.request_log() if e["path"].startswith(f"/git/{cluster.user}/Malicious")]


def test_keys_appear_nowhere_in_the_output_at_vvv(cluster, source_cluster, archive_run):
    assert "source_api_key" in archive_run.stdout  # -vvv printed the module arguments
    for key in (cluster.key, source_cluster.key):
        assert key not in archive_run.stdout
        assert key not in archive_run.stderr
        assert key not in json.dumps(archive_run.result)
