"""Algorithms: the management API, versions and publishing, and which build a call runs.

    backend.py     AlgorithmBackend: records, settings, compile, versions, publishing (state and
                   logic); ``resolve_runnable`` is what execution calls
    resolution.py  version string or commit prefix -> build: the contract execution codes against
    semver.py      semantic versions and version ranges
    shapes.py      the JSON shapes of algorithms, versions and builds
    routes.py      ``/v1/algorithms/...``, ``/v1/scms`` (HTTP only)

Builds are ``localcluster.builds``'s (asked through ``BuildBackend``), the repositories
``localcluster.gitserver.repos``'s.
"""
