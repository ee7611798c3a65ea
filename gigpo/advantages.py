"""GiGPO, GRPO and RLOO advantages on a flat batch with one row per environment step.

Notation (Feng et al. 2025, arXiv 2505.10978, Sec. 4):

- Episode level (Eq. 3): ``A_E(tau_i) = (R(tau_i) - mean_j R(tau_j)) / F_norm``, over the N trajectories of one task
  group, with ``R(tau) = sum_t r_t`` and ``F_norm`` the std (``norm="std"``) or 1 (``norm="none"``).
- Step level (Eq. 6-7): rows of one task group that stand in the same anchor state form a step group; each row has its
  discounted return ``R_t = r_t + gamma * R_{t+1}`` inside its trajectory, and
  ``A_S = (R_t - mean_stepgroup R) / F_norm``.
- Combined (Eq. 8): ``A = A_E + step_weight * A_S``.

Conventions (each tested): the std is unbiased (n-1) plus ``eps``; a group of one member, at either level, gets 0
there; rows of one trajectory appear in time order, trajectories may be interleaved. Where this differs from the
authors' code (verl-agent ``gigpo/core_gigpo.py``) it is a named option: their episode statistics pool every step row
(``episode_stats="step"``) while the paper's Eq. 3 counts each trajectory once (``"trajectory"``, the default).
"""
from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gigpo.anchor_groups import exact_step_groups, similarity_step_groups
from gigpo.grouping import Keys, factorize, group_normalize, leave_one_out
from gigpo.returns import discounted_returns

NORMS = ("std", "none")
EPISODE_STATS = ("trajectory", "step")


@dataclass(frozen=True)
class AdvantageDetails:
    """Every intermediate quantity of GiGPO for one batch, one entry per row unless noted (for plots and metrics)."""

    advantage: torch.Tensor  # A = A_E + step_weight * A_S (Eq. 8)
    episode_adv: torch.Tensor  # A_E, the trajectory's episode advantage broadcast to its rows (Eq. 3)
    step_adv: torch.Tensor  # A_S (Eq. 7)
    episode_returns: torch.Tensor  # R(tau) of the row's trajectory
    step_returns: torch.Tensor  # discounted return-to-go R_t
    group_index: torch.Tensor  # dense task-group code, 0..num_groups-1
    traj_index: torch.Tensor  # dense trajectory code, 0..num_trajectories-1
    step_group: torch.Tensor  # dense step-group label, in order of first appearance
    step_group_size: torch.Tensor  # number of rows in the row's step group
    num_groups: int
    num_trajectories: int
    num_step_groups: int

    def step_group_stats(self) -> dict[str, float]:
        """How much grouping there is: count, mean size, and the share of rows in a step group larger than one."""
        sizes = torch.bincount(self.step_group, minlength=self.num_step_groups).double()
        return {
            "step_groups": float(self.num_step_groups),
            "step_group_mean_size": float(sizes.mean()),
            "step_group_share_grouped": float((self.step_group_size > 1).double().mean()),
        }


@dataclass(frozen=True)
class _Batch:
    group_idx: torch.Tensor
    num_groups: int
    traj_idx: torch.Tensor
    num_traj: int
    traj_group: torch.Tensor  # task-group code of each trajectory
    rewards: torch.Tensor  # float64


def _check_choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {allowed}")


def _check_eps(eps: float) -> None:
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


def _as_rewards(rewards) -> torch.Tensor:
    if isinstance(rewards, torch.Tensor):
        r = rewards.detach().to("cpu", torch.float64)
    else:
        try:
            r = torch.as_tensor(np.asarray(rewards, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rewards must be numbers: {exc}") from exc
    if r.dim() != 1:
        raise ValueError(f"rewards must be 1-D (one reward per step row), got shape {tuple(r.shape)}")
    bad = ~torch.isfinite(r)
    if bad.any():
        rows = torch.nonzero(bad).flatten()[:5].tolist()
        raise ValueError(f"rewards must be finite; NaN or inf at rows {rows}")
    return r


def _prepare(group_ids: Keys, traj_ids: Keys, rewards) -> _Batch:
    r = _as_rewards(rewards)
    n = r.numel()
    if n == 0:
        raise ValueError("empty batch: rewards has no rows")
    group_idx, num_groups = factorize(group_ids, "group_ids")
    traj_idx, num_traj = factorize(traj_ids, "traj_ids")
    for name, t in (("group_ids", group_idx), ("traj_ids", traj_idx)):
        if t.numel() != n:
            raise ValueError(f"{name} has {t.numel()} rows but rewards has {n}; one row per step is required")
    # a trajectory is one rollout of one task: all its rows must carry the same group id
    lo = torch.full((num_traj,), num_groups, dtype=torch.int64).scatter_reduce_(0, traj_idx, group_idx, "amin")
    hi = torch.full((num_traj,), -1, dtype=torch.int64).scatter_reduce_(0, traj_idx, group_idx, "amax")
    if (lo != hi).any():
        raise ValueError("traj_ids: a trajectory spans several group_ids; each rollout belongs to one task group")
    return _Batch(group_idx, num_groups, traj_idx, num_traj, lo, r)


def _episode_returns(b: _Batch) -> torch.Tensor:
    """R(tau) per trajectory: the sum of its step rewards."""
    return torch.zeros(b.num_traj, dtype=torch.float64).index_add_(0, b.traj_idx, b.rewards)


def _episode_advantage(b: _Batch, *, norm: str, eps: float, episode_stats: str) -> torch.Tensor:
    """A_E per row (Eq. 3)."""
    ret = _episode_returns(b)
    if episode_stats == "trajectory":
        return group_normalize(ret, b.traj_group, b.num_groups, norm=norm, eps=eps)[b.traj_idx]
    # authors' default: every step row of the group is a sample, so long trajectories weigh more
    return group_normalize(ret[b.traj_idx], b.group_idx, b.num_groups, norm=norm, eps=eps)


def advantage_details(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                      gamma: float = 0.95, step_weight: float = 1.0, norm: str = "std",
                      similarity: float | None = None, eps: float = 1e-6,
                      episode_stats: str = "trajectory") -> AdvantageDetails:
    """GiGPO advantages with every intermediate quantity (see :func:`gigpo_advantages` for the arguments)."""
    _check_choice(norm, NORMS, "norm")
    _check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    _check_eps(eps)
    if not (isinstance(gamma, (int, float)) and 0.0 <= gamma <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if not (isinstance(step_weight, (int, float)) and math.isfinite(step_weight)):
        raise ValueError(f"step_weight must be a finite number, got {step_weight!r}")
    if similarity is not None and not (isinstance(similarity, (int, float)) and 0.0 < similarity <= 1.0):
        raise ValueError(f"similarity must be None or in (0, 1], got {similarity!r}")
    b = _prepare(group_ids, traj_ids, rewards)
    n_anchor = anchors.shape[0] if isinstance(anchors, (torch.Tensor, np.ndarray)) else len(anchors)
    if n_anchor != b.rewards.numel():
        raise ValueError(f"anchors has {n_anchor} rows but rewards has {b.rewards.numel()}")

    episode_ret = _episode_returns(b)
    a_e = _episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats)
    step_ret = discounted_returns(b.traj_idx, b.num_traj, b.rewards, float(gamma))
    if similarity is None:
        labels, k = exact_step_groups(b.group_idx, anchors)
    else:
        labels, k = similarity_step_groups(b.group_idx, list(anchors), float(similarity))
    a_s = group_normalize(step_ret, labels, k, norm=norm, eps=eps)
    sizes = torch.bincount(labels, minlength=k)[labels]
    return AdvantageDetails(
        advantage=(a_e + step_weight * a_s).float(), episode_adv=a_e.float(), step_adv=a_s.float(),
        episode_returns=episode_ret[b.traj_idx].float(), step_returns=step_ret.float(),
        group_index=b.group_idx, traj_index=b.traj_idx, step_group=labels, step_group_size=sizes,
        num_groups=b.num_groups, num_trajectories=b.num_traj, num_step_groups=k,
    )


def gigpo_advantages(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                     gamma: float = 0.95, step_weight: float = 1.0, norm: str = "std",
                     similarity: float | None = None, eps: float = 1e-6,
                     episode_stats: str = "trajectory") -> torch.Tensor:
    """GiGPO advantage ``A = A_E + step_weight * A_S`` per step row (paper Eq. 8), as a float32 tensor.

    Args:
        group_ids: task group of each row (the N rollouts of one task share it): int tensor/array or hashables.
        traj_ids: rollout of each row: int tensor/array or hashables (str, uuid).
        rewards: the step's reward, 1-D floats; must be finite.
        anchors: the environment state at the step: hashables (str, tuples) or a 1-D int64 tensor of state keys.
        gamma: discount of the step-level return ``R_t = r_t + gamma R_{t+1}``, in [0, 1] (paper: 0.95).
        step_weight: weight w of the step-level advantage (paper: 1).
        norm: ``"std"`` divides by (unbiased std + eps); ``"none"`` only subtracts the group mean.
        similarity: ``None`` for exact anchor equality, or a threshold in (0, 1] for the authors' difflib
            clustering of text anchors (see ``gigpo.anchor_groups.similarity_step_groups``).
        eps: added to the std.
        episode_stats: ``"trajectory"`` (paper Eq. 3, each trajectory counted once) or ``"step"`` (every step row
            counted, as in the authors' code).
    """
    return advantage_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, step_weight=step_weight, norm=norm,
                             similarity=similarity, eps=eps, episode_stats=episode_stats).advantage


def grpo_advantages(group_ids: Keys, traj_ids: Keys, rewards, *, norm: str = "std", eps: float = 1e-6,
                    episode_stats: str = "trajectory") -> torch.Tensor:
    """GRPO: the episode-level advantage A_E alone (paper Eq. 3), broadcast to every step row of the trajectory."""
    _check_choice(norm, NORMS, "norm")
    _check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    _check_eps(eps)
    b = _prepare(group_ids, traj_ids, rewards)
    return _episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats).float()


def rloo_advantages(group_ids: Keys, traj_ids: Keys, rewards) -> torch.Tensor:
    """RLOO (Ahmadian et al. 2024): ``R(tau_i) - mean_{j != i} R(tau_j)`` over the trajectories of a task group.

    The leave-one-out baseline does not depend on the sample it scores, so the estimator stays unbiased; a group of
    one trajectory gets 0.
    """
    b = _prepare(group_ids, traj_ids, rewards)
    return leave_one_out(_episode_returns(b), b.traj_group, b.num_groups)[b.traj_idx].float()
