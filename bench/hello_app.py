"""The reference for localcluster's call path: the plainest FastAPI endpoint under uvicorn.

Run as ``python -m bench.hello_app PORT_FILE``: binds a free loopback port, writes it to
PORT_FILE, and answers ``POST /hello`` with the body echoed in a JSON envelope shaped like an
algorithm result, so both sides parse and serialise comparable amounts of JSON.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/hello")
async def hello(request: Request) -> dict:
    started = time.perf_counter()
    body = await request.json()
    return {"result": body, "metadata": {"content_type": "json", "duration": time.perf_counter() - started}}


def main() -> None:
    # Bound as uvicorn binds its own sockets (proto TCP, so asyncio sets TCP_NODELAY): a proto-0
    # socket would make the reference wait ~40 ms per keep-alive response and flatter us.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    Path(sys.argv[1]).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
