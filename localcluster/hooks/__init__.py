"""Test hooks, apart from the emulated API (as moto keeps ``/moto-api``): ``/localcluster/...``.

    faults.py        FaultInjector (the rules) and FaultMiddleware (applies them to requests)
    connection.py    the connection under a request: reset it, or close it mid-stream
                     (``localcluster.protocol`` hands it to each request)
    routes.py        health, fault switches, key minting (HTTP only)

(The worker pool's ``/localcluster/workers`` is served by ``localcluster.execution``.)
"""
