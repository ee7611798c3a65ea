"""RLOO (Ahmadian et al. 2024): ``A(tau_i) = R(tau_i) - mean_{j != i} R(tau_j)`` over a task group's trajectories."""
from __future__ import annotations

import torch

from gigpo.estimators.batch import episode_returns, prepare_batch
from gigpo.estimators.grouping import Keys, leave_one_out


def rloo_advantages(group_ids: Keys, traj_ids: Keys, rewards) -> torch.Tensor:
    """RLOO: the leave-one-out baseline, broadcast to every step row of the trajectory.

    The baseline does not depend on the sample it scores, so the estimator stays unbiased; a group of one
    trajectory gets 0.
    """
    b = prepare_batch(group_ids, traj_ids, rewards)
    return leave_one_out(episode_returns(b), b.traj_group, b.num_groups)[b.traj_idx].float()
