"""A localcluster under a real cluster's host names (``api.<domain>``, ``git.<domain>``), without /etc/hosts.

``serve --tls-names api.<domain>,git.<domain>`` gives the cluster a certificate for both names; this
module makes them reach 127.0.0.1 without root, for each kind of client a test runs:

- in this process (requests, urllib3, and so the official client): ``resolving(names)`` answers
  ``socket.getaddrinfo`` for those names with the loopback address; TLS still checks the name the
  client asked for against the certificate;
- ``git``: ``http.curloptResolve`` (git 2.37 and later: curl's ``--resolve``), given through
  ``GIT_CONFIG_COUNT``/``KEY``/``VALUE`` (``git_resolve_env``);
- another Python process (the ``algo`` CLI): ``python -m tests.localcluster.names_support NAMES
  ADDRESS -- MODULE ARGS...`` installs the same override, then runs ``MODULE`` as ``python -m`` would
  (``cli_argv``), and passes the git settings on to the git the CLI starts.

docs/localcluster.md ("Serving under a real cluster's names") says the same for people.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServedNames:
    """``api.<domain>`` and ``git.<domain>`` on ``port``: the addresses a real cluster's users are given."""

    domain: str
    port: int = 0

    @property
    def api_host(self) -> str:
        return f"api.{self.domain}"

    @property
    def git_host(self) -> str:
        return f"git.{self.domain}"

    @property
    def hosts(self) -> tuple[str, str]:
        return self.api_host, self.git_host

    @property
    def api_url(self) -> str:
        return f"https://{self.api_host}:{self.port}"

    @property
    def git_url(self) -> str:
        """What the original tool and ``algo clone`` derive from the API address."""
        return self.api_url.replace("//api.", "//git.", 1)


def install(names: Iterable[str], address: str = LOOPBACK):
    """Make ``names`` resolve to ``address`` in this process; returns the function it replaced."""
    wanted = {name.lower() for name in names}
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        text = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if isinstance(text, str) and text.lower() in wanted:
            host = address
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    return real


@contextmanager
def resolving(names: Iterable[str], address: str = LOOPBACK) -> Iterator[None]:
    """``names`` resolve to ``address`` in this process while the block runs."""
    real = install(names, address)
    try:
        yield
    finally:
        socket.getaddrinfo = real


def git_resolve_env(env: dict, names: ServedNames, address: str = LOOPBACK) -> dict:
    """``env`` with git told (``http.curloptResolve``) where each name is, after the settings it
    already gives through ``GIT_CONFIG_COUNT``."""
    env = dict(env)
    count = int(env.get("GIT_CONFIG_COUNT") or 0)
    for host in names.hosts:
        env[f"GIT_CONFIG_KEY_{count}"] = "http.curloptResolve"
        env[f"GIT_CONFIG_VALUE_{count}"] = f"{host}:{names.port}:{address}"
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def cli_argv(names: ServedNames, module: str = "Algorithmia", address: str = LOOPBACK) -> list[str]:
    """The command line of ``python -m <module>`` (the ``algo`` CLI by default) with ``names`` resolving
    to ``address``; give the process ``cli_env``."""
    return [sys.executable, "-m", "tests.localcluster.names_support", ",".join(names.hosts), address, "--", module]


def cli_env(env: dict, names: ServedNames) -> dict:
    """``env`` for ``cli_argv``'s process: this checkout importable, and the git it may start resolving too."""
    env = git_resolve_env(env, names)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def main(argv: list[str]) -> None:
    """``NAMES ADDRESS -- MODULE ARGS...``: run MODULE as ``python -m`` does, NAMES resolving to ADDRESS."""
    names, address, separator, module, *args = argv
    if separator != "--":
        raise SystemExit("usage: python -m tests.localcluster.names_support NAME[,NAME...] ADDRESS -- MODULE [ARGS...]")
    install(names.split(","), address)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
