"""Installed environments and syncs from an AEMS master.

A sync is asynchronous, as on real clusters: ``start_sync`` answers at once with a sync id and
a thread does the work. On localcluster "installing" an environment means checking that the
host toolchain its builds use is there (the host Python can create virtual environments; node,
javac or ruby answers), and recording it; a failing check fails the sync. The languages
localcluster does not build install without a check: their builds fail, saying why.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid

from localcluster.db import Database
from localcluster.environments import catalog
from localcluster.environments.catalog import EnvironmentSpec
from localcluster.errors import BadRequest, NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS installed_environments (
    environment_id TEXT PRIMARY KEY,
    spec_id TEXT NOT NULL UNIQUE,
    master TEXT NOT NULL,
    host_python TEXT,
    installed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS environment_syncs (
    id TEXT PRIMARY KEY,
    spec_id TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
);
"""

SYNC_IN_PROGRESS, SYNC_SUCCEEDED, SYNC_FAILED = "in-progress", "succeeded", "failed"

# AEMS language -> the command whose answer shows the host can build it (None: the host Python's).
TOOLCHAIN_PROBES = {
    "javascript": ["node", "--version"],
    "java11": ["javac", "-version"],
    "ruby": ["ruby", "--version"],
}
PYTHON_LANGUAGES = ("python2", "python3")


class EnvironmentBackend:
    def __init__(self, db: Database, python: str) -> None:
        self.db = db
        self.python = python
        db.ensure_schema(SCHEMA)
        self._threads: list[threading.Thread] = []
        self._preinstall()
        self._fail_interrupted_syncs()

    def _preinstall(self) -> None:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM installed_environments LIMIT 1").fetchone():
                return
            for spec_id in catalog.PREINSTALLED_SPEC_IDS:
                spec = catalog.find_spec(spec_id)
                conn.execute("INSERT INTO installed_environments VALUES (?, ?, ?, ?, ?)",
                             (spec.environment_id, spec.spec_id, spec.master, self.python, time.time()))

    def _fail_interrupted_syncs(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE environment_syncs SET status = ?, message = ?, finished_at = ? WHERE status = ?",
                         (SYNC_FAILED, "The cluster restarted during the sync; start it again.", time.time(),
                          SYNC_IN_PROGRESS))

    # languages and listings
    def languages(self) -> list[dict]:
        return [dict(lang) for lang in catalog.LANGUAGES.values()]

    def installed(self) -> list[EnvironmentSpec]:
        rows = self.db.query("SELECT spec_id FROM installed_environments ORDER BY installed_at, spec_id")
        return [catalog.find_spec(row["spec_id"]) for row in rows]

    def environments_for_language(self, language: str) -> list[EnvironmentSpec]:
        if language not in catalog.LANGUAGES:
            raise NotFound(f"Unknown language {language!r}; this cluster has: {', '.join(catalog.LANGUAGES)}.",
                           code=5004)
        return [spec for spec in self.installed() if spec.language == language]

    def available(self, master: str) -> list[EnvironmentSpec]:
        if master not in catalog.MASTERS:
            raise BadRequest(f"Unknown AEMS master {master!r}: use one of {', '.join(catalog.MASTERS)}.")
        return catalog.master_catalog(master)

    def is_installed(self, environment_id: str) -> bool:
        return self.db.query_one("SELECT 1 FROM installed_environments WHERE environment_id = ?",
                                 (environment_id,)) is not None

    # choosing an environment for an algorithm
    def environment_for_settings(self, settings: dict) -> EnvironmentSpec:
        """The installed environment an algorithm's create/update settings ask for.

        Accepted, most specific first: ``algorithm_environment`` (an environment id, what AEMS
        clusters and the testbench send), ``environment`` when it is an environment id, then
        ``language`` (``python3-1``, ``python3``, ...) with ``environment`` ``cpu``/``gpu``.
        """
        env_id = settings.get("algorithm_environment")
        if not env_id and settings.get("environment") not in (None, "", "cpu", "gpu"):
            env_id = settings["environment"]
        if env_id:
            spec = catalog.find_environment(str(env_id))
            if spec is None:
                raise BadRequest(f"Unknown algorithm environment {env_id!r}. List this cluster's environments with "
                                 "GET /v1/algorithm-environments/edge/languages/<language>/environments.", code=1003)
            if not self.is_installed(spec.environment_id):
                raise BadRequest(
                    f"Environment {spec.display_name!r} ({env_id}) is not installed on this cluster. An admin can "
                    f"sync it: POST /v1/algorithm-environments/edge/environment-specifications/{spec.spec_id}/syncs",
                    code=1003)
            return spec
        language = settings.get("language") or settings.get("package_set")
        if not language:
            raise BadRequest("Give settings.algorithm_environment (an environment id) or settings.language.",
                             code=2015)
        aems_language = catalog.LEGACY_LANGUAGES.get(str(language))
        if aems_language is None:
            raise BadRequest(f"Unsupported language {language!r}: this cluster knows "
                             f"{', '.join(sorted(catalog.LEGACY_LANGUAGES))}.", code=1003)
        machine = "GPU" if settings.get("environment") == "gpu" else "CPU"
        candidates = list(self.environments_for_language(aems_language))
        # A plain interpreter environment ("Python 3.7") is the natural default for a language.
        candidates.sort(key=lambda s: (s.machine_type != machine, "+" in s.display_name, s.display_name))
        if not candidates:
            raise BadRequest(f"No {aems_language} environment is installed on this cluster. An admin can list them "
                             "with GET /v1/algorithm-environments/edge/environments/available and sync one.",
                             code=1003)
        return candidates[0]

    # syncs
    def start_sync(self, spec_id: str) -> str:
        spec = catalog.find_spec(spec_id)
        if spec is None:
            raise NotFound(f"No environment specification {spec_id} on the AEMS masters "
                           f"({', '.join(catalog.MASTERS)}); list them with GET .../environments/available.",
                           code=5004)
        sync_id = str(uuid.uuid4())
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO environment_syncs (id, spec_id, status, started_at) VALUES (?, ?, ?, ?)",
                         (sync_id, spec_id, SYNC_IN_PROGRESS, time.time()))
        thread = threading.Thread(target=self._sync, args=(sync_id, spec), name=f"env-sync-{sync_id[:8]}",
                                  daemon=True)
        self._threads.append(thread)
        thread.start()
        return sync_id

    def _toolchain(self, spec: EnvironmentSpec) -> str:
        """What the host runs ``spec`` with ("host Python 3.11.7", "node v20.1.0" ...); raises if it cannot."""
        if spec.language in PYTHON_LANGUAGES:
            command = [self.python, "-c", "import sys, venv; print(sys.version.split()[0])"]
            what = f"the host Python {self.python} cannot create virtual environments"
        elif spec.language in TOOLCHAIN_PROBES:
            command = TOOLCHAIN_PROBES[spec.language]
            what = f"{command[0]} is not installed on this machine (make localcluster-toolchains installs it)"
        else:
            return "catalogued only: localcluster does not build this language"
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except OSError as exc:
            raise RuntimeError(f"{what}: {exc}") from None
        if out.returncode != 0:
            raise RuntimeError(f"{what}: {(out.stderr or out.stdout).strip()[-500:]}")
        version = (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"
        return f"runs on host Python {version}" if spec.language in PYTHON_LANGUAGES else f"runs on {version}"

    def _sync(self, sync_id: str, spec: EnvironmentSpec) -> None:
        try:
            toolchain = self._toolchain(spec)
            with self.db.transaction() as conn:
                conn.execute("INSERT OR REPLACE INTO installed_environments VALUES (?, ?, ?, ?, ?)",
                             (spec.environment_id, spec.spec_id, spec.master, self.python, time.time()))
                conn.execute("UPDATE environment_syncs SET status = ?, message = ?, finished_at = ? WHERE id = ?",
                             (SYNC_SUCCEEDED, f"{spec.display_name} installed ({toolchain})", time.time(), sync_id))
        except Exception as exc:  # any failure is the sync's result, for the poller to read
            with self.db.transaction() as conn:
                conn.execute("UPDATE environment_syncs SET status = ?, message = ?, finished_at = ? WHERE id = ?",
                             (SYNC_FAILED, f"Sync of {spec.display_name} failed: {exc}", time.time(), sync_id))

    def get_sync(self, spec_id: str, sync_id: str) -> dict:
        row = self.db.query_one("SELECT * FROM environment_syncs WHERE id = ? AND spec_id = ?", (sync_id, spec_id))
        if row is None:
            raise NotFound(f"No sync {sync_id} of environment specification {spec_id}.", code=5004)
        return dict(row)

    def uninstall(self, spec_id: str) -> None:
        """Disable an environment: no new algorithms on it; existing builds keep working."""
        with self.db.transaction() as conn:
            deleted = conn.execute("DELETE FROM installed_environments WHERE spec_id = ?", (spec_id,)).rowcount
        if not deleted:
            raise NotFound(f"Environment specification {spec_id} is not installed on this cluster.", code=5004)

    def stop(self) -> None:
        for thread in self._threads:
            thread.join(timeout=5)
