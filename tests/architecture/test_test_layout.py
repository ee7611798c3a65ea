"""The tests mirror the package: every test module sits in a subfolder that is a package with an empty
``__init__.py``, and no test module imports another test module (shared code lives in ``tests.support``)."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_modules(root: Path = TESTS) -> list[Path]:
    return sorted(root.rglob("test_*.py"))


test_modules.__test__ = False  # a helper, not a test


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_test_module_at_the_top_and_every_folder_is_a_package():
    assert not list(TESTS.glob("test_*.py")), "test modules go in the subfolder of the room they test"
    for module in test_modules():
        for folder in module.relative_to(TESTS).parents:
            init = TESTS / folder / "__init__.py"
            assert init.exists(), f"{folder or 'tests'} has no __init__.py"
            if folder != Path("."):
                assert init.read_text() == "", f"{init} is not empty"


def test_no_test_module_imports_another():
    offenders = {}
    for module in test_modules():
        found = [n for n in imported_modules(module) if n.split(".")[-1].startswith("test_")
                 or (n.startswith("tests.") and not n.startswith("tests.support"))]
        if found:
            offenders[str(module.relative_to(TESTS))] = sorted(found)
    assert offenders == {}


def test_the_import_check_sees_an_import_of_a_test_module(tmp_path):
    (tmp_path / "test_a.py").write_text("from tests.training.test_trainer import TINY\nimport test_b\n")
    assert {"tests.training.test_trainer", "test_b"} <= imported_modules(tmp_path / "test_a.py")
