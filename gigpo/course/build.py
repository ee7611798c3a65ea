"""Build the course: each master notebook of ``course/`` (a jupytext percent script in otter-grader 7's ``otter
assign`` format) becomes a student notebook (no solutions, no hidden tests), an instructor notebook (solutions and
answer keys) and an autograder zip, under ``course/_build/``::

    python -m gigpo.course.build                 # course/ -> course/_build/{student,instructor,autograder}/
    python -m gigpo.course.build --verify        # then grade every student and instructor notebook

``otter assign`` runs every test against the solutions while it builds, so a build that succeeds has solutions
that pass. Needs the ``course`` extra (otter-grader, jupytext, ipykernel).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gigpo.course.grade import grade_one
from gigpo.course.layout import BUILD, ROOT, SOURCES

__all__ = ["BUILD", "ROOT", "SOURCES", "build", "masters", "verify"]


def masters(source_dir: Path = SOURCES) -> list[Path]:
    """The units' master scripts, in course order (``NN_name.py``)."""
    found = sorted(p for p in source_dir.glob("[0-9][0-9]_*.py"))
    if not found:
        raise FileNotFoundError(f"no master notebooks (NN_name.py) in {source_dir}")
    return found


def build(source_dir: Path = SOURCES, out: Path = BUILD, *, log=print) -> dict[str, dict[str, Path]]:
    """Build every unit; returns ``{unit: {"student", "instructor", "autograder"}: path}``."""
    import jupytext

    for kind in ("student", "instructor", "autograder"):
        shutil.rmtree(out / kind, ignore_errors=True)
        (out / kind).mkdir(parents=True)
    built = {}
    for script in masters(source_dir):
        unit, start = script.stem, time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            master = Path(tmp) / f"{unit}.ipynb"
            jupytext.write(jupytext.read(script), master)
            dist = Path(tmp) / "dist"
            # otter assign executes the solutions against every test; --no-pdfs: nothing here needs LaTeX
            subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(dist)],
                           check=True, cwd=tmp, stdout=subprocess.DEVNULL)
            (zip_path,) = (dist / "autograder").glob("*.zip")
            paths = {"student": out / "student" / f"{unit}.ipynb",
                     "instructor": out / "instructor" / f"{unit}.ipynb",
                     "autograder": out / "autograder" / f"{unit}.zip"}
            shutil.copy(dist / "student" / f"{unit}.ipynb", paths["student"])
            shutil.copy(dist / "autograder" / f"{unit}.ipynb", paths["instructor"])
            shutil.copy(zip_path, paths["autograder"])
        built[unit] = paths
        log(f"built {unit} in {time.perf_counter() - start:.1f} s (solutions pass every test)")
    return built


def verify(built: dict[str, dict[str, Path]], *, log=print) -> list[str]:
    """Grade each unit's student notebook (the stubs must score 0) and instructor notebook (the solutions must
    score every autograded point) with its autograder; each run executes the notebook top to bottom in this
    environment. Returns the problems found (empty: all good)."""
    problems = []
    for unit, paths in built.items():
        for kind, want in (("student", "none"), ("instructor", "all")):
            start = time.perf_counter()
            scores = grade_one(paths[kind], paths["autograder"])
            seconds = time.perf_counter() - start
            log(f"{kind} {unit}: ran and graded in {seconds:.1f} s, {scores['total']:g} / {scores['possible']:g}")
            ok = scores["total"] == 0 if want == "none" else scores["total"] == scores["possible"] > 0
            if not ok:
                problems.append(f"{kind} {unit} scored {scores['total']:g} / {scores['possible']:g}, expected {want}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gigpo.course.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=SOURCES, help="folder of master scripts (default course/)")
    parser.add_argument("--out", type=Path, default=BUILD, help="output folder (default course/_build/)")
    parser.add_argument("--verify", action="store_true",
                        help="after the build, grade every student notebook (must score 0) and instructor notebook "
                             "(must score all points), printing each one's run time")
    ns = parser.parse_args(argv)
    built = build(ns.source, ns.out)
    problems = verify(built) if ns.verify else []
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
