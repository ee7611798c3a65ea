"""Run ``gigpo.training.trainer.train`` in a child process, so a notebook's kernel stays free to draw live curves.

Why a process and not a thread: training in a background thread of an ipykernel 7 kernel, while the main thread
updates widgets, intermittently loses the kernel's output messages and hangs papermill/nbmake for good. A child
process shares nothing with the kernel but the run directory: it writes ``metrics.jsonl`` there, the notebook reads
it back (:class:`gigpo.notebook.widgets.LiveCurves`).

    python -m gigpo.training.train_process request.json [--import my_envs]

``request.json`` holds a ``TrainConfig`` as a dict. ``--import`` names modules to import first, e.g. one that calls
``envs.register`` for your own environment (an environment registered only inside the notebook does not exist in
the child).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gigpo.training.config import TrainConfig

REQUEST_FILE = "train_request.json"  # not config.json: the trainer rewrites that one itself
LOG_FILE = "train.log"


def training_command(config: TrainConfig, *, setup_modules: Sequence[str] = ()) -> list[str]:
    """Write the config to ``<output_dir>/train_request.json``; return the command that trains it (overwriting a
    previous run in the same directory)."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    request = out / REQUEST_FILE
    request.write_text(config.to_json())
    command = [sys.executable, "-m", "gigpo.training.train_process", str(request.resolve())]
    for module in setup_modules:
        command += ["--import", module]
    return command


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gigpo.training.train_process", description=__doc__.splitlines()[0])
    parser.add_argument("request", help="JSON file with the TrainConfig fields")
    parser.add_argument("--import", dest="modules", action="append", default=[],
                        help="module to import before training (e.g. one that registers an environment)")
    args = parser.parse_args(argv)
    import importlib

    for module in args.modules:
        importlib.import_module(module)
    from gigpo.training.trainer import train

    train(TrainConfig.from_dict(json.loads(Path(args.request).read_text())), overwrite=True)


if __name__ == "__main__":
    main()
