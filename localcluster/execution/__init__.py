"""Algorithm execution: ``POST /v1/algo/<owner>/<name>[/<version>]`` run by warm worker processes.

    runner.py    the worker: a stdlib-only script run by a build's venv python (also the build's
                 import check, ``runner.py --check``)
    worker.py    one worker process and the server's side of the pipe protocol
    pool.py      warm workers per version: caps, waiting, reaping, stopping
    backend.py   the backend: resolve the version, mint the call's key, run, collect the outcome
    routes.py    the HTTP layer

Pool limits are ``Settings`` fields (``localcluster.settings`` lists their environment variables).
"""
