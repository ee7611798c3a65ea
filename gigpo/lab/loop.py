"""The credit lab's training loop: on-policy policy gradient of the tabular policy with any registered estimator.

One iteration (paper Alg. 1 with a table instead of an LLM): draw G pool tasks, play N rollouts of each through
``envs.GroupRunner``, compute the estimator's advantage per step row (``registry``: every registered estimator and
its options work), log the credit diagnostics, take one policy-gradient step. :func:`run_lab` runs every
(estimator, seed) pair of a :class:`LabConfig`, calibrates the expert prior once (the same prior for every run),
optionally tunes each estimator's lr on a separate seed, and writes ``lab.jsonl`` and ``summary.json`` (and shows
them in the trackers of ``report_to``), and with ``save_rollouts`` each iteration's batch as a rollout table.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gigpo.lab.config import LabConfig
from gigpo.lab.diagnostics import advantage_parts, iteration_diagnostics
from gigpo.lab.dynamic_sampling import sample_lab_batch
from gigpo.lab.policy import TabularPolicy
from gigpo.lab.prior import calibrate_beta, require_expert
from gigpo.lab.rollout import ACTIONS, Uniforms, draw_tasks, make_runner, play
from gigpo.lab.saved_rollouts import lab_rollouts_path, save_lab_rollouts
from gigpo.lab.summary import summarize


@dataclass
class LabResult:
    """What :func:`run_lab` produced: the lab.jsonl rows, the summary.json body, where they were written."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    output_dir: Path | None


def resolve_prior(cfg: LabConfig) -> dict[str, Any]:
    """The prior every run starts from: ``{"beta", "target", "calibrated_success"}`` (beta 0: from scratch)."""
    pool = list(range(cfg.task_pool))
    if cfg.prior_success is not None:
        beta, measured = calibrate_beta(cfg.env, cfg.resolved_env_options(), pool, cfg.prior_success,
                                        rollouts_per_task=cfg.calibration_rollouts, max_steps=cfg.max_steps)
        return {"beta": beta, "target": cfg.prior_success, "calibrated_success": measured}
    if cfg.prior_beta is not None:
        require_expert(cfg.env, cfg.resolved_env_options(), pool)
        return {"beta": float(cfg.prior_beta), "target": None, "calibrated_success": None}
    return {"beta": 0.0, "target": None, "calibrated_success": None}


def train_run(cfg: LabConfig, estimator: str, seed: int, lr: float, beta: float,
              iterations: int | None = None, *, save_rollouts: bool = False) -> list[dict[str, Any]]:
    """One training run; returns one lab.jsonl row per iteration (a pure function of its arguments).
    ``save_rollouts``: also write each iteration's update batch under ``cfg.output_dir`` (saved_rollouts.py)."""
    runner = make_runner(cfg.env, cfg.group_size, cfg.resolved_env_options(), cfg.max_steps)
    policy = TabularPolicy(beta)
    options = cfg.estimator_kwargs(estimator)
    rows = []
    G, N = cfg.num_groups, cfg.group_size

    def parts(batch):  # similarity grouping compares texts, so it gets the observations; exact: the state ids
        return advantage_parts(estimator, batch, options,
                               anchors=batch.observations if cfg.similarity is not None else None)

    for it in range(cfg.iterations if iterations is None else iterations):
        def generate(b: int, it: int = it):  # generation batch b (b > 0 only under filter_groups)
            tasks = draw_tasks(seed, it, G, cfg.task_pool, gen_batch=b)
            return play(runner, policy, tasks, Uniforms(seed, ACTIONS, it, G, N, group_offset=b * G))

        s = sample_lab_batch(cfg.filter_groups, cfg.max_gen_batches, G, N, generate, parts)
        batch, first = s.batch, s.first
        # episode figures of the first generation batch (what an unfiltered run plays); credit figures of the update
        row = {"estimator": estimator, "seed": seed, "iteration": it,
               "success_rate": float(first.success.mean()), "mean_length": float(first.lengths.mean()),
               "mean_return": float(first.rewards.sum() / len(first.lengths)), "rows": batch.num_rows,
               **iteration_diagnostics(batch, s.advantage, s.episode_adv, s.step_adv), **s.metrics,
               "states": policy.num_states, "lr": lr}
        if save_rollouts:
            save_lab_rollouts(batch, policy, lab_rollouts_path(cfg.output_dir, estimator, seed, it),
                              text_anchors=cfg.similarity is not None)
        policy.update(batch.state_ids, batch.action_ids, s.advantage.double().numpy(), lr)
        rows.append(row)
    return rows


def tune_lr(cfg: LabConfig, estimator: str, beta: float) -> tuple[float, dict[str, float]]:
    """The grid lr with the highest mean success over a run on ``cfg.tune_seed`` (the area under the learning
    curve, which rewards both speed and the level reached); ties go to the smaller lr. Returns (lr, scores)."""
    scores = {}
    for lr in sorted(cfg.lr_grid):
        rows = train_run(cfg, estimator, cfg.tune_seed, float(lr), beta)
        scores[f"{lr:g}"] = float(np.mean([r["success_rate"] for r in rows]))
    best = max(sorted(cfg.lr_grid), key=lambda lr: (scores[f"{lr:g}"], -lr))
    return float(best), scores


def run_lab(cfg: LabConfig, *, log: Callable[[str], None] | None = None) -> LabResult:
    """Every (estimator, seed) run of ``cfg``; writes lab.jsonl, summary.json and config.json to ``output_dir``."""
    cfg.validate()
    log = log or (print if cfg.progress else (lambda _: None))
    start = time.perf_counter()
    prior = resolve_prior(cfg)
    if prior["target"] is not None:
        log(f"prior: beta {prior['beta']:.3f} gives initial success {prior['calibrated_success']:.3f}")
    lrs: dict[str, float] = {}
    tuning: dict[str, dict[str, float]] = {}
    for est in cfg.estimators:
        if cfg.lr == "auto":
            lrs[est], tuning[est] = tune_lr(cfg, est, prior["beta"])
            log(f"{est}: lr {lrs[est]:g} (mean success per grid lr on seed {cfg.tune_seed}: {tuning[est]})")
        else:
            lrs[est] = float(cfg.lr)
    rows: list[dict[str, Any]] = []
    for est in cfg.estimators:
        for seed in cfg.seeds:
            run = train_run(cfg, est, seed, lrs[est], prior["beta"], save_rollouts=cfg.save_rollouts)
            rows += run
            log(f"{est} seed {seed}: final success {run[-1]['success_rate']:.3f}, "
                f"length {run[-1]['mean_length']:.1f}")
    summary = summarize(rows, cfg.estimators, cfg.seeds, cfg.thresholds, cfg.window, cfg.iterations)
    summary.update(prior=prior, lr=lrs, lr_tuning=tuning or None, config=cfg.to_dict(),
                   elapsed_s=round(time.perf_counter() - start, 2))
    out = None
    if cfg.output_dir is not None:
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "lab.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(_finite(r), sort_keys=True) + "\n")
        (out / "summary.json").write_text(json.dumps(_finite(summary), indent=1, sort_keys=True) + "\n")
        (out / "config.json").write_text(cfg.to_json() + "\n")
        report(cfg, rows, out)
    return LabResult(rows, summary, out)


def report(cfg: LabConfig, rows: list[dict[str, Any]], out: Path) -> None:
    """Show the lab in ``cfg.report_to``'s trackers: one run, every number of ``lab.jsonl`` at its iteration."""
    from gigpo.lab.curves import lab_curves_png
    from gigpo.tracking import open_tracking
    from gigpo.tracking.rows import lab_step_metrics

    tracking = open_tracking(cfg.report_to, out, project=cfg.project, run_name=cfg.run_name, config=cfg.to_dict())
    if tracking:
        for step, metrics in lab_step_metrics(rows):
            tracking.log(metrics, step)
        tracking.finish([lab_curves_png(rows, out)])


def read_lab(output_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(rows, summary)`` of a finished lab run directory."""
    out = Path(output_dir)
    rows = [json.loads(line) for line in (out / "lab.jsonl").read_text().splitlines() if line.strip()]
    return rows, json.loads((out / "summary.json").read_text())


def _finite(value: Any) -> Any:
    """NaN/inf -> None, so the files are strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
