"""The book's build steps without the browser: exercises from otter masters, page outputs, launch links, cache.

The browser test (tests/test_book_browser.py) checks the built site; these check each step against values worked
out by hand from small inputs, so a wrong conversion shows up here first and fast.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from book.tools import executed, exercises, launch, page_outputs

SAMPLE = Path(__file__).resolve().parents[1] / "support" / "data" / "course_unit_sample.py"


def test_student_code_cuts_solutions_as_otter_does():
    code = "def f(x):\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n    # END SOLUTION\nz = 3  # SOLUTION\nq = 1"
    assert exercises.student_code(code) == "def f(x):\n    ...\nz = ...\nq = 1"
    assert exercises.solution_code(code) == "def f(x):\n    y = x + 1\n    return y\nz = 3\nq = 1"
    no_prompt = "a = 1\n# BEGIN SOLUTION NO PROMPT\nb = 2\n# END SOLUTION"
    assert exercises.student_code(no_prompt) == "a = 1"
    assert exercises.student_code("print(x)  # SOLUTION") == "..."
    with pytest.raises(ValueError, match="without '# END SOLUTION'"):
        exercises.student_code("# BEGIN SOLUTION\nx = 1")


def test_sample_unit_student_page_has_exercises_and_no_solution():
    page = exercises.unit_page(SAMPLE, solutions=False)
    assert page.count("::::{exercise}") == 3 and "{solution}" not in page
    assert "discounted_returns · 2 points · checked automatically" in page
    assert "explain_luck · 1 point · graded by hand" in page
    assert "def discounted_returns(traj_ids, rewards, gamma):\n    ...\n```" in page
    assert "w = ...\ngamma = ...\nprint(\"weights set\")" in page
    assert "assert discounted_returns([0, 0], [0.0, 1.0], 0.5) == [0.5, 1.0]" in page  # a public test
    for secret in ("running_by_traj", "secret interleaving case", "one-sample Monte-Carlo", "0.95",
                   "doubled for the hidden check", "ASSIGNMENT CONFIG", "solutions_pdf"):
        assert secret not in page, secret


def test_sample_unit_instructor_page_adds_one_dropdown_solution_per_question():
    page = exercises.unit_page(SAMPLE, solutions=True)
    assert page.count("::::{solution} ex-course-unit-sample-") == 3 and page.count(":class: dropdown") == 3
    assert "::::{solution} ex-course-unit-sample-discounted-returns" in page
    for secret in ("running_by_traj", "secret interleaving case", "one-sample Monte-Carlo", "gamma = 0.95",
                   "x = x * 2  # doubled for the hidden check"):
        assert secret in page, secret
    assert "# HIDDEN" not in page and "BEGIN SOLUTION" not in page


def test_solution_texts_are_the_lines_students_never_see():
    texts = exercises.solution_texts(SAMPLE)
    assert "out = [0.0] * len(rewards)" in texts and "gamma = 0.95" in texts
    student = exercises.unit_page(SAMPLE, solutions=False)
    assert not [t for t in texts if t in student]


def test_malformed_masters_are_refused_with_the_reason(tmp_path):
    unclosed = tmp_path / "unclosed.py"
    unclosed.write_text("# %% [raw]\n# # BEGIN QUESTION\n# name: q1\n\n# %% [markdown]\n# text\n")
    with pytest.raises(ValueError, match="'q1' has no '# END QUESTION'"):
        exercises.parse_master(unclosed)
    nameless = tmp_path / "nameless.py"
    nameless.write_text("# %% [raw]\n# # BEGIN QUESTION\n# points: 1\n\n# %% [raw]\n# # END QUESTION\n")
    with pytest.raises(ValueError, match="has no 'name:'"):
        exercises.parse_master(nameless)


def test_colab_link_comes_from_the_configured_repository():
    url = launch.colab_url("https://github.com/acme/gigpo", "main", "notebooks/02_advantages.ipynb")
    assert url == "https://colab.research.google.com/github/acme/gigpo/blob/main/notebooks/02_advantages.ipynb"
    url = launch.colab_url("https://github.com/acme/gigpo.git/", "dev", "n.ipynb")
    assert url.endswith("acme/gigpo/blob/dev/n.ipynb")
    with pytest.raises(ValueError, match="must be https://github.com/OWNER/REPO"):
        launch.colab_url("https://gitlab.com/acme/gigpo", "main", "n.ipynb")
    assert launch.duration(42.4) == "42 s" and launch.duration(194) == "3 min 14 s"


def widget_notebook() -> dict:
    """A run of a notebook that displayed a VBox(slider, HTML, Output holding a plotly figure) and one figure."""
    figure = {"data": [{"type": "heatmap", "z": [[1, 2], [3, 4]]}], "layout": {"title": {"text": "A_S"}}}
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_h", "IPY_MODEL_o"],
                                                     "_dom_classes": ["gigpo-explorer"]}},
        "s": {"model_name": "IntSliderModel", "state": {"description": "step", "value": 2}},
        "h": {"model_name": "HTMLModel", "state": {"value": "<b>8 rollouts</b>"}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {page_outputs.PLOTLY_MIME: figure}, "metadata": {}}]}},
        "d": {"model_name": "DropdownModel", "state": {"description": "norm", "index": 1,
                                                       "_options_labels": ["std", "none"]}},
    }
    cells = [{"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1, "outputs": [
        {"output_type": "display_data", "metadata": {},
         "data": {page_outputs.WIDGET_VIEW_MIME: {"model_id": "box"}, "text/plain": "VBox(...)"}},
        {"output_type": "display_data", "metadata": {}, "data": {page_outputs.PLOTLY_MIME: figure}},
        {"output_type": "display_data", "metadata": {},
         "data": {page_outputs.WIDGET_VIEW_MIME: {"model_id": "d"}, "text/plain": "Dropdown(...)"}}]}]
    return {"cells": cells, "metadata": {"widgets": {page_outputs.WIDGET_STATE_MIME: {"state": state}}},
            "nbformat": 4, "nbformat_minor": 5}


def test_widgets_become_snapshots_and_figures_get_local_html_and_a_png(tmp_path):
    figures = page_outputs.PageFigures("02_x", tmp_path, "../_static/figures")
    nb = page_outputs.static_notebook(widget_notebook(), figures)
    assert "widgets" not in nb["metadata"]  # no widget manager (and its CDN scripts) on the page
    outputs = nb["cells"][0]["outputs"]
    snapshot = outputs[0]["data"]["text/html"]
    assert "static snapshot" in snapshot and "need a running Python kernel" in snapshot
    assert "<code>step = 2</code>" in snapshot and "<b>8 rollouts</b>" in snapshot and "gigpo-explorer" in snapshot
    assert "<code>norm = none</code>" in outputs[2]["data"]["text/html"]
    assert figures.widgets == 2
    # two figures (one inside the widget, one plain), numbered in page order, each with its PNG
    assert sorted(p.name for p in figures.pngs) == ["02_x-figure-01.png", "02_x-figure-02.png"]
    plain = outputs[1]["data"]["text/html"]
    assert "Plotly.newPlot" in plain and "02_x-figure-02" in plain and "cdn.plot.ly" not in plain
    assert "<script src" not in plain  # plotly.js comes from the page's own _static copy
    assert "src='../_static/figures/02_x-figure-02.png'" in plain and "alt='A_S'" in plain
    assert page_outputs.PLOTLY_MIME not in outputs[1]["data"]


def test_a_widget_without_stored_state_is_an_error(tmp_path):
    nb = widget_notebook()
    nb["metadata"] = {}
    with pytest.raises(ValueError, match="state was not stored"):
        page_outputs.static_notebook(nb, page_outputs.PageFigures("x", tmp_path, "f"))


def test_execution_is_cached_on_the_notebook_source(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nb = new_notebook(cells=[new_code_cell("import time\nprint(time.time())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    cache = tmp_path / "cache"
    first = executed.execute(path, cache=cache, log=lambda *_: None)
    again = executed.execute(path, cache=cache, log=lambda *_: None)
    assert not first.from_cache and again.from_cache and again.path == first.path
    printed = json.loads(first.path.read_text())["cells"][0]["outputs"][0]["text"]
    assert json.loads(again.path.read_text())["cells"][0]["outputs"][0]["text"] == printed  # not run again
    nb.cells.append(new_code_cell("1 + 1"))
    nbformat.write(nb, path)
    changed = executed.execute(path, cache=cache, log=lambda *_: None)
    assert not changed.from_cache and changed.path != first.path
    assert [p.name for p in cache.iterdir()] == [changed.path.parent.name]  # the stale run is gone


def test_papermill_injected_cell_is_left_out_and_the_parameters_cell_kept(tmp_path):
    nb = new_notebook(cells=[new_code_cell("output_dir = None", metadata={"tags": ["parameters"]}),
                             new_code_cell('output_dir = "/tmp/somewhere"', metadata={"tags": ["injected-parameters"]}),
                             new_code_cell("print(1)")])
    page = page_outputs.static_notebook(nb, page_outputs.PageFigures("x", tmp_path, "f"))
    assert [c["source"] for c in page["cells"]] == ["output_dir = None", "print(1)"]


def test_a_run_made_by_the_tests_is_filed_under_the_books_key_and_reused(tmp_path):
    from gigpo.notebook.runner import run_notebook

    path = tmp_path / "tiny.ipynb"
    nb = new_notebook(cells=[new_code_cell("import time\nprint(time.time())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    cache = tmp_path / "cache"
    stale = executed.execute(path, cache=cache, log=lambda *_: None)  # an older run of the same source
    key = executed.source_key(path)
    run_dir = run_notebook(path, {}, name="elsewhere", runs_dir=tmp_path / "runs")
    filed = executed.adopt(path, run_dir, 12.34, key, cache=cache)
    assert filed == stale.path.parent and filed.name == f"tiny-{key[:16]}"
    assert [p.name for p in cache.iterdir()] == [filed.name]  # no staging folder left behind
    reused = executed.execute(path, cache=cache, log=lambda *_: None)
    assert reused.from_cache and reused.seconds == 12.3
    printed = json.loads((run_dir / "tiny.ipynb").read_text())["cells"][0]["outputs"][0]["text"]
    assert json.loads(reused.path.read_text())["cells"][0]["outputs"][0]["text"] == printed  # the adopted run

    nb.cells.append(new_code_cell("1 + 1"))  # edited while the run was going: not filed under the new source
    nbformat.write(nb, path)
    assert executed.adopt(path, run_dir, 1.0, key, cache=cache) is None
    assert [p.name for p in cache.iterdir()] == [filed.name]


def test_adopt_refuses_a_folder_without_the_run_or_with_an_error(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("1")]), path)
    key = executed.source_key(path)
    with pytest.raises(ValueError, match="holds no executed tiny.ipynb"):
        executed.adopt(path, tmp_path / "empty", 1.0, key, cache=tmp_path / "cache")
    failed = new_notebook(cells=[new_code_cell("1 / 0")])
    failed.cells[0].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    (tmp_path / "run").mkdir()
    nbformat.write(failed, tmp_path / "run" / "tiny.ipynb")
    with pytest.raises(ValueError, match=r"error outputs \['ZeroDivisionError'\]"):
        executed.adopt(path, tmp_path / "run", 1.0, key, cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_staging_removes_what_it_did_not_write_and_rewrites_only_changes(tmp_path):
    import os

    from book.tools.build import Staging

    for name, text in [("conf.py", "generated"), ("exercises/gone_unit.md", "old"), ("README.md", "same"),
                       ("docs/a.md", "before")]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    os.utime(tmp_path / "README.md", (1, 1))
    (tmp_path / "src_docs").mkdir()
    (tmp_path / "src_docs" / "a.md").write_text("after")
    staging = Staging(tmp_path)
    staging.write(tmp_path / "README.md", "same")
    staging.copy_tree(tmp_path / "src_docs", tmp_path / "docs")
    staging.write(tmp_path / "src_docs" / "a.md", "after")  # the copy's own source stays: written
    removed = staging.remove_unwritten()
    assert [p.relative_to(tmp_path).as_posix() for p in removed] == ["exercises/gone_unit.md"]
    assert (tmp_path / "conf.py").exists() and (tmp_path / "docs" / "a.md").read_text() == "after"
    assert (tmp_path / "README.md").stat().st_mtime == 1  # unchanged content is not rewritten (Sphinx's cache)


def test_tool_noise_is_cut_from_printed_text_and_the_rest_kept():
    kernel = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication (including "
              "code and outputs) is sent in plain text and is susceptible to eavesdropping.\n")
    parse = "Unable to parse line 28 'step_weight = 1.0  # omega (paper: 1.0)'.\n"
    outputs = [{"output_type": "stream", "name": "stderr", "text": [kernel, "gigpo seed 0: 1 iteration\n", parse]},
               {"output_type": "stream", "name": "stderr", "text": kernel + parse},
               {"output_type": "stream", "name": "stdout", "text": "Unable to parse line is a phrase\n"},
               {"output_type": "execute_result", "data": {"text/plain": parse}, "metadata": {}, "execution_count": 1}]
    kept = page_outputs.without_tool_noise(outputs)
    assert [o.get("text") for o in kept[:2]] == ["gigpo seed 0: 1 iteration\n", "Unable to parse line is a phrase\n"]
    assert kept[2] == outputs[3]  # a value the code returned is the notebook's own output
    nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs[:2]}], "metadata": {}}
    page = page_outputs.static_notebook(nb, page_outputs.PageFigures("t", Path("unused"), "_static/t"))
    assert page["cells"][0]["outputs"] == [{"output_type": "stream", "name": "stderr",
                                            "text": "gigpo seed 0: 1 iteration\n"}]
