"""Every line of every notebook's ``parameters`` cell parses with papermill's own inspection (what ``papermill
--help-notebook`` and tools built on it read): it finds each parameter the cell assigns, with the same default, and
logs no line it could not parse. For 03 and 05 the names it finds are their config's fields (the cells mirror
TrainConfig and LabConfig: tests/notebook/test_notebook_params.py and test_lab_notebook.py)."""
import ast
import dataclasses
import logging

import nbformat
import papermill
import pytest

from gigpo.lab import LabConfig
from gigpo.training.config import TrainConfig
from tests.support.notebook_cells import NOTEBOOKS, assignments, parameters_cell, read

NAMES = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CONFIGS = {"03_training.ipynb": TrainConfig, "05_credit_lab.ipynb": LabConfig}


def test_every_course_notebook_is_checked():
    assert len(NAMES) == 5 and set(CONFIGS) < set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_papermill_finds_every_parameter_with_its_default(name, caplog):
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = papermill.inspect_notebook(str(NOTEBOOKS / name))
    unparsed = [r.getMessage() for r in caplog.records if r.name.startswith("papermill")]
    assert unparsed == [], f"{name}: papermill could not parse {unparsed}"
    assigned = dict(assignments(parameters_cell(read(name)).source))
    assert list(found) == list(assigned)
    wrong = {n: (found[n]["default"], v) for n, v in assigned.items() if ast.literal_eval(found[n]["default"]) != v}
    assert wrong == {}, f"{name}: papermill reads other defaults (papermill's, the cell's): {wrong}"
    if name in CONFIGS:
        assert set(found) == {f.name for f in dataclasses.fields(CONFIGS[name])}


def test_a_comment_with_an_equals_sign_is_what_papermill_cannot_parse(tmp_path, caplog):
    # the check above can fail: this is the line notebook 03 once had
    nb = read("01_anchor_grouping.ipynb")
    parameters_cell(nb).source = "step_weight = 1.0  # omega, the weight of A_S in A = A_E + omega * A_S\ngamma = 0.9"
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = papermill.inspect_notebook(str(path))
    assert list(found) == ["gamma"]
    assert any("Unable to parse line 1" in r.getMessage() for r in caplog.records)
