"""Builds of algorithm commits: a venv per build, requirements from a shared cache, a load check.

    backend.py     BuildBackend: the builds table, the queue that runs builds, recovery after a
                   restart (state and logic)
    pipeline.py    one build, start to finish
    installer.py   the build's venv and its requirements (uv, a machine-wide cache)
    check.py       the load check, ``runner.py --check``
    processes.py   a build's child processes: streamed log, deadline, cancellation
    artifacts.py   what a build leaves on disk: the contract with execution

No HTTP of its own: builds are served under ``/v1/algorithms/...`` by ``localcluster.algorithms``.
"""
