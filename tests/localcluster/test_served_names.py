"""localcluster served under a real cluster's names: ``https://api.local.test:<port>`` for the API and
``https://git.local.test:<port>`` for git, with a certificate for both (``serve --tls-names``).

Tools that assume a real cluster's naming (the original tool, ``algo clone``: the git address is the
API address with ``//api.`` made ``//git.``) run against it unchanged. The names reach 127.0.0.1
without /etc/hosts (tests/localcluster/names_support.py): the official client through a resolver
override in this process, git through ``http.curloptResolve``, the ``algo`` CLI through both.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess

import pytest

from localcluster.cli import build_parser, serve_settings
from tests.localcluster.git_support import clone, commit_and_push, git, git_env, wait_for_build
from tests.localcluster.names_support import cli_argv, cli_env, git_resolve_env

SETTINGS = {"language": "python3-1", "environment": "cpu", "source_visibility": "closed", "license": "apl",
            "network_access": "full", "pipeline_enabled": True}


@pytest.fixture(scope="module")
def named(named_cluster, tmp_path_factory):
    """alice's algorithm Named, created and pushed entirely through the names; its built commit."""
    cluster = named_cluster
    client = cluster.client(url=cluster.api_url)
    algo = client.algo(f"{cluster.user}/Named")
    algo.create(details={"label": "Named"}, settings=SETTINGS)
    home = tmp_path_factory.mktemp("named-git")
    env = git_resolve_env(git_env(home, cluster.user, cluster.key, cluster.ca_cert), cluster.names)
    checkout = home / "Named"
    # The original tool's derivation of the git address from the API address.
    git_url = cluster.api_url.replace("//api.", "//git.")
    assert git_url == cluster.names.git_url
    clone(git_url, cluster.user, "Named", checkout, env)
    sha = commit_and_push(checkout, env, {"src/Named.py": "def apply(input):\n    return 'named {}'.format(input)\n"},
                          "through git.local.test")
    build = wait_for_build(algo, sha)
    assert build["status"] == "succeeded", algo.get_build_logs(build["build_id"])["logs"]
    return {"cluster": cluster, "client": client, "algo": algo, "sha": sha, "env": env, "home": home}


def test_the_certificate_carries_both_names(named_cluster):
    cluster = named_cluster
    context = ssl.create_default_context(cafile=cluster.ca_cert)
    for host in cluster.names.hosts:
        with socket.create_connection((host, cluster.proc.port), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:  # checks the name against the certificate
                names = {value for kind, value in tls.getpeercert()["subjectAltName"] if kind == "DNS"}
        assert {"api.local.test", "git.local.test", "localhost"} <= names
    info = json.loads((cluster.data_dir / "server.json").read_text())
    assert info["tls"] is True and info["tls_names"] == ["api.local.test", "git.local.test"]


def test_the_official_client_and_the_algorithms_api_under_the_api_name(named):
    cluster, client, algo, sha = named["cluster"], named["client"], named["algo"], named["sha"]
    assert client.apiAddress == "https://api.local.test:%d" % cluster.proc.port
    info = client.getJsonHelper(f"/v1/algorithms/{cluster.user}/Named")
    assert info["version_info"]["git_hash"] == sha and info["build"]["status"] == "succeeded"
    assert any(b["commit_sha"] == sha for b in algo.get_builds()["results"])
    assert client.algo(f"{cluster.user}/Named/{sha}").pipe("call").result == "named call"
    published = algo.publish(settings={"algorithm_callability": "private"}, version_info={"version_type": "minor"},
                             details={"label": "Named"})
    assert published["version_info"]["semantic_version"] == "0.1.0"
    assert client.algo(f"{cluster.user}/Named").pipe("latest").result == "named latest"
    client.dir("data://.my/named").create()
    client.file("data://.my/named/hello.txt").put("over the name")
    assert client.file("data://.my/named/hello.txt").getString() == "over the name"


def test_git_answers_under_the_git_name_as_under_the_api_name(named):
    cluster, env, sha = named["cluster"], named["env"], named["sha"]
    heads = set()
    for url in (cluster.names.git_url, cluster.names.api_url):
        listed = git(env, "ls-remote", f"{url}/git/{cluster.user}/Named.git", "refs/heads/master")
        heads.add(listed.stdout.split()[0])
    assert heads == {sha}


def test_the_names_resolve_only_where_a_test_makes_them(named):
    # git without http.curloptResolve: the name is nobody's (no /etc/hosts entry was made).
    cluster = named["cluster"]
    bare = git_env(named["home"], cluster.user, cluster.key, cluster.ca_cert)
    listed = git(bare, "ls-remote", f"{cluster.names.git_url}/git/{cluster.user}/Named.git", check=False)
    assert listed.returncode != 0


def test_the_algo_cli_under_the_names(named, tmp_path):
    cluster, sha = named["cluster"], named["sha"]
    home = tmp_path / "home"
    (home / ".algorithmia").mkdir(parents=True)
    # The git that `algo clone` starts: the key as an extra header, the cluster's CA, and the names.
    env = cli_env(git_env(home, cluster.user, cluster.key, cluster.ca_cert), cluster.names)
    argv = cli_argv(cluster.names)

    def algo(*args, stdin=None):
        done = subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # algo auth takes only https://api. addresses: this one, as a user types it.
    out = algo("auth", stdin=f"{cluster.api_url}\n{cluster.key}\n{cluster.ca_cert}\n")
    assert "invalid" not in out, out
    assert algo("run", f"{cluster.user}/Named/{sha}", "-d", "cli").strip() == "named cli"
    assert algo("ls").splitlines()[0] == f"{cluster.user}/"
    out = algo("clone", f"{cluster.user}/Named")
    assert "failed to clone" not in out, out
    assert (tmp_path / "Named" / "src" / "Named.py").read_text().startswith("def apply")


def test_serve_takes_the_names_and_refuses_what_is_not_one(tmp_path):
    parser = build_parser()
    args = parser.parse_args(["serve", "--data-dir", str(tmp_path), "--tls-names", "api.example.test, git.example.test"])
    settings = serve_settings(args, environ={})
    assert settings.tls is True and settings.tls_names == ("api.example.test", "git.example.test")
    for bad in ("api..test", "-api.test", "api.te st", ","):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--data-dir", str(tmp_path), "--tls-names", bad])
