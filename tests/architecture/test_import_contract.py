"""The import contract: layers that import only downward (``[tool.importlinter]`` in pyproject.toml, checked by
``lint-imports``) and no import cycle anywhere in ``gigpo/`` or ``envs/``, function-level imports included.

The cycle check is self-contained (``ast``, no import-linter): every ``import`` / ``from ... import`` statement of
every module, wherever it stands, is an edge; a cycle is reported between modules and between the rooms of every
folder (a room is a file or a subfolder of that folder, a subfolder standing for everything under it).
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gigpo", "envs")


# --- the checker ------------------------------------------------------------------------------------------------------
def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root/<package>`` (a package is its __init__)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of ``modules`` (None: outside the scanned packages)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the scanned modules it imports, from every import statement in its file (at any depth)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")[:len(module.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
                targets = [t for t in targets if t in modules] or [base]
            for target in targets:
                found = _resolve(target, modules)
                if found is not None and found != module:
                    edges[module].add(found)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def room_cycles(edges: dict[str, set[str]], modules: dict[str, Path], root: Path) -> dict[str, list[list[str]]]:
    """Per folder, the cycles between its rooms: its files and its subfolders (each standing for all under it)."""
    folders = {p.parent.relative_to(root) for p in modules.values()}
    out = {}
    for folder in sorted(folders):
        def room(module: str) -> str | None:
            rel = modules[module].relative_to(root)
            if rel.parts[:len(folder.parts)] != folder.parts or rel.parent == folder and rel.name == "__init__.py":
                return None  # outside the folder, or the folder's own __init__ (the folder itself)
            return rel.parts[len(folder.parts)]
        graph: dict[str, set[str]] = {}
        for source, targets in edges.items():
            a = room(source)
            if a is None:
                continue
            graph.setdefault(a, set())
            for target in targets:
                b = room(target)
                if b is not None and b != a:
                    graph[a].add(b)
        found = cycles(graph)
        if found:
            out[str(folder)] = found
    return out


def check_tree(root: Path, packages: Iterable[str]) -> list[str]:
    """Every module-level and room-level cycle under ``root``, one line each ("" list: none)."""
    modules = module_files(root, packages)
    edges = import_edges(modules)
    problems = [f"module cycle: {' <-> '.join(c)}" for c in cycles(edges)]
    top = {m.split(".")[0] for m in modules}
    top_edges = {p: {t.split(".")[0] for m, ts in edges.items() if m.split(".")[0] == p for t in ts} - {p}
                 for p in top}
    problems += [f"package cycle: {' <-> '.join(c)}" for c in cycles(top_edges)]
    problems += [f"room cycle in {folder}/: {' <-> '.join(c)}"
                 for folder, found in room_cycles(edges, modules, root).items() for c in found]
    return problems


# --- the checker on tiny packages written here ------------------------------------------------------------------
def write_package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    write_package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg.b import f\n",
                             "pkg/b.py": "def f():\n    from pkg import a\n    return a\n"})
    assert check_tree(tmp_path, ["pkg"]) == ["module cycle: pkg.a <-> pkg.b", "room cycle in pkg/: a.py <-> b.py"]


def test_checker_finds_a_cycle_between_subpackages_without_a_module_cycle(tmp_path):
    # low/x -> high/y and high/z -> low/w: no module imports itself back, but the two rooms import each other
    write_package(tmp_path, {"pkg/__init__.py": "", "pkg/low/__init__.py": "", "pkg/high/__init__.py": "",
                             "pkg/low/x.py": "import pkg.high.y\n", "pkg/low/w.py": "",
                             "pkg/high/y.py": "", "pkg/high/z.py": "from ..low import w\n"})
    assert check_tree(tmp_path, ["pkg"]) == ["room cycle in pkg/: high <-> low"]


def test_checker_finds_a_cycle_between_root_packages(tmp_path):
    write_package(tmp_path, {"one/__init__.py": "", "one/a.py": "import two.b\n",
                             "two/__init__.py": "", "two/b.py": "", "two/c.py": "from one import a\n"})
    assert check_tree(tmp_path, ["one", "two"]) == ["package cycle: one <-> two"]


def test_checker_passes_a_layered_package_and_resolves_relative_imports(tmp_path):
    write_package(tmp_path, {"pkg/__init__.py": "from .top import run\n", "pkg/top.py": "from .mid import m\n",
                             "pkg/mid/__init__.py": "", "pkg/mid/m.py": "from ..base import b\nimport os\n",
                             "pkg/base.py": "import json\n"})
    modules = module_files(tmp_path, ["pkg"])
    # ``from .mid import m`` runs pkg/mid/__init__.py and imports pkg.mid.m: both are edges
    assert import_edges(modules) == {"pkg": {"pkg.top"}, "pkg.top": {"pkg.mid", "pkg.mid.m"}, "pkg.mid": set(),
                                     "pkg.mid.m": {"pkg.base"}, "pkg.base": set()}
    assert check_tree(tmp_path, ["pkg"]) == []


# --- the project ------------------------------------------------------------------------------------------------------
def test_no_import_cycle_in_gigpo_or_envs():
    problems = check_tree(ROOT, PACKAGES)
    assert not problems, "import cycles:\n" + "\n".join(problems)


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(lint).exists():
        pytest.fail("lint-imports is missing: pip install -e '.[dev]' (import-linter)")
    out = subprocess.run([lint, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)})
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
