"""The set-up files agree with each other: README's commands, CI, pip extras, the conda file, the CPU torch pin."""
from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_ci_runs_the_full_matrix_and_the_readme_names_both_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-1] == "make test-all"
    assert re.search(r"^make test$", readme, re.M), "README must give `make test` as the quick test command"
    assert re.search(r"^make test-all$", readme, re.M), "README must give `make test-all`, what CI runs"
    assert re.search(r"^make demo$", readme, re.M), "README must give `make demo` as the main command"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: ", makefile, re.M) and re.search(r"^test-all: ", makefile, re.M)


def test_the_core_install_leaves_plotting_and_widgets_to_the_notebook_extra():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    heavy = ("plotly", "matplotlib", "ipywidgets")
    assert not [d for d in project["dependencies"] if d.startswith(heavy)], "the core holds a plotting package"
    assert sorted(re.split(r"[<>=]", d)[0] for d in extras["notebook"]) == sorted(heavy)
    for name in ("dev", "course", "book"):
        assert any(d.startswith("gigpo[") and "notebook" in d for d in extras[name]), f"{name} lacks the notebook extra"
    dev_tools = {re.split(r"[<>=\[]", d)[0] for d in extras["dev"]}
    assert {"pytest-xdist", "ruff", "import-linter"} <= dev_tools


def test_license_is_an_spdx_expression_with_its_file():
    # a table (license = {text = ...}) or a license classifier makes setuptools >= 77 print a deprecation banner
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    requires = _pyproject()["build-system"]["requires"]
    assert requires == ["setuptools>=77"], "SPDX license strings need setuptools 77"


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
