"""Shared fixtures: real localcluster processes on free ports, stopped after the test."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from localcluster.process import LocalClusterProcess
from localcluster.requestlog import server_errors
from tests.localcluster.names_support import ServedNames, resolving

ALONE = "alone"
SERVER_ERRORS_ALLOWED = "server_errors_allowed"
# .test is reserved (RFC 2606): these names never resolve anywhere but where a test makes them.
NAMES_DOMAIN = "local.test"


def pytest_configure(config):
    # `make test` runs the suite on three workers, then the tests marked `alone` one at a time with
    # nothing else running: their verdict rests on measured latencies (the ratchet's history and
    # the run it compares), and the other workers' CPU bursts (a playbook starting, a build) are
    # noise of the same size as what they must detect on a two-core machine.
    config.addinivalue_line("markers", ALONE + ": a test whose verdict rests on measured latencies; "
                            "`make test` runs it after the parallel suite, with nothing beside it")
    config.addinivalue_line("markers", SERVER_ERRORS_ALLOWED + "(method, path_prefix, reason): the test provokes "
                            "localcluster's 500 on purpose for these requests (see _no_server_errors)")


class RunningCluster:
    """A started localcluster with an admin and a regular user."""

    def __init__(self, proc: LocalClusterProcess, names: ServedNames | None = None) -> None:
        self.proc = proc
        self.admin_key = proc.create_user("admin", admin=True)
        self.user = "alice"
        self.key = proc.create_user(self.user)
        # Served under api.<domain> / git.<domain> too (named_cluster): the addresses on that port.
        self.names = None if names is None else ServedNames(names.domain, proc.port)

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def api_url(self) -> str:
        """The address a user of this cluster is given: https://api.<domain>:<port> when it is served
        under names, else its loopback URL."""
        return self.names.api_url if self.names else self.proc.url

    @property
    def data_dir(self) -> Path:
        return self.proc.data_dir

    @property
    def ca_cert(self) -> str | None:
        return self.proc.ca_cert

    def client(self, key: str | None = None, url: str | None = None):
        import Algorithmia

        ca = self.proc.ca_cert if self.proc.tls else None
        return Algorithmia.client(key or self.key, url or self.url, ca)

    def new_user(self, name: str) -> str:
        return self.proc.create_user(name)

    def request_log(self) -> list[dict]:
        return self.proc.request_log()


@pytest.fixture(autouse=True)
def _no_ambient_algorithmia_env(monkeypatch):
    # The official client reads these; a developer's own settings must not leak into tests.
    # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would also override any CA file a test passes to requests.
    for var in ("ALGORITHMIA_API_KEY", "ALGORITHMIA_API", "ALGORITHMIA_BEARER_TOKEN", "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def no_machine_ca_bundle():
    """What _no_ambient_algorithmia_env does per test, for a module's fixtures: a machine-wide CA
    bundle in the environment would replace the clusters' own CA in the official client (requests
    prefers it to a session's ``verify``), so seeding a TLS source from a module fixture would fail."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            patch.delenv(name, raising=False)
        yield


class RequestLogWatch:
    """The request logs of every localcluster this test process started, read as they grow.

    Each test's new lines are looked at once, after the test: a 500 that no fault hook injected
    is a bug of localcluster (``localcluster.requestlog.server_errors``), whichever test made it.
    Logs are followed by data dir, so a cluster restarted on its data dir by another process
    (tests/integration/restart_cluster.py) is still followed."""

    def __init__(self) -> None:
        self.read_up_to: dict[Path, int] = {}

    def follow(self, data_dir: Path) -> None:
        self.read_up_to.setdefault(Path(data_dir), 0)

    def new_entries(self) -> list[tuple[Path, dict]]:
        found = []
        for data_dir, offset in self.read_up_to.items():
            try:
                with open(data_dir / "requests.log", "rb") as fh:
                    fh.seek(offset)
                    text = fh.read()
            except FileNotFoundError:
                continue
            whole = text[:text.rfind(b"\n") + 1]  # a line being written is read next time
            self.read_up_to[data_dir] = offset + len(whole)
            found.extend((data_dir, json.loads(line)) for line in whole.splitlines() if line.strip())
        return found


@pytest.fixture(scope="session", autouse=True)
def _request_log_watch():
    """Follows every ``LocalClusterProcess`` started in this process, however the test starts it
    (``running_cluster``, a module's own fixture, a test's ``with LocalClusterProcess(...)``)."""
    watch = RequestLogWatch()
    original_start = LocalClusterProcess.start

    def start_and_follow(self, *args, **kwargs):
        watch.follow(self.data_dir)
        return original_start(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalClusterProcess, "start", start_and_follow)
        yield watch


@pytest.fixture(autouse=True)
def _no_server_errors(request, _request_log_watch):
    """Fails the test (at its teardown, once its own clusters have stopped) when a localcluster
    answered 500 during it without a fault hook injecting it: a 500 anywhere in localcluster is a
    bug. A test that provokes one on purpose by another mechanism says so, narrowly:
    ``@pytest.mark.server_errors_allowed("POST", "/v1/algo/alice/Slow", reason=...)``."""
    yield
    allowed = [(mark.args[0], mark.args[1]) for mark in request.node.iter_markers(SERVER_ERRORS_ALLOWED)]
    entries = _request_log_watch.new_entries()
    errors = [(data_dir, entry) for data_dir, entry in entries
              if server_errors([entry]) and not any(entry["method"] == method and entry["path"].startswith(prefix)
                                                    for method, prefix in allowed)]
    if errors:
        lines = "\n".join(f"  {entry['method']} {entry['path']} -> 500 (cluster {data_dir.name}, "
                          f"see {data_dir / 'server.log'})" for data_dir, entry in errors)
        pytest.fail(f"localcluster answered 500 without an injected fault, a bug of localcluster:\n{lines}",
                    pytrace=False)


@contextmanager
def running_cluster(tmp_path_factory, name: str, tls: bool = False,
                    names: ServedNames | None = None) -> Iterator[RunningCluster]:
    """A localcluster on a free port in its own data dir, stopped however the test ends; with
    ``names``, served with a certificate for api.<domain> and git.<domain> too."""
    proc = LocalClusterProcess(tmp_path_factory.mktemp(name), tls=tls, tls_names=names.hosts if names else ()).start()
    try:
        yield RunningCluster(proc, names)
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One localcluster per test module (plain HTTP)."""
    with running_cluster(tmp_path_factory, "cluster") as running:
        yield running


@pytest.fixture(scope="module")
def source_cluster(tmp_path_factory):
    """A second localcluster per test module: the source a workflow exports from."""
    with running_cluster(tmp_path_factory, "source") as running:
        yield running


@pytest.fixture(scope="module")
def named_cluster(tmp_path_factory, no_machine_ca_bundle):
    """One localcluster per test module served as a real cluster is named: HTTPS with a certificate
    for api.local.test and git.local.test, which resolve to 127.0.0.1 in this process while the
    module runs (tests/localcluster/names_support.py: no /etc/hosts, no root)."""
    names = ServedNames(NAMES_DOMAIN)
    with running_cluster(tmp_path_factory, "named", names=names) as running, resolving(names.hosts):
        yield running


@pytest.fixture
def fresh_cluster(tmp_path_factory):
    """A localcluster of the test's own, for tests that kill or reconfigure it."""
    with running_cluster(tmp_path_factory, "fresh") as running:
        yield running
