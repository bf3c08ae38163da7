"""Temporary files of algorithm workers and builds never outlive them, however they end.

Under TLS a worker has ``REQUESTS_CA_BUNDLE``, so the official client inside an algorithm writes
a CA bundle of ~230 KB to the temporary directory for every client and deletes it only at a
normal exit, which a killed worker never has. The cluster runs with ``TMPDIR`` pointing at a
directory of the test's own, which must stay empty: everything goes to the workers' private
directories, and those go with their workers.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from Algorithmia.errors import AlgorithmException

from localcluster.process import LocalClusterProcess
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy
from tests.localcluster.test_execution import REQUIREMENTS

TEMP_USER = '''
import os
import tempfile
import time

import Algorithmia


def apply(input):
    if input == "sleep":
        time.sleep(60)
    client = Algorithmia.client()  # writes its CA bundle to the temporary directory
    client.file("data://.my/none/x.txt").exists()  # and uses it, over TLS
    tempfile.NamedTemporaryFile(prefix="left-behind-", delete=False).write(b"x" * 1000)
    return {"tmp": tempfile.gettempdir(), "files": sorted(os.listdir(tempfile.gettempdir()))}
'''


def _gone(path: Path, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_worker_temp_files_go_with_the_worker_however_it_ends(tmp_path):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    proc = LocalClusterProcess(tmp_path / "cluster", tls=True, env=dict(os.environ, TMPDIR=str(system_tmp)))
    proc.start()
    try:
        cluster = RunningCluster(proc)
        ref = deploy(cluster, "TempUser", {"src/TempUser.py": TEMP_USER, "requirements.txt": REQUIREMENTS}, tmp_path)
        workers_root = cluster.data_dir / "tmp" / "workers"
        assert list((cluster.data_dir / "tmp" / "builds").iterdir()) == []  # the build's went with it
        algo = cluster.client().algo(ref)

        served = [algo.pipe("x").result for _call in range(2)]
        worker_tmp = Path(served[0]["tmp"])
        assert worker_tmp.parent == workers_root and stat.S_IMODE(worker_tmp.stat().st_mode) == 0o700
        assert any(name.endswith(".pem") for name in served[1]["files"])  # the client's CA bundles are here

        # Killed on its call's timeout: the directory goes with the worker.
        with pytest.raises(AlgorithmException):
            algo.set_options(timeout=1).pipe("sleep")
        assert _gone(worker_tmp)

        # A new worker, a new directory; stopping the cluster removes it.
        second_tmp = Path(cluster.client().algo(ref).pipe("x").result["tmp"])
        assert second_tmp != worker_tmp and second_tmp.is_dir()
        proc.stop()
        assert list(workers_root.iterdir()) == []

        # A SIGKILLed server cannot clean up: the next one does, as it starts.
        proc.start()
        third_tmp = Path(cluster.client().algo(ref).pipe("x").result["tmp"])
        proc.kill()
        assert third_tmp.is_dir()
        proc.start()
        assert list(workers_root.iterdir()) == []
        assert list(system_tmp.iterdir()) == []
    finally:
        proc.stop()
