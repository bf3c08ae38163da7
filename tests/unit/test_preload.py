"""The collection's code imported once in ansible-playbook's process (plugin_utils/preload.py), and a
module run as __main__ from its code compiled once (plugin_utils/in_process.py): a module imported
before, as the preload does, runs as __main__ all the same, without runpy's warning."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import warnings

import pytest
from ansible.module_utils import basic

from ansible_collections.algorithmia.testbench.plugins.plugin_utils import in_process, preload


def test_every_module_action_and_lookup_plugin_is_named():
    modules = preload.plugin_names("modules")
    assert preload.PACKAGE + ".modules.algo_benchmark" in modules
    assert preload.PACKAGE + ".modules.algo_deploy" in modules
    assert preload.PACKAGE + ".action.algo_preflight" in preload.plugin_names("action")
    assert preload.plugin_names("lookup") == [preload.PACKAGE + ".lookup.workflow"]
    assert preload.plugin_names("no_such_kind") == []


@pytest.fixture
def fresh_preload(monkeypatch):
    monkeypatch.setattr(preload, "_done", [])
    monkeypatch.setattr(in_process, "_CODE", {})


def test_it_imports_each_once_and_compiles_each_module_and_names_what_failed(fresh_preload):
    imported = []

    def import_module(name):
        imported.append(name)
        if name.endswith(".report_summary"):
            raise ImportError("a broken plugin")

    found = preload.preload(import_module)
    expected = [name for kind in preload.KINDS for name in preload.plugin_names(kind)]
    assert imported == expected
    assert found["failed"] == [preload.PACKAGE + ".modules.report_summary", preload.PACKAGE + ".action.report_summary"]
    assert len(found["imported"]) == len(expected) - len(found["failed"])
    # each module that imported is compiled, ready for run_as_main
    assert "algo_benchmark" in in_process._CODE and "report_summary" not in in_process._CODE
    assert preload.preload(import_module) is None  # once per process
    assert imported == expected


def test_a_module_imported_before_runs_as_main_without_a_warning(fresh_preload, monkeypatch):
    preload.preload()
    assert in_process.COLLECTION_MODULES + "report_summary" in sys.modules
    arguments = {"ANSIBLE_MODULE_ARGS": {"bundles": []}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps(arguments).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", in_process.PROFILE)
    printed = io.StringIO()
    main_before = sys.modules["__main__"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with contextlib.redirect_stdout(printed), pytest.raises(SystemExit):
            in_process.run_as_main("report_summary")
    assert sys.modules["__main__"] is main_before
    result = json.loads(printed.getvalue())
    assert result["failed"] is True and "dest" in result["msg"]
