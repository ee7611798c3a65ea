"""GraphGPO (arXiv 2605.26684): step credit from shortest-path progress on the group's state graph.

GiGPO scores a step by the discounted return that followed it in its own rollout. GraphGPO pools the N rollouts of a
task into one state-transition graph (:mod:`gigpo.estimators.state_graph`) and scores a step by how close to success
the state it led to is, over *all* paths any rollout found:

- step return (the authors' ``compute_graph_path_returns``): ``R_t = c * gamma^d(s_{t+1})`` with ``d`` the graph
  distance to success (``progress="absolute"``, their default), or ``R_t = c * gamma^(d(s_{t+1}) - d(s_t) + 1)``
  (``progress="delta"``, their ``normalize_distance=True``: 1 step closer scores ``c``, no progress ``c * gamma``);
  ``c = success_reward`` (their 10);
- step advantage: ``R_t`` normalised within GiGPO's anchor step groups (same state, same task group), with the n-1
  std + eps and 0 for a group of one, as GiGPO's ``step_norm_reward``;
- ``A = step_weight * A_S + episode_weight * A_E`` with GiGPO's episode advantage (Eq. 3).

What it needs that GiGPO does not: the *next state* of every step and which trajectories *succeeded* (the success
node). Both are derived here when the batch holds whole trajectories: the next state is the anchor of the next row
of the same trajectory, and a trajectory succeeded when its return is > 0 (the authors' ``episode_rewards > 0``).
Otherwise pass ``next_anchors`` (the state each step led to) and/or ``success`` (one bool per row). A failed
trajectory's last step leads, when ``next_anchors`` is not given, to an end node that cannot reach success, where the
authors have the environment's final observation (which other rollouts may have visited): the derived graph can only
lack such edges.

A group where no rollout succeeded has no path to success: every state is at distance 1, all returns are equal and
the step advantage is 0 (no progress credit), leaving the episode advantage.

Authors' choices kept as defaults, each an option (``docs/advantages.md``): ``gamma=0.1`` (their GraphGPO config),
``success_reward=10``, ``progress="absolute"``, ``episode_stats="step"``, both weights 1. Left out: their optional
similarity merging of text states (``enable_similarity``) and the golden-state reward shaping
(``compute_graph_step_discounted_returns``), which their trainer does not call.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gigpo.estimators.anchor_groups import exact_step_groups
from gigpo.estimators.batch import (
    EPISODE_STATS,
    NORMS,
    FlatBatch,
    check_anchor_rows,
    check_choice,
    check_eps,
    check_finite,
    check_gamma,
    episode_returns,
    prepare_batch,
)
from gigpo.estimators.grouping import Keys, group_normalize
from gigpo.estimators.grpo import episode_advantage
from gigpo.estimators.state_graph import distances_to_success, transitions

PROGRESS = ("absolute", "delta")


@dataclass(frozen=True)
class GraphGPODetails:
    """Every intermediate quantity of GraphGPO, one entry per row unless noted."""

    advantage: torch.Tensor  # A = step_weight * A_S + episode_weight * A_E (float32)
    episode_adv: torch.Tensor  # A_E (GiGPO Eq. 3)
    step_adv: torch.Tensor  # A_S: the graph return normalised in the anchor step group
    step_returns: torch.Tensor  # R_t = c * gamma^(...) from the graph distances
    distance: torch.Tensor  # d(s_t): the anchor's distance to success
    next_distance: torch.Tensor  # d(s_{t+1}): where the step led
    success: torch.Tensor  # bool: the row's trajectory succeeded
    step_group: torch.Tensor  # GiGPO's step-group label (first appearance)
    step_group_size: torch.Tensor
    group_index: torch.Tensor
    traj_index: torch.Tensor
    num_groups: int
    num_trajectories: int
    num_step_groups: int


def trajectory_success(b: FlatBatch, success) -> torch.Tensor:
    """One bool per trajectory: given per row (must agree within a trajectory), else episode return > 0."""
    if success is None:
        return episode_returns(b) > 0
    s = success if isinstance(success, torch.Tensor) else torch.as_tensor(np.asarray(success))
    if s.dim() != 1 or s.numel() != b.num_rows:
        raise ValueError(f"success must be 1-D with one bool per row ({b.num_rows}), got shape {tuple(s.shape)}")
    if s.dtype != torch.bool:
        raise ValueError(f"success must hold bools, got {s.dtype}")
    s = s.to(torch.int64)
    lo = torch.full((b.num_traj,), 1, dtype=torch.int64).scatter_reduce_(0, b.traj_idx, s, "amin")
    hi = torch.zeros(b.num_traj, dtype=torch.int64).scatter_reduce_(0, b.traj_idx, s, "amax")
    if (lo != hi).any():
        raise ValueError("success differs between rows of one trajectory; it is the episode's outcome")
    return hi.bool()


def graphgpo_details(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                     gamma: float = 0.1, step_weight: float = 1.0, episode_weight: float = 1.0, norm: str = "std",
                     eps: float = 1e-6, episode_stats: str = "step", progress: str = "absolute",
                     success_reward: float = 10.0, next_anchors=None, success=None) -> GraphGPODetails:
    """GraphGPO advantages with every intermediate quantity (see :func:`graphgpo_advantages` for the arguments)."""
    check_choice(norm, NORMS, "norm")
    check_choice(episode_stats, EPISODE_STATS, "episode_stats")
    check_choice(progress, PROGRESS, "progress")
    check_eps(eps)
    check_gamma(gamma)
    if progress == "delta" and gamma == 0:
        raise ValueError("gamma must be > 0 with progress='delta' (a step that gets closer scores gamma^(<=0))")
    for name, value in (("step_weight", step_weight), ("episode_weight", episode_weight),
                        ("success_reward", success_reward)):
        check_finite(value, name)
    b = prepare_batch(group_ids, traj_ids, rewards)
    check_anchor_rows(anchors, b.num_rows)

    won = trajectory_success(b, success)
    tr = transitions(b, anchors, won, next_anchors)
    d_here, d_next = distances_to_success(b, tr)
    exponent = d_next if progress == "absolute" else d_next - d_here + 1.0
    step_ret = float(success_reward) * torch.pow(torch.tensor(float(gamma), dtype=torch.float64), exponent)

    labels, k = exact_step_groups(b.group_idx, tr.state)
    a_s = group_normalize(step_ret, labels, k, norm=norm, eps=eps)
    a_e = episode_advantage(b, norm=norm, eps=eps, episode_stats=episode_stats)
    return GraphGPODetails(
        advantage=(step_weight * a_s + episode_weight * a_e).float(), episode_adv=a_e.float(), step_adv=a_s.float(),
        step_returns=step_ret.float(), distance=d_here.float(), next_distance=d_next.float(), success=won[b.traj_idx],
        step_group=labels, step_group_size=torch.bincount(labels, minlength=k)[labels], group_index=b.group_idx,
        traj_index=b.traj_idx, num_groups=b.num_groups, num_trajectories=b.num_traj, num_step_groups=k,
    )


def graphgpo_advantages(group_ids: Keys, traj_ids: Keys, rewards, anchors: torch.Tensor | Sequence[Hashable], *,
                        gamma: float = 0.1, step_weight: float = 1.0, episode_weight: float = 1.0, norm: str = "std",
                        eps: float = 1e-6, episode_stats: str = "step", progress: str = "absolute",
                        success_reward: float = 10.0, next_anchors=None, success=None) -> torch.Tensor:
    """GraphGPO advantage per step row, as a float32 tensor (module docstring: the definition).

    Args:
        group_ids, traj_ids, rewards, anchors: as in :func:`gigpo.gigpo_advantages`.
        gamma: base of the graph return ``c * gamma^d``, in [0, 1] (the authors' GraphGPO config: 0.1).
        step_weight, episode_weight: weights of A_S and A_E (the authors' ``step_advantage_w``,
            ``episode_advantage_w``).
        norm: ``"std"`` (n-1 std + eps, the authors' ``mean_std_norm``) or ``"none"`` (``mean_norm``).
        eps: added to the std.
        episode_stats: A_E statistics: ``"step"`` (authors: every step row) or ``"trajectory"`` (GiGPO Eq. 3).
        progress: ``"absolute"`` scores where a step led, ``gamma^d(s_{t+1})``; ``"delta"`` how much closer it got,
            ``gamma^(d(s_{t+1}) - d(s_t) + 1)``.
        success_reward: the scale c of the graph return (authors: 10).
        next_anchors: the state each step led to (one per row); ``None`` derives it from the next row of the same
            trajectory.
        success: one bool per row, the episode's outcome; ``None`` uses episode return > 0.
    """
    return graphgpo_details(group_ids, traj_ids, rewards, anchors, gamma=gamma, step_weight=step_weight,
                            episode_weight=episode_weight, norm=norm, eps=eps, episode_stats=episode_stats,
                            progress=progress, success_reward=success_reward, next_anchors=next_anchors,
                            success=success).advantage
