"""The official ``algo`` CLI, configured as a user would, managing data on the cluster: on its
loopback URL (the config file written as ``algo auth`` writes it: ``algo auth`` itself takes only
``https://api.`` addresses), and under a real cluster's names (``https://api.local.test:<port>``,
configured by ``algo auth`` itself; tests/localcluster/names_support.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import toml

from tests.localcluster.names_support import cli_argv, cli_env

ALGO = Path(sys.executable).parent / "algo"


@pytest.fixture(params=["loopback", "names"])
def served(request):
    """The cluster the CLI talks to: plain HTTP on 127.0.0.1, or HTTPS under api.local.test."""
    return request.getfixturevalue("cluster" if request.param == "loopback" else "named_cluster")


@pytest.fixture
def algo(served, tmp_path):
    """Runs ``algo ...`` with a HOME holding the config file ``algo auth`` writes."""
    home = tmp_path / "home"
    (home / ".algorithmia").mkdir(parents=True)
    env = dict(os.environ, HOME=str(home))
    if served.names:
        argv = cli_argv(served.names)
        env = cli_env(env, served.names)
        # algo auth, answering its three prompts: API address, API key, CA certificate.
        done = subprocess.run([*argv, "auth"], input=f"{served.api_url}\n{served.key}\n{served.ca_cert}\n",
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
        assert done.returncode == 0 and "invalid" not in done.stdout, done.stdout + done.stderr
    else:
        argv = [str(ALGO)]
        # The same TOML that Algorithmia.CLI.auth() dumps for the default profile.
        config = {"profiles": {"default": {"api_key": served.key, "api_server": served.url,
                                           "ca_cert": served.ca_cert or "", "bearer_token": ""}}}
        with open(home / ".algorithmia" / "config", "w") as fh:
            toml.dump(config, fh)
    assert toml.load(home / ".algorithmia" / "config")["profiles"]["default"]["api_server"] == served.api_url

    def run(*args):
        done = subprocess.run([*argv, *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_algo_cli_ls_mkdir_cp_rm(served, algo, tmp_path):
    assert algo("ls").splitlines()[0] == f"{served.user}/"
    algo("mkdir", "data://.my/cli")
    assert served.client(url=served.api_url).dir("data://.my/cli").exists()
    assert ".my/cli/" in algo("ls", "data://.my/").splitlines()

    local = tmp_path / "upload.txt"
    local.write_text("copied by the CLI\n")
    algo("cp", str(local), "data://.my/cli")
    assert served.client(url=served.api_url).file("data://.my/cli/upload.txt").getString() == "copied by the CLI\n"

    listing = algo("ls", "-l", "data://.my/cli/")
    assert ".my/cli/upload.txt" in listing and "   18   " in listing

    downloaded = tmp_path / "downloaded.txt"
    algo("cp", "data://.my/cli/upload.txt", str(downloaded))
    assert downloaded.read_text() == "copied by the CLI\n"
    assert algo("cat", "data://.my/cli/upload.txt") == "copied by the CLI\n\n"

    algo("rm", "data://.my/cli/upload.txt")
    assert not served.client(url=served.api_url).file("data://.my/cli/upload.txt").exists()
    assert algo("ls", "data://.my/cli/").strip() == ""
    algo("rmdir", "data://.my/cli")
    assert not served.client(url=served.api_url).dir("data://.my/cli").exists()
