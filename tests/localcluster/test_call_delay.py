"""A platform made slower on demand, as an upgrade may make it: ``LOCALCLUSTER_CALL_DELAY_MS`` (and
``serve --call-delay-ms``); and a running cluster restarted with it on the same port and data, by
its own ``LocalClusterProcess.restart`` and by ``tests/integration/restart_cluster.py``, which a
playbook's task runs from another process than the cluster's parent.

Timings are lower bounds only: a call answers at least the delay later than its
``metadata.duration`` accounts for. That Data API calls are not delayed is shown by the fastest of
several reads being quicker than the delay (server side, from the request log), never by a tight bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localcluster.cli import build_parser, serve_settings
from localcluster.process import LocalClusterProcess, stop_server
from localcluster.settings import Settings
from tests.conftest import RunningCluster
from tests.localcluster.execution_support import deploy
from tests.localcluster.test_execution import ECHO, REQUIREMENTS

ROOT = Path(__file__).resolve().parents[2]
RESTART_SCRIPT = ROOT / "tests" / "integration" / "restart_cluster.py"
PROBE = "data://.my/delay/probe.txt"


def publish_echo(cluster: RunningCluster, workdir: Path) -> str:
    """The test's echo algorithm, built and published: ``owner/Echo`` calls its latest version."""
    owner, name, sha = deploy(cluster, "Echo", {"src/Echo.py": ECHO, "requirements.txt": REQUIREMENTS}, workdir).split("/")
    cluster.client().algo(f"{owner}/{name}").publish(
        details={"label": name}, settings={"algorithm_callability": "private"},
        version_info={"version_type": "minor", "git_hash": sha, "release_notes": "echo", "sample_input": "x"})
    return f"{owner}/{name}"


def overheads(cluster: RunningCluster, algo: str, calls: int = 3) -> list[float]:
    """Per call, in seconds: what the client waited beyond the algorithm's own time (metadata.duration)."""
    client = cluster.client()
    found = []
    for index in range(calls):
        started = time.perf_counter()
        response = client.algo(algo).pipe(f"n{index}")
        waited = time.perf_counter() - started
        assert response.result == f"hello n{index}"
        found.append(waited - response.metadata.duration)
    return found


def put_probe(cluster: RunningCluster) -> None:
    cluster.client().dir(PROBE.rsplit("/", 1)[0]).create()
    cluster.client().file(PROBE).put("probe")


def fastest_data_read_ms(cluster: RunningCluster, reads: int = 5) -> float:
    """The quickest of ``reads`` Data API reads of one file, as the server timed them (request log)."""
    probe = cluster.client().file(PROBE)
    for _read in range(reads):
        assert probe.getString() == "probe"
    times = [line["duration_ms"] for line in cluster.request_log()
             if line["method"] == "GET" and line["path"].endswith("/delay/probe.txt")]
    assert len(times) >= reads, times
    return min(times[-reads:])


@pytest.fixture(scope="module")
def delayed(tmp_path_factory):
    """A cluster started with LOCALCLUSTER_CALL_DELAY_MS=50, its echo published and a data file."""
    proc = LocalClusterProcess(tmp_path_factory.mktemp("delayed"),
                               env=dict(os.environ, LOCALCLUSTER_CALL_DELAY_MS="50")).start()
    try:
        cluster = RunningCluster(proc)
        cluster.algo = publish_echo(cluster, tmp_path_factory.mktemp("echo"))
        put_probe(cluster)
        yield cluster
    finally:
        proc.stop()


def test_the_setting_from_the_environment_and_the_command_line(tmp_path):
    assert Settings(data_dir=tmp_path).call_delay_ms == 0
    assert Settings.from_environment({"LOCALCLUSTER_CALL_DELAY_MS": "50"}, data_dir=tmp_path).call_delay_ms == 50.0
    parser = build_parser()
    plain = parser.parse_args(["serve", "--data-dir", str(tmp_path)])
    given = parser.parse_args(["serve", "--data-dir", str(tmp_path), "--call-delay-ms", "12.5"])
    environ = {"LOCALCLUSTER_CALL_DELAY_MS": "40"}
    assert serve_settings(plain, {}).call_delay_ms == 0
    assert serve_settings(plain, environ).call_delay_ms == 40.0
    assert serve_settings(given, environ).call_delay_ms == 12.5  # the command line wins
    for wrong in ("-1", "nan", "inf", "soon"):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--data-dir", str(tmp_path), "--call-delay-ms", wrong])
    with pytest.raises(ValueError, match="LOCALCLUSTER_CALL_DELAY_MS"):
        Settings.from_environment({"LOCALCLUSTER_CALL_DELAY_MS": "-5"}, data_dir=tmp_path)


def test_calls_answer_later_than_the_algorithm_ran_and_data_calls_do_not(delayed):
    assert min(overheads(delayed, delayed.algo)) >= 0.050
    calls = [line for line in delayed.request_log() if line["method"] == "POST" and line["path"].startswith("/v1/algo/")]
    assert calls and min(line["duration_ms"] for line in calls) >= 50  # the server's own view: the same wait
    assert fastest_data_read_ms(delayed) < 50


def test_restart_keeps_the_port_and_the_data_with_new_settings(delayed):
    url, old_pid = delayed.url, delayed.proc.proc.pid
    delayed.proc.restart(env={"LOCALCLUSTER_CALL_DELAY_MS": "120"})
    assert (delayed.url, delayed.proc.proc.pid != old_pid) == (url, True)
    assert min(overheads(delayed, delayed.algo)) >= 0.120  # the new setting, not the first one
    assert fastest_data_read_ms(delayed) < 120


def test_restart_cluster_script_upgrades_a_test_cluster(tmp_path):
    # TLS, as the clusters of a playbook run are; started by this process, restarted by another.
    proc = LocalClusterProcess(tmp_path / "cluster", tls=True).start()
    try:
        cluster = RunningCluster(proc)
        algo = publish_echo(cluster, tmp_path)
        put_probe(cluster)
        old_pid, url = proc.proc.pid, proc.url
        done = subprocess.run([sys.executable, str(RESTART_SCRIPT), "--data-dir", str(proc.data_dir),
                               "--call-delay-ms", "40", "--tls"],
                              capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        server = json.loads((proc.data_dir / "server.json").read_text())
        assert json.loads(done.stdout) == {"pid": server["pid"], "url": url}
        assert server["pid"] != old_pid and proc.proc.poll() is not None  # the first server ended
        # The same cluster: the key made before the restart, its data and its published algorithm.
        assert cluster.client().file(PROBE).getString() == "probe"
        assert min(overheads(cluster, algo)) >= 0.040
        assert fastest_data_read_ms(cluster) < 40
        # A mismatched scheme is refused before anything is stopped.
        refused = subprocess.run([sys.executable, str(RESTART_SCRIPT), "--data-dir", str(proc.data_dir),
                                  "--call-delay-ms", "0"], capture_output=True, text=True, timeout=60, check=False)
        assert refused.returncode == 1 and "pass --tls" in refused.stderr and not refused.stdout
        assert json.loads((proc.data_dir / "server.json").read_text())["pid"] == server["pid"]
    finally:
        try:
            stop_restarted(proc)
        finally:
            proc.stop()


def stop_restarted(proc: LocalClusterProcess) -> None:
    """The server the script started (not our child): the pid server.json names, if not the first one."""
    try:
        pid = json.loads((proc.data_dir / "server.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return
    if pid != proc.proc.pid:
        stop_server(proc.data_dir)  # SIGTERM, SIGKILL to its process group if it lingers


def test_restart_cluster_script_says_why_it_cannot(tmp_path):
    done = subprocess.run([sys.executable, str(RESTART_SCRIPT), "--data-dir", str(tmp_path), "--call-delay-ms", "40"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and not done.stdout
    assert "no localcluster serves" in done.stderr and "server.json does not exist" in done.stderr
    (tmp_path / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": os.getpid(), "port": 9}))
    done = subprocess.run([sys.executable, str(RESTART_SCRIPT), "--data-dir", str(tmp_path), "--call-delay-ms", "40"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "is not a running 'localcluster serve" in done.stderr  # and this test still runs
