"""GiGPO (Feng et al. 2025): episode- plus anchor-state step-level advantages on a flat batch of step rows.

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

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch

from gigpo.estimators.anchor_groups import exact_step_groups, similarity_step_groups
from gigpo.estimators.batch import (
    EPISODE_STATS,
    NORMS,
    check_anchor_rows,
    check_choice,
    check_eps,
    check_finite,
    check_gamma,
    episode_returns,
    is_real,
    prepare_batch,
)
from gigpo.estimators.grouping import Keys, group_normalize
from gigpo.estimators.grpo import episode_advantage
from gigpo.estimators.returns import discounted_returns


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
        """How much grouping there is.

        - ``step_groups``: how many step groups the batch has;
        - ``step_group_size_per_group``: their mean size, each step group counted once (many singletons pull it
          towards 1);
        - ``step_group_size_per_row``: the mean size of the step group a row belongs to, i.e. how many rows a
          typical step is compared with (itself included); large groups weigh by their size, so this is the larger;
        - ``step_group_share_grouped``: the share of rows whose step group has 2+ rows (only those get A_S != 0).
        """
        sizes = torch.bincount(self.step_group, minlength=self.num_step_groups).double()
        return {
            "step_groups": float(self.num_step_groups),
            "step_group_size_per_group": float(sizes.mean()),
            "step_group_size_per_row": float(self.step_group_size.double().mean()),
            "step_group_share_grouped": float((self.step_group_size > 1).double().mean()),
        }


def advantage_details(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                      gamma: float = 0.95, step_weight: float = 1.0, norm: str = "std",
                      similarity: float | None = None, eps: float = 1e-6,
                      episode_stats: str = "trajectory") -> AdvantageDetails:
    """GiGPO advantages with every intermediate quantity (see :func:`gigpo_advantages` for the arguments)."""
    check_choice(norm, NORMS, "norm")
    check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    check_eps(eps)
    check_gamma(gamma)
    check_finite(step_weight, "step_weight")
    if similarity is not None and not (is_real(similarity) and 0.0 < similarity <= 1.0):
        raise ValueError(f"similarity must be None or in (0, 1], got {similarity!r}")
    b = prepare_batch(group_ids, traj_ids, rewards)
    check_anchor_rows(anchors, b.num_rows)

    episode_ret = episode_returns(b)
    a_e = episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats)
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
            clustering of text anchors (see ``gigpo.estimators.anchor_groups.similarity_step_groups``).
        eps: added to the std.
        episode_stats: ``"trajectory"`` (paper Eq. 3, each trajectory counted once) or ``"step"`` (every step row
            counted, as in the authors' code).
    """
    return advantage_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, step_weight=step_weight, norm=norm,
                             similarity=similarity, eps=eps, episode_stats=episode_stats).advantage
