"""Dynamic sampling (``TrainConfig.filter_groups``, ``max_gen_batches``): the refill of an iteration's update batch
with task groups that carry a learning signal. The loop calls it only when a filter is on.

Generation batch ``b`` of iteration ``i`` plays ``num_groups`` task groups whose global indices are
``b * num_groups + g``: its tasks are the next ``num_groups`` of the iteration's task draw
(``train_task_seeds(cfg, i, count=(b + 1) * G)``, so the pool's shuffled passes continue) and group ``b * G + g``
samples from the keyed stream ``(seed, "rollout", i, b * G + g, turn)``. Batch 0 is exactly what a run without
filtering plays, and every draw is a pure function of (seed, iteration, group), so resuming, or any number of
processes, changes nothing.

Each rank plays its block of every generation batch's groups and judges them (groups are never split, so the
verdict is the one a single process reaches); the verdicts are all-gathered, so every rank stops after the same
batch and picks the same update groups (``group_filter.update_groups``). The update batch's groups are then dealt
to the ranks in contiguous blocks of generation order, exactly as a batch without filtering is, so the update
numbers its rows the same way under any number of processes (``distributed.global_row_index``); with several
processes the kept groups' rows travel between ranks for that (one ``all_gather_object``).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from envs import GroupRunner
from gigpo.estimators.group_filter import kept_dropped_counts, kept_dropped_shares, passing_groups, update_groups
from gigpo.policy.step_batch import StepBatch
from gigpo.training.config import TrainConfig
from gigpo.training.rank_metrics import merge_episode_stats
from gigpo.training.systems.distributed import Distributed
from gigpo.training.systems.seeds import SamplingStreams

Play = Callable[[list[int], SamplingStreams], tuple[StepBatch, dict[str, float], GroupRunner]]
Split = Callable[[StepBatch], tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]  # (A, A_E, A_S) per row
ROW_FIELDS = [f.name for f in fields(StepBatch) if f.name != "episode"]


@dataclass
class SampledBatch:
    """This rank's rows of the update batch, the seconds spent generating, and the iteration's sampling metrics
    (the same on every rank)."""

    batch: StepBatch
    seconds: dict[str, float]
    metrics: dict[str, float]


def trajectory_outcomes(runner: GroupRunner) -> list[tuple[bool, float, int]]:
    """``(won, env return, length)`` of each of the runner's rollouts since its last reset."""
    won = [False] * runner.num_envs
    ret = [0.0] * runner.num_envs
    for r in runner.records:
        ret[r.traj_id] += r.reward
        won[r.traj_id] = won[r.traj_id] or r.won
    return [(w, x, int(n)) for w, x, n in zip(won, ret, runner.steps)]


def episode_stats(outcomes: list[tuple[bool, float, int]]) -> dict[str, float]:
    """Success rate, mean return and mean length, as ``GroupRunner.episode_stats`` computes them."""
    n = max(len(outcomes), 1)
    return {"success_rate": sum(o[0] for o in outcomes) / n, "mean_return": sum(o[1] for o in outcomes) / n,
            "mean_length": sum(o[2] for o in outcomes) / n}


def group_rows(batch: StepBatch, outcomes, group: int, group_size: int) -> tuple[dict, list]:
    """Group ``group`` of ``batch``: its columns (rows in their recorded order) and its rollouts' outcomes."""
    rows = [i for i, g in enumerate(batch.group_ids) if g == group]
    cols = {name: [getattr(batch, name)[i] for i in rows] for name in ROW_FIELDS if getattr(batch, name)}
    return cols, outcomes[group * group_size:(group + 1) * group_size]


def relabel(part: tuple[dict, list], position: int, group_size: int) -> tuple[dict, list]:
    """A group's columns as group ``position`` of a batch (its rollouts ``position * N + k``)."""
    cols, outs = part
    n = len(cols["group_ids"])
    return {**cols, "group_ids": [position] * n,
            "traj_ids": [position * group_size + t % group_size for t in cols["traj_ids"]]}, outs


def assemble(parts: list[tuple[dict, list]]) -> StepBatch:
    """One StepBatch from groups' columns (in order); its ``episode`` over their rollouts."""
    batch = StepBatch()
    for cols, _ in parts:
        for name, values in cols.items():
            getattr(batch, name).extend(values)
    batch.episode = episode_stats([o for _, outs in parts for o in outs])
    return batch


def refill_update_batch(cfg: TrainConfig, iteration: int, dist: Distributed, groups: range,
                        first: tuple[StepBatch, dict[str, float], GroupRunner], play: Play,
                        task_seeds: Callable[[int], list[int]], split_of: Split) -> SampledBatch:
    """Play generation batches until ``num_groups`` groups pass ``cfg.filter_groups`` or ``cfg.max_gen_batches``
    were played; returns this rank's share (``groups``: its block of positions) of the update batch.

    ``first``: generation batch 0, already played by the loop (batch, seconds, runner); ``play(task_seeds,
    streams)`` rolls out this rank's groups of a further batch; ``task_seeds(count)``: the iteration's first
    ``count`` task seeds; ``split_of(batch)``: the run's estimator as ``(A, A_E, A_S)`` per row (the ``advantage``
    filter reads A; the kept/dropped row figures read A_E and A_S).

    Beside the update batch it measures, as the credit lab does, what the filter removed: rows with A_E = 0 and with
    A_S != 0 among the groups that passed ("kept") and failed ("dropped"), and how many groups of the first
    generation batch would pass each filter (``groups_with_spread``: ``outcome``; ``groups_with_signal``:
    ``advantage``).
    """
    G, N = cfg.num_groups, cfg.group_size
    played, passed = [], []
    seconds: dict[str, float] = {}
    tokens = 0
    counts: Counter[str] = Counter()
    first_pass = {}
    for b in range(cfg.max_gen_batches):
        if b == 0:
            batch, secs, runner = first
        else:
            seeds = task_seeds((b + 1) * G)[b * G:]
            batch, secs, runner = play(seeds[groups.start:groups.stop],
                                       SamplingStreams(cfg.seed, "rollout", iteration, b * G + groups.start))
        for k, v in secs.items():
            seconds[k] = seconds.get(k, 0.0) + v
        replies = batch.response_ids if cfg.action_mode == "free" else [c for cs in batch.candidate_ids for c in cs]
        tokens += sum(map(len, batch.prompt_ids)) + sum(map(len, replies))
        played.append((batch, trajectory_outcomes(runner)))
        adv, episode_adv, step_adv = split_of(batch)
        judged = {mode: passing_groups(mode, batch.group_ids, batch.traj_ids, batch.env_rewards, adv,
                                       num_groups=len(groups)) for mode in ("outcome", "advantage")}
        if b == 0:
            first_pass = {f"groups_with_{name}": int(judged[mode].sum())
                          for name, mode in (("spread", "outcome"), ("signal", "advantage"))}
        mine = judged[cfg.filter_groups]
        counts.update(kept_dropped_counts(mine, batch.group_ids, episode_adv, step_adv))
        passed.append([ok for part in dist.all_gather_object(mine.tolist()) for ok in part])  # rank order = group order
        if sum(map(sum, passed)) >= G:
            break
    chosen, unfiltered = update_groups(passed, G)

    if chosen == [(0, g) for g in range(G)]:  # the first batch whole (every group passed)
        update = played[0][0]
    else:
        # the groups this rank played that the update batch holds, keyed by their position in it
        owned = {j: group_rows(played[b][0], played[b][1], g - groups.start, N)
                 for j, (b, g) in enumerate(chosen) if g in groups}
        if dist.world_size > 1:  # deal them out in contiguous blocks of positions, as an unfiltered batch is
            owned = {j: part for parts in dist.all_gather_object(owned) for j, part in parts.items()}
        update = assemble([relabel(owned[j], j - groups.start, N) for j in groups])

    first = merge_episode_stats(dist.all_gather_object((episode_stats(played[0][1]), len(groups) * N)))
    kept = merge_episode_stats(dist.all_gather_object((update.episode, len(groups) * N)))
    local = {"rollout_tokens": tokens, **first_pass, **counts}  # one all-reduce; the same keys in the same order
    summed = dict(zip(local, dist.sum_floats([float(v) for v in local.values()])))  # on every rank
    metrics = {
        # the episode figures of the iteration's first generation batch: what a run without filtering plays
        **first, **{f"update_{k}": v for k, v in kept.items()},
        "gen_batches": len(passed), "groups_generated": len(passed) * G, "episodes_generated": len(passed) * G * N,
        "groups_kept": sum(map(sum, passed)), "groups_unfiltered": unfiltered, "filter_capped": int(unfiltered > 0),
        "rollout_tokens": int(summed["rollout_tokens"]), **{k: int(summed[k]) for k in first_pass},
        **kept_dropped_shares(summed),
    }
    return SampledBatch(update, seconds, metrics)

