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
