"""The shared connection options and the two adapters (module: fail_json, plugin: AnsibleError)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleError
from ansible.module_utils._internal import _traceback
from ansible.module_utils.testing import patch_module_args

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_adapter import (
    ModuleClusterAdapter,
    cluster_module,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    client_from_options,
    cluster_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import NotFound
from ansible_collections.algorithmia.testbench.plugins.plugin_utils.cluster_adapter import PluginClusterAdapter

KEY = "modKEY0123456789"


def module_result(capsys):
    return json.loads(capsys.readouterr().out)


def test_options_and_their_environment_fallbacks(monkeypatch):
    monkeypatch.setenv("ALGORITHMIA_API", "https://api.env.example")
    monkeypatch.setenv("ALGORITHMIA_API_KEY", KEY)
    monkeypatch.setenv("ALGORITHMIA_TIMEOUT", "7.5")
    with patch_module_args({"name": "hello"}):
        module = cluster_module({"name": dict(type="str", required=True)})
    assert module.params == {"name": "hello", "api_address": "https://api.env.example", "api_key": KEY,
                             "ca_cert": None, "validate_certs": True, "timeout": 7.5}
    assert KEY in module.no_log_values


def test_module_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("ALGORITHMIA_API", "https://api.env.example")
    with patch_module_args({"api_address": "https://api.arg.example", "api_key": KEY, "validate_certs": False}):
        module = cluster_module()
    assert module.params["api_address"] == "https://api.arg.example"
    assert module.params["validate_certs"] is False


def test_a_missing_key_fails_the_module(monkeypatch, capsys):
    monkeypatch.delenv("ALGORITHMIA_API_KEY", raising=False)
    with patch_module_args({"api_address": "https://api.example.com"}):
        with pytest.raises(SystemExit):
            cluster_module()
    result = module_result(capsys)
    assert result["failed"] is True
    assert "api_key" in result["msg"]


def test_the_module_adapter_turns_cluster_errors_into_fail_json(capsys):
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY}):
        module = cluster_module()
        adapter = ModuleClusterAdapter(module)
        client = adapter.connect(module.params)
        assert isinstance(client, AlgorithmiaClient)
        client.close()
        with pytest.raises(SystemExit):
            with adapter.reporting("get alice/hello", dict(changed=False), [client]):
                raise NotFound("get algorithm alice/hello", "https://api.example.com", status=404,
                               reason="Not Found", server_message="algorithm not found")
    result = module_result(capsys)
    assert result["msg"].startswith("Failed to get algorithm alice/hello on cluster https://api.example.com: "
                                    '404 Not Found, server said "algorithm not found". Fix: ')
    assert result["error"]["kind"] == "NotFound" and result["error"]["status"] == 404
    assert result["changed"] is False
    assert KEY not in json.dumps(result)


def test_the_module_adapter_reports_bad_options(capsys):
    with patch_module_args({"api_address": "api.example.com", "api_key": KEY}):
        module = cluster_module()
        with pytest.raises(SystemExit):
            ModuleClusterAdapter(module).connect(module.params)
    result = module_result(capsys)
    assert "not an http(s) URL" in result["msg"]
    assert result["error"]["kind"] == "ClientConfigError"


def test_the_plugin_adapter_raises_ansible_errors():
    adapter = PluginClusterAdapter()
    with pytest.raises(AnsibleError) as caught:
        adapter.connect({"api_address": "https://api.example.com", "api_key": ""})
    assert "api_key is empty" in str(caught.value)
    with pytest.raises(AnsibleError, match="Failed to list algorithms"):
        with adapter.reporting("list algorithms"):
            raise NotFound("list algorithms", "https://c", status=404)


def test_a_bug_ends_the_task_with_the_work_done_so_far_and_no_key(capsys, monkeypatch):
    """An exception no code path expected may carry option values: the key is masked in both
    the message and the traceback, and the partial result is read when the failure happens."""
    # as with ANSIBLE_DISPLAY_TRACEBACK=error: the module puts the traceback in its result
    monkeypatch.setattr(_traceback, "_is_traceback_enabled", lambda event: True)
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY}):
        module = cluster_module()
        adapter = ModuleClusterAdapter(module)
        with adapter.connect(module.params) as client:
            progress = dict(changed=False)
            with pytest.raises(SystemExit):
                with adapter.reporting("sync the data files of hello", lambda: dict(progress), [client]):
                    progress["changed"] = True
                    raise ValueError("unexpected reply for key " + KEY)
    result = module_result(capsys)
    assert result["msg"].startswith("Failed to sync the data files of hello: ValueError: unexpected reply for key ")
    assert result["changed"] is True
    assert "ValueError" in result["exception"]
    assert KEY not in json.dumps(result)


def test_prefixed_options_describe_a_second_cluster():
    options = {"api_address": "https://dest.example", "api_key": KEY,
               "source_api_address": "https://source.example", "source_api_key": "srcKEY", "source_timeout": 5}
    with client_from_options(options, prefix="source_") as client:
        assert client.api_address == "https://source.example"
        assert client.timeout == 5.0


def test_each_call_gets_a_fresh_spec():
    first = cluster_argument_spec()
    first["api_key"]["required"] = False
    assert cluster_argument_spec()["api_key"]["required"] is True
    assert cluster_argument_spec()["api_key"]["no_log"] is True
