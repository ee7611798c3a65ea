"""Notebook 05 (credit lab): its papermill parameters mirror LabConfig field for field, and it runs end to end with
small parameters, writing its runs, table and figures."""
import dataclasses
import json
from pathlib import Path

import pytest

from gigpo.lab import LabConfig
from gigpo.notebook.runner import run_notebook
from tests.support.notebook_cells import assignments, errors, parameters_cell, read

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_lab_parameters_mirror_lab_config_field_for_field():
    params = assignments(parameters_cell(read("05_credit_lab.ipynb")).source)
    defaults = [(f.name, f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(LabConfig)]
    assert [n for n, _ in params] == [n for n, _ in defaults]
    for (name, value), (_, default) in zip(params, defaults):
        assert value == default and type(value) is type(default), name


def test_lab_env_defaults():
    assert LabConfig().resolved_env_options() == {"num_receptacles": 6, "num_objects": 4}
    assert LabConfig(env="sokoban").resolved_env_options() == {}
    assert LabConfig(env="household", env_options={}).resolved_env_options() == {}


@pytest.mark.slow
def test_credit_lab_notebook_runs_with_small_parameters(tmp_path):
    small = {"task_pool": 4, "num_groups": 2, "group_size": 4, "iterations": 6, "seeds": [0, 1],
             "estimators": ["gigpo", "grpo", "rloo"], "calibration_rollouts": 4, "max_steps": 15}
    run_dir = run_notebook(NOTEBOOKS / "05_credit_lab.ipynb", small, name="lab", runs_dir=tmp_path)
    assert not errors(run_dir / "05_credit_lab.ipynb")
    for regime in ("scratch", "prior", "sokoban", "shop"):
        rows = [json.loads(x) for x in (run_dir / regime / "lab.jsonl").read_text().splitlines()]
        assert {r["estimator"] for r in rows} == {"gigpo", "grpo", "rloo"}
    table = (run_dir / "comparison.csv").read_text()
    assert all(e in table for e in ("gigpo", "grpo", "rloo"))  # every listed estimator is in the table
    successors = (run_dir / "estimators.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in successors[1:]] == ["gigpo", "grpo", "rloo", "hgpo", "graphgpo"]
    assert (run_dir / "successors" / "lab.jsonl").exists()
    assert len(list(run_dir.glob("*.html"))) >= 10
