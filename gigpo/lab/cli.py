"""``python -m gigpo lab``: every ``LabConfig`` field as a ``--flag`` (dashes or underscores), e.g.::

    python -m gigpo lab --env household --env-options '{"num_receptacles": 6, "num_objects": 4}' --task-pool 16 \\
        --num-groups 8 --group-size 8 --prior-success 0.25 --estimators gigpo grpo --seeds 0 1 2 \\
        --iterations 100 --lr 0.3 --output-dir runs/lab
"""
from __future__ import annotations

import argparse
import json
import types
import typing
from typing import Any

from gigpo.lab.config import LabConfig


def _optional(kind):
    return lambda text: None if text.lower() in ("none", "null") else kind(text)


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {text!r} ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _lr(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"lr must be a number or 'auto', got {text!r}") from None


def add_lab_arguments(parser: argparse.ArgumentParser) -> None:
    hints = typing.get_type_hints(LabConfig)
    docs = LabConfig.field_docs()
    for name in LabConfig.field_names():
        hint = hints[name]
        flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
        kw: dict[str, Any] = dict(dest=name, default=argparse.SUPPRESS, help=docs.get(name, ""))
        args = typing.get_args(hint)
        origin = typing.get_origin(hint)
        if name == "lr":
            kw.update(type=_lr, metavar="LR|auto")
        elif hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif hint in (int, float, str):
            kw["type"] = hint
        elif origin in (typing.Union, types.UnionType) and type(None) in args:
            inner = next(a for a in args if a is not type(None))
            if typing.get_origin(inner) is dict:
                kw.update(type=_optional(_json_dict), metavar="JSON|none")
            else:
                kw.update(type=_optional(inner), metavar="VALUE|none")
        elif origin is dict:
            kw.update(type=_json_dict, metavar="JSON")
        elif origin is list:
            kw.update(nargs="+", type=args[0])
        else:  # pragma: no cover - a new field type needs a parser here
            raise TypeError(f"no command-line parser for LabConfig.{name}: {hint}")
        parser.add_argument(*flags, **kw)


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
