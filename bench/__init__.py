"""The speed of this project's own code, for its developers: ``make bench`` (``bench.run_all``).

Each benchmark prints figures measured side by side with a reference in the same run (ratios are
the figures to read) and peak memory; none is a pass/fail test. Not to be confused with
``algo_benchmark``, the product's benchmark of a cluster (``plugins/module_utils/measure/engine.py``).

    localcluster_calls.py          a warm echo algorithm on localcluster vs a plain uvicorn endpoint;
                                   a build with cached requirements; server + workers peak RSS
    localcluster_build_cache.py    a build with a cold and with a warm package cache
    data_sync_vs_seed.py           algo_data_sync vs the original tool's getFile + putFile
    driver_vs_wrk.py               algo_benchmark's driver vs wrk on one echo endpoint, c=1, 8, 32,
                                   closed model side by side; the open model beside wrk's closed figures
    million_calls.py               the algo_benchmark module process's peak RSS over 100,000 and
                                   1,000,000 calls (about half an hour; --calls for a quick try)
    echo_endpoint.py               the warm echo algorithm on localcluster those two call
    load.py, hello_app.py          the load generator and the reference endpoint they share
"""
