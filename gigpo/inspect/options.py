"""The options of ``python -m gigpo inspect``, apart from the page code so that building the command line needs no
plotting package (the page needs the ``notebook`` extra)."""
from __future__ import annotations

import argparse
import json

from gigpo.inspect.advantages import DEFAULT_ESTIMATORS


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise argparse.ArgumentTypeError('expected {"estimator": {"option": value}}')
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rollouts", help="rollout table, .jsonl or .parquet (docs/inspect.md)")
    parser.add_argument("--out", required=True, help="folder for index.html and advantages.csv")
    parser.add_argument("--estimators", nargs="+", default=list(DEFAULT_ESTIMATORS),
                        help="registered estimators, one advantages.csv column each (default: %(default)s)")
    parser.add_argument("--gamma", type=float, help="discount, for every estimator that takes it (else its default)")
    parser.add_argument("--step-weight", type=float, help="weight of A_S, for estimators that take it")
    parser.add_argument("--norm", choices=("std", "none"), help="group normalisation, for estimators that take it")
    parser.add_argument("--similarity", type=float, help="GiGPO's fuzzy anchor threshold in (0, 1] (text anchors)")
    parser.add_argument("--episode-stats", choices=("trajectory", "step"),
                        help="episode-level statistics, for estimators that take it")
    parser.add_argument("--estimator-options", type=_json_object, default={},
                        help='per-estimator options as JSON, e.g. \'{"hgpo": {"history_length": 3}}\'')
    parser.add_argument("--group", type=int, help="task group drawn (0-based, in order of first appearance); "
                                                  "default: the one with the most grouped rows")
    parser.add_argument("--max-trajectories", type=int, default=16, help="rollouts drawn (default %(default)s)")
    parser.add_argument("--max-steps", type=int, default=40, help="steps drawn (default %(default)s)")
