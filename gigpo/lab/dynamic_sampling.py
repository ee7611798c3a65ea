"""The lab's update batch under dynamic sampling (``LabConfig.filter_groups``), the trainer's rule on the tabular
policy (``gigpo.estimators.group_filter``): play generation batches of G groups until G pass the filter or
``max_gen_batches`` were played, train on the first G that passed (at the cap, filled from the last batch).

Generation batch ``b`` draws its tasks from ``(seed, TASKS, iteration, b)`` and its uniforms from
``(seed, ACTIONS, iteration, b * G + g)``, so batch 0 is exactly an unfiltered run's batch and every refill is a
pure function of the seed (paired seeds stay paired).

Beside the update batch it measures what the filter removed: per row, A_E = 0 and A_S != 0 (``|x| > 1e-6``), among
the rows of groups that passed the filter ("kept") and of those that did not ("dropped").
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gigpo.estimators.group_filter import kept_dropped_counts, kept_dropped_shares, passing_groups, update_groups
from gigpo.lab.rollout import LabBatch

Parts = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]  # (A, A_E, A_S) per row


@dataclass
class LabSample:
    """The update batch with its advantages, the iteration's first generation batch, and the sampling figures."""

    batch: LabBatch
    advantage: torch.Tensor
    episode_adv: torch.Tensor
    step_adv: torch.Tensor | None
    first: LabBatch
    metrics: dict[str, Any]


def take_groups(picks: list[tuple[LabBatch, Parts, int]], group_size: int) -> tuple[LabBatch, Parts]:
    """The groups ``(batch, its advantages, group)`` as one batch (group ``j`` of the result is ``picks[j]``)."""
    rows, outs = [], []
    for j, (b, _, g) in enumerate(picks):
        r = np.flatnonzero(b.group_ids == g)
        rows.append((b, r, j, g))
    cat = lambda f: np.concatenate([f(b, r, j, g) for b, r, j, g in rows])  # noqa: E731
    batch = LabBatch(
        group_ids=cat(lambda b, r, j, g: np.full(len(r), j, dtype=np.int64)),
        traj_ids=cat(lambda b, r, j, g: j * group_size + b.traj_ids[r] % group_size),
        rewards=cat(lambda b, r, j, g: b.rewards[r]), state_ids=cat(lambda b, r, j, g: b.state_ids[r]),
        action_ids=cat(lambda b, r, j, g: b.action_ids[r]), expert_ids=cat(lambda b, r, j, g: b.expert_ids[r]),
        observations=[b.observations[i] for b, r, _, _ in rows for i in r],
        success=cat(lambda b, r, j, g: b.success[g * group_size:(g + 1) * group_size]),
        lengths=cat(lambda b, r, j, g: b.lengths[g * group_size:(g + 1) * group_size]),
    )
    for (b, r, _, _), (_, parts, _) in zip(rows, picks):
        outs.append([None if p is None else p[torch.from_numpy(r)] for p in parts])
    adv = tuple(None if outs[0][k] is None else torch.cat([o[k] for o in outs]) for k in range(3))
    return batch, adv


def sample_lab_batch(filter_groups: str, max_gen_batches: int, num_groups: int, group_size: int,
                     play: Callable[[int], LabBatch], parts: Callable[[LabBatch], Parts]) -> LabSample:
    """``play(b)``: generation batch ``b``; ``parts(batch)``: the estimator's (A, A_E, A_S) on it."""
    limit = 1 if filter_groups == "none" else max_gen_batches
    played, passed = [], []
    counts: Counter[str] = Counter()
    for b in range(limit):
        batch = play(b)
        adv = parts(batch)
        ok = passing_groups(filter_groups, batch.group_ids, batch.traj_ids, batch.rewards, adv[0],
                            num_groups=num_groups)
        played.append((batch, adv))
        passed.append(ok.tolist())
        counts.update(kept_dropped_counts(ok, batch.group_ids, adv[1], adv[2]))
        if sum(map(sum, passed)) >= num_groups:
            break
    chosen, unfiltered = update_groups(passed, num_groups)
    if chosen == [(0, g) for g in range(num_groups)]:
        update, adv = played[0]
    else:
        update, adv = take_groups([(played[b][0], played[b][1], g) for b, g in chosen], group_size)
    metrics = {
        "gen_batches": len(passed), "groups_generated": len(passed) * num_groups,
        "episodes_generated": len(passed) * num_groups * group_size, "groups_kept": sum(map(sum, passed)),
        "groups_unfiltered": unfiltered, "filter_capped": int(unfiltered > 0),
        "update_success_rate": float(update.success.mean()),
        **kept_dropped_shares(counts),
    }
    return LabSample(update, adv[0], adv[1], adv[2], played[0][0], metrics)
