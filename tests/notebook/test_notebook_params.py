"""The notebooks' papermill parameters: 03 mirrors TrainConfig field for field; every notebook is well-formed; each
``.ipynb`` is paired with a jupytext percent script and the two hold the same cells."""
import dataclasses
from pathlib import Path

import jupytext
import nbformat
import pytest

from gigpo.training.config import TrainConfig
from gigpo.training.demo import demo_config
from tests.support.notebook_cells import assignments, parameters_cell, read

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_anchor_grouping.ipynb", "02_advantages.ipynb", "03_training.ipynb", "04_gigpo_vs_grpo.ipynb",
         "05_credit_lab.ipynb"]


SYSTEMS_MARK = "# === systems"  # the line that opens 03's block of systems settings


def mirror_problems(source: str) -> list[str]:
    """Why 03's parameters cell does not mirror TrainConfig ([] if it does): every field once, set to the demo's
    recipe (the CPU setting that learns); the unit's knobs first, then one block opened by ``SYSTEMS_MARK``, each
    block in TrainConfig's order (so a field added to TrainConfig has one right place)."""
    lines = source.splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith(SYSTEMS_MARK)]
    if len(marks) != 1:
        return [f"need exactly one line starting {SYSTEMS_MARK!r}, found {len(marks)}"]
    blocks = {"unit": assignments("\n".join(lines[:marks[0]])), "systems": assignments("\n".join(lines[marks[0]:]))}
    order = [f.name for f in dataclasses.fields(TrainConfig)]
    names = [n for block in blocks.values() for n, _ in block]
    problems = [f"{n} is listed {names.count(n)} times" for n in dict.fromkeys(names) if names.count(n) > 1]
    problems += [f"missing {n}" for n in order if n not in names] + [f"unknown {n}" for n in names if n not in order]
    for label, block in blocks.items():
        listed = [n for n, _ in block]
        if listed != [n for n in order if n in listed]:
            problems.append(f"the {label} block is not in TrainConfig's order")
    recipe = demo_config()
    for name, value in (item for block in blocks.values() for item in block):
        if name in order and not (value == getattr(recipe, name) and type(value) is type(getattr(recipe, name))):
            problems.append(f"{name} = {value!r}, the recipe has {getattr(recipe, name)!r}")
    return problems


def test_training_parameters_mirror_train_config_field_for_field():
    source = parameters_cell(read("03_training.ipynb")).source
    assert mirror_problems(source) == []
    unit, systems = (source.split(SYSTEMS_MARK)[0], source.split(SYSTEMS_MARK)[1])
    assert all(f"\n{n} = " in unit for n in ("estimator", "gamma", "step_weight", "kl_coef", "warm_start_steps"))
    assert all(f"\n{n} = " in systems for n in ("device", "fsdp", "host_mmap_threshold", "output_dir"))


def test_mirror_check_catches_a_missing_mark_a_moved_field_and_a_changed_value():
    source = parameters_cell(read("03_training.ipynb")).source
    before = set(mirror_problems(source))  # empty when the cell mirrors TrainConfig (the test above)

    def new_problems(changed):
        return sorted(set(mirror_problems(changed)) - before)

    assert "exactly one" in mirror_problems(source.replace(SYSTEMS_MARK, "# systems"))[0]
    gamma_line = next(line for line in source.splitlines() if line.startswith("gamma = "))
    moved = source.replace(gamma_line + "\n", "").rstrip() + "\n" + gamma_line  # to the end of the systems block
    assert new_problems(moved) == ["the systems block is not in TrainConfig's order"]
    assert new_problems(source.replace(gamma_line, "gamma = 0.9")) == ["gamma = 0.9, the recipe has 0.95"]
    assert new_problems(source.rstrip() + "\ngamma = 0.95") == ["gamma is listed 2 times",
                                                               "the systems block is not in TrainConfig's order"]
    assert new_problems(source.replace(gamma_line + "\n", "")) == ["missing gamma"]


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
