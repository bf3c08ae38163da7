"""The worker side of algorithm execution: run by a build's venv python, standard library only.

    python runner.py --style classic|adk --module-file PATH     serve calls (the server's pool)
    python runner.py --check --style classic|adk --module-file PATH

``--check`` is the build's import check: it loads the algorithm without calling ``load()`` or
serving, and exits 0, or 1 with the traceback on stderr. Keep that CLI stable.

Serving speaks a framed protocol over the process's original stdin/stdout. Each frame is
``>II`` (meta length, body length), then the meta as UTF-8 JSON, then the body bytes:

    server -> worker   {"type": "call", "content_type": "text|json|binary", "env": {...}, "stdout": bool}
                       body = the raw input
    worker -> server   {"type": "ready"} once load() has run, or {"type": "error", ...} if it failed;
                       per call {"type": "result", "content_type": ..., "duration": s, "stdout": str}
                       (body = the result: UTF-8 text, JSON text or raw bytes) or
                       {"type": "error", "error": {"message", "stacktrace", "error_type"}, ...}

The algorithm never sees those pipes: fd 0 becomes /dev/null and fd 1 a capture file that is
emptied before each call, so whatever the call prints (also from C code or child processes) is
its ``stdout``. fd 2 stays the worker log the server opened.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import inspect
import json
import os
import runpy
import signal
import struct
import sys
import tempfile
import time
import traceback

HEADER = struct.Struct(">II")
STYLE_CLASSIC = "classic"
STYLE_ADK = "adk"


class _ProtocolDone(BaseException):
    """Unwinds an ADK script once its init() has finished (EOF on the pipe, or --check)."""


# ---------------------------------------------------------------------------------------------
# Loading the algorithm


def _tree_root(module_file: str) -> str:
    """The algorithm's checkout: src/<Name>.py lives one level below it."""
    parent = os.path.dirname(module_file)
    return os.path.dirname(parent) if os.path.basename(parent) == "src" else parent


def _apply_arity(func) -> int:
    params = [p for p in inspect.signature(func).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params)


class ClassicAlgorithm:
    """``src/<Name>.py`` with ``apply(input[, state])`` and an optional ``load()``.

    Imported as ``src.<Name>`` with the checkout on sys.path, as the Python templates expect
    (their tests do ``from . import <Name>``); src/ is on sys.path too for flat imports.
    """

    def __init__(self, module_file: str) -> None:
        module_file = os.path.abspath(module_file)
        root, src = _tree_root(module_file), os.path.dirname(module_file)
        for path in (src, root):
            if path not in sys.path:
                sys.path.insert(0, path)
        name = os.path.splitext(os.path.basename(module_file))[0]
        if os.path.basename(src) == "src":
            self.module = importlib.import_module(f"src.{name}")
        else:
            self.module = importlib.import_module(name)
        self.apply_func = getattr(self.module, "apply", None)
        if not callable(self.apply_func):
            raise AttributeError(f"{module_file} does not define a function apply(input)")
        arity = _apply_arity(self.apply_func)
        if arity not in (1, 2):
            raise TypeError(f"apply must take 1 or 2 parameters (input[, state]), not {arity}")
        self.apply_arity = arity
        self.load_func = getattr(self.module, "load", None)
        self.state = None

    def load(self) -> None:
        if callable(self.load_func):
            self.state = self.load_func()

    def apply(self, payload):
        # As the client's own Handler does: the loaded state is passed when there is one.
        if self.state is not None and self.apply_arity == 2:
            return self.apply_func(payload, self.state)
        return self.apply_func(payload)

    load_error_type = "AlgorithmError"


class AdkAlgorithm:
    """An ADK instance, as ``src/Algorithm.py`` built it.

    The script runs as ``__main__`` (as on a real cluster) and ends with ``ADK(apply, load).init()``.
    We replace ``ADK.init`` before running it, so the ADK's own constructor and ``load()``
    (model manifest, load arity, captured loading exception) run unchanged and only the
    transport (a FIFO at /tmp/algoout on a real cluster) is ours. Calls go to ``apply_func``
    directly: ``ADK.apply`` returns pre-serialised JSON and its error path uses a traceback
    signature that Python 3.10 removed.
    """

    load_error_type = "LoadingError"

    def __init__(self, adk) -> None:
        self.adk = adk

    @staticmethod
    def run_script(module_file: str, on_init, serving: bool = True) -> None:
        try:
            # Algorithmia first, as the scripts import it: importing adk first would leave
            # Algorithmia.ADK bound to the adk.ADK submodule (a circular import).
            import Algorithmia  # noqa: F401
            from adk.ADK import ADK
        except ImportError as exc:
            raise ImportError("ADK algorithms need the algorithmia package (which provides adk) in "
                              "requirements.txt") from exc

        def init(adk, local_payload=None, pprint=print, mlops=False):
            if mlops and serving:
                adk.mlops_init()  # as ADK.init does on a cluster: needs DATAROBOT_MLOPS_API_TOKEN
            on_init(AdkAlgorithm(adk))
            raise _ProtocolDone()

        ADK.init = init
        module_file = os.path.abspath(module_file)
        sys.path.insert(0, os.path.dirname(module_file))
        try:
            runpy.run_path(module_file, run_name="__main__")
        except _ProtocolDone:
            return
        raise RuntimeError(f"{module_file} finished without calling init() on its ADK(...) object")

    def load(self) -> None:
        self.adk.load()
        if self.adk.loading_exception is not None:
            raise self.adk.loading_exception

    def apply(self, payload):
        adk = self.adk
        if adk.load_result and adk.apply_arity == 2:
            return adk.apply_func(payload, adk.load_result)
        return adk.apply_func(payload)


# ---------------------------------------------------------------------------------------------
# The per-call API key


class CallKeys:
    """Each call brings a fresh session key; a warm worker must use the current one.

    ``ALGORITHMIA_API_KEY`` is set per call, which covers clients built inside ``apply``. Clients
    built earlier (at import or in ``load()``, as the docs recommend) hold a key that has been
    revoked since: the official Client's ``apiKey`` is made to answer with the current call's key
    whenever it holds one of ours. A key the algorithm supplied itself is left alone.
    """

    def __init__(self) -> None:
        self.ours: set[str] = set()
        self.patched = False

    def enter(self, env: dict) -> None:
        key = env.get("ALGORITHMIA_API_KEY")
        if key:
            self.ours.add(key)
        os.environ.update(env)
        if not self.patched:
            self._patch_client()

    def _patch_client(self) -> None:
        module = sys.modules.get("Algorithmia.client")
        if module is None:
            return  # not imported (yet): nothing can hold an old key
        ours = self.ours

        def get_key(client):
            key = client.__dict__.get("apiKey")
            if key in ours:
                return os.environ.get("ALGORITHMIA_API_KEY", key)
            return key

        def set_key(client, value):
            client.__dict__["apiKey"] = value

        module.Client.apiKey = property(get_key, set_key)
        self.patched = True


# ---------------------------------------------------------------------------------------------
# Framing


class Channel:
    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd

    def _read_exact(self, n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            chunk = os.read(self.rfd, min(n - got, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def receive(self) -> tuple[dict, bytes] | None:
        header = self._read_exact(HEADER.size)
        if header is None:
            return None
        meta_len, body_len = HEADER.unpack(header)
        data = self._read_exact(meta_len + body_len)
        if data is None:
            return None
        return json.loads(data[:meta_len]), data[meta_len:]

    def send(self, meta: dict, body: bytes = b"") -> None:
        meta_bytes = json.dumps(meta).encode("utf-8")
        view = memoryview(HEADER.pack(len(meta_bytes), len(body)) + meta_bytes + body)
        while view:
            view = view[os.write(self.wfd, view):]


# ---------------------------------------------------------------------------------------------
# Serving


def decode_input(content_type: str, body: bytes):
    if content_type == "binary":
        return body
    text = body.decode("utf-8")
    if content_type == "json":
        return json.loads(text)
    return text


def encode_result(value) -> tuple[str, bytes]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary", bytes(value)
    if isinstance(value, str):
        return "text", value.encode("utf-8")
    return "json", json.dumps(value).encode("utf-8")


def format_traceback(exc: BaseException) -> str:
    """The algorithm's traceback without our frames (the caller never wrote this file)."""
    summary = traceback.TracebackException.from_exception(exc)
    ours = {os.path.abspath(__file__), "<frozen runpy>"}
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if frame.filename not in ours])
    return "".join(summary.format())


def error_meta(exc: BaseException, default_type: str) -> dict:
    error_type = getattr(exc, "error_type", None) or default_type
    # The client's AlgorithmException keeps its text in .message (its str() is a repr).
    message = getattr(exc, "message", None)
    return {"type": "error", "error": {
        "message": message if isinstance(message, str) else str(exc),
        "stacktrace": format_traceback(exc),
        "error_type": error_type}}


class StdoutCapture:
    """fd 1 becomes an unlinked append-only file, emptied before each call."""

    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="algo-stdout-")
        os.unlink(path)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        os.dup2(fd, 1)
        self.fd = fd

    def reset(self) -> None:
        sys.stdout.flush()
        os.ftruncate(self.fd, 0)

    def read(self) -> str:
        sys.stdout.flush()
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, size, 0).decode("utf-8", errors="replace") if size else ""


def _die_with_parent(parent_pid: int) -> None:
    """A worker must never outlive the server, even a SIGKILLed one (Linux: PR_SET_PDEATHSIG)."""
    def kill_group(_signum, _frame):
        os.killpg(os.getpgrp(), signal.SIGKILL)  # the algorithm's own children go too

    signal.signal(signal.SIGTERM, kill_group)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent_pid and os.getppid() != parent_pid:
        kill_group(None, None)  # the server died before prctl took effect


def serve(args, channel: Channel, capture: StdoutCapture) -> None:
    """Load once, with the first call's environment (load() may use the API), then answer calls."""
    keys = CallKeys()
    request = channel.receive()
    if request is None:
        return
    keys.enter(request[0].get("env") or {})
    capture.reset()
    load_error_type = AdkAlgorithm.load_error_type if args.style == STYLE_ADK else ClassicAlgorithm.load_error_type

    def serve_loaded(algorithm) -> None:
        try:
            algorithm.load()
        except Exception as exc:  # noqa: BLE001 - the algorithm's own failure, reported to the caller
            report_load_failure(exc)
            return
        channel.send({"type": "ready", "pid": os.getpid()})
        nonlocal request
        while request is not None:
            meta, body = request
            keys.enter(meta.get("env") or {})
            channel.send(*run_call(algorithm, meta, body, capture))
            request = channel.receive()

    def report_load_failure(exc: BaseException) -> None:
        reply = error_meta(exc, load_error_type)
        reply["stdout"] = capture.read()
        reply["load_failed"] = True
        channel.send(reply)

    try:
        if args.style == STYLE_CLASSIC:
            algorithm = ClassicAlgorithm(args.module_file)
        else:
            # ADK scripts run to their init() call; serving happens inside that call.
            AdkAlgorithm.run_script(args.module_file, serve_loaded)
            return
    except Exception as exc:  # noqa: BLE001 - import errors are the algorithm's too
        report_load_failure(exc)
        return
    serve_loaded(algorithm)


def run_call(algorithm, meta: dict, body: bytes, capture: StdoutCapture) -> tuple[dict, bytes]:
    capture.reset()
    started = time.perf_counter()
    try:
        try:
            payload = decode_input(meta.get("content_type", "text"), body)
        except ValueError as exc:
            reply = error_meta(exc, "InputError")
            reply["input_error"] = True
            out = b""
        else:
            content_type, out = encode_result(algorithm.apply(payload))
            reply = {"type": "result", "content_type": content_type}
    except Exception as exc:  # noqa: BLE001 - any algorithm failure goes back to the caller
        reply, out = error_meta(exc, "AlgorithmError"), b""
    reply["duration"] = time.perf_counter() - started
    if meta.get("stdout"):
        reply["stdout"] = capture.read()
    return reply, out


def _serve_main(args) -> int:
    # Our pipes move to private fds; the algorithm gets /dev/null and the capture file.
    channel = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    capture = StdoutCapture()
    _die_with_parent(args.parent_pid)
    os.chdir(_tree_root(os.path.abspath(args.module_file)))
    try:
        serve(args, channel, capture)
    except BrokenPipeError:
        pass  # the server went away: nothing left to answer
    return 0


def _check_main(args) -> int:
    """Import the algorithm as a worker would (checkout as cwd), without calling load()."""
    os.chdir(_tree_root(args.module_file))
    try:
        if args.style == STYLE_CLASSIC:
            ClassicAlgorithm(args.module_file)
        else:
            AdkAlgorithm.run_script(args.module_file, lambda algorithm: None, serving=False)
    except BaseException:  # noqa: BLE001 - anything, even SystemExit from the script, fails the check
        traceback.print_exc()
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one algorithm for localcluster.")
    parser.add_argument("--style", choices=[STYLE_CLASSIC, STYLE_ADK], required=True)
    parser.add_argument("--module-file", required=True)
    parser.add_argument("--check", action="store_true", help="load without serving; exit 0 or 1")
    parser.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.module_file = os.path.abspath(args.module_file)  # before serving moves to the checkout
    if args.check:
        sys.stdout = sys.stderr  # the algorithm's prints must not look like our output
        return _check_main(args)
    return _serve_main(args)


if __name__ == "__main__":
    sys.exit(main())
