"""The collection as Galaxy and an execution environment get it: the built tarball holds the
collection and nothing else, Galaxy's own importer (galaxy-importer, with its ansible-lint step)
accepts it without a warning, it installs, its modules load from the installed copy, and
ansible-builder turns execution-environment.yml into a build context whose Python requirements
are the collection's own requirements.txt (no container runtime needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.integration.playbook import ROOT, VENV_BIN, ansible_env

# What a user installs: the collection's content, the files Galaxy adds, and its requirements.
SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "changelogs", "requirements.txt", "meta",
           "plugins", "roles", "playbooks", "workflows", "algorithms", "docs"}
# The project around the collection: never in the tarball (inventories/local holds a demo vault password,
# examples/clusters vault files to fill in).
NOT_SHIPPED = {"localcluster", "tools", "bench", "tests", "inventories", "examples", "extensions", "Makefile", "ansible.cfg",
               ".ci", ".git", ".venv", "requirements-test.txt", "requirements-demo.txt",
               "requirements-localcluster.txt",
               "execution-environment.yml"}


def _run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env=kwargs.pop("env", ansible_env()), **kwargs)
    assert done.returncode == 0, "{0}\n{1}\n{2}".format(" ".join(command), done.stdout, done.stderr)
    return done


def _outside_checkout_env(collections_path: Path, workdir: Path) -> dict:
    """Ansible's environment with only ``collections_path`` on the collections path and no
    configuration file of the checkout, so that the checkout (and its .collections link) cannot be
    what answers."""
    return ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(collections_path),
                        "ANSIBLE_CONFIG": str(workdir / "absent.cfg"),
                        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp")})


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _build(source: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    _run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(source)], cwd=out)
    (built,) = out.glob("algorithmia-testbench-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    return _build(ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    """A collections path with the tarball installed, as `ansible-galaxy collection install` leaves it."""
    path = tmp_path_factory.mktemp("collections")
    _run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(path), str(tarball)],
         cwd=path, env=_outside_checkout_env(path, path))
    assert (path / "ansible_collections" / "algorithmia" / "testbench" / "MANIFEST.json").is_file()
    return path


def test_the_tarball_holds_the_collection_and_nothing_else(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    top = {name.split("/", 1)[0] for name in names}
    print("tarball {0}: {1} bytes, top-level entries: {2}".format(tarball.name, tarball.stat().st_size,
                                                                  ", ".join(sorted(top))))
    assert top == SHIPPED
    assert not top & NOT_SHIPPED
    assert not [name for name in names if "vault" in name.lower() or name.endswith((".pyc", ".tar.gz"))]
    assert "docs/usage.md" in names and "docs/development.md" not in names
    # The extra docs antsibull-docs reads from an installed collection ship; the project's docs site does not.
    assert "docs/docsite/extra-docs.yml" in names and not [name for name in names if name.startswith("docs/sphinx")]
    assert "meta/execution-environment.yml" in names and "meta/runtime.yml" in names
    # The changelog's source ships (the community's tools read it from an installed collection), the
    # fragments of what is not released yet do not.
    assert "changelogs/changelog.yaml" in names
    assert not [name for name in names if name.startswith(("changelogs/fragments", "changelogs/.plugin-cache"))]


# What Galaxy runs on an upload: ansible-doc over every plugin, the content's checks (a README per
# role, a changelog, the EE's requirement files, one of Automation Hub's tags) and ansible-lint's
# production profile over the content (offline). ansible-test sanity runs in `make test` on the tree
# (`make sanity`); the importer would run it in a container. flake8 stays off, its default: the
# Python is checked by ansible-test's pep8 and pylint.
IMPORTER_CONFIG = """[galaxy-importer]
log_level_main = INFO
run_ansible_doc = {ansible_doc}
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
check_required_tags = True
run_ansible_test = False
run_flake8 = False
tmp_root_dir = {workdir}
ansible_local_tmp = {workdir}/ansible-tmp
"""
IMPORTED = "Importer processing completed successfully"
# The importer logs at INFO without a prefix and everything else as "<LEVEL>: <message>"; an
# ansible-lint finding is a WARNING line of its own.
NOT_CLEAN = ("WARNING", "ERROR", "CRITICAL")


def _galaxy_import(tarball: Path, workdir: Path,
                   ansible_doc: bool = True) -> tuple[subprocess.CompletedProcess, list[str], dict]:
    """galaxy-importer on the tarball, as Galaxy runs it: its exit, its log lines that are not
    clean (warnings, errors), and its result (importer_result.json, written into the workdir).
    Without ``ansible_doc`` it skips reading every plugin's documentation (half its time)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "galaxy-importer.cfg"
    config.write_text(IMPORTER_CONFIG.format(workdir=workdir, ansible_doc=ansible_doc))
    env = _outside_checkout_env(workdir, workdir)
    # Its settings come from this file only: GALAXY_IMPORTER_<KEY> variables would override them.
    env = {key: value for key, value in env.items() if not key.startswith("GALAXY_IMPORTER_")}
    env["GALAXY_IMPORTER_CONFIG"] = str(config)
    done = subprocess.run([sys.executable, "-m", "galaxy_importer.main", str(tarball)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    log = done.stdout.splitlines()
    assert "...ansible-lint run complete" in log, "ansible-lint did not run:\n" + done.stdout + done.stderr
    not_clean = [line for line in log if line.startswith(NOT_CLEAN)]
    result_file = workdir / "importer_result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    return done, not_clean, result


def test_galaxy_importer_accepts_the_tarball_without_a_warning(tarball, tmp_path):
    done, not_clean, result = _galaxy_import(tarball, tmp_path / "import")
    print("\n".join(line for line in done.stdout.splitlines() if not line.startswith("Loading ")))
    assert done.returncode == 0 and IMPORTED in done.stdout.splitlines(), done.stdout + done.stderr
    assert not_clean == [], "galaxy-importer found:\n" + "\n".join(not_clean)
    # What Galaxy would show: the collection's README, and every module and the role with its README.
    assert result["docs_blob"]["collection_readme"]["name"] == "README.md"
    contents = {(item["content_type"], item["content_name"]): item for item in result["docs_blob"]["contents"]}
    modules = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__"}
    assert modules and {name for kind, name in contents if kind == "module"} == modules
    assert ("lookup", "workflow") in contents
    role = contents[("role", "testbench")]
    assert role["readme_file"] == "README.md" and "ansible-doc -t role" in role["readme_html"]


def test_galaxy_importer_reports_an_ansible_lint_finding(tmp_path):
    """The check above fails on a finding: with this project's importer settings, a collection of
    this one's metadata whose role has a task that production's profile refuses (no name, a short
    module name) is flagged, naming the rule and the file. The collection is cut down to its
    metadata and the role's files, so that the importer's lint has little else to read."""
    source = tmp_path / "source"
    for name in ("galaxy.yml", "README.md", "meta/runtime.yml", "roles/testbench/README.md",
                 "roles/testbench/meta/main.yml"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    tasks = source / "roles" / "testbench" / "tasks" / "main.yml"
    tasks.parent.mkdir(parents=True)
    tasks.write_text("---\n- name: A task as production's profile wants it\n  ansible.builtin.debug:\n"
                     "    msg: named\n\n- debug:\n    msg: unnamed\n")
    done, not_clean = _galaxy_import(_build(source, tmp_path / "dist"), tmp_path / "import", ansible_doc=False)[:2]
    print("\n".join(not_clean))
    findings = [line for line in not_clean if "roles/testbench/tasks/main.yml" in line]
    assert any("fqcn" in line for line in findings) and any("name[missing]" in line for line in findings), \
        done.stdout + done.stderr


def test_the_installed_collection_documents_and_finds_its_role(installed, tmp_path):
    env = _outside_checkout_env(installed, tmp_path)
    done = _run([str(VENV_BIN / "ansible-doc"), "algorithmia.testbench.algo_benchmark"], cwd=tmp_path, env=env)
    assert str(installed) in done.stdout
    done = _run([str(VENV_BIN / "ansible-doc"), "-t", "role", "algorithmia.testbench.testbench"], cwd=tmp_path, env=env)
    assert "testbench_api_key" in done.stdout
    _run([str(VENV_BIN / "ansible-playbook"), "--syntax-check", "algorithmia.testbench.testbench", "-i", "localhost,"],
         cwd=tmp_path, env=env)


def test_ansible_builder_creates_a_context_with_the_collection_and_its_requirements(tarball, installed, tmp_path):
    # The EE definition as committed, beside the tarball where `make ee-context` puts it.
    shutil.copy(ROOT / "execution-environment.yml", tmp_path)
    (tmp_path / "dist").mkdir()
    shutil.copy(tarball, tmp_path / "dist" / "algorithmia-testbench.tar.gz")
    _run([str(VENV_BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context"],
         cwd=tmp_path)
    context = tmp_path / "context"
    containerfile = next(path for path in (context / "Containerfile", context / "Dockerfile") if path.exists())
    text = containerfile.read_text()
    assert "ansible-core>=2.19,<2.20" in text and "ansible-galaxy collection install" in text
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    (collection,) = galaxy["collections"]
    assert (context / "_build" / collection["name"]).is_file()
    # What the EE's Python gets: ansible-builder's own introspection over the installed collection
    # (the script the image build runs) must find exactly the collection's requirements.txt.
    done = _run([str(VENV_BIN / "python"), str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                 str(installed)], cwd=tmp_path)
    found = yaml.safe_load(done.stdout)
    python = [line.split("#", 1)[0].strip() for line in found["python"]]
    assert python == _requirement_lines(ROOT / "requirements.txt")
    assert not found["system"]
    print("EE Python packages: {0}; system packages: none".format(", ".join(python)))


GREETER = '''def apply(input):
    """The project's own algorithm: not one of the collection's examples."""
    return "greetings, {}".format(input)
'''


def test_the_installed_collection_runs_a_project_workflow_on_a_cluster(installed, cluster, tmp_path):
    """An operator's inventory repository: its inventory, its own workflow under workflows/ and its
    own algorithm template under algorithms/, run with the playbook of the INSTALLED collection."""
    from tests.integration.playbook import run_playbook
    from tests.integration.testbench_support import destination, explain, summary, write_inventory

    project = tmp_path / "ops-repo"
    (project / "workflows").mkdir(parents=True)
    (project / "workflows" / "greeting.json").write_text(json.dumps({
        "algorithms": [{"name": "greeter", "environment": "python3", "test_payload": "ops"}],
        "test_info": {"entrypoint": "greeter", "tests": [
            {"name": "greets", "payload": "ops", "expected_output": "greetings, ops", "calls": 3}]},
    }))
    (project / "algorithms" / "greeter" / "src").mkdir(parents=True)
    (project / "algorithms" / "greeter" / "src" / "greeter.py").write_text(GREETER)
    reports = project / "reports"
    inventory = write_inventory(project / "clusters.yml", {"staging": destination(cluster)},
                                {"testbench_workflows": ["greeting"], "testbench_report_dir": str(reports)})
    run = run_playbook("algorithmia.testbench.testbench", tmp_path / "run", inventory=inventory,
                       env={"ANSIBLE_COLLECTIONS_PATH": str(installed),
                            "ANSIBLE_CONFIG": str(tmp_path / "absent.cfg"),
                            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")})
    assert run.rc == 0, explain(run)
    verdict = summary(reports)
    assert verdict["passed"] is True, verdict
    (workflow,) = verdict["clusters"][0]["workflows"]
    assert workflow["workflow"] == "greeting", workflow
    assert cluster.client().algo(f"{cluster.user}/greeter").pipe("x").result == "greetings, x"
