"""The course build (course/ -> student, instructor and autograder versions): every unit is built, and no student
file holds a solution, an answer key or a hidden test. Uses the build named by GIGPO_COURSE_BUILD (what `make
test-course` made in the lean venv, where it also graded every notebook) or builds one here."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jupytext
import pytest
import tomllib

from gigpo.course.build import ROOT, build, masters

pytest.importorskip("otter", reason="the course build needs the course extra (otter-grader)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    given = os.environ.get("GIGPO_COURSE_BUILD")
    if given:
        return ROOT / given
    out = tmp_path_factory.mktemp("course_build")
    build(ROOT / "course", out, log=lambda _: None)
    return out


def secret_and_public_lines(master: Path) -> tuple[set[str], set[str]]:
    """Lines only the instructor may see (solution code, answer keys, hidden tests) and the master's other lines."""
    secret, public = set(), set()
    block = None
    for cell in jupytext.read(master).cells:
        lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
        if cell.cell_type == "raw":
            marker = lines[0] if lines else ""
            if marker in ("# BEGIN SOLUTION", "# BEGIN TESTS"):
                block = marker.split()[-1]
            elif marker in ("# END SOLUTION", "# END TESTS"):
                block = None
            continue
        if block == "SOLUTION" and cell.cell_type == "markdown":
            secret.update(lines)
        elif block == "TESTS" and lines and lines[0] == "# HIDDEN":
            secret.update(lines[1:])
        elif block == "SOLUTION":
            inside = False
            for ln in lines:
                if re.fullmatch(r"# BEGIN SOLUTION( NO PROMPT)?", ln):
                    inside = True
                elif ln == "# END SOLUTION":
                    inside = False
                elif inside:
                    secret.add(ln)
                elif ln.endswith("# SOLUTION"):
                    secret.add(ln.rsplit("# SOLUTION", 1)[0].strip())  # the student sees `name = ...`
                else:
                    public.add(ln)
        else:
            public.update(lines)
    # a solution line the prompt itself quotes (e.g. the register_estimator call it asks for) is not a leak
    return {ln for ln in secret if not any(ln in p for p in public)}, public


def all_text(notebook: Path) -> str:
    """Every string in the notebook file: cell sources, outputs and metadata (where otter keeps its tests)."""
    def strings(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)
    return "\n".join(strings(json.loads(notebook.read_text())))


@pytest.mark.slow  # needs the course build (minutes), unless GIGPO_COURSE_BUILD names one
def test_every_unit_is_built(built):
    units = [m.stem for m in masters()]
    assert len(units) == 6
    for unit in units:
        for kind, ext in (("student", "ipynb"), ("instructor", "ipynb"), ("autograder", "zip")):
            assert (built / kind / f"{unit}.{ext}").is_file(), f"{kind} version of {unit} missing"


@pytest.mark.slow  # needs the course build (minutes), unless GIGPO_COURSE_BUILD names one
@pytest.mark.parametrize("master", masters(), ids=lambda p: p.stem)
def test_no_student_file_holds_a_solution_or_hidden_test(built, master):
    secret, _ = secret_and_public_lines(master)
    assert len(secret) >= 5, "the master has solutions and hidden tests to hide"
    student = all_text(built / "student" / f"{master.stem}.ipynb")
    instructor = all_text(built / "instructor" / f"{master.stem}.ipynb")
    leaked = sorted(ln for ln in secret if ln in student)
    assert not leaked, f"student {master.stem} shows instructor-only lines: {leaked[:5]}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "# HIDDEN", "Answer key"):
        assert marker not in student
    assert "Answer key" in instructor or "manual" not in master.read_text(), "the instructor version has the keys"


@pytest.mark.slow  # needs the course build (minutes), unless GIGPO_COURSE_BUILD names one
def test_every_student_file_in_the_build_is_a_stripped_notebook(built):
    for path in (built / "student").rglob("*"):
        if path.is_file():
            assert path.suffix == ".ipynb" and "Answer key" not in path.read_text()


def test_the_secret_line_finder_sees_solutions(tmp_path):
    master = tmp_path / "99_demo.py"
    master.write_text("# %% [raw]\n# # BEGIN SOLUTION\n\n# %%\nx = 41 + 1  # SOLUTION\ny = 3\n"
                      "# BEGIN SOLUTION NO PROMPT\nz = secret_value()\n# END SOLUTION\n\n"
                      "# %% [raw]\n# # END SOLUTION\n\n"
                      "# %% [raw]\n# # BEGIN TESTS\n\n# %%\n# HIDDEN\nassert x == 42\n\n# %% [raw]\n# # END TESTS\n")
    secret, public = secret_and_public_lines(master)
    assert secret == {"x = 41 + 1", "z = secret_value()", "assert x == 42"} and "y = 3" in public


def test_the_course_extra_is_lean_and_keeps_a_preinstalled_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    course = project["optional-dependencies"]["course"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in course}
    assert "otter-grader" in names
    assert not names & {"pytest", "playwright", "textworld", "hypothesis", "jupyterlab"}
    assert [d for d in course if d.startswith("gigpo")] == ["gigpo[notebook]"]  # the figures, nothing of dev
    torch_req = next(d for d in project["dependencies"] if d.startswith("torch"))
    assert "==" not in torch_req and "<" not in torch_req, "any recent torch a notebook host has must satisfy it"


@pytest.mark.slow  # needs the course build (minutes), unless GIGPO_COURSE_BUILD names one
def test_grading_a_folder_gives_a_score_table(built, tmp_path):
    from gigpo.course.grade import grade_folder, write_table

    subs = tmp_path / "submissions"
    (subs / "alice").mkdir(parents=True)
    (subs / "bob").mkdir()
    (subs / "alice" / "03_training.ipynb").write_bytes((built / "instructor" / "03_training.ipynb").read_bytes())
    (subs / "bob" / "03_training-bob.ipynb").write_bytes((built / "student" / "03_training.ipynb").read_bytes())
    rows = grade_folder(subs, built / "autograder")
    assert [(r["submission"], r["total"], r["possible"]) for r in rows] == [
        ("alice/03_training.ipynb", 6.0, 6.0), ("bob/03_training-bob.ipynb", 0.0, 6.0)]
    assert rows[0]["q1_ppo_clip_loss"] == 4.0 and rows[0]["q2_predict_clipped_gradient"] == 2.0
    write_table(rows, tmp_path / "scores.csv")
    assert (tmp_path / "scores.csv").read_text().splitlines()[0] == \
        "submission,unit,q1_ppo_clip_loss,q2_predict_clipped_gradient,total,possible"


@pytest.mark.slow  # needs the course build (minutes), unless GIGPO_COURSE_BUILD names one
def test_a_submission_of_no_known_unit_is_named(built, tmp_path):
    from gigpo.course.grade import grade_folder

    (tmp_path / "homework.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="homework.ipynb: its name must start with one unit's name"):
        grade_folder(tmp_path, built / "autograder")
