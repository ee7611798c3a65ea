"""GRPO's advantage, which is also GiGPO's episode level (Feng et al. 2025, Eq. 3; Shao et al. 2024).

``A_E(tau_i) = (R(tau_i) - mean_j R(tau_j)) / F_norm`` over the N trajectories of one task group, with
``R(tau) = sum_t r_t`` and ``F_norm`` the std (``norm="std"``) or 1 (``norm="none"``), broadcast to every step row of
the trajectory.
"""
from __future__ import annotations

import torch

from gigpo.estimators.batch import (
    EPISODE_STATS,
    NORMS,
    FlatBatch,
    check_choice,
    check_eps,
    episode_returns,
    prepare_batch,
)
from gigpo.estimators.grouping import Keys, group_normalize


def episode_advantage(b: FlatBatch, *, norm: str, eps: float, episode_stats: str) -> torch.Tensor:
    """A_E per row (Eq. 3), float64."""
    ret = episode_returns(b)
    if episode_stats == "trajectory":
        return group_normalize(ret, b.traj_group, b.num_groups, norm=norm, eps=eps)[b.traj_idx]
    # authors' default: every step row of the group is a sample, so long trajectories weigh more
    return group_normalize(ret[b.traj_idx], b.group_idx, b.num_groups, norm=norm, eps=eps)


def grpo_advantages(group_ids: Keys, traj_ids: Keys, rewards, *, norm: str = "std", eps: float = 1e-6,
                    episode_stats: str = "trajectory") -> torch.Tensor:
    """GRPO: the episode-level advantage A_E alone (paper Eq. 3), broadcast to every step row of the trajectory.

    Args as in :func:`gigpo.gigpo_advantages`; ``episode_stats="step"`` counts every step row in the group's
    statistics, as the authors' code does.
    """
    check_choice(norm, NORMS, "norm")
    check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    check_eps(eps)
    b = prepare_batch(group_ids, traj_ids, rewards)
    return episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats).float()
