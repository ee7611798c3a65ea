"""``python -m gigpo lab``: every ``LabConfig`` field as a ``--flag`` (dashes or underscores), e.g.::

    python -m gigpo lab --env household --env-options '{"num_receptacles": 6, "num_objects": 4}' --task-pool 16 \\
        --num-groups 8 --group-size 8 --prior-success 0.25 --estimators gigpo grpo --seeds 0 1 2 \\
        --iterations 100 --lr 0.3 --output-dir runs/lab
"""
from __future__ import annotations

import argparse

from gigpo.lab.config import LabConfig


def _lr(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"lr must be a number or 'auto', got {text!r}") from None


def add_lab_arguments(parser: argparse.ArgumentParser) -> None:
    LabConfig.add_arguments(parser, special={"lr": dict(type=_lr, metavar="LR|auto")})


def config_from_args(ns: argparse.Namespace) -> LabConfig:
    return LabConfig.from_dict({k: v for k, v in vars(ns).items() if k in LabConfig.field_names()})


def run_lab_command(ns: argparse.Namespace) -> int:
    """Credit lab: a tabular policy trained with each estimator on paired seeds; lab.jsonl and summary.json."""
    from gigpo.lab.loop import run_lab
    from gigpo.lab.summary import comparison_table

    cfg = config_from_args(ns)
    result = run_lab(cfg)
    prior = result.summary["prior"]
    if prior["target"] is not None:
        print(f"prior: beta {prior['beta']:.3f}, initial success {prior['calibrated_success']:.3f}")
    print(f"lr: {result.summary['lr']}")
    for row in comparison_table(result.summary):
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    if result.output_dir is not None:
        print(f"wrote {result.output_dir / 'lab.jsonl'} and {result.output_dir / 'summary.json'}")
    return 0
