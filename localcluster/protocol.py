"""The HTTP protocol ``serve`` runs: uvicorn's own (whichever ``http="auto"`` picks), plus two things.

- Every request's scope carries its connection (``localcluster.hooks.connection``), so the fault
  hooks can reset it or close it part-way through a reply, as a load balancer does.
- At shutdown, an idle TLS connection is dropped at once. uvicorn closes idle keep-alive
  connections, and a TLS close waits for the client's own close_notify, which an idle client
  (a pooled session, an algorithm's client in a worker) never sends: every stop of a TLS cluster
  took uvicorn's whole graceful-shutdown timeout. Nothing is lost: an idle connection has no
  request in flight and nothing left to send.
"""

from __future__ import annotations

from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.utils import is_ssl

from localcluster.hooks.connection import EXTENSION, ConnectionControl


class ClusterHTTPProtocol(AutoHTTPProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.control: ConnectionControl | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        control = self.control = ConnectionControl(transport)
        app = self.app  # uvicorn reads self.app for every request of this connection

        async def app_with_connection(scope, receive, send):
            scope["extensions"] = dict(scope.get("extensions") or {}, **{EXTENSION: control})
            await app(scope, receive, send)

        self.app = app_with_connection

    def connection_lost(self, exc) -> None:
        super().connection_lost(exc)  # first: uvicorn marks the request in flight as disconnected
        if self.control is not None:
            self.control.lost()

    def shutdown(self) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if idle and is_ssl(self.transport) and not self.transport.get_write_buffer_size():
            self.transport.abort()
            return
        super().shutdown()
