"""Client tests against real localcluster processes (the root conftest starts plain ones)."""

from __future__ import annotations

import pytest

from localcluster.process import LocalClusterProcess
from tests.collection import ensure_importable

ensure_importable()


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    """A localcluster serving HTTPS with its own CA, and a user's key."""
    proc = LocalClusterProcess(tmp_path_factory.mktemp("tls"), tls=True).start()
    try:
        proc.user_key = proc.create_user("tlsuser")
        yield proc
    finally:
        proc.stop()


def set_faults(cluster, rules, seed=None):
    """localcluster's fault hooks: ``rules`` as ``PUT /localcluster/faults`` takes them ([] switches them off)."""
    import requests

    document = {"rules": rules}
    if seed is not None:
        document["seed"] = seed
    response = requests.put(cluster.url + "/localcluster/faults", json=document,
                            headers={"Authorization": "Simple " + cluster.admin_key}, timeout=10)
    response.raise_for_status()


@pytest.fixture
def faults(cluster):
    """Sets localcluster fault rules for one test, and switches them off after it."""
    yield lambda *rules, seed=None: set_faults(cluster, list(rules), seed)
    set_faults(cluster, [])


class Authority:
    """A CA of the test's own (trustme) and a server certificate it signed for ``names``."""

    def __init__(self, names=("127.0.0.1",)):
        import ssl

        import trustme

        self._ca = trustme.CA()
        self.pem = self._ca.cert_pem.bytes().decode("ascii")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(*names).configure_cert(self.server_context)


@pytest.fixture(scope="module")
def authority():
    return Authority()


@pytest.fixture
def proxy(cluster):
    """``proxy(tls=None, ranges=True)``: a ``FaultProxy`` in front of ``cluster``, stopped after the test."""
    from tests.integration.client.faultproxy import FaultProxy

    made = []

    def start(tls=None, ranges=True, upstream=None):
        made.append(FaultProxy(upstream or cluster.url, tls=tls, ranges=ranges))
        return made[-1]

    yield start
    for running in made:
        running.stop()
