"""Reading the course notebooks: the cell tagged ``parameters``, its assignments, a run's error outputs."""
import ast
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


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


def errors(path):
    nb = nbformat.read(path, as_version=4)
    return [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
