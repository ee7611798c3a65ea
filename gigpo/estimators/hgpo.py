"""HGPO (He et al. 2026, arXiv 2602.22817): step advantages from a hierarchy of history-consistent groups.

GiGPO compares steps that stand in the same anchor state. HGPO notes that an agent whose prompt carries its recent
history is not in the same situation at two equal states reached along different paths ("context inconsistency"),
and groups steps by the state *and* the recent history:

- Context-aware hierarchical grouping: with the k-step context ``C_k(t) = (s_{t-k+1}, ..., s_t)`` (the last k anchors
  of the step's own trajectory), the steps of one task group with equal ``C_k`` form a group ``G_k``, for
  ``k = 1 .. history_length + 1``. The groups are nested (``G_1 ⊇ G_2 ⊇ ...``): ``G_1`` is GiGPO's step group, and a
  step with fewer than k earlier steps is in no group at level k. (The paper writes the levels by history depth,
  ``G_0^H ⊇ ... ⊇ G_K^H``; level ``k`` here is depth ``k - 1`` there.)
- In every group of 2+ steps the discounted returns ``R_t = r_t + gamma R_{t+1}`` are normalised:
  ``A_k = (R_t - mean_{G_k} R) / (std_{G_k} R + eps)`` (``norm="none"``: the mean only).
- Adaptive weighting: a step's advantage is the weighted mean of its items ``A_k`` with weights ``(k + 1)^alpha``
  (longer shared history, more weight); with ``base_group`` the episode advantage A_E joins as a ``k = 0`` item.

By default every detail follows the authors' ``hgpo_advantage_estimate`` (verl-agent ``recipe/hgpo/core_hgpo.py``);
each of their choices is an option (listed in ``docs/advantages.md``): the history groups use the population std
(``unbiased=False``), items equal to 0 are dropped before weighting (``drop_zero_items=True``), the weight normaliser
carries ``eps`` (``weight_eps=None`` means "the same eps"), and the base item pools every step row of the task group
(``episode_stats="step"``).

History keys are built without a Python loop over rows: level ``k``'s key of a row is the pair (level ``k-1``'s code,
the anchor code ``k-1`` steps earlier in the same trajectory), reached by a shifted gather in the trajectory layout,
and densified with ``torch.unique``.
"""
from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gigpo.estimators.anchor_groups import exact_step_groups
from gigpo.estimators.batch import (
    EPISODE_STATS,
    NORMS,
    check_anchor_rows,
    check_choice,
    check_eps,
    check_finite,
    check_gamma,
    prepare_batch,
)
from gigpo.estimators.grouping import Keys, factorize, group_normalize
from gigpo.estimators.grpo import episode_advantage
from gigpo.estimators.returns import discounted_returns
from gigpo.estimators.trajectory_layout import earlier_row, trajectory_layout


@dataclass(frozen=True)
class HGPODetails:
    """Every intermediate quantity of HGPO, one entry per row unless noted; level ``k`` is column ``k - 1``."""

    advantage: torch.Tensor  # the weighted mean of the row's items (float32)
    episode_adv: torch.Tensor  # A_E, the k = 0 item (counted only with base_group)
    step_adv: torch.Tensor  # the weighted mean of the history items alone (= advantage without base_group)
    step_returns: torch.Tensor  # discounted return-to-go R_t
    level_adv: torch.Tensor  # (rows, K) A_k in the row's level-k group; 0 where it has none
    level_group: torch.Tensor  # (rows, K) dense group label at level k (k = 1: GiGPO's step_group); -1 if t < k - 1
    level_size: torch.Tensor  # (rows, K) size of that group; 0 if none
    group_index: torch.Tensor
    traj_index: torch.Tensor
    num_groups: int
    num_trajectories: int

    def level_stats(self) -> dict[str, float]:
        """Per level k: the share of rows in a group of 2+ (only those get an item at that level)."""
        return {f"hgpo_share_grouped_k{k + 1}": float((self.level_size[:, k] > 1).double().mean())
                for k in range(self.level_size.shape[1])}


def history_groups(group_idx: torch.Tensor, traj_idx: torch.Tensor, num_traj: int, anchor_idx: torch.Tensor,
                   num_anchors: int, levels: int) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    """For k = 1..levels: ``(rows, labels, num_labels)``, the rows with at least k steps so far and their group.

    Level 1 is GiGPO's step groups, (task group, anchor), labelled by first appearance; level k keys by (level k-1
    label, anchor k-1 steps earlier), labelled densely in key order (numbering them by first appearance too would
    cost a sort per level and change no advantage).
    """
    layout = trajectory_layout(traj_idx, num_traj)
    width = max(num_anchors, 1)
    code, num = exact_step_groups(group_idx, anchor_idx)
    rows = torch.arange(group_idx.numel())
    out = [(rows, code, num)]
    for k in range(2, levels + 1):
        back = earlier_row(layout, k - 1)[rows]
        keep = back >= 0  # rows with fewer than k steps drop out of this level and all deeper ones
        rows, code, back = rows[keep], code[keep], back[keep]
        uniques, code = torch.unique(code * width + anchor_idx[back], return_inverse=True)
        out.append((rows, code, int(uniques.numel())))
    return out


def weighted_items(items: torch.Tensor, present: torch.Tensor, weights: torch.Tensor,
                   weight_eps: float) -> torch.Tensor:
    """``sum_k w_k a_k / (sum_k w_k + weight_eps)`` over the present items of each row; 0 for a row with none."""
    w = torch.where(present, weights.expand_as(items), torch.zeros((), dtype=items.dtype))
    total = w.sum(dim=1)
    value = (w * items).sum(dim=1) / torch.where(total > 0, total + weight_eps, torch.ones_like(total))
    return torch.where(total > 0, value, torch.zeros_like(value))


def hgpo_details(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                 gamma: float = 0.95, history_length: int = 2, norm: str = "std", length_weight_alpha: float = 1.0,
                 base_group: bool = False, eps: float = 1e-6, unbiased: bool = False, drop_zero_items: bool = True,
                 weight_eps: float | None = None, episode_stats: str = "step") -> HGPODetails:
    """HGPO advantages with every intermediate quantity (see :func:`hgpo_advantages` for the arguments)."""
    check_choice(norm, NORMS, "norm")
    check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    check_eps(eps)
    check_gamma(gamma)
    check_finite(length_weight_alpha, "length_weight_alpha")
    if isinstance(history_length, (bool, np.bool_)) or not isinstance(history_length, numbers.Integral) \
            or history_length < 0:
        raise ValueError(f"history_length must be an int >= 0, got {history_length!r}")
    for name, flag in (("base_group", base_group), ("unbiased", unbiased), ("drop_zero_items", drop_zero_items)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    if weight_eps is not None:
        check_eps(weight_eps)
    w_eps = float(eps if weight_eps is None else weight_eps)

    b = prepare_batch(group_ids, traj_ids, rewards)
    check_anchor_rows(anchors, b.num_rows)
    anchor_idx, num_anchors = factorize(anchors, "anchors")
    n, levels = b.num_rows, history_length + 1

    step_ret = discounted_returns(b.traj_idx, b.num_traj, b.rewards, float(gamma))
    level_adv = torch.zeros(n, levels, dtype=torch.float64)
    level_group = torch.full((n, levels), -1, dtype=torch.int64)
    level_size = torch.zeros(n, levels, dtype=torch.int64)
    for k, (rows, labels, num) in enumerate(history_groups(b.group_idx, b.traj_idx, b.num_traj, anchor_idx,
                                                           num_anchors, levels)):
        ret = step_ret[rows]
        adv = group_normalize(ret, labels, num, norm=norm, eps=eps, ddof=1 if unbiased else 0)
        # a group whose returns are all equal has advantage exactly 0; test max == min instead of trusting
        # x - mean, which a rounded mean can leave at 1e-16 (then 1e-10 after dividing by std + eps)
        hi = torch.full((num,), -torch.inf, dtype=ret.dtype).scatter_reduce_(0, labels, ret, "amax")
        lo = torch.full((num,), torch.inf, dtype=ret.dtype).scatter_reduce_(0, labels, ret, "amin")
        level_adv[rows, k] = torch.where((hi > lo)[labels], adv, torch.zeros_like(adv))
        level_group[rows, k] = labels
        level_size[rows, k] = torch.bincount(labels, minlength=num)[labels]

    a_e = episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats)
    # an item exists where the row's group has 2+ members (the authors skip groups of one)
    present = level_size > 1
    if drop_zero_items:
        present &= level_adv != 0
    k = torch.arange(1, levels + 1, dtype=torch.float64)
    weights = (k + 1) ** float(length_weight_alpha)
    step_adv = weighted_items(level_adv, present, weights, w_eps)
    if base_group:
        base_present = torch.ones(n, 1, dtype=torch.bool) if not drop_zero_items else (a_e != 0).unsqueeze(1)
        advantage = weighted_items(torch.cat([a_e.unsqueeze(1), level_adv], dim=1),
                                   torch.cat([base_present, present], dim=1),
                                   torch.cat([torch.ones(1, dtype=torch.float64), weights]), w_eps)  # (0+1)^alpha = 1
    else:
        advantage = step_adv
    return HGPODetails(
        advantage=advantage.float(), episode_adv=a_e.float(), step_adv=step_adv.float(),
        step_returns=step_ret.float(), level_adv=level_adv.float(), level_group=level_group, level_size=level_size,
        group_index=b.group_idx, traj_index=b.traj_idx, num_groups=b.num_groups, num_trajectories=b.num_traj,
    )


def hgpo_advantages(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                    gamma: float = 0.95, history_length: int = 2, norm: str = "std", length_weight_alpha: float = 1.0,
                    base_group: bool = False, eps: float = 1e-6, unbiased: bool = False, drop_zero_items: bool = True,
                    weight_eps: float | None = None, episode_stats: str = "step") -> torch.Tensor:
    """HGPO advantage per step row, as a float32 tensor (module docstring: the definition).

    Args:
        group_ids, traj_ids, rewards, anchors: as in :func:`gigpo.gigpo_advantages`; rows of one trajectory in time
            order, trajectories may be interleaved.
        gamma: discount of the step return ``R_t = r_t + gamma R_{t+1}``, in [0, 1].
        history_length: how many earlier anchors a group may share besides the current one: levels
            ``k = 1 .. history_length + 1`` (the authors tie it to the prompt's history length; 0 is GiGPO's step
            groups alone).
        norm: ``"std"`` (the authors' ``mean_std_norm``) or ``"none"`` (``mean_norm``: the mean only).
        length_weight_alpha: weight ``(k + 1)^alpha`` of a level-k item; 0 weighs all levels equally.
        base_group: add the episode advantage A_E as a ``k = 0`` item (weight 1).
        eps: added to every std (and, by default, to the weight normaliser).
        unbiased: ``False`` (authors) uses the population std (divide by n) in the history groups; ``True`` the
            n-1 sample std as GiGPO.
        drop_zero_items: ``True`` (authors) drops items equal to 0 (e.g. from a group whose returns are all equal)
            before weighting, so they do not dilute the others; ``False`` keeps every item of a group of 2+.
        weight_eps: added to the sum of weights; ``None`` (authors) uses ``eps``, 0 gives an exact weighted mean.
        episode_stats: statistics of the ``k = 0`` item: ``"step"`` (authors: every step row of the task group) or
            ``"trajectory"`` (paper Eq. 3 of GiGPO: each trajectory once).
    """
    return hgpo_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, history_length=history_length, norm=norm,
                        length_weight_alpha=length_weight_alpha, base_group=base_group, eps=eps, unbiased=unbiased,
                        drop_zero_items=drop_zero_items, weight_eps=weight_eps,
                        episode_stats=episode_stats).advantage
