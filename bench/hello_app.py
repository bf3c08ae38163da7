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
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    Path(sys.argv[1]).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
