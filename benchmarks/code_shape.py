"""The shape of the code: modules and lines per room, the largest functions, and how much of it is prose.

    python benchmarks/code_shape.py [--root .] [--top 10] [--json out.json]

A room is a folder of ``gigpo/`` or ``envs/`` (its own ``.py`` files, not its subfolders'). Lines are physical
lines. In ``gigpo/``, each line counts once as docstring (a string standing alone as a statement: module, class,
function and field docstrings), comment (a line holding only a comment), code (any other non-blank line) or blank.
A function's length runs from its ``def`` (decorators excluded) to its last line, nested functions included.
"""
from __future__ import annotations

import argparse
import ast
import io
import json
import tokenize
from collections import defaultdict
from pathlib import Path

PACKAGES = ("gigpo", "envs")


def python_files(root: Path, package: str) -> list[Path]:
    return sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)


def rooms(root: Path) -> dict[str, dict[str, int]]:
    """Folder -> {"modules", "lines"} of its own files."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"modules": 0, "lines": 0})
    for package in PACKAGES:
        for path in python_files(root, package):
            room = str(path.parent.relative_to(root))
            out[room]["modules"] += 1
            out[room]["lines"] += len(path.read_text().splitlines())
    return dict(sorted(out.items()))


def functions(root: Path) -> list[tuple[int, str]]:
    """(lines, "file:qualified name") of every function and method in gigpo/ and envs/."""
    found = []
    for package in PACKAGES:
        for path in python_files(root, package):
            tree = ast.parse(path.read_text())

            def visit(node, prefix):
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        name = f"{prefix}{child.name}"
                        found.append((child.end_lineno - child.lineno + 1, f"{path.relative_to(root)}:{name}"))
                        visit(child, f"{name}.")
                    elif isinstance(child, ast.ClassDef):
                        visit(child, f"{prefix}{child.name}.")

            visit(tree, "")
    return sorted(found, key=lambda item: (-item[0], item[1]))


def prose(root: Path) -> dict[str, int]:
    """Docstring, comment, code and blank lines of gigpo/, and lines longer than 100 and 120 characters."""
    counts = {"docstring": 0, "comment": 0, "code": 0, "blank": 0, "over_100": 0, "over_120": 0}
    for path in python_files(root, "gigpo"):
        text = path.read_text()
        lines = text.splitlines()
        doc_lines: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                doc_lines.update(range(node.lineno, node.end_lineno + 1))
        comment_lines = {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                         if tok.type == tokenize.COMMENT and not lines[tok.start[0] - 1][:tok.start[1]].strip()}
        for number, line in enumerate(lines, start=1):
            counts["over_100"] += len(line) > 100
            counts["over_120"] += len(line) > 120
            if number in doc_lines:
                counts["docstring"] += 1
            elif number in comment_lines:
                counts["comment"] += 1
            elif line.strip():
                counts["code"] += 1
            else:
                counts["blank"] += 1
    counts["docstring_per_code"] = round(counts["docstring"] / max(counts["code"], 1), 3)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", help="also write the figures here")
    ns = parser.parse_args()
    root = Path(ns.root)
    shape = {"rooms": rooms(root), "largest_functions": functions(root)[:ns.top], "prose": prose(root)}
    print(f"{'room':<34}{'modules':>8}{'lines':>8}")
    for room, c in shape["rooms"].items():
        print(f"{room:<34}{c['modules']:>8}{c['lines']:>8}")
    print("\nlargest functions:")
    for n, name in shape["largest_functions"]:
        print(f"{n:>6}  {name}")
    print("\ngigpo/ prose:", ", ".join(f"{k} {v}" for k, v in shape["prose"].items()))
    if ns.json:
        Path(ns.json).write_text(json.dumps(shape, indent=1) + "\n")


if __name__ == "__main__":
    main()
