"""An iteration's rollout metrics and the held-out evaluation, computed over the rows of every rank.

A data-parallel run (``distributed.py``) logs what a one-process run logs: the per-row columns the metrics need
(groups, trajectories, rewards, anchors, validity, advantages) are gathered from all ranks, with group and trajectory
ids made global, and the same functions then run on the whole batch. With one process nothing is gathered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

import torch

from envs import GroupRunner
from gigpo.estimators.gigpo import advantage_details
from gigpo.policy.step_batch import StepBatch
from gigpo.training.config import TrainConfig
from gigpo.training.rollouts.rollout import collect_rollouts
from gigpo.training.systems.distributed import Distributed, shard_groups
from gigpo.training.systems.seeds import SamplingStreams


@dataclass
class Rows:
    """The columns of a step batch that the metrics read (all ranks' rows once gathered)."""

    group_ids: list[int]
    traj_ids: list[int]
    rewards: list[float]
    anchors: list[Hashable]
    valid: list[bool]


def advantage_metrics(cfg: TrainConfig, batch) -> dict[str, float]:
    """|A_E|, |A_S| and the step-group statistics of the batch (computed for every estimator, to compare)."""
    d = advantage_details(batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors, gamma=cfg.gamma,
                          step_weight=cfg.step_weight, norm=cfg.norm, similarity=cfg.similarity,
                          episode_stats=cfg.episode_stats)
    return {"adv_episode_abs": float(d.episode_adv.abs().mean()), "adv_step_abs": float(d.step_adv.abs().mean()),
            **d.step_group_stats()}


def merge_episode_stats(parts: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    """Combine per-rank episode means (``GroupRunner.episode_stats``), each weighted by its rollout count."""
    if len(parts) == 1:
        return dict(parts[0][0])
    total = sum(n for _, n in parts)
    return {k: sum(stats[k] * n for stats, n in parts) / total for k in parts[0][0]}


def gather_rows(batch: StepBatch, dist: Distributed, group_offset: int, group_size: int) -> Rows:
    """All ranks' rows, rank by rank, with this rank's local group/trajectory ids shifted to global ones."""
    local = Rows([g + group_offset for g in batch.group_ids], [t + group_offset * group_size for t in batch.traj_ids],
                 list(batch.rewards), list(batch.anchors), list(batch.valid))
    if dist.world_size == 1:
        return local
    parts = dist.all_gather_object(local)
    return Rows(*([x for p in parts for x in getattr(p, name)]
                  for name in ("group_ids", "traj_ids", "rewards", "anchors", "valid")))


def rollout_metrics(cfg: TrainConfig, batch: StepBatch, advantages: torch.Tensor, dist: Distributed,
                    groups: range) -> dict[str, float]:
    """Episode statistics, invalid rate, step count, rollout tokens, |A| and the advantage metrics of the global
    batch; ``groups``: the global task groups this rank rolled out.

    ``rollout_tokens`` counts the token positions the rollout policy processed: every step's prompt plus its reply
    (free mode: the generated tokens) or all its candidates (choice mode), so ``rollout_tokens / time_rollout`` is
    the rollout's throughput.
    """
    rows = gather_rows(batch, dist, groups.start, cfg.group_size)
    replies = batch.response_ids if cfg.action_mode == "free" else [c for cands in batch.candidate_ids for c in cands]
    [tokens] = dist.sum_floats([float(sum(map(len, batch.prompt_ids)) + sum(map(len, replies)))])
    episode = merge_episode_stats(dist.all_gather_object((batch.episode, len(groups) * cfg.group_size)))
    adv = advantages.detach().float().cpu()
    adv = torch.cat(dist.all_gather_object(adv)) if dist.world_size > 1 else adv
    return {**episode, "invalid_rate": 1.0 - sum(rows.valid) / max(len(rows.valid), 1), "num_steps": len(rows.rewards),
            "rollout_tokens": int(tokens), "adv_abs": float(adv.abs().mean()), **advantage_metrics(cfg, rows)}


def eval_task_seeds(cfg: TrainConfig) -> list[int]:
    """The held-out evaluation tasks: ``eval_tasks`` seeds from ``eval_seed_offset`` on (training never draws them)."""
    return list(range(cfg.eval_seed_offset, cfg.eval_seed_offset + cfg.eval_tasks))


def evaluate(cfg: TrainConfig, backend, iteration: int, dist: Distributed | None = None) -> dict[str, float]:
    """Held-out tasks, greedy (one rollout each) and sampled at ``eval_temperature``; split over the ranks.

    The sampled evaluation draws from its own streams, keyed by (seed, "eval", iteration, task), so evaluating
    changes nothing that training draws afterwards, and a task samples the same whichever rank plays it.
    """
    dist = dist or Distributed()
    tasks = eval_task_seeds(cfg)
    mine = shard_groups(cfg.eval_tasks, dist.world_size, dist.rank, allow_empty=True)
    out = {}
    for name, greedy in (("greedy", True), ("sampled", False)):
        stats, steps, valid = {}, 0, 0
        if len(mine):
            runner = GroupRunner(cfg.env, 1, env_options=cfg.env_options, max_steps=cfg.max_steps)
            batch, _ = collect_rollouts(backend, runner, tasks[mine.start:mine.stop], mode=cfg.action_mode,
                                        temperature=cfg.eval_temperature or 1.0, max_new_tokens=cfg.max_new_tokens,
                                        history_length=cfg.history_length, invalid_penalty=cfg.invalid_penalty,
                                        greedy=greedy or cfg.eval_temperature == 0,
                                        streams=SamplingStreams(cfg.seed, "eval", iteration, mine.start))
            stats, steps, valid = batch.episode, len(batch), sum(batch.valid)
        parts = dist.all_gather_object((stats, len(mine), steps, valid))
        out.update({f"eval_{name}_{k}": v for k, v in merge_episode_stats([(s, n) for s, n, _, _ in parts if n])
                    .items()})
        out[f"eval_{name}_invalid_rate"] = 1.0 - sum(p[3] for p in parts) / max(sum(p[2] for p in parts), 1)
    return out
