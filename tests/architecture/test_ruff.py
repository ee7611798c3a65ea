"""ruff (lint and import order, configured in pyproject.toml's [tool.ruff]) passes on the package, the envs, the
tests, the benchmarks and the studies."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["gigpo", "envs", "tests", "benchmarks", "results", "examples"]


def ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")  # the venv's own ruff (the dev extra) before one on PATH
    found = str(beside) if beside.exists() else shutil.which("ruff")
    if found is None:
        pytest.fail('ruff is not installed: pip install -e ".[dev]" installs it')
    return [found]


def test_ruff_check_passes():
    proc = subprocess.run([*ruff(), "check", "--no-cache", *CHECKED], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"ruff check found problems (ruff check --fix repairs the import order):\n" \
                                 f"{proc.stdout[-6000:]}{proc.stderr[-2000:]}"


def test_ruff_reads_the_projects_settings(tmp_path):
    # the check above can fail: a line over pyproject's 120 characters and an unused import are reported
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n" + "x = '" + "a" * 130 + "'\n")
    proc = subprocess.run([*ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "F401" in proc.stdout and "E501" in proc.stdout
