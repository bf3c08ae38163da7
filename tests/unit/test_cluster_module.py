"""ClusterModule: the shared connection options, the clients made from them, and the one way a task fails."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils._internal import _traceback
from ansible.module_utils.testing import patch_module_args

from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_module import ClusterModule
from ansible_collections.algorithmia.testbench.plugins.module_utils.cluster_options import (
    client_from_options,
    cluster_argument_spec,
    source_argument_spec,
)
from ansible_collections.algorithmia.testbench.plugins.module_utils.errors import NotFound, TaskFailed, TLSError

KEY = "modKEY0123456789"
SOURCE_KEY = "srcKEY9876543210"


def module_result(capsys):
    return json.loads(capsys.readouterr().out)


def test_options_and_their_environment_fallbacks(monkeypatch):
    monkeypatch.setenv("ALGORITHMIA_API", "https://api.env.example")
    monkeypatch.setenv("ALGORITHMIA_API_KEY", KEY)
    monkeypatch.setenv("ALGORITHMIA_TIMEOUT", "7.5")
    with patch_module_args({"name": "hello"}):
        module = ClusterModule({"name": dict(type="str", required=True)})
    assert module.params == {"name": "hello", "api_address": "https://api.env.example", "api_key": KEY,
                             "ca_cert": None, "validate_certs": True, "timeout": 7.5, "lease": None}
    assert KEY in module.ansible.no_log_values


def test_the_source_options_are_one_spec_with_the_seed_fallbacks(monkeypatch):
    """Both modules that read a source take the same options, SOURCE_API_KEY / SOURCE_CA_CERT included."""
    monkeypatch.setenv("SOURCE_API_KEY", SOURCE_KEY)
    monkeypatch.setenv("SOURCE_CA_CERT", "/etc/ssl/source-ca.pem")
    with patch_module_args({"api_address": "https://dest.example", "api_key": KEY,
                            "source_api_address": "https://source.example"}):
        module = ClusterModule(source_argument_spec(required=True))
    assert module.params["source_api_key"] == SOURCE_KEY
    assert module.params["source_ca_cert"] == "/etc/ssl/source-ca.pem"
    assert module.params["source_timeout"] == 60.0
    assert SOURCE_KEY in module.ansible.no_log_values
    assert source_argument_spec()["source_api_key"]["required"] is False


def test_module_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("ALGORITHMIA_API", "https://api.env.example")
    with patch_module_args({"api_address": "https://api.arg.example", "api_key": KEY, "validate_certs": False}):
        module = ClusterModule()
    assert module.params["api_address"] == "https://api.arg.example"
    assert module.params["validate_certs"] is False


def test_a_missing_key_fails_the_module(monkeypatch, capsys):
    monkeypatch.delenv("ALGORITHMIA_API_KEY", raising=False)
    with patch_module_args({"api_address": "https://api.example.com"}):
        with pytest.raises(SystemExit):
            ClusterModule()
    result = module_result(capsys)
    assert result["failed"] is True
    assert "api_key" in result["msg"]


def test_cluster_errors_end_the_task_with_their_message_and_the_work_done(capsys):
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY}):
        module = ClusterModule()
        with pytest.raises(SystemExit):
            with module.reporting("get alice/hello", dict(changed=False)):
                assert isinstance(module.connect(), AlgorithmiaClient)
                raise NotFound("get algorithm alice/hello", "https://api.example.com", status=404,
                               reason="Not Found", server_message="algorithm not found")
    result = module_result(capsys)
    assert result["msg"].startswith("Failed to get algorithm alice/hello on cluster https://api.example.com: "
                                    '404 Not Found, server said "algorithm not found". Fix: ')
    assert result["error"]["kind"] == "NotFound" and result["error"]["status"] == 404
    assert result["changed"] is False
    assert KEY not in json.dumps(result)


def tls_failure_message(capsys, arguments, failing_address):
    """The message of a task that connected to its destination and source, then failed TLS at ``failing_address``."""
    with patch_module_args(arguments):
        module = ClusterModule(source_argument_spec())
        with pytest.raises(SystemExit):
            with module.reporting("copy"):
                module.connect()
                module.connect("source_")
                raise TLSError("read data://.my/c/f", failing_address, detail="certificate verify failed")
    return module_result(capsys)["msg"]


@pytest.mark.parametrize(("prefix", "option", "variable"), [
    ("", "ca_cert", "testbench_ca_cert"),
    ("source_", "source_ca_cert", "testbench_source_ca_cert"),
])
def test_a_fix_names_the_option_and_the_role_variable_of_the_failing_cluster(capsys, prefix, option, variable):
    """An operator of the role sets testbench_source_ca_cert, not the module's ca_cert: the fix of a
    TLS failure of the source cluster names both the option and the variable."""
    arguments = {"api_address": "https://api.dest.example", "api_key": KEY,
                 "source_api_address": "https://api.source.example", "source_api_key": SOURCE_KEY}
    message = tls_failure_message(capsys, arguments, arguments[prefix + "api_address"])
    assert "Fix: set {0} ({1} in the testbench role) to the CA certificate".format(option, variable) in message
    assert "or {0}=false ({1} in the testbench role)".format(
        prefix + "validate_certs", "testbench_validate_certs") in message


def test_a_fix_stays_general_when_source_and_destination_are_one_address(capsys):
    arguments = {"api_address": "https://api.example.com", "api_key": KEY,
                 "source_api_address": "https://api.example.com", "source_api_key": SOURCE_KEY}
    assert "Fix: set ca_cert to the CA certificate" in tls_failure_message(capsys, arguments, "https://api.example.com")


def test_bad_options_fail_before_any_request(capsys):
    with patch_module_args({"api_address": "api.example.com", "api_key": KEY}):
        module = ClusterModule()
        with pytest.raises(SystemExit):
            with module.reporting("connect"):
                module.connect()
    result = module_result(capsys)
    assert "not an http(s) URL" in result["msg"]
    assert result["error"]["kind"] == "ClientConfigError"


def test_task_failures_carry_their_facts_and_are_masked_with_every_clients_key(capsys):
    """A key that is not a module option of this task (here: a client's only) is masked too, in the
    message and in every fact, because the masking is the module's own, not Ansible's no_log."""
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY}):
        module = ClusterModule()
        progress = dict(changed=False)
        with pytest.raises(SystemExit):
            with module.reporting("build and publish hello", lambda: dict(progress)):
                module.connect()
                other = client_from_options({"api_address": "https://other.example", "api_key": SOURCE_KEY})
                module._clients.append(other)  # as connect(prefix="source_") registers it
                progress.update(changed=True, pushed=True)
                raise TaskFailed("Failed to build hello: the log says " + SOURCE_KEY,
                                 build_log="line 1\nkey=" + SOURCE_KEY, steps=["pushed " + SOURCE_KEY])
    result = module_result(capsys)
    assert result["msg"] == "Failed to build hello: the log says ********"
    assert result["build_log"] == "line 1\nkey=********"
    assert result["steps"] == ["pushed ********"]
    assert result["changed"] is True and result["pushed"] is True
    assert SOURCE_KEY not in json.dumps(result)


def test_a_bug_ends_the_task_with_the_work_done_so_far_and_no_key(capsys, monkeypatch):
    """An exception no code path expected may carry option values: the key is masked in both
    the message and the traceback, and the partial result is read when the failure happens."""
    # as with ANSIBLE_DISPLAY_TRACEBACK=error: the module puts the traceback in its result
    monkeypatch.setattr(_traceback, "_is_traceback_enabled", lambda event: True)
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY}):
        module = ClusterModule()
        progress = dict(changed=False)
        with pytest.raises(SystemExit):
            with module.reporting("sync the data files of hello", lambda: dict(progress)):
                module.connect()
                progress["changed"] = True
                raise ValueError("unexpected reply for key " + KEY)
    result = module_result(capsys)
    assert result["msg"].startswith("Failed to sync the data files of hello: ValueError: unexpected reply for key ")
    assert result["changed"] is True
    assert "ValueError" in result["exception"]
    assert KEY not in json.dumps(result)


def test_reporting_closes_every_client_it_connected(tmp_path):
    """A CA given as PEM text lives in a temporary file while its client is open: gone after the block."""
    import trustme

    pem = trustme.CA().cert_pem.bytes().decode()
    with patch_module_args({"api_address": "https://api.example.com", "api_key": KEY, "ca_cert": pem,
                            "source_api_address": "https://source.example", "source_api_key": SOURCE_KEY,
                            "source_ca_cert": pem}):
        module = ClusterModule(source_argument_spec())
        with module.reporting("connect twice"):
            clients = [module.connect(prefix="source_"), module.connect()]
            ca_files = [client.verify for client in clients]
            assert all(os.path.isfile(path) for path in ca_files)
    assert [c.api_address for c in clients] == ["https://source.example", "https://api.example.com"]
    assert not any(os.path.exists(path) for path in ca_files)


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
