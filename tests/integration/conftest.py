"""Fixtures for playbook-level tests: ``run_playbook`` bound to the test's tmp dir."""

from __future__ import annotations

import pytest

from tests.integration.playbook import run_playbook as _run_playbook


@pytest.fixture
def run_playbook(tmp_path):
    counter = {"n": 0}

    def run(playbook, **kwargs):
        counter["n"] += 1
        return _run_playbook(playbook, tmp_path / f"run{counter['n']}", **kwargs)

    return run
