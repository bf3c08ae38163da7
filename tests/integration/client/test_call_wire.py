"""A benchmark's calls on the wire (``Algorithm.caller``, call_wire): against a real localcluster
built algorithm, through ``FaultProxy`` to count connections and requests and to break them, over
HTTP and TLS. Each call is one request; a thread keeps its connection; every failure has the kind
the client's own path gives it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ansible_collections.algorithmia.testbench.plugins.module_utils.algorithms import Algorithm
from ansible_collections.algorithmia.testbench.plugins.module_utils.client import AlgorithmiaClient
from ansible_collections.algorithmia.testbench.plugins.module_utils.measure.gates import outcome_kind
from tests.integration.client.faultproxy import FaultProxy
from tests.integration.client.test_guarded_calls import create, push_and_build


@pytest.fixture(scope="module")
def echo(cluster):
    """``WireEcho`` built at a commit (called by its git hash): answers "hello <input>"."""
    create(cluster, "WireEcho")
    return push_and_build(cluster, "WireEcho", "hello")


def caller_via(address, cluster, commit, **options):
    client = AlgorithmiaClient(address, cluster.key, timeout=30, **options)
    return client, Algorithm(client, cluster.user, "WireEcho").caller(commit)


def calls_path(cluster):
    return "/v1/algo/{0}/WireEcho/".format(cluster.user)


def test_each_thread_keeps_one_connection_and_each_call_is_one_request(cluster, echo):
    with FaultProxy(cluster.url) as proxy:
        client, caller = caller_via(proxy.url, cluster, echo)
        outcomes = []

        def worker(index):
            for call in range(25):
                outcomes.append(caller("w{0}-{1}".format(index, call), 30))

        threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        caller.close()
        client.close()
        assert [o.error for o in outcomes if not o.ok] == []
        assert sorted(o.result for o in outcomes) == sorted("hello w{0}-{1}".format(i, c) for i in range(4) for c in range(25))
        assert len(proxy.requests("POST", calls_path(cluster))) == 100
        assert proxy.connections == 4


def test_over_tls_the_pool_settings_verify_the_cluster(cluster, echo, authority):
    with FaultProxy(cluster.url, tls=authority.server_context) as proxy:
        client, caller = caller_via(proxy.url, cluster, echo, ca_cert=authority.pem)
        try:
            answers = [caller("tls{0}".format(n), 30) for n in range(5)]
        finally:
            caller.close()
            client.close()
        assert [a.result for a in answers] == ["hello tls{0}".format(n) for n in range(5)]
        assert proxy.connections == 1

        stranger = AlgorithmiaClient(proxy.url, cluster.key, timeout=30)  # the machine's CAs: not this one's
        refused = Algorithm(stranger, cluster.user, "WireEcho").caller(echo)
        try:
            outcome = refused("x", 30)
        finally:
            refused.close()
            stranger.close()
        assert not outcome.ok and outcome_kind(outcome) == "tls", outcome.error
        assert "certificate" in outcome.error


@pytest.mark.parametrize("fault, options, kind", [
    ("status", {"status": 503}, "http_5xx"),
    ("status", {"status": 429, "headers": {"Retry-After": "1"}}, "http_4xx"),
    ("lost_reply", {}, "connect"),
    ("reset_answer", {"after_bytes": 4}, "connect"),
    ("reset_answer", {"after_bytes": 4, "chunked": True}, "connect"),
    ("reset_request", {}, "connect"),
])
def test_a_broken_call_is_counted_once_with_its_kind_and_the_next_one_works(cluster, echo, fault, options, kind):
    with FaultProxy(cluster.url) as proxy:
        client, caller = caller_via(proxy.url, cluster, echo)
        try:
            caller("before", 30)
            proxy.add(fault, "POST", calls_path(cluster), **options)
            broken = caller("broken", 30)
            after = caller("after", 30)
        finally:
            caller.close()
            client.close()
    assert not broken.ok and outcome_kind(broken) == kind, broken.error
    assert after.ok and after.result == "hello after"
    assert len(proxy.requests("POST", calls_path(cluster))) == 3  # nothing repeated


class ClosingServer:
    """An HTTP/1.1 server on 127.0.0.1 that answers each request with a call's answer and then
    closes the connection without saying so (no ``Connection: close``), as a cluster's keep-alive
    timeout does to an idle connection. Counts connections and requests."""

    ANSWER = b'{"result": "ok", "metadata": {"content_type": "text", "duration": 0.001}}'

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = "http://127.0.0.1:{0}".format(self.listener.getsockname()[1])
        self.connections = self.requests = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, _address = self.listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(10)
                self.connections += 1
                received = b""
                while b"\r\n\r\n" not in received:
                    received += conn.recv(4096)
                head, _sep, body = received.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(4096)
                self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(self.ANSWER)).encode() + b"\r\n\r\n" + self.ANSWER)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


def test_a_connection_the_cluster_closed_while_idle_is_replaced_before_the_call():
    """The request is never written to a connection already closed: the next call opens a new one
    instead of failing (urllib3 checks a pooled connection the same way)."""
    with ClosingServer() as server:
        client = AlgorithmiaClient(server.url, "simKEY" + "k" * 20, timeout=10)
        caller = Algorithm(client, "alice", "Idle").caller("1.0.0")
        try:
            first = caller("one", 10)
            time.sleep(0.2)  # idle: the server's close arrives
            second = caller("two", 10)
        finally:
            caller.close()
            client.close()
    assert first.ok and second.ok, (first.error, second.error)
    assert (server.connections, server.requests) == (2, 2)


def test_connections_that_broke_are_not_kept(cluster, echo):
    """A long test with many broken connections holds only the connections open now."""
    with FaultProxy(cluster.url) as proxy:
        client, caller = caller_via(proxy.url, cluster, echo)
        try:
            proxy.add("lost_reply", "POST", calls_path(cluster), times=5)
            outcomes = [caller("n{0}".format(n), 30) for n in range(8)]
            held = len(caller.wire._opened)
        finally:
            caller.close()
            client.close()
    assert [o.ok for o in outcomes] == [False] * 5 + [True] * 3
    assert held == 1 and proxy.connections == 6
