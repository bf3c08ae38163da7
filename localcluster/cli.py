"""``python -m localcluster serve|create-user``: the contract of the demo, tests and benchmarks."""

from __future__ import annotations

import argparse
import math
import socket
import sys
from typing import Mapping

from localcluster.keys import RedactingStream
from localcluster.settings import Settings


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every keep-alive response waits ~40 ms for Nagle's algorithm.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen now: clients that connect before uvicorn accepts wait in the backlog instead of
    # being refused, so "server.json exists" means "ready to connect".
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_settings(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """What ``serve`` runs with: its options, then the tunables of ``environ`` (default: os.environ)."""
    # The command line wins over LOCALCLUSTER_CALL_DELAY_MS (from_environment only fills what is not given).
    given = {} if args.call_delay_ms is None else {"call_delay_ms": args.call_delay_ms}
    names = tuple(args.tls_names or ())
    return Settings.from_environment(environ, data_dir=args.data_dir, host=args.host, port=args.port,
                                     tls=args.tls or bool(names), tls_names=names, python=sys.executable, **given)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from localcluster.app import create_app
    from localcluster.protocol import ClusterHTTPProtocol

    # Before uvicorn sets up logging, so its handlers write through these too.
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    settings = serve_settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = _bind(settings.host, settings.port)
    settings.port = sock.getsockname()[1]
    scheme = "https" if settings.tls else "http"
    url_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    settings.public_url = f"{scheme}://{url_host}:{settings.port}"
    ssl_kwargs = {}
    if settings.tls:
        from localcluster.tls import prepare_tls

        certfile, keyfile = prepare_tls(settings)
        ssl_kwargs = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
    app = create_app(settings)
    # uvicorn's own HTTP protocol, which also hands each request its connection (for the fault
    # hooks) and stops idle TLS connections at once (localcluster.protocol).
    config = uvicorn.Config(app, http=ClusterHTTPProtocol, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=5, server_header=False, **ssl_kwargs)
    also = f", also as {', '.join(settings.tls_names)}" if settings.tls_names else ""
    print(f"localcluster serving {settings.public_url}{also} (data dir {settings.data_dir})", file=sys.stderr,
          flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def create_user(args: argparse.Namespace) -> int:
    from localcluster.db import Database
    from localcluster.errors import ApiError
    from localcluster.users.backend import UserBackend

    settings = Settings(data_dir=args.data_dir)  # the database is all it needs: no tunables
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    users = UserBackend(Database(settings.db_path))
    try:
        if not (args.existing_ok and users.user_exists(args.name)):
            users.create_user(args.name, admin=args.admin, email=args.email)
        key = users.create_key(args.name)
    except ApiError as exc:
        print(f"create-user: {exc.message}", file=sys.stderr)
        return 1
    print(key)
    return 0


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds (0 or more)")
    return value


def _tls_names(text: str) -> tuple[str, ...]:
    from localcluster.tls import check_names

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give one or more host names, separated by commas")
    try:
        return check_names(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcluster",
                                     description="An Algorithmia-compatible cluster on one machine.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_serve = sub.add_parser("serve", help="serve the API until SIGTERM")
    p_serve.add_argument("--data-dir", required=True, help="where state, data and repositories live")
    p_serve.add_argument("--port", type=int, default=0,
                         help="TCP port; 0 picks a free one (the chosen URL is written to DIR/server.json)")
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p_serve.add_argument("--tls", action="store_true",
                         help="serve HTTPS with a generated CA; its certificate is written to DIR/ca.pem")
    p_serve.add_argument("--tls-names", type=_tls_names, default=None, metavar="NAME[,NAME...]",
                         help="host names the TLS certificate carries besides localhost and the loopback addresses, "
                              "e.g. api.local.test,git.local.test (implies --tls; point them at the bound address, "
                              "docs/localcluster.md)")
    p_serve.add_argument("--call-delay-ms", type=_milliseconds, default=None, metavar="MS",
                         help="answer every algorithm call MS milliseconds later, outside the algorithm's measured "
                              "time, as a slower platform would (default: LOCALCLUSTER_CALL_DELAY_MS, else 0)")
    p_serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p_serve.set_defaults(func=serve)

    p_user = sub.add_parser("create-user", help="create a user and print a new API key (and nothing else)")
    p_user.add_argument("name")
    p_user.add_argument("--data-dir", required=True)
    p_user.add_argument("--admin", action="store_true", help="the key may use the admin endpoints")
    p_user.add_argument("--email", default=None)
    p_user.add_argument("--existing-ok", action="store_true",
                        help="if the user exists, just print a new key for it")
    p_user.set_defaults(func=create_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
