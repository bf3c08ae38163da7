"""Algorithm execution: ``POST /v1/algo/<owner>/<name>[/<version>]`` run by warm worker processes.

    runner.py    the worker: a stdlib-only script run by a build's venv python (also the build's
                 import check, ``runner.py --check``)
"""
