"""Run the notebooks as CI does (papermill; 01 to 04 with their default parameters, the runs the book shows) and the
run-notebook command that wraps papermill."""
import json
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from book.tools import executed as book_runs
from gigpo.__main__ import main as gigpo_main
from gigpo.notebook.runner import main, parse_value, run_notebook
from gigpo.run_files.metrics import read_metrics
from tests.support.notebook_cells import assignments, errors, parameters_cell, read

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def tiny_notebook(path):
    params = new_code_cell("greeting = 'hi'\ncount = 1\nrate = 0.1\noutput_dir = None")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(
        "from pathlib import Path\nPath(output_dir, 'out.txt').write_text(greeting * count)\n"
        "Path(output_dir, 'rate.txt').write_text(repr(rate))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, path)
    return path


def test_parse_value_reads_yaml_scalars_and_lists():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("null") is None and parse_value("[0, 1]") == [0, 1] and parse_value("sokoban") == "sokoban"
    assert parse_value("{eval_every: 0}") == {"eval_every": 0}
    assert parse_value("a: b: c") == "a: b: c"  # not YAML: kept as text


@pytest.mark.parametrize("text, number", [("1e-5", 1e-5), ("5e-3", 0.005), ("1.0e-6", 1e-6), ("-2e3", -2000.0),
                                          ("1E+2", 100.0), ("3e0", 3.0), (".5", 0.5), ("-0.25", -0.25)])
def test_parse_value_reads_numbers_as_written(text, number):
    # YAML 1.1 (PyYAML's default) reads 1e-5 as a string: "lr must be > 0, got '1e-5'" from notebook 03
    value = parse_value(text)
    assert type(value) is float and value == number
    assert parse_value(f"[{text}, 2]") == [number, 2]


@pytest.mark.parametrize("text", ["sokoban", "e5", "1e", "1e-", "yes", "no", "on", "off", "nan", "inf", "1:30",
                                  "1_000", "0x1f", "2026-12-02", "'1e-5'"])
def test_parse_value_keeps_words_as_strings(text):
    # YAML 1.1 reads yes/no/on/off as booleans, 1:30 as 90, 1_000 as 1000, 0x1f as 31 and dates as dates
    assert parse_value(text) == text.strip("'")


def test_parse_value_integers_are_decimal_ints():
    assert [parse_value(t) for t in ("20", "-3", "+4", "010", "0")] == [20, -3, 4, 10, 0]
    assert all(type(parse_value(t)) is int for t in ("20", "-3", "010"))
    assert parse_value("True") is True and parse_value("false") is False and parse_value("~") is None


def test_run_notebook_keeps_outputs_together(tmp_path):
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    run_dir = main([str(nb), "-p", "greeting", "yo", "-p", "count", "2", "--name", "r1",
                    "--runs-dir", str(tmp_path / "runs")])
    assert run_dir == (tmp_path / "runs" / "r1").resolve()
    assert (run_dir / "out.txt").read_text() == "yoyo"  # output_dir was pointed at the run directory
    assert (run_dir / "tiny.ipynb").exists() and not errors(run_dir / "tiny.ipynb")
    recorded = json.loads((run_dir / "parameters.json").read_text())["parameters"]
    assert recorded == {"greeting": "yo", "count": 2, "output_dir": str(run_dir)}
    with pytest.raises(ValueError, match="not empty"):
        run_notebook(nb, {}, name="r1", runs_dir=tmp_path / "runs")
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['colour'\]"):
        run_notebook(nb, {"colour": "red"}, name="r2", runs_dir=tmp_path / "runs")
    with pytest.raises(ValueError, match="not a notebook"):
        run_notebook(tmp_path / "missing.ipynb")


def test_run_notebook_keeps_an_explicit_output_dir_and_reads_exponents(tmp_path):
    # the command line, through the package CLI: -p output_dir wins over the run directory, 1e-5 is a float
    nb = tiny_notebook(tmp_path / "tiny.ipynb")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert gigpo_main(["run-notebook", str(nb), "-p", "output_dir", str(elsewhere), "-p", "rate", "1e-5",
                       "--name", "r1", "--runs-dir", str(tmp_path / "runs")]) == 0
    run_dir = tmp_path / "runs" / "r1"
    assert (elsewhere / "out.txt").read_text() == "hi" and (elsewhere / "rate.txt").read_text() == "1e-05"
    assert not (run_dir / "out.txt").exists() and not errors(run_dir / "tiny.ipynb")
    recorded = json.loads((run_dir / "parameters.json").read_text())["parameters"]
    assert recorded == {"output_dir": str(elsewhere), "rate": 1e-5}


@pytest.mark.parametrize("name", ["01_anchor_grouping", "02_advantages"])
def test_teaching_notebooks_run_and_save_their_figures(tmp_path, name):
    notebook = NOTEBOOKS / f"{name}.ipynb"
    key, start = book_runs.source_key(notebook), time.perf_counter()
    run_dir = run_notebook(notebook, {}, name=name, runs_dir=tmp_path)
    seconds = time.perf_counter() - start
    assert not errors(run_dir / f"{name}.ipynb")
    assert len(list(run_dir.glob("*.html"))) >= 3
    # the run the book makes (default parameters): filed in its cache, `make book` after the tests reuses it
    book_runs.adopt(notebook, run_dir, seconds, key)


def run_as_the_book_does(name: str, runs_dir: Path) -> Path:
    """Run ``name`` with its default parameters (as it ships) and file the run in the book's cache, so the book shows
    this run instead of executing the notebook again: one run of each long notebook per ``make test-all``."""
    notebook = NOTEBOOKS / name
    key, start = book_runs.source_key(notebook), time.perf_counter()
    run_dir = run_notebook(notebook, {}, name=notebook.stem, runs_dir=runs_dir)
    seconds = time.perf_counter() - start
    assert not errors(run_dir / name)
    book_runs.adopt(notebook, run_dir, seconds, key)
    return run_dir


@pytest.mark.slow
def test_training_notebook_writes_metrics_and_curves(tmp_path):
    run_dir = run_as_the_book_does("03_training.ipynb", tmp_path)
    defaults = dict(assignments(parameters_cell(read("03_training.ipynb")).source))
    metrics = read_metrics(run_dir)
    assert [m["iteration"] for m in metrics] == list(range(defaults["iterations"]))
    assert (run_dir / "learning_curves.html").exists() and (run_dir / "config.json").exists()
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["env"], config["estimator"]) == (defaults["env"], defaults["estimator"])


@pytest.mark.slow
def test_comparison_notebook_runs_both_estimators(tmp_path):
    run_dir = run_as_the_book_does("04_gigpo_vs_grpo.ipynb", tmp_path)
    defaults = dict(assignments(parameters_cell(read("04_gigpo_vs_grpo.ipynb")).source))
    assert defaults["estimators"] == ["gigpo", "grpo"] and defaults["seeds"] == [0]
    for estimator in ("gigpo", "grpo"):
        run = run_dir / f"{estimator}-seed0"
        assert json.loads((run / "config.json").read_text())["estimator"] == estimator
        assert len(read_metrics(run)) == defaults["iterations"]
    table = (run_dir / "results.md").read_text()
    assert "| gigpo | 1 |" in table and "| grpo | 1 |" in table
    assert (run_dir / "results.csv").exists() and (run_dir / "success_rate.html").exists()
