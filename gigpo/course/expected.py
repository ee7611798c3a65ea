"""The reference outputs of the exercises, computed by the library's own estimators (not a second copy of
the math): the course checks a student against exactly what the trainer uses.

Conventions are the library's defaults: unbiased (n-1) std plus ``eps``, a group of one member gets 0, the
episode return is the undiscounted sum of a trajectory's rewards, each trajectory counted once (paper Eq. 3).
"""
from __future__ import annotations

import torch

from gigpo.estimators.anchor_groups import exact_step_groups
from gigpo.estimators.batch import prepare_batch
from gigpo.estimators.gigpo import advantage_details
from gigpo.estimators.grouping import factorize
from gigpo.estimators.grpo import episode_advantage
from gigpo.estimators.returns import discounted_returns as _library_returns
from gigpo.training.learning.policy_loss import masked_mean, ppo_clip_terms


def discounted_returns(traj_ids, rewards, gamma: float) -> torch.Tensor:
    traj_idx, num_traj = factorize(traj_ids, "traj_ids")
    return _library_returns(traj_idx, num_traj, torch.as_tensor(rewards, dtype=torch.float64), float(gamma))


def episode_advantages(group_ids, traj_ids, rewards, eps: float = 1e-6) -> torch.Tensor:
    return episode_advantage(prepare_batch(group_ids, traj_ids, rewards), norm="std", eps=eps,
                             episode_stats="trajectory")


def step_group_labels(group_ids, anchors) -> torch.Tensor:
    group_idx, _ = factorize(group_ids, "group_ids")
    return exact_step_groups(group_idx, anchors)[0]


def step_advantages(group_ids, traj_ids, rewards, anchors, gamma: float, eps: float = 1e-6) -> torch.Tensor:
    return advantage_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, eps=eps).step_adv.double()


def ppo_clip_loss(logp_new, logp_old, advantages, mask, clip: float = 0.2) -> torch.Tensor:
    per_token, _ = ppo_clip_terms(logp_new, logp_old, advantages[:, None].expand_as(logp_new), clip)
    return masked_mean(per_token, mask)


# --- the fixes of unit 06's bugs (gigpo.course.bug_variants), as the library computes them -------------------------
def outcome_advantages(task_ids, traj_ids, rewards, eps: float = 1e-6) -> torch.Tensor:
    return episode_advantages(task_ids, traj_ids, rewards, eps)


def step_token_advantages(group_ids, traj_ids, rewards, response_mask, eps: float = 1e-6) -> torch.Tensor:
    per_row = episode_advantages(group_ids, traj_ids, rewards, eps)
    return per_row[:, None] * torch.as_tensor(response_mask, dtype=torch.float64)


def gigpo(group_ids, traj_ids, rewards, anchors, gamma: float, eps: float = 1e-6) -> torch.Tensor:
    d = advantage_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, eps=eps)
    return d.episode_adv.double() + d.step_adv.double()


def env_layout(task_seeds, group_size: int) -> tuple[list[int], list[int]]:
    """``envs.GroupRunner``'s layout: env ``i`` plays task ``i // group_size`` and belongs to its group."""
    n = len(task_seeds) * group_size
    return [task_seeds[i // group_size] for i in range(n)], [i // group_size for i in range(n)]


REFERENCE = {"discounted_returns": discounted_returns, "episode_advantages": episode_advantages,
             "step_group_labels": step_group_labels, "step_advantages": step_advantages,
             "ppo_clip_loss": ppo_clip_loss,
             "outcome_advantages": outcome_advantages, "step_token_advantages": step_token_advantages,
             "multi_turn_gigpo": gigpo, "stepwise_gigpo": gigpo, "env_layout": env_layout}
