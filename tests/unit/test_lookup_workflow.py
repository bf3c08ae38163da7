"""The workflow lookup: finding workflows by name or path, and its error messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ansible.errors import AnsibleError
import yaml
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader

from ansible_collections.algorithmia.testbench.plugins.lookup import workflow as workflow_lookup

FIXTURES = Path(__file__).resolve().parent / "workflows"
NAME = "algorithmia.testbench.workflow"

# What Ansible's plugin loader does on load: register the options the plugin documents.
C.config.initialize_plugin_configuration_definitions(
    "lookup", NAME, yaml.safe_load(workflow_lookup.DOCUMENTATION)["options"])


def lookup(basedir, terms, variables=None, **options):
    loader = DataLoader()
    loader.set_basedir(str(basedir))
    plugin = workflow_lookup.LookupModule(loader=loader)
    plugin._load_name = NAME  # pylint: disable=protected-access
    return plugin.run(terms, variables=variables or {}, **options)


def _workflow_named(directory, algorithm):
    (directory / "workflows").mkdir(parents=True)
    (directory / "workflows" / "hello_world.json").write_text(json.dumps(
        {"algorithms": [{"name": algorithm, "language": "python3", "code_path": "data://.my/c/x.tar.gz"}]}))


def test_a_name_is_found_in_the_collection(tmp_path):
    (workflow,) = lookup(tmp_path, ["hello_world"], user="alice")
    assert workflow["name"] == "hello_world"
    assert workflow["user"] == "alice"
    assert workflow["algorithms"][0]["environment"] == {"language": "python3"}
    assert workflow["algorithms"][0]["template_dir"].endswith("algorithms/hello_world")


def test_the_playbook_dir_comes_first(tmp_path):
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "hello_world.json").write_text(json.dumps(
        {"algorithms": [{"name": "mine", "language": "python3", "code_path": "data://.my/c/mine.tar.gz"}]}))
    (workflow,) = lookup(tmp_path, ["hello_world"])
    assert workflow["algorithms"][0]["name"] == "mine"


def test_the_inventory_dir_comes_before_the_playbook_and_the_current_dir(tmp_path, monkeypatch):
    for place in ("inventory", "playbook", "cwd"):
        _workflow_named(tmp_path / place, "from_" + place)
    monkeypatch.chdir(tmp_path / "cwd")
    found = lookup(tmp_path / "playbook", ["hello_world"], variables={"inventory_dir": str(tmp_path / "inventory")})
    assert found[0]["algorithms"][0]["name"] == "from_inventory"
    assert lookup(tmp_path / "playbook", ["hello_world"])[0]["algorithms"][0]["name"] == "from_playbook"
    assert lookup(tmp_path / "elsewhere", ["hello_world"])[0]["algorithms"][0]["name"] == "from_cwd"


def test_a_project_workflow_uses_the_project_templates(tmp_path, monkeypatch):
    """A workflow in the user's project finds algorithms/ beside its workflows/, not the collection's."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory" / "workflows").mkdir(parents=True)
    (tmp_path / "inventory" / "workflows" / "mine.json").write_text(json.dumps(
        {"algorithms": [{"name": "Mine", "language": "python3"}]}))
    with pytest.raises(AnsibleError, match="Mine"):
        lookup(tmp_path, ["mine"], variables={"inventory_dir": str(tmp_path / "inventory")})
    template = tmp_path / "inventory" / "algorithms" / "Mine" / "src"
    template.mkdir(parents=True)
    (template / "Mine.py").write_text("def apply(input):\n    return input\n")
    (workflow,) = lookup(tmp_path, ["mine"], variables={"inventory_dir": str(tmp_path / "inventory")})
    assert workflow["algorithms"][0]["template_dir"] == str(tmp_path / "inventory" / "algorithms" / "Mine")


def test_a_path_relative_to_the_playbook(tmp_path):
    shutil.copytree(FIXTURES / "algorithms", tmp_path / "algorithms")
    (tmp_path / "files").mkdir()
    shutil.copy(FIXTURES / "good" / "benchmark_fields.json", tmp_path / "files" / "bench.json")
    (workflow,) = lookup(tmp_path, ["files/bench.json"], algorithms_dir=str(tmp_path / "algorithms"))
    assert workflow["name"] == "bench"


def test_an_unknown_name_lists_what_exists(tmp_path):
    with pytest.raises(AnsibleError) as caught:
        lookup(tmp_path, ["hello_wrld"])
    text = str(caught.value)
    assert "Workflow 'hello_wrld' not found in" in text
    assert "hello_world" in text and "image_benchmark" in text and "schema" not in text.split("Fix:")[1]


def test_a_name_cannot_be_a_path_trick(tmp_path):
    with pytest.raises(AnsibleError, match="is not a file name"):
        lookup(tmp_path, ["..hidden"])
    with pytest.raises(AnsibleError, match="does not exist"):
        lookup(tmp_path, ["../nowhere.json"])


def test_invalid_workflows_become_one_ansible_error(tmp_path):
    (tmp_path / "workflows").mkdir()
    shutil.copy(FIXTURES / "bad" / "many_problems_at_once.json", tmp_path / "workflows" / "broken.json")
    with pytest.raises(AnsibleError) as caught:
        lookup(tmp_path, ["broken"], workflows_dir=str(tmp_path / "workflows"),
               algorithms_dir=str(FIXTURES / "algorithms"))
    assert "has 4 problems; nothing was sent to any cluster" in str(caught.value)
