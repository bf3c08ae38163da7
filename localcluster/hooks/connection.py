"""The connection under a request, for the fault hooks: reset it, or close it part-way through a reply.

ASGI has no way for an app to close its connection without answering: an app that returns
without a response gets a 500 from uvicorn, and one that raises after its headers has the
connection closed after those headers went out (a HEAD client never notices). A cluster behind
a load balancer loses connections at any point, so the fault hooks need the transport itself.

The server's HTTP protocol (``localcluster.protocol``) puts each connection's ``ConnectionControl``
into the scope of every request that arrives on it, under ``scope["extensions"][EXTENSION]``.
Both methods wait until uvicorn has seen the connection go (``connection_lost``), so when the app
returns uvicorn knows the client is gone and neither sends a 500 nor logs an error.
"""

from __future__ import annotations

import asyncio
import socket
import struct

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
    """The request's connection, when the server's protocol (``localcluster.protocol``) handed it over."""
    return (scope.get("extensions") or {}).get(EXTENSION)
