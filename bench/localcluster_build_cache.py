"""Cold vs warm build of the Python template, as a push triggers it: prints seconds per build.

The cold build gets an empty private uv cache (UV_CACHE_DIR in a temporary directory), so it
downloads everything from the package index; the warm build is the next commit with the same
requirements, served offline from that cache. Run: ``.venv/bin/python -m bench.localcluster_build_cache``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from localcluster.builds.installer import CACHE_HIT
from localcluster.process import LocalClusterProcess
from tests.localcluster.git_support import classic_source, clone, commit_and_push, git_env, wait_for_build


def _timestamp(text: str) -> datetime:
    """An API timestamp (ISO 8601, ``Z`` for UTC) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _seconds(build: dict) -> float:
    return (_timestamp(build["finished_at"]) - _timestamp(build["started_at"])).total_seconds()


def main() -> None:
    import Algorithmia

    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
        env["UV_CACHE_DIR"] = str(scratch_path / "uv-cache")
        cluster = LocalClusterProcess(scratch_path / "data", env=env).start()
        try:
            key = cluster.create_user("bench")
            algo = Algorithmia.client(key, cluster.url).algo("bench/Timed")
            algo.create(details={"label": "t"}, settings={"language": "python3-1", "license": "apl",
                                                          "source_visibility": "closed", "network_access": "full",
                                                          "pipeline_enabled": True})
            git = git_env(scratch_path, "bench", key)
            clone(cluster.url, "bench", "Timed", scratch_path / "Timed", git)
            for label in ("cold", "warm", "warm"):
                sha = commit_and_push(scratch_path / "Timed", git, classic_source("Timed", label), label)
                build = wait_for_build(algo, sha)
                cached = CACHE_HIT in algo.get_build_logs(build["build_id"])["logs"]
                print(f"{label}: {build['status']} in {_seconds(build):.2f} s (cache hit: {cached})")
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
