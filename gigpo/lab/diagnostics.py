"""Credit diagnostics: does an estimator's advantage point at the right action, and where is its signal an artefact?

- :func:`credit_auc`: ``P(A(expert row) > A(other row))`` over rows whose state has an expert action, ties counting
  one half (the Mann-Whitney AUC). 0.5: the advantage says nothing about which action was right.
- :func:`zero_spread_rows` / :func:`nonzero_step_share`: the share of rows in task groups whose episode returns
  are all equal (no outcome signal: A_E = 0) that still get a non-zero step advantage A_S. In sokoban two visits
  of one state can differ only by how many steps were left before truncation, so their discounted returns of
  -0.1 step penalties differ and A_S is non-zero although no rollout did better.
- :func:`advantage_parts`: A, A_E and A_S of any registered estimator (A_E = A and A_S = 0 for estimators without
  a detailed form: GRPO and RLOO are episode-level).
- :func:`policy_batch` + :func:`credit_quality`: every estimator's advantage on the *same* rows (rollouts of a
  fixed policy, e.g. uniform or an expert prior), so their credit can be compared without training.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from gigpo.estimators import registry
from gigpo.estimators.batch import episode_returns, prepare_batch
from gigpo.lab.policy import TabularPolicy
from gigpo.lab.rollout import ACTIONS, LabBatch, Uniforms, make_runner, play

_ZERO = 1e-6  # |A_S| at or below this counts as zero (advantages are float32)


def credit_auc(advantage: torch.Tensor | np.ndarray, expert: torch.Tensor | np.ndarray) -> float:
    """AUC of ``advantage`` separating expert-action rows (``expert`` True) from the others; NaN if one side is
    empty. Mid-ranks handle ties: ``AUC = (sum of expert ranks - n_e (n_e + 1) / 2) / (n_e n_o)``."""
    a = torch.as_tensor(np.asarray(advantage, dtype=np.float64))
    e = torch.as_tensor(np.asarray(expert, dtype=bool))
    if a.shape != e.shape or a.dim() != 1:
        raise ValueError(f"advantage {tuple(a.shape)} and expert {tuple(e.shape)} must be 1-D of one length")
    n_e = int(e.sum())
    n_o = len(e) - n_e
    if n_e == 0 or n_o == 0:
        return float("nan")
    values, inverse, counts = torch.unique(a, return_inverse=True, return_counts=True)  # sorted unique values
    first_rank = torch.cumsum(counts, 0) - counts + 1  # 1-based rank of each value's first occurrence
    mid_rank = first_rank.double() + (counts.double() - 1) / 2
    rank_sum = float(mid_rank[inverse][e].sum())
    return (rank_sum - n_e * (n_e + 1) / 2) / (n_e * n_o)


def zero_spread_rows(group_ids: np.ndarray, traj_ids: np.ndarray, rewards: np.ndarray,
                     tol: float = 1e-9) -> np.ndarray:
    """Per row: is it in a task group whose undiscounted episode returns all agree (within ``tol``)?"""
    b = prepare_batch(group_ids, traj_ids, rewards)
    ret = episode_returns(b)
    hi = torch.full((b.num_groups,), -math.inf, dtype=ret.dtype).scatter_reduce_(0, b.traj_group, ret, "amax")
    lo = torch.full((b.num_groups,), math.inf, dtype=ret.dtype).scatter_reduce_(0, b.traj_group, ret, "amin")
    return ((hi - lo) <= tol)[b.group_idx].numpy()


def nonzero_step_share(step_adv: torch.Tensor | np.ndarray | None, zero_spread: np.ndarray) -> float | None:
    """Share of zero-spread rows with ``|A_S| > 1e-6``; None without A_S, NaN without zero-spread rows."""
    if step_adv is None:
        return None
    if not zero_spread.any():
        return float("nan")
    s = np.abs(np.asarray(step_adv, dtype=np.float64))[zero_spread]
    return float((s > _ZERO).mean())


def advantage_parts(name: str, batch: LabBatch, options: Mapping[str, Any], *, anchors: Sequence | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(A, A_E, A_S)`` of estimator ``name`` on ``batch`` (anchors default to the policy's state ids, which
    equal within a task group exactly when the env's anchors do). A_S is None for an estimator whose detailed form
    does not split the advantage; estimators without any detailed form are taken as episode-level (A_S = 0)."""
    cols = (torch.from_numpy(batch.group_ids), torch.from_numpy(batch.traj_ids), torch.from_numpy(batch.rewards))
    anchors = torch.from_numpy(batch.state_ids) if anchors is None else anchors
    adv, episode, step = registry.advantage_split(name, *cols, anchors, **options)
    if registry.get_estimator(name).details is None:  # episode-level by construction: its A_S is a true 0
        step = torch.zeros_like(adv)
    return adv, episode, step


def iteration_diagnostics(batch: LabBatch, advantage: torch.Tensor, episode_adv: torch.Tensor,
                          step_adv: torch.Tensor | None) -> dict[str, float | None]:
    """The per-iteration credit figures logged to ``lab.jsonl`` (see docs/lab.md for each)."""
    zero = zero_spread_rows(batch.group_ids, batch.traj_ids, batch.rewards)
    has_expert = batch.expert_ids >= 0
    expert_row = batch.action_ids == batch.expert_ids
    a = np.asarray(advantage, dtype=np.float64)
    return {
        "adv_abs": float(np.abs(a).mean()),
        "adv_episode_abs": float(np.abs(np.asarray(episode_adv, dtype=np.float64)).mean()),
        "adv_step_abs": None if step_adv is None else float(np.abs(np.asarray(step_adv, dtype=np.float64)).mean()),
        "zero_spread_share": float(zero.mean()),
        "zero_spread_nonzero_step": nonzero_step_share(step_adv, zero),
        "credit_auc": credit_auc(a[has_expert], expert_row[has_expert]),
        "expert_action_share": float(expert_row[has_expert].mean()) if has_expert.any() else float("nan"),
    }


def credit_quality(batch: LabBatch, options: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Each estimator's advantage on the *same* rows: AUC and mean-gap for expert vs other actions, and the
    zero-spread artefact share. ``options`` maps estimator name -> its keyword options."""
    has_expert = batch.expert_ids >= 0
    expert_row = (batch.action_ids == batch.expert_ids)[has_expert]
    zero = zero_spread_rows(batch.group_ids, batch.traj_ids, batch.rewards)
    out = {}
    for name, opts in options.items():
        adv, _, step = advantage_parts(name, batch, opts)
        a = adv.double().numpy()[has_expert]
        gap = float(a[expert_row].mean() - a[~expert_row].mean()) if 0 < expert_row.sum() < len(a) else float("nan")
        out[name] = {"auc": credit_auc(a, expert_row), "gap": gap,
                     "zero_spread_nonzero_step": nonzero_step_share(step, zero)}
    return out


def policy_batch(env: str, env_options: Mapping[str, Any] | None, task_seeds: Sequence[int], group_size: int, *,
                 beta: float = 0.0, seed: int = 0, max_steps: int | None = None) -> LabBatch:
    """G x N rollouts of the untrained tabular policy with prior ``beta`` (0: uniform over admissible actions),
    seeded by ``seed``: one policy-independent batch on which estimators can be compared row for row."""
    runner = make_runner(env, group_size, dict(env_options or {}), max_steps)
    uniforms = Uniforms(seed, ACTIONS, 0, len(task_seeds), group_size)
    return play(runner, TabularPolicy(beta), [int(t) for t in task_seeds], uniforms)
