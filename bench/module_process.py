"""algo_benchmark run as a module process of its own, as Ansible runs a module that is not run in its
worker: ``plugins/modules/algo_benchmark.py`` with its arguments as JSON, the same module code,
module_utils and AnsibleModule as under ansible-playbook. Its result and its own peak RSS (the
kernel's high-water mark, ``getrusage`` of the child via ``wait4``).

Used by ``bench.million_calls`` (memory over many calls) and ``bench.driver_vs_wrk`` (memory at the
highest concurrency).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from bench.echo_endpoint import collection_env, module_command

MIB = 2 ** 20


def run_algo_benchmark(endpoint, tests: list[dict], workdir: Path, label: str, watch=None) -> dict:
    """One algo_benchmark process calling ``endpoint`` with ``tests``: ``result`` (the module's JSON),
    ``seconds`` (its wall time), ``peak_rss_mib`` and whatever ``watch(pid)`` returned (a sampler
    started on the process, stopped by the caller)."""
    args_file = workdir / f"args-{label}.json"
    # The key goes in a 0600 file, as Ansible hands a module its arguments, never on a command line.
    fd = os.open(args_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {
            "api_address": endpoint.url, "api_key": endpoint.key, "owner": endpoint.owner,
            "algorithm": endpoint.name, "version": endpoint.version, "tests": tests}}, handle)
    out_path, err_path = workdir / f"module-{label}.out", workdir / f"module-{label}.err"
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(module_command("algo_benchmark", args_file), stdout=out, stderr=err,
                                    env=collection_env(), cwd=workdir)
            watching = watch(proc.pid) if watch else None
            # wait4, not Popen.wait: its rusage holds the child's own peak RSS (ru_maxrss, KiB on Linux).
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.monotonic() - started
    finally:
        args_file.unlink(missing_ok=True)
    text = out_path.read_text(errors="replace")
    try:
        result = json.loads(text)
    except ValueError:
        raise RuntimeError(f"algo_benchmark ({label}) exited {proc.returncode} without a JSON result:\n"
                           f"{text[-2000:]}\n{err_path.read_text(errors='replace')[-2000:]}") from None
    if result.get("failed") or not result.get("tests"):
        raise RuntimeError(f"algo_benchmark ({label}) failed: {result.get('msg')}")
    return {"result": result, "seconds": seconds, "peak_rss_mib": round(usage.ru_maxrss * 1024 / MIB, 1),
            "watching": watching, "result_bytes": len(text)}
