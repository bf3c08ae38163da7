"""`make demo`: the testbench end to end on this machine, against localclusters.

1. starts a source and a destination localcluster on loopback (free ports, TLS with their own CAs),
   or several destinations (``--destinations 3``, ``make demo DEMO_DESTINATIONS=3``): the run checks
   them in parallel and gives one verdict per cluster;
2. creates a user on each (``quality`` on the source, as the seed tool's workflows expect, and
   ``demo`` on the destination) and seeds the source with what the image pipeline workflow copies:
   the data file ``landscape.png`` (drawn with Pillow) and ``ImageThumbnailer.tar.gz`` (its code);
3. writes the clusters' URLs, keys and CA certificates into the demo inventory's vaulted file
   (``ansible-vault encrypt`` with the demo-only password file; the plain text never touches disk);
4. runs ``ansible-playbook playbooks/testbench.yml -i inventories/local/hosts.yml`` on the
   ``image_benchmark`` workflow (two tests of 200 calls, 4 at a time, so every chart of the report
   and every comparison has figures to show), then a second time to show that nothing changes
   (``changed=0``) and to judge that run against the first (``testbench_baseline_run=previous``;
   the ratchet, which needs 5 runs for a verdict, says ``warming``);
5. prints the per-cluster verdict and the path of the run's report index page, stops the clusters
   it started and removes the vault file.

State lives in ``.localcluster/demo/`` (git-ignored) and is made fresh on each run: the reports,
and the ratchet's history (``testbench_history_dir``), so that each demo starts as a fresh
adoption does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from localcluster.process import LocalClusterProcess  # noqa: E402

INVENTORY_DIR = ROOT / "inventories" / "local"
INVENTORY = INVENTORY_DIR / "hosts.yml"
VAULT_PASSWORD_FILE = INVENTORY_DIR / "vault-password.demo"
VAULT_FILE = INVENTORY_DIR / "group_vars" / "all" / "vault.yml"
STATE_DIR = ROOT / ".localcluster" / "demo"
WORKFLOW = "image_benchmark"
SOURCE_USER = "quality"
DESTINATION_USER = "demo"
DESTINATION_HOST = "local_destination"
# The hosts of destinations 2..N, written for this run beside the state (hosts.yml holds the first).
EXTRA_INVENTORY = STATE_DIR / "more-destinations.yml"
# Where the image_benchmark workflow's code_path and data_files point (".my" = the source key's user).
ASSETS_COLLECTION = "testbench_assets"
CODE_COLLECTION = "testbench_code"


def landscape_png(width: int = 320, height: int = 200) -> bytes:
    """A small landscape (sky, sun, hills) drawn with Pillow: the image the pipeline works on."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((230, 20, 290, 80), fill=(250, 210, 60))
    draw.polygon([(0, 150), (90, 90), (180, 150)], fill=(70, 130, 70))
    draw.polygon([(120, 160), (220, 100), (320, 160)], fill=(50, 110, 60))
    draw.rectangle((0, 150, width, height), fill=(90, 160, 80))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def code_archive(template_dir: Path) -> bytes:
    """``requirements.txt`` and ``src/`` of an algorithm template as a .tar.gz (the seed's code_path)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        archive.add(template_dir / "requirements.txt", arcname="requirements.txt")
        for path in sorted((template_dir / "src").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.add(path, arcname=str(Path("src") / path.relative_to(template_dir / "src")))
    return out.getvalue()


def seed_source(url: str, key: str, ca_cert: str | None = None) -> list[str]:
    """Upload what image_benchmark and the hello_<language> workflows copy from their source; returns
    the data URIs written."""
    import Algorithmia

    client = Algorithmia.client(key, url, ca_cert)
    for collection in (ASSETS_COLLECTION, CODE_COLLECTION):
        directory = client.dir(f"data://.my/{collection}")
        if not directory.exists():
            directory.create()
    files = {
        f"data://.my/{ASSETS_COLLECTION}/landscape.png": landscape_png(),
        # What the hello_<language> templates greet with (workflows/hello_*.json copy it beside them).
        f"data://.my/{ASSETS_COLLECTION}/greeting.txt": b"Hello\n",
        f"data://.my/{CODE_COLLECTION}/ImageThumbnailer.tar.gz": code_archive(ROOT / "algorithms" / "ImageThumbnailer"),
    }
    for uri, content in files.items():
        client.file(uri).put(content)
    return sorted(files)


def ansible_env() -> dict:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
    })
    return env


def write_vault(values: dict) -> None:
    """Encrypt the demo's keys into the inventory's vault file; the plain text goes through a pipe."""
    VAULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    text = "---\n# Written by tools/demo.py for the demo clusters of this run; encrypted with the DEMO-ONLY password.\n"
    text += "".join(f"{name}: {json.dumps(value)}\n" for name, value in values.items())
    if VAULT_FILE.exists():
        VAULT_FILE.unlink()
    subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(VAULT_PASSWORD_FILE), "--output", str(VAULT_FILE)],
                   input=text, text=True, check=True, env=ansible_env(), cwd=ROOT, capture_output=True)
    VAULT_FILE.chmod(0o600)


def write_extra_inventory(count: int) -> list[str]:
    """Hosts local_destination_2..N, whose URL, key and CA come from the vault like the first's;
    the ``-i`` arguments that add them (none for one destination)."""
    if count < 2:
        return []
    hosts = {}
    for number in range(2, count + 1):
        prefix = f"testbench_demo_destination_{number}"
        hosts[f"{DESTINATION_HOST}_{number}"] = {
            "testbench_api_address": "{{ " + prefix + "_api_address }}",
            "testbench_api_key": "{{ " + prefix + "_api_key }}",
            "testbench_ca_cert": "{{ " + prefix + "_ca_cert | default(none) }}",
        }
    EXTRA_INVENTORY.write_text("---\n# Written by tools/demo.py for this run's extra destination clusters.\n"
                               + json.dumps({"destinations": {"hosts": hosts}}, indent=2) + "\n")
    return ["-i", str(EXTRA_INVENTORY)]


def run_playbook(report_dir: Path, extra_args: list[str], echo: bool = True) -> tuple[int, str]:
    """Run the playbook, echoing its output as it comes; ``first_task_at`` (``time.monotonic()``)
    is when its first task started, read from its first ``TASK [`` line, for the time to verdict."""
    global first_task_at
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/testbench.yml",
           "-i", str(INVENTORY.relative_to(ROOT)), "--vault-password-file", str(VAULT_PASSWORD_FILE.relative_to(ROOT)),
           "-e", f"testbench_report_dir={report_dir}", "-e", f"testbench_history_dir={STATE_DIR / 'history'}"
           ] + extra_args
    if echo:
        print("$ " + " ".join(cmd), flush=True)
    first_task_at = None
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    for line in proc.stdout:
        if first_task_at is None and line.startswith("TASK ["):
            first_task_at = time.monotonic()
        if echo:
            sys.stdout.write(line)
        lines.append(line)
    return proc.wait(), "".join(lines)


first_task_at: float | None = None


def time_to_verdict() -> float | None:
    """Seconds from the last run's first task to now (its verdict just printed); None if no task ran."""
    return None if first_task_at is None else time.monotonic() - first_task_at


def recap_changes(output: str) -> dict[str, int]:
    recap = output[output.rfind("PLAY RECAP"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+:.*?changed=(\d+)", recap, re.M)}


def print_verdict(report_dir: Path) -> tuple[bool, Path | None]:
    """The last run's verdict per cluster, printed; whether it passed, and its report's index page."""
    summary_path = report_dir / "summary.json"
    if not summary_path.exists():
        print("No verdict: the playbook stopped before the summary (see the errors above).")
        return False, None
    summary = json.loads(summary_path.read_text())
    print("\n==== Verdict per destination cluster ====")
    for line in summary["lines"]:  # a line per cluster, then what each step did: as the playbook printed it
        print(f"  {line}")
    index = report_dir / "runs" / summary["run_id"] / "index.html"
    if not index.exists():
        index = None
    print(f"  report: {index or report_dir}")
    return bool(summary["passed"]), index


def start_clusters(count: int, tls: bool, started: list[LocalClusterProcess]) -> None:
    """Fresh state, a source and ``count`` destination localclusters started, the source seeded and
    their URLs and keys in the vault. Each process started goes into ``started`` as it starts, so
    that stop_clusters stops them also when this raises."""
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    STATE_DIR.mkdir(parents=True)
    source = LocalClusterProcess(STATE_DIR / "source", tls=tls)
    destinations = [LocalClusterProcess(STATE_DIR / ("destination" if number == 1 else f"destination_{number}"),
                                        tls=tls) for number in range(1, count + 1)]
    for proc in [source] + destinations:
        proc.start()
        started.append(proc)
        print(f"localcluster {proc.data_dir.name}: {proc.url} (pid {proc.proc.pid})", flush=True)
    source_key = source.create_user(SOURCE_USER)
    for uri in seed_source(source.url, source_key, source.ca_cert):
        print(f"source: seeded {uri}", flush=True)
    values = {"testbench_source_api_address": source.url, "testbench_source_api_key": source_key}
    if tls:
        values["testbench_source_ca_cert"] = Path(source.ca_cert).read_text()
    for number, destination in enumerate(destinations, start=1):
        prefix = "testbench_demo_destination" + ("" if number == 1 else f"_{number}")
        values[f"{prefix}_api_address"] = destination.url
        values[f"{prefix}_api_key"] = destination.create_user(DESTINATION_USER, admin=True)
        if tls:
            values[f"{prefix}_ca_cert"] = Path(destination.ca_cert).read_text()
    write_vault(values)
    print(f"vault: wrote {VAULT_FILE.relative_to(ROOT)} (encrypted with the demo-only password)", flush=True)


def stop_clusters(started: list[LocalClusterProcess]) -> None:
    """Remove the vault file (the keys in it belong to clusters about to stop) and stop the clusters."""
    if VAULT_FILE.exists():
        VAULT_FILE.unlink()
    for proc in reversed(started):
        proc.stop()
        print(f"stopped localcluster {proc.data_dir.name} (pid {proc.proc.pid})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--once", action="store_true", help="run the playbook once (skip the changed=0 re-run)")
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP clusters (no CA certificates)")
    parser.add_argument("--workflow", default=WORKFLOW, help="workflow to run (default: %(default)s)")
    parser.add_argument("--destinations", type=int, default=int(os.environ.get("DEMO_DESTINATIONS") or 1),
                        help="number of destination clusters, checked in parallel (default: %(default)s, "
                             "or DEMO_DESTINATIONS)")
    args, playbook_args = parser.parse_known_args(argv)
    if not 1 <= args.destinations <= 8:
        parser.error(f"--destinations must be from 1 to 8 (got {args.destinations}): each is a localcluster process")
    # A machine-wide CA bundle would override the clusters' own CAs, here and in the playbook.
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    os.environ.pop("CURL_CA_BUNDLE", None)

    report_dir = STATE_DIR / "reports"
    started: list[LocalClusterProcess] = []
    try:
        start_clusters(args.destinations, not args.no_tls, started)
        extra = write_extra_inventory(args.destinations) + playbook_args + (
            ["-e", json.dumps({"testbench_workflows": [args.workflow]})] if args.workflow != WORKFLOW else [])
        rc = run_playbook(report_dir, extra)[0]
        passed, index = print_verdict(report_dir)
        passed = passed and rc == 0
        timings = [("first run", time_to_verdict())]
        if passed and not args.once:
            print("\n==== Second run against the same clusters: nothing should change, and its figures are judged "
                  "against the first run's ====", flush=True)
            rc2, output = run_playbook(report_dir, extra + ["-e", "testbench_baseline_run=previous"])
            changes = recap_changes(output)
            index = print_verdict(report_dir)[1]
            timings.append(("unchanged re-run", time_to_verdict()))
            print(f"\nsecond run: {', '.join(f'{host} changed={n}' for host, n in changes.items())}")
            passed = rc2 == 0 and bool(changes) and not any(changes.values())
            if any(changes.values()) or not changes:
                print("UNEXPECTED: the second run changed something, or printed no recap")
            elif rc2 != 0:
                print("the second run failed: see its verdict above (judged against the first run, a test fails "
                      "when its figures moved beyond the tolerance: on a busy machine they do)")
        for label, seconds in timings:
            if seconds is not None:
                print(f"time to verdict, {label}: {seconds:.1f} s (from the playbook's first task to the verdict)")
        if index is not None:
            print(f"\nthe report, every call of every test in its charts: {index.as_uri()}")
        print("\ndemo " + ("PASSED" if passed else "FAILED"))
        return 0 if passed else 1
    finally:
        stop_clusters(started)


if __name__ == "__main__":
    sys.exit(main())
