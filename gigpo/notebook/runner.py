"""Run a notebook with parameters and keep everything it made together: ``runs/<name>/``.

    python -m gigpo run-notebook notebooks/03_training.ipynb -p env sokoban -p iterations 20 --name sokoban-gigpo

wraps papermill: the executed notebook, ``parameters.json``, and whatever the notebook writes to its
``output_dir`` parameter (metrics, figures) all land in ``runs/<name>/``. A notebook that declares ``output_dir``
gets the run directory there unless you pass one. Values after ``-p KEY`` are read as YAML with YAML 1.2's plain
scalars (:func:`parse_value`), so ``-p iterations 20`` is an int, ``-p lr 1e-5`` a float, ``-p similarity null`` is
None and ``-p seeds "[0, 1, 2]"`` a list; anything else stays a string.
The kernel runs in the notebook's own folder, as under nbmake, so relative paths mean the same in both.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import yaml

OUTPUT_DIR_PARAMETER = "output_dir"


class _ValueLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema plain scalars in place of YAML 1.1's.

    Why: YAML 1.1 wants a dot and a signed exponent in a float, so ``1e-5``, ``5e-3`` and ``-2e3`` stay strings
    (and the trainer says ``lr must be > 0, got '1e-5'``), while it turns words and digits into things nobody typed:
    ``yes``/``no``/``on``/``off`` into booleans, ``1:30`` into 90, ``010`` into 8, ``1_000`` into 1000, ``0x1f`` into
    31 and ``2026-12-02`` into a date. Here a plain scalar is null, a bool, a decimal int or a decimal float
    (exponent optional) exactly when it looks like one; anything else is a string. Quoted scalars stay strings.
    """


_ValueLoader.yaml_implicit_resolvers = {}  # drop YAML 1.1's resolvers (the base class keeps its own dict)
for _tag, _pattern, _first in (
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
        ("int", r"^[-+]?[0-9]+$", list("-+0123456789")),
        ("float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", list("-+.0123456789"))):
    _ValueLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), _first)
# Decimal, whatever the leading zeros (YAML 1.1's constructor reads "010" as octal); ints are tried before floats.
_ValueLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node)))


def declared_parameters(path: str | Path) -> dict[str, Any]:
    """The names (and papermill's description) of the notebook's ``parameters`` cell."""
    import papermill

    return dict(papermill.inspect_notebook(str(path)))


def default_run_name(path: str | Path) -> str:
    return f"{Path(path).stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_notebook(path: str | Path, params: dict[str, Any] | None = None, name: str | None = None,
                 runs_dir: str | Path = "runs", *, kernel_name: str | None = None, overwrite: bool = False,
                 log_output: bool = False) -> Path:
    """Execute the notebook ``path`` with ``params`` into ``runs_dir/name/``; returns that directory.

    Unknown parameter names raise ``ValueError`` (papermill would only warn and run with the defaults). An existing,
    non-empty run directory raises unless ``overwrite``.
    """
    import papermill

    path = Path(path)
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"not a notebook file: {str(path)!r}")
    params = dict(params or {})
    declared = declared_parameters(path)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ValueError(f"{path.name} has no parameter(s) {unknown}; its parameters are: {', '.join(declared)}")
    run_dir = (Path(runs_dir) / (name or default_run_name(path))).resolve()
    if run_dir.exists() and any(run_dir.iterdir()) and not overwrite:
        raise ValueError(f"run directory {str(run_dir)!r} is not empty; choose another name or pass overwrite")
    run_dir.mkdir(parents=True, exist_ok=True)
    if OUTPUT_DIR_PARAMETER in declared and OUTPUT_DIR_PARAMETER not in params:
        params[OUTPUT_DIR_PARAMETER] = str(run_dir)
    (run_dir / "parameters.json").write_text(json.dumps({"notebook": str(path.resolve()), "parameters": params},
                                                        indent=2, default=str))
    papermill.execute_notebook(str(path), str(run_dir / path.name), parameters=params, cwd=str(path.parent.resolve()),
                               kernel_name=kernel_name, log_output=log_output, progress_bar=log_output)
    return run_dir


def parse_value(text: str) -> Any:
    """A ``-p`` value: numbers as written (``3``, ``0.5``, ``1e-5``, ``-2e3``), ``true``/``false``, ``null``, YAML
    lists and mappings (``[0, 1]``, ``{eval_every: 0}``); anything else, or text that is not YAML, is the string."""
    try:
        return yaml.load(text, Loader=_ValueLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError:
        return text


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m gigpo run-notebook",
                                               description="Run a notebook with papermill into runs/<name>/.")
    parser.add_argument("notebook", help="path of the .ipynb to run")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="set a parameter (value read as YAML); repeat for several")
    parser.add_argument("--name", help="run name (default: <notebook>-<timestamp>)")
    parser.add_argument("--runs-dir", default="runs", help="parent folder of the run directories (default: runs)")
    parser.add_argument("--kernel", default=None, help="kernel name (default: the notebook's, python3)")
    parser.add_argument("--overwrite", action="store_true", help="reuse a non-empty run directory")
    parser.add_argument("--log-output", action="store_true", help="stream the notebook's output here while it runs")
    return parser


def main(argv: list[str] | None = None) -> Path:
    args = build_parser().parse_args(argv)
    params = {key: parse_value(value) for key, value in args.parameter}
    run_dir = run_notebook(args.notebook, params, args.name, args.runs_dir, kernel_name=args.kernel,
                           overwrite=args.overwrite, log_output=args.log_output)
    print(f"executed {args.notebook} -> {run_dir}")
    return run_dir


if __name__ == "__main__":
    main()
