"""The README's "Running it against your clusters", done as written on a fresh copy of the checkout.

The inventory the README shows is ``examples/clusters/``, file for file (the blocks are read from
README.md and docs/usage.md, so the docs and the files cannot part). The README's shell lines
run one by one in an interactive shell on a terminal, from the copy's root, with a home of the
test's own: ``make setup``, the venv activated, the example copied to ``~/clusters``; then, as the
operator would, the example's addresses, keys and CA certificates are replaced with those of three
TLS localclusters (a source seeded with what ``image_benchmark`` copies, and the two destinations
prod-eu and prod-us); then ``ansible-vault encrypt`` and ``ansible-playbook ... --ask-vault-pass``,
whose password prompts are answered on the terminal. Both clusters must pass.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from tests.conftest import running_cluster
from tests.integration.docs_examples import README, USAGE, fenced_blocks
from tests.integration.fresh_clone import fresh_copy, operator_env
from tests.integration.playbook import ROOT
from tests.integration.testbench_support import one_call_per_test

EXAMPLE = ROOT / "examples" / "clusters"
SECTION = "## Running it against your clusters"
# The prompts of `ansible-vault encrypt` (New ..., Confirm New ...) and of `--ask-vault-pass`.
VAULT_PROMPT = r"[Vv]ault password[^:\r\n]*: "
PROMPT = "readme-shell$ "
PEM_PLACEHOLDER = "  -----BEGIN CERTIFICATE-----\n  ...\n  -----END CERTIFICATE-----\n"


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = re.compile(r"^#{2,3} ", re.M).search(text, start + len(SECTION))  # up to its next heading
    return text[start:end.start() if end else None]


def section_blocks() -> list[tuple[str, list[str]]]:
    return fenced_blocks(readme_section())


def shown_files(blocks: list[tuple[str, list[str]]]) -> dict[str, str]:
    """The example files a document shows: a block whose first line is ``# <path>: ...`` of a file of
    examples/clusters, by that path."""
    shown = {}
    for lang, lines in blocks:
        first = re.match(r"# (\S+?):? ", lines[0] + " ") if lines and lang in ("ini", "yaml") else None
        if first and (EXAMPLE / first.group(1)).is_file():
            shown[first.group(1)] = "\n".join(lines) + "\n"
    return shown


def example_files() -> list[str]:
    return sorted(str(path.relative_to(EXAMPLE)) for path in EXAMPLE.rglob("*") if path.is_file())


def test_the_readme_shows_the_example_inventory_as_committed():
    shown = shown_files(section_blocks())
    assert {"clusters.ini", "group_vars/clusters/main.yml", "group_vars/clusters/vault.yml"} <= set(shown), sorted(shown)
    for path, text in shown.items():
        assert text == (EXAMPLE / path).read_text(encoding="utf-8"), f"README.md shows {path} otherwise than examples/clusters/{path}"
    section = readme_section()
    assert [path for path in example_files() if path not in section] == [], "files of examples/clusters the README does not name"


def test_the_usage_guide_shows_the_same_example_inventory():
    shown = shown_files(fenced_blocks(USAGE))
    assert "clusters.ini" in shown and "group_vars/clusters/vault.yml" in shown, sorted(shown)
    for path, text in shown.items():
        assert text == (EXAMPLE / path).read_text(encoding="utf-8"), f"docs/usage.md shows {path} otherwise than examples/clusters/{path}"


def test_the_example_vault_files_ask_for_every_key_and_ca_certificate():
    """The TLS failure of an inventory without testbench_source_ca_cert cannot come back unnoticed."""
    import yaml

    group = yaml.safe_load((EXAMPLE / "group_vars" / "clusters" / "vault.yml").read_text())
    assert set(group) == {"testbench_source_api_key", "testbench_source_ca_cert"}
    for host in ("prod-eu", "prod-us"):
        assert set(yaml.safe_load((EXAMPLE / "host_vars" / host / "vault.yml").read_text())) == {
            "testbench_api_key", "testbench_ca_cert"}


def replace_once(path: Path, replacements: dict[str, str]) -> None:
    """What the operator does in an editor: each example value replaced, and each exactly once."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{path.name}: expected {old!r} once in:\n{text}"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def pem(cluster) -> str:
    return "".join(f"  {line}\n" for line in Path(cluster.ca_cert).read_text().strip().splitlines())


def fill_in(inventory: Path, source, destinations: dict) -> None:
    addresses = {"https://api.eu.example.com": destinations["prod-eu"].url,
                 "https://api.us.example.com": destinations["prod-us"].url}
    replace_once(inventory / "clusters.ini", addresses)
    replace_once(inventory / "group_vars" / "clusters" / "main.yml", {"https://api.algorithmia.com": source.url})
    replace_once(inventory / "group_vars" / "clusters" / "vault.yml", {"sim...": source.key, PEM_PLACEHOLDER: pem(source)})
    for host, cluster in destinations.items():
        replace_once(inventory / "host_vars" / host / "vault.yml", {"sim...": cluster.key, PEM_PLACEHOLDER: pem(cluster)})


class Terminal:
    """An interactive shell on a pseudo-terminal: each line typed, prompts for a password answered."""

    def __init__(self, cwd: Path, env: dict, log: Path, password: str) -> None:
        # pexpect comes with ansible-runner (requirements-test.txt)
        import pexpect

        self.pexpect = pexpect
        self.password = password
        self.log = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.shell = pexpect.spawn("bash", ["--noprofile", "--norc", "--noediting", "-i"], cwd=str(cwd), env=env,
                                   encoding="utf-8", codec_errors="replace", dimensions=(50, 200), timeout=60)
        self.shell.logfile_read = self.log
        self.shell.expect_exact(PROMPT)

    def run(self, line: str, timeout: float) -> tuple[int, str]:
        """Types ``line``; answers each vault password prompt; returns its exit status and output."""
        self.shell.sendline(line)
        output = []
        while True:
            which = self.shell.expect([re.escape(PROMPT), VAULT_PROMPT], timeout=timeout)
            output.append(self.shell.before)
            if which == 0:
                break
            self.shell.sendline(self.password)
        self.shell.sendline("echo status=$?")
        self.shell.expect(r"status=(\d+)\r?\n")
        status = int(self.shell.match.group(1))
        self.shell.expect_exact(PROMPT)
        return status, "".join(output)

    def close(self) -> None:
        self.shell.sendline("exit")
        self.shell.expect(self.pexpect.EOF, timeout=30)
        self.shell.close()
        self.log.close()


def shell_lines(block: list[str]) -> list[str]:
    return [line for line in block if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory, no_machine_ca_bundle):
    from tools.demo import seed_source

    blocks = [lines for lang, lines in section_blocks() if lang == "sh"]
    assert len(blocks) == 2, "the README's section has the commands before and after the inventory is filled in"
    tmp = tmp_path_factory.mktemp("readme")
    clone, home = tmp / "algorithmia-testbench", tmp / "home"
    home.mkdir()
    fresh_copy(clone)
    # the example workflow's tests make 200 calls each (the demo's figures): one call is enough for
    # the README's commands, and the copy's workflow is the one the run reads
    workflow = clone / "workflows" / "image_benchmark.json"
    workflow.write_text(json.dumps(one_call_per_test(json.loads(workflow.read_text())), indent=2))
    with running_cluster(tmp_path_factory, "source", tls=True) as source, \
            running_cluster(tmp_path_factory, "prod-eu", tls=True) as eu, \
            running_cluster(tmp_path_factory, "prod-us", tls=True) as us:
        seed_source(source.url, source.key, source.ca_cert)
        terminal = Terminal(clone, operator_env(home, PROMPT), tmp / "terminal.log", secrets.token_urlsafe(12))
        ran = []
        try:
            for line in shell_lines(blocks[0]):
                ran.append((line,) + terminal.run(line, timeout=600))
            if all(status == 0 for _line, status, _output in ran):
                fill_in(home / "clusters", source, {"prod-eu": eu, "prod-us": us})
                for line in shell_lines(blocks[1]):
                    ran.append((line,) + terminal.run(line, timeout=1200))
        finally:
            terminal.close()
        yield {"ran": ran, "home": home, "clone": clone, "log": tmp / "terminal.log",
               "clusters": {"prod-eu": eu, "prod-us": us}}


def explain(readme_run) -> str:
    return readme_run["log"].read_text(encoding="utf-8", errors="replace")[-8000:]


def test_every_readme_command_succeeds_as_written(readme_run):
    ran = readme_run["ran"]
    expected = shell_lines([line for lang, lines in section_blocks() if lang == "sh" for line in lines])
    assert [line for line, _status, _output in ran] == expected, explain(readme_run)
    assert [(line, status) for line, status, _output in ran if status != 0] == [], explain(readme_run)
    make_setup = next(output for line, _status, output in ran if line.startswith("make setup"))
    assert "pip install" not in make_setup, "make setup reinstalled the shared venv (see fresh_copy)"
    assert (readme_run["clone"] / ".collections" / "ansible_collections" / "algorithmia" / "testbench" / "galaxy.yml").is_file()


def test_the_vault_files_were_encrypted_by_the_readme_command(readme_run):
    inventory = readme_run["home"] / "clusters"
    for path in [inventory / "group_vars" / "clusters" / "vault.yml"] + sorted(inventory.glob("host_vars/*/vault.yml")):
        assert path.read_text().startswith("$ANSIBLE_VAULT;"), path


def test_each_cluster_passed_with_its_data_copied_from_the_tls_source(readme_run):
    summary_path = readme_run["home"] / "clusters" / "reports" / "summary.json"
    assert summary_path.is_file(), explain(readme_run)
    summary = json.loads(summary_path.read_text())
    verdicts = {cluster["cluster"]: cluster for cluster in summary["clusters"]}
    assert sorted(verdicts) == ["prod-eu", "prod-us"]
    for host, verdict in verdicts.items():
        assert verdict["passed"] is True, (host, verdict, explain(readme_run))
        (workflow,) = verdict["workflows"]
        thumbnailer = next(done for done in workflow["algorithms"] if done["algorithm"] == "ImageThumbnailer")
        assert thumbnailer["data"] == "data synced: 1 copied, 0 already there", thumbnailer
    for host, cluster in readme_run["clusters"].items():
        assert f"{host} ({cluster.url}): passed" in summary["lines"], summary["lines"]
