"""The notebooks' papermill parameters: 03 mirrors TrainConfig field for field; every notebook is well-formed and
regenerates from notebooks/make_notebooks.py."""
import ast
import dataclasses
import importlib.util
from pathlib import Path

import nbformat
import pytest

from gigpo.config import TrainConfig

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_anchor_grouping.ipynb", "02_advantages.ipynb", "03_training.ipynb", "04_gigpo_vs_grpo.ipynb"]


def read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return cells[0]


def assignments(source):
    """(name, value) of each top-level assignment, values read as Python literals."""
    out = []
    for stmt in ast.parse(source).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, ast.unparse(stmt)
        out.append((stmt.targets[0].id, ast.literal_eval(stmt.value)))
    return out


def test_training_parameters_mirror_train_config_field_for_field():
    params = assignments(parameters_cell(read("03_training.ipynb")).source)
    defaults = [(f.name, f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(TrainConfig)]
    assert [n for n, _ in params] == [n for n, _ in defaults]
    for (name, value), (_, default) in zip(params, defaults):
        assert value == default and type(value) is type(default), name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_metadata_and_parameters(name):
    nb = read(name)
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert nb.metadata["language_info"]["name"] == "python"
    names = [n for n, _ in assignments(parameters_cell(nb).source)]
    assert "output_dir" in names  # python -m gigpo run-notebook keeps the notebook's outputs in runs/<name>/
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "\ndef " not in "\n" + code, "algorithm code belongs in the library, not in notebooks"


def test_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.NOTEBOOKS) == NAMES
    for name, cells in module.NOTEBOOKS.items():
        expected = [(c.cell_type, c.source) for c in cells()]
        assert [(c.cell_type, c.source) for c in read(name).cells] == expected, \
            f"{name} differs from notebooks/make_notebooks.py; run: python notebooks/make_notebooks.py"
