"""The core install (``pip install gigpo``, no extras) holds no plotting or widget package: the estimators, the envs,
the trainer and the CLI import without plotly, matplotlib and ipywidgets, and the plotting entry points say which
extra to install."""
import pytest

from tests.support.blocked_imports import NOTEBOOK_EXTRA, run_without

CORE_MODULES = ["gigpo", "gigpo.estimators", "gigpo.training.trainer", "gigpo.__main__", "envs"]


def test_the_blocker_really_blocks():
    proc = run_without(NOTEBOOK_EXTRA, "import plotly")
    assert proc.returncode != 0 and "No module named 'plotly' (blocked)" in proc.stderr


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_the_notebook_extra(module):
    code = (f"import importlib, sys\nimportlib.import_module({module!r})\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {NOTEBOOK_EXTRA!r}))")
    proc = run_without(NOTEBOOK_EXTRA, code)
    assert proc.returncode == 0, f"{module} needs the notebook extra:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["gigpo.notebook.plots", "gigpo.notebook.plots.static", "gigpo.notebook.widgets"])
def test_plotting_entry_points_name_the_extra(module):
    proc = run_without(NOTEBOOK_EXTRA, f"import {module}")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and 'pip install "gigpo[notebook]"' in last, proc.stderr[-3000:]
