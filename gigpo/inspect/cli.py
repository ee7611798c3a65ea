"""``python -m gigpo inspect ROLLOUTS --out DIR``: ``DIR/advantages.csv`` and ``DIR/index.html`` from a rollout
table (docs/inspect.md)::

    python -m gigpo inspect runs/demo/rollouts/iter_0000.jsonl --out runs/demo/inspect
    python -m gigpo inspect batch.parquet --out inspect --estimators gigpo grpo --gamma 0.9 \\
        --estimator-options '{"hgpo": {"history_length": 3}}'
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gigpo.inspect.advantages import DEFAULT_ESTIMATORS, inspect_table, write_advantages_csv
from gigpo.inspect.page import write_page
from gigpo.run_files.rollout_table import read_rollout_table

PROGRESS_BYTES = 2_000_000  # tables from this size (about 6k rows of short text) show a progress bar


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
