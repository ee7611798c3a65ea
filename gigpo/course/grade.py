"""Grade a folder of submitted notebooks with the autograders of a course build, into one score table::

    python -m gigpo.course.grade SUBMISSIONS [--autograders course/_build/autograder] [--out scores.csv]

A submission is matched to its unit by its file name: it must start with the unit's name (``02_advantages.ipynb``,
``02_advantages-alice.ipynb`` or ``alice/02_advantages.ipynb``). Each is run with ``otter run`` (no container: the
grading machine's own environment, which needs the ``course`` extra) and every autograded question's score goes in
one row; hand-graded questions (explanations) are not in the table: the instructor notebook holds their answer keys.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
import tempfile
from pathlib import Path

from gigpo.course.layout import BUILD


def unit_of(submission: Path, units: list[str]) -> str:
    """The unit a submission belongs to, from its file name; ``ValueError`` naming the file if none matches."""
    matches = [u for u in units if submission.name.startswith(u)]
    if len(matches) != 1:
        raise ValueError(f"{submission}: its name must start with one unit's name, one of {units}")
    return matches[0]


def grade_one(submission: Path, autograder: Path) -> dict[str, float]:
    """``{question: score, ..., "total": ..., "possible": ...}`` for one notebook."""
    from otter.run import main as otter_run

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        results = otter_run(str(submission), autograder=str(autograder), output_dir=tmp, no_logo=True)
    scores = {name: float(r.score) for name, r in sorted(results.results.items())}
    return {**scores, "total": float(results.total), "possible": float(results.possible)}


def grade_folder(submissions: Path, autograders: Path = BUILD / "autograder") -> list[dict[str, object]]:
    """One row per submission (sorted by path): ``submission``, ``unit``, each question's score, total, possible."""
    units = sorted(p.stem for p in autograders.glob("*.zip"))
    if not units:
        raise FileNotFoundError(f"no autograder zips in {autograders}; run `make course` first")
    files = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not files:
        raise FileNotFoundError(f"no .ipynb submissions under {submissions}")
    rows = []
    for path in files:
        unit = unit_of(path, units)
        rows.append({"submission": str(path.relative_to(submissions)), "unit": unit,
                     **grade_one(path, autograders / f"{unit}.zip")})
    return rows


def write_table(rows: list[dict[str, object]], out: Path) -> None:
    columns = ["submission", "unit"]
    for row in rows:
        columns += [k for k in row if k not in columns and k not in ("total", "possible")]
    columns += ["total", "possible"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gigpo.course.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (searched recursively)")
    parser.add_argument("--autograders", type=Path, default=BUILD / "autograder")
    parser.add_argument("--out", type=Path, default=Path("scores.csv"))
    ns = parser.parse_args(argv)
    rows = grade_folder(ns.submissions, ns.autograders)
    write_table(rows, ns.out)
    for row in rows:
        print(f"{row['submission']:<50} {row['unit']:<22} {row['total']:g} / {row['possible']:g}")
    print(f"score table: {ns.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
