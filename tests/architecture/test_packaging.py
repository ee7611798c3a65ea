"""The set-up files agree with each other: README's commands, CI, pip extras, the conda file, the CPU torch pin."""
from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-1] == "make test"
    assert re.search(r"^make test$", readme, re.M), "README must give `make test` as the test command"
    assert re.search(r"^make demo$", readme, re.M), "README must give `make demo` as the main command"


def test_extras_keep_vllm_out_of_the_cpu_setup():
    extras = _pyproject()["project"]["optional-dependencies"]
    assert set(extras) >= {"dev", "gpu", "envs"}
    assert any(d.startswith("vllm") for d in extras["gpu"])
    assert not any("vllm" in d for name in ("dev", "envs") for d in extras[name])
    assert any("gigpo[" in d and "envs" in d for d in extras["dev"]), "dev must include the envs extra"
    torch_req = next(d for d in _pyproject()["project"]["dependencies"] if d.startswith("torch"))
    assert "==" not in torch_req, "the package's own torch requirement stays a range (GPU users need CUDA builds)"
    assert (ROOT / "constraints-cpu.txt").read_text().split() == ["torch==2.13.0"]
    assert "-c constraints-cpu.txt" in (ROOT / "Makefile").read_text()


def test_environment_yml_parses_and_hands_off_to_the_same_pip_install():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-e .[dev]" in pip and "-c constraints-cpu.txt" in pip
    assert "dev" in _pyproject()["project"]["optional-dependencies"]
