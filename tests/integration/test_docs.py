"""Every module and plugin of the collection renders with ansible-doc, as users will read it."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.playbook import ROOT, VENV_BIN, ansible_env, ensure_collection_link

# plugin directory -> ansible-doc type
DOC_TYPES = {"modules": "module", "lookup": "lookup", "filter": "filter", "inventory": "inventory",
             "callback": "callback", "action": None, "module_utils": None, "doc_fragments": None,
             "plugin_utils": None}


def _documented_plugins() -> list[tuple[str, str]]:
    found = []
    for directory in sorted((ROOT / "plugins").iterdir()):
        doc_type = DOC_TYPES.get(directory.name, directory.name)
        if not directory.is_dir() or doc_type is None:
            continue
        for path in sorted(directory.glob("*.py")):
            if path.name != "__init__.py":
                found.append((doc_type, f"algorithmia.testbench.{path.stem}"))
    return found


PLUGINS = _documented_plugins()


def test_the_collection_has_its_four_modules_and_the_workflow_lookup():
    names = {name for _type, name in PLUGINS}
    assert {"algorithmia.testbench.algo_create", "algorithmia.testbench.algo_data_sync",
            "algorithmia.testbench.algo_build_publish", "algorithmia.testbench.algo_benchmark",
            "algorithmia.testbench.workflow"} <= names


@pytest.mark.parametrize(("doc_type", "name"), PLUGINS, ids=[name for _t, name in PLUGINS])
def test_ansible_doc_renders(doc_type, name):
    ensure_collection_link()
    done = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", doc_type, name], cwd=ROOT,
                          capture_output=True, text=True, env=ansible_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "EXAMPLES" in done.stdout
    if doc_type in ("module", "lookup"):  # a callback has no options here and returns nothing
        assert "OPTIONS" in done.stdout
        assert "RETURN" in done.stdout or "RETURN VALUES" in done.stdout
    assert "[WARNING]" not in done.stderr, done.stderr


def test_ansible_doc_renders_the_role():
    ensure_collection_link()
    done = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", "role", "algorithmia.testbench.testbench"],
                          cwd=ROOT, capture_output=True, text=True, env=ansible_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "testbench_api_key" in done.stdout


def _role_variables() -> set[str]:
    import yaml

    specs = yaml.safe_load((ROOT / "roles" / "testbench" / "meta" / "argument_specs.yml").read_text())
    return {name for entry in specs["argument_specs"].values() for name in entry["options"]}


def test_every_role_variable_is_in_the_usage_guide():
    """An operator reads docs/usage.md, not argument_specs.yml: every variable must be there,
    and so must testbench_hosts, which the playbooks read."""
    usage = (ROOT / "docs" / "usage.md").read_text()
    missing = sorted(name for name in _role_variables() | {"testbench_hosts"} if "`{0}`".format(name) not in usage)
    assert not missing, "docs/usage.md does not mention: " + ", ".join(missing)


def test_every_output_example_of_the_usage_guide_is_checked_against_a_real_run():
    """Each block of docs/usage.md without a language shows what a run prints or writes: each is
    one of docs_examples.USAGE_OUTPUT, and the test named there still checks it."""
    from tests.integration.docs_examples import USAGE_OUTPUT, output_blocks, usage_example

    starts = [start for start, _test in USAGE_OUTPUT.values()]
    unchecked = [lines[0] for lines in output_blocks() if not any(lines[0].startswith(start) for start in starts)]
    assert unchecked == [], "output examples no test checks (add each to docs_examples.USAGE_OUTPUT): " + repr(unchecked)
    for name, (_start, test_file) in USAGE_OUTPUT.items():
        assert usage_example(name)
        assert f'usage_example("{name}")' in (ROOT / "tests" / "integration" / test_file).read_text(), (name, test_file)
