"""Algorithm environments (AEMS): languages, installed environments, syncs from a master.

    backend.py    EnvironmentBackend: installed environments, syncs (state and logic)
    catalog.py    what the AEMS masters offer
    templates.py  the starter files of a new algorithm and of an environment's template download
    routes.py     ``/v1/algorithm-environments/edge/...``, also under ``/webapi/...`` (HTTP only)

Honest note: localcluster runs *every* environment on the host's Python 3 (``settings.python``),
in a virtual environment per build. Environment names ("Python 2.7", "Python 3.7 + TensorFlow
GPU 1.14", ...) and ids match real clusters so clients and the testbench select them the same
way, but no Python 2 interpreter, CUDA or preinstalled framework comes with them: an algorithm
gets what its ``requirements.txt`` installs.
"""
