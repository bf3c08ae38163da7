"""The connection under a request, for the fault hooks: reset it, or close it part-way through a reply.

ASGI has no way for an app to close its connection without answering: an app that returns
without a response gets a 500 from uvicorn, and one that raises after its headers has the
connection closed after those headers went out (a HEAD client never notices). A cluster behind
a load balancer loses connections at any point, so the fault hooks need the transport itself.

``FaultableHTTPProtocol`` is uvicorn's own HTTP/1.1 protocol (whichever ``http="auto"`` picks)
with one addition: each request's scope carries the connection's ``ConnectionControl`` under
``scope["extensions"][EXTENSION]``. ``cli.serve`` configures uvicorn with it. Both methods wait
until uvicorn has seen the connection go (``connection_lost``), so when the app returns uvicorn
knows the client is gone and neither sends a 500 nor logs an error.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from uvicorn.protocols.http.auto import AutoHTTPProtocol

EXTENSION = "localcluster.connection"
# How long close() lets a client take to read what was sent before the connection is reset anyway.
FLUSH_SECONDS = 30.0


class ConnectionControl:
    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._lost = asyncio.get_running_loop().create_future()

    def lost(self) -> None:
        """uvicorn saw the connection end (called by the protocol)."""
        if not self._lost.done():
            self._lost.set_result(None)

    async def reset(self) -> None:
        """Close at once with a TCP reset: nothing buffered is sent, the client reads ECONNRESET."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:  # linger on, timeout 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # gone already
        self.transport.abort()
        await self._wait_lost(5.0)

    async def close(self) -> None:
        """Close after what was already written has gone out (a FIN: the client sees the stream end)."""
        self.transport.close()
        if not await self._wait_lost(FLUSH_SECONDS):
            await self.reset()  # the client stopped reading: do not wait for it forever

    async def _wait_lost(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._lost), timeout)
        except asyncio.TimeoutError:
            return False
        return True


def connection_control(scope) -> ConnectionControl | None:
    """The request's connection, when it came through ``FaultableHTTPProtocol``."""
    return (scope.get("extensions") or {}).get(EXTENSION)


class FaultableHTTPProtocol(AutoHTTPProtocol):
    """uvicorn's HTTP protocol; every request's scope also gets the connection's ``ConnectionControl``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.localcluster_control: ConnectionControl | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        control = self.localcluster_control = ConnectionControl(transport)
        app = self.app  # uvicorn reads self.app for every request of this connection

        async def app_with_control(scope, receive, send):
            extensions = scope.get("extensions")
            scope["extensions"] = dict(extensions or {}, **{EXTENSION: control})
            await app(scope, receive, send)

        self.app = app_with_control

    def connection_lost(self, exc) -> None:
        super().connection_lost(exc)  # first: uvicorn marks the request disconnected
        if self.localcluster_control is not None:
            self.localcluster_control.lost()
