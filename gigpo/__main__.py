"""Command line: ``python -m gigpo <subcommand> ...`` (also installed as ``gigpo``).

``train`` takes every ``TrainConfig`` field as a ``--flag`` (underscores or dashes), e.g.::

    python -m gigpo train --env sokoban --estimator gigpo --iterations 20 --output-dir runs/sokoban
    python -m gigpo train --preset paper --env household          # the authors' settings (GPU)
    python -m gigpo train --preset dynamic --env household        # their dynamic recipe (GPU)
    python -m gigpo train --preset skill                          # fresh tasks, 64 held-out ones (CPU)
    python -m gigpo train --output-dir runs/sokoban --resume      # continue where it stopped

Other subcommands register in :data:`SUBCOMMANDS` as ``name -> (add_arguments, run)``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from gigpo.training.config import TrainConfig


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=("default", "paper", "dynamic", "skill"), default="default",
                        help="start from the CPU defaults, the authors' settings (TrainConfig.paper(env)), their "
                             "dynamic recipe (TrainConfig.dynamic(env): paper + dynamic sampling + clip-higher) or "
                             "the CPU skill recipe (TrainConfig.skill(): fresh tasks, 64 held-out ones)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output-dir from its checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="delete the run in --output-dir and start over")
    TrainConfig.add_arguments(parser)


def config_from_args(ns: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the flags describe: the preset, then every flag given on the command line."""
    given = {k: v for k, v in vars(ns).items() if k in TrainConfig.field_names()}
    if ns.preset in ("paper", "dynamic", "skill"):
        return getattr(TrainConfig, ns.preset)(given.pop("env", "household"), **given)
    return TrainConfig.from_dict(given)


def run_train(ns: argparse.Namespace) -> int:
    """Train a policy with GiGPO, GRPO or RLOO (every TrainConfig field is a flag)."""
    from gigpo.training.trainer import train

    cfg = config_from_args(ns)
    history = train(cfg, resume=ns.resume, overwrite=ns.overwrite)
    import os

    if history and os.environ.get("RANK", "0") == "0":  # under torchrun / accelerate launch: rank 0 reports
        last = history[-1]
        print(f"done: {len(history)} iterations in {cfg.output_dir}; last success rate "
              f"{last['success_rate']:.3f}, mean return {last['mean_return']:.3f}")
    return 0


def add_run_notebook_arguments(parser: argparse.ArgumentParser) -> None:
    from gigpo.notebook.runner import build_parser as add_arguments

    add_arguments(parser)


def run_notebook(ns: argparse.Namespace) -> int:
    """Run a notebook with papermill parameters; outputs go to runs/<name>/."""
    from gigpo.notebook.runner import parse_value
    from gigpo.notebook.runner import run_notebook as execute

    params = {key: parse_value(value) for key, value in ns.parameter}
    run_dir = execute(ns.notebook, params, ns.name, ns.runs_dir, kernel_name=ns.kernel, overwrite=ns.overwrite,
                      log_output=ns.log_output)
    print(f"executed {ns.notebook} -> {run_dir}")
    return 0


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    from gigpo.training.demo import add_demo_arguments as add_arguments

    add_arguments(parser)


def run_demo(ns: argparse.Namespace) -> int:
    """CPU demo: anchor groups of one task, a tiny-model GiGPO run, learning curves."""
    from gigpo.notebook.demo import run_demo as demo

    return demo(ns)


def add_lab_arguments(parser: argparse.ArgumentParser) -> None:
    from gigpo.lab.cli import add_lab_arguments as add_arguments

    add_arguments(parser)


def run_lab(ns: argparse.Namespace) -> int:
    """Credit lab: a tabular policy trained with each estimator on paired seeds; lab.jsonl and summary.json."""
    from gigpo.lab.cli import run_lab_command

    return run_lab_command(ns)


def add_convert_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    from gigpo.training.checkpoints.checkpoint_convert import add_arguments

    add_arguments(parser)


def run_convert_checkpoint(ns: argparse.Namespace) -> int:
    """Convert checkpoints of earlier versions (pickled optimizer.pt / rng.pt) to safetensors + JSON, once."""
    from gigpo.training.checkpoints.checkpoint_convert import run

    return run(ns)


def add_inspect_arguments(parser: argparse.ArgumentParser) -> None:
    from gigpo.inspect.options import add_arguments

    add_arguments(parser)


def run_inspect(ns: argparse.Namespace) -> int:
    """Inspect a rollout table: advantages.csv and a self-contained index.html (slider, state graph, heatmaps)."""
    from gigpo.inspect.cli import run

    return run(ns)


SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "train": (add_train_arguments, run_train),
    "run-notebook": (add_run_notebook_arguments, run_notebook),
    "demo": (add_demo_arguments, run_demo),
    "lab": (add_lab_arguments, run_lab),
    "convert-checkpoint": (add_convert_checkpoint_arguments, run_convert_checkpoint),
    "inspect": (add_inspect_arguments, run_inspect),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gigpo", description="GiGPO: training and notebooks for LLM agents")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_arguments, _) in SUBCOMMANDS.items():
        doc = (SUBCOMMANDS[name][1].__doc__ or "").strip().splitlines()
        add_arguments(sub.add_parser(name, help=doc[0] if doc else None))
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return SUBCOMMANDS[ns.command][1](ns)
    except ValueError as exc:  # bad settings: a clear message, not a traceback
        print(f"gigpo {ns.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
