"""Builds of algorithm commits: a venv per build, requirements from a shared cache, a load check.

``BuildBackend`` (backend.py) is created by ``localcluster.algorithms.register`` and lives on
``app.state.builds``; the build directory layout is the contract in
``localcluster.builds.artifacts``.
"""

from localcluster.builds.backend import FAILED, IN_PROGRESS, SUCCEEDED, BuildBackend

__all__ = ["BuildBackend", "FAILED", "IN_PROGRESS", "SUCCEEDED"]
