"""Algorithm execution: ``POST /v1/algo/<owner>/<name>[/<version>]`` run by warm worker processes.

    runner.py    the Python worker: a stdlib-only script run by a build's venv python (also the
                 build's import check, ``runner.py --check``); its docstring is the frame protocol
    runners/     the other languages' workers, speaking the same protocol: javascript/runner.js,
                 java/Runner.java, ruby/runner.rb (how each is built: ``localcluster.builds.languages``)
    worker.py    one worker process and the server's side of the pipe protocol
    pool.py      warm workers per version: caps, waiting, reaping, stopping
    backend.py   the backend: resolve the version, mint the call's key, run, collect the outcome
    routes.py    the HTTP layer

Pool limits are ``Settings`` fields (``localcluster.settings`` lists their environment variables).
"""
