"""The HTTP protocol ``serve`` runs: uvicorn's own (whichever ``http="auto"`` picks), plus three things.

- Every request's scope carries its connection (``localcluster.hooks.connection``), so the fault
  hooks can reset it or close it part-way through a reply, as a load balancer does.
- At shutdown, an idle TLS connection is dropped at once. uvicorn closes idle keep-alive
  connections, and a TLS close waits for the client's own close_notify, which an idle client
  (a pooled session, an algorithm's client in a worker) never sends: every stop of a TLS cluster
  took uvicorn's whole graceful-shutdown timeout. Nothing is lost: an idle connection has no
  request in flight and nothing left to send.
- A response leaves in one write (``CorkedTransport``): uvicorn writes the status line and
  headers, then the body, then its end, each on its own, and each write of a socket is a send
  and a wake-up of the client, which reads the headers and waits again for the body. The bytes
  and their order are the same; they are held only until the response is complete (or the turn
  of the event loop ends, for a streamed one) and go out before any close or reset.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.utils import is_ssl

from localcluster.hooks.connection import EXTENSION, ConnectionControl


# Held bytes beyond this go out at once (a streamed body that never yields to the loop).
CORK_LIMIT = 256 * 1024


class CorkedTransport:
    """A transport whose writes are held and leave together: when the response is complete
    (``flush``, called by the protocol), at the end of this turn of the event loop, before a
    close or an abort, or past ``CORK_LIMIT``. Everything else is the real transport's."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data) -> None:
        if not data:
            return
        if not self._held:
            asyncio.get_running_loop().call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size > CORK_LIMIT:
            self.flush()

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held.clear()
            self._size = 0
            if not self._transport.is_closing():
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self.flush()  # what was written before, as if it had left at once; the reset follows
        self._transport.abort()

    def __getattr__(self, name):
        return getattr(self._transport, name)


class ClusterHTTPProtocol(AutoHTTPProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.control: ConnectionControl | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # uvicorn hands self.transport to each request's cycle, created after this.
        transport = self.transport = CorkedTransport(self.transport)
        control = self.control = ConnectionControl(transport)
        app = self.app  # uvicorn reads self.app for every request of this connection

        async def app_with_connection(scope, receive, send):
            scope["extensions"] = dict(scope.get("extensions") or {}, **{EXTENSION: control})
            await app(scope, receive, send)

        self.app = app_with_connection

    def on_response_complete(self) -> None:
        self.transport.flush()  # the whole response, in one write
        super().on_response_complete()

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
