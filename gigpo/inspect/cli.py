"""``python -m gigpo inspect ROLLOUTS --out DIR``: ``DIR/advantages.csv`` and ``DIR/index.html`` from a rollout
table (docs/inspect.md)::

    python -m gigpo inspect runs/demo/rollouts/iter_0000.jsonl --out runs/demo/inspect
    python -m gigpo inspect batch.parquet --out inspect --estimators gigpo grpo --gamma 0.9 \\
        --estimator-options '{"hgpo": {"history_length": 3}}'
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gigpo.inspect.advantages import DEFAULT_ESTIMATORS, inspect_table, write_advantages_csv
from gigpo.inspect.page import write_page
from gigpo.run_files.rollout_table import read_rollout_table

PROGRESS_BYTES = 2_000_000  # tables from this size (about 6k rows of short text) show a progress bar


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


def inspect_rollouts(rollouts: str | Path, out: str | Path, estimators=DEFAULT_ESTIMATORS, *,
                     shared: dict[str, Any] | None = None, per_estimator: dict[str, dict] | None = None,
                     group: int | None = None, max_trajectories: int = 16, max_steps: int = 40,
                     progress: bool | None = None) -> tuple[Path, Path]:
    """Read and validate the table, compute the advantages, write ``advantages.csv`` and ``index.html``.

    ``progress`` None: a bar on stderr (one stage per estimator) for table files of ``PROGRESS_BYTES`` or more.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    rollouts = Path(rollouts)
    large = rollouts.is_file() and rollouts.stat().st_size >= PROGRESS_BYTES
    with tqdm(total=len(estimators) + 3, desc="gigpo inspect", unit="stage", file=sys.stderr,
              disable=not (large if progress is None else progress)) as bar:
        bar.set_postfix_str("reading")
        table = read_rollout_table(rollouts)
        bar.update(1)
        batch = inspect_table(table, list(estimators), shared=shared, per_estimator=per_estimator, progress=bar)
        out.mkdir(parents=True, exist_ok=True)
        bar.set_postfix_str("advantages.csv")
        csv_path = write_advantages_csv(batch, out / "advantages.csv")
        bar.update(1)
        bar.set_postfix_str("index.html")
        page = write_page(batch, out / "index.html", source=str(rollouts), group=group,
                          max_trajectories=max_trajectories, max_steps=max_steps)
        bar.update(1)
    return csv_path, page


def run(ns: argparse.Namespace) -> int:
    """Inspect a rollout table: advantages.csv and a self-contained index.html (slider, state graph, heatmaps)."""
    shared = dict(gamma=ns.gamma, step_weight=ns.step_weight, norm=ns.norm, similarity=ns.similarity,
                  episode_stats=ns.episode_stats)
    csv_path, page = inspect_rollouts(ns.rollouts, ns.out, ns.estimators, shared=shared,
                                      per_estimator=ns.estimator_options, group=ns.group,
                                      max_trajectories=ns.max_trajectories, max_steps=ns.max_steps)
    print(f"wrote {csv_path} and {page} ({page.stat().st_size / 1e6:.1f} MB)")
    return 0
