"""The role's molecule scenario (extensions/molecule/default): prepare starts a localcluster,
converge runs the role, molecule's idempotence step re-runs it expecting no change, verify
reads the summary, cleanup stops the cluster by its pid."""

from __future__ import annotations

import subprocess

from tests.integration.playbook import ROOT, VENV_BIN, ansible_env, ensure_collection_link


def molecule_test() -> str:
    proc = subprocess.run([str(VENV_BIN / "molecule"), "test", "--scenario-name", "default"], cwd=ROOT,
                          env=ansible_env({"NO_COLOR": "1", "PY_COLORS": "0"}), capture_output=True, text=True,
                          timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def test_molecule_converges_idempotently_and_again():
    """Twice: molecule keeps a record of the scenario in its ephemeral directory, and a second
    `molecule test` in the same checkout once skipped prepare and converged against the cluster
    the first run had stopped."""
    ensure_collection_link()
    for attempt in ("first", "second"):
        out = molecule_test()
        assert "idempotence" in out, attempt + " run: " + out[-3000:]
        assert "Skipping, instances already prepared" not in out, out[-3000:]
