"""The notebooks' papermill parameters: 03 mirrors TrainConfig field for field; every notebook is well-formed; each
``.ipynb`` is paired with a jupytext percent script and the two hold the same cells."""
import ast
import dataclasses
from pathlib import Path

import jupytext
import nbformat
import pytest

from gigpo.training.config import TrainConfig
from gigpo.training.demo import demo_config

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_anchor_grouping.ipynb", "02_advantages.ipynb", "03_training.ipynb", "04_gigpo_vs_grpo.ipynb",
         "05_credit_lab.ipynb"]


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
    """Notebook 03 lists every TrainConfig field in order, set to the demo's recipe (the CPU setting that learns)."""
    params = assignments(parameters_cell(read("03_training.ipynb")).source)
    recipe = demo_config()
    defaults = [(f.name, getattr(recipe, f.name)) for f in dataclasses.fields(TrainConfig)]
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


def cells_of(nb):
    return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]


def out_of_sync(ipynb: Path) -> list[str]:
    """Why ``ipynb`` and its paired percent script differ ([] if they agree): pairing metadata, then each cell."""
    script = ipynb.with_suffix(".py")
    if not script.exists():
        return [f"{script.name} is missing; run: jupytext --sync {ipynb.name}"]
    nb, py = nbformat.read(ipynb, as_version=4), jupytext.read(script)
    problems = [f"{p.name}: not paired as ipynb,py:percent"
                for p, meta in ((ipynb, nb.metadata), (script, py.metadata))
                if meta.get("jupytext", {}).get("formats") != "ipynb,py:percent"]
    a, b = cells_of(nb), cells_of(py)
    if len(a) != len(b):
        problems.append(f"{len(a)} cells in {ipynb.name} but {len(b)} in {script.name}")
    problems += [f"cell {i} differs: {x[1][:60]!r} vs {y[1][:60]!r}" for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_notebook_and_its_script_are_in_sync(name):
    problems = out_of_sync(NOTEBOOKS / name)
    assert not problems, f"{name}: " + "; ".join(problems) + " (run: jupytext --sync notebooks/*.ipynb)"


def test_sync_check_catches_an_edit_on_either_side(tmp_path):
    for name in ("01_anchor_grouping.ipynb", "01_anchor_grouping.py"):
        (tmp_path / name).write_text((NOTEBOOKS / name).read_text())
    assert out_of_sync(tmp_path / "01_anchor_grouping.ipynb") == []
    script = tmp_path / "01_anchor_grouping.py"
    script.write_text(script.read_text().replace("group_size = 8", "group_size = 6", 1))
    assert any("differs" in p for p in out_of_sync(tmp_path / "01_anchor_grouping.ipynb"))
    script.unlink()
    assert "missing" in out_of_sync(tmp_path / "01_anchor_grouping.ipynb")[0]


def test_every_notebook_in_the_folder_is_checked():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
