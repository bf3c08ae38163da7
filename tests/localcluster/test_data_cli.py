"""The official ``algo`` CLI, configured as a user would, managing data on the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import toml

ALGO = Path(sys.executable).parent / "algo"


@pytest.fixture
def algo(cluster, tmp_path):
    """Runs ``algo ...`` with a HOME holding the config file ``algo auth`` writes."""
    home = tmp_path / "home"
    (home / ".algorithmia").mkdir(parents=True)
    # The same TOML that Algorithmia.CLI.auth() dumps for the default profile.
    config = {"profiles": {"default": {"api_key": cluster.key, "api_server": cluster.url,
                                       "ca_cert": cluster.ca_cert or "", "bearer_token": ""}}}
    with open(home / ".algorithmia" / "config", "w") as fh:
        toml.dump(config, fh)
    env = dict(os.environ, HOME=str(home))

    def run(*args):
        done = subprocess.run([str(ALGO), *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_algo_cli_ls_mkdir_cp_rm(cluster, algo, tmp_path):
    assert algo("ls").splitlines()[0] == f"{cluster.user}/"
    algo("mkdir", "data://.my/cli")
    assert cluster.client().dir("data://.my/cli").exists()
    assert ".my/cli/" in algo("ls", "data://.my/").splitlines()

    local = tmp_path / "upload.txt"
    local.write_text("copied by the CLI\n")
    algo("cp", str(local), "data://.my/cli")
    assert cluster.client().file("data://.my/cli/upload.txt").getString() == "copied by the CLI\n"

    listing = algo("ls", "-l", "data://.my/cli/")
    assert ".my/cli/upload.txt" in listing and "   18   " in listing

    downloaded = tmp_path / "downloaded.txt"
    algo("cp", "data://.my/cli/upload.txt", str(downloaded))
    assert downloaded.read_text() == "copied by the CLI\n"
    assert algo("cat", "data://.my/cli/upload.txt") == "copied by the CLI\n\n"

    algo("rm", "data://.my/cli/upload.txt")
    assert not cluster.client().file("data://.my/cli/upload.txt").exists()
    assert algo("ls", "data://.my/cli/").strip() == ""
    algo("rmdir", "data://.my/cli")
    assert not cluster.client().dir("data://.my/cli").exists()
