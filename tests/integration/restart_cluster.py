"""Restart a running localcluster with a slower setting: the "upgrade" of a rollout-gate test.

    python tests/integration/restart_cluster.py --data-dir DIR --call-delay-ms 40 [--tls] [--timeout 30]

Stops the localcluster serving DIR (its pid and port are in DIR/server.json; whoever started it,
a test's ``LocalClusterProcess`` included), waits until it has ended and its port is free, and
starts it again on the same port and data dir, detached (its own session: it keeps running after
this script exits; its output goes to DIR/server.log), with the ``LOCALCLUSTER_*`` settings it ran
with and ``LOCALCLUSTER_CALL_DELAY_MS`` set to the given delay. Once it answers
``/localcluster/health``, prints one JSON line ``{"pid": ..., "url": ...}``. The URL, the users,
keys, data and algorithms are those of before.

Run it with the Python that runs localcluster (the checkout's .venv; in a playbook run by the
tests, ``ansible_playbook_python``). ``--tls`` must match how the cluster serves (a restart never
changes its URL). Exits 1 with a message on stderr when it cannot; the server is then stopped or
untouched, as the message says. Whoever uses it stops the new server at the end: its pid is the
printed one, and in DIR/server.json.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from localcluster.process import LocalClusterProcess, stop_server  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="the data dir of the running localcluster")
    parser.add_argument("--call-delay-ms", required=True, type=float,
                        help="LOCALCLUSTER_CALL_DELAY_MS of the restarted server (0: no delay)")
    parser.add_argument("--tls", action="store_true", help="the cluster serves HTTPS (DIR/ca.pem)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for each of stopping and starting (default 30)")
    args = parser.parse_args(argv)
    if not 0 <= args.call_delay_ms < float("inf"):
        parser.error(f"--call-delay-ms must be 0 or more milliseconds, got {args.call_delay_ms}")
    return args


def check_scheme(data_dir: Path, tls: bool) -> None:
    """Refuse before stopping anything when --tls does not match the running server."""
    try:
        serves_tls = bool(json.loads((data_dir / "server.json").read_text()).get("tls"))
    except (OSError, ValueError, AttributeError):
        return  # stop_server says what is wrong with the file
    if serves_tls != tls:
        raise RuntimeError(f"the localcluster serving {data_dir} serves {'HTTPS' if serves_tls else 'plain HTTP'}: "
                           f"{'pass' if serves_tls else 'drop'} --tls (a restart keeps its URL); nothing was stopped")


def server_environment(kept: dict, call_delay_ms: float) -> dict:
    """Ours without any LOCALCLUSTER_* setting, then the stopped server's, then the new delay."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOCALCLUSTER_")}
    env.update(kept)
    env["LOCALCLUSTER_CALL_DELAY_MS"] = repr(call_delay_ms)
    return env


def wait_until_answers(cluster: LocalClusterProcess, timeout: float) -> None:
    context = ssl.create_default_context(cafile=cluster.ca_cert) if cluster.tls else None
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{cluster.url}/localcluster/health", timeout=5, context=context) as answer:
                if answer.status == 200:
                    return
                problem = f"status {answer.status}"
        except OSError as exc:  # URLError, refused, reset, TLS
            problem = str(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the restarted localcluster (pid {cluster.proc.pid}) at {cluster.url} did not answer "
                               f"/localcluster/health within {timeout}s ({problem}); it is still running; "
                               f"see {cluster.log_path}")
        time.sleep(0.1)


def restart(args: argparse.Namespace) -> dict:
    data_dir = args.data_dir.resolve()
    check_scheme(data_dir, args.tls)
    stopped = stop_server(data_dir, args.timeout)
    host = urlsplit(stopped["url"]).hostname  # what the server bound (an IPv6 address without its brackets)
    cluster = LocalClusterProcess(data_dir, tls=args.tls, host=host, tls_names=stopped.get("tls_names") or (),
                                  env=server_environment(stopped["environment"], args.call_delay_ms))
    try:
        cluster.start(args.timeout, port=stopped["port"])
    except RuntimeError as exc:
        raise RuntimeError(f"the localcluster serving {data_dir} was stopped (pid {stopped['pid']}) but did not start "
                           f"again on port {stopped['port']}: {exc}") from None
    wait_until_answers(cluster, args.timeout)
    return {"pid": cluster.proc.pid, "url": cluster.url}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        started = restart(args)
    except RuntimeError as exc:
        print(f"restart_cluster: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(started), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
