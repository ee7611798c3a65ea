"""The core install (``pip install gigpo``, no extras) holds no plotting or widget package: the estimators, the envs,
the trainer and the CLI import without plotly, matplotlib and ipywidgets, and the plotting entry points say which
extra to install."""
import json

from tests.support.blocked_imports import NOTEBOOK_EXTRA, run_without

CORE_MODULES = ["gigpo", "gigpo.estimators", "gigpo.training.trainer", "gigpo.__main__", "envs"]
PLOTTING_MODULES = ["gigpo.notebook.plots", "gigpo.notebook.plots.static", "gigpo.notebook.widgets"]


def test_the_blocker_really_blocks():
    proc = run_without(NOTEBOOK_EXTRA, "import plotly")
    assert proc.returncode != 0 and "No module named 'plotly' (blocked)" in proc.stderr


def test_core_modules_import_without_the_notebook_extra():
    # one interpreter for all (each start imports torch): a module that needs the extra is named with its error
    code = f"""import importlib, json, sys, traceback
report = {{}}
for module in {CORE_MODULES!r}:
    try:
        importlib.import_module(module)
        report[module] = sorted(m for m in sys.modules if m.split(".")[0] in {NOTEBOOK_EXTRA!r})
    except Exception:
        report[module] = traceback.format_exc(limit=-3)
print(json.dumps(report))"""
    proc = run_without(NOTEBOOK_EXTRA, code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {module: [] for module in CORE_MODULES}


def test_plotting_entry_points_name_the_extra():
    code = f"""import importlib, json
messages = {{}}
for module in {PLOTTING_MODULES!r}:
    try:
        importlib.import_module(module)
        messages[module] = "imported"
    except ImportError as exc:
        messages[module] = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps(messages))"""
    proc = run_without(NOTEBOOK_EXTRA, code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    messages = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(messages) == set(PLOTTING_MODULES)
    for module, message in messages.items():
        assert message.startswith("ImportError: ") and 'pip install "gigpo[notebook]"' in message, (module, message)


def test_the_cli_trains_one_iteration_without_the_notebook_extra(tmp_path):
    """``python -m gigpo train`` for one tiny iteration on a built-in env, as a core install runs it."""
    out = tmp_path / "run"
    argv = ["gigpo", "train", "--env", "household", "--iterations", "1", "--num-groups", "1", "--group-size", "2",
            "--max-steps", "3", "--eval-every", "0", "--checkpoint-every", "0", "--warm-start-steps", "0",
            "--no-progress", "--output-dir", str(out)]
    code = (f"import runpy, sys\nsys.argv = {argv!r}\ntry:\n    runpy.run_module('gigpo', run_name='__main__')\n"
            f"except SystemExit as done:\n    assert done.code in (0, None), done.code\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {NOTEBOOK_EXTRA!r}))")
    proc = run_without(NOTEBOOK_EXTRA, code, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0] and 0.0 <= rows[0]["success_rate"] <= 1.0
    config = json.loads((out / "config.json").read_text())
    assert (config["env"], config["iterations"], config["group_size"]) == ("household", 1, 2)
