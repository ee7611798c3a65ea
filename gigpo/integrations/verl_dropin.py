"""verl-agent's GiGPO functions, same signatures and numbers, computed by this package's vectorized estimators.

verl-agent (``gigpo/core_gigpo.py``, upstream commit 796ed31) computes GiGPO with Python loops over rows and, for
the returns, a quadratic search per row. The two public functions here take the same arguments and return the same
values (to float32 rounding), so a verl-agent trainer swaps one import (see :mod:`gigpo.integrations.verl`).

The authors' semantics, rule by rule (each is tested against a plain-Python restatement of their file):

- Episode level (paper Eq. 3, as their ``episode_norm_reward``): a row's score is ``token_level_rewards.sum(-1)``;
  the statistics of a task group (``index``) pool *every row* of the group, so long trajectories weigh more
  (``traj_index`` is accepted but does not change the result, as in theirs). A task group with one row keeps its
  raw score (their mean 0, std 1, so ``x`` in ``mean_norm`` and ``x / (1 + epsilon)`` in ``mean_std_norm``).
- Step level (Eq. 6-7, their ``build_step_group`` / ``step_norm_reward``): rows of one task group with equal anchors
  (their ``to_hashable``: arrays and lists compare by value) or, with ``enable_similarity``, difflib-similar text
  anchors form a step group; ``step_rewards`` (in their pipeline the discounted returns of
  :func:`compute_step_discounted_returns`) are normalized inside it; a step group of one gets 0.
- ``mode="mean_norm"`` only subtracts the group mean; ``"mean_std_norm"`` divides by the unbiased (n-1) std plus
  ``epsilon``.
- ``A = A_E + step_advantage_w * A_S`` (Eq. 8), broadcast over the response tokens and multiplied by
  ``response_mask``; the same tensor is returned as advantages and returns, as theirs.

One deliberate difference: statistics are computed in float64. In a group whose values are all equal, the authors'
float32 ``torch.mean`` can miss the common value by one ulp while their ``torch.std`` is exactly 0, so in
``mean_std_norm`` they return ``ulp / epsilon`` (up to ~0.7) instead of 0; here such a group gets exactly 0.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gigpo.estimators.anchor_groups import exact_step_groups, similarity_step_groups
from gigpo.estimators.batch import check_eps, check_finite, check_gamma
from gigpo.estimators.grouping import factorize, group_normalize
from gigpo.estimators.returns import discounted_returns

MODES = {"mean_norm": "none", "mean_std_norm": "std"}  # their mode -> this package's ``norm``


def _rows(values: Any, name: str) -> int:
    if isinstance(values, (torch.Tensor, np.ndarray)):
        return int(values.shape[0]) if values.ndim else -1
    try:
        return len(values)
    except TypeError:
        raise ValueError(f"{name} must hold one entry per row, got {type(values).__name__}") from None


def _to_hashable(x: Any) -> Any:
    """Their ``to_hashable``: arrays, lists and dicts become tuples that compare by value."""
    if isinstance(x, np.ndarray):
        return tuple(x.flatten().tolist())
    if isinstance(x, (list, tuple)):
        return tuple(_to_hashable(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _to_hashable(v)) for k, v in x.items()))
    if isinstance(x, np.generic):
        return x.item()
    return x


def anchor_codes(anchor_obs: Any) -> torch.Tensor:
    """One int64 code per row, equal exactly where the authors' ``to_hashable(obs)`` keys are equal.

    Texts and other hashables go through one dict pass; a numeric array of images or grids (rows x ...) is compared
    row by row with ``torch.unique(dim=0)``; unhashable objects (arrays, lists, dicts inside an object array) are
    first turned into tuples, as theirs.
    """
    if isinstance(anchor_obs, (np.ndarray, torch.Tensor)) and anchor_obs.ndim > 1:
        if isinstance(anchor_obs, np.ndarray) and anchor_obs.dtype.kind not in "biuf":
            anchor_obs = list(anchor_obs)  # object grid: per-row tuples below
        else:
            flat = torch.as_tensor(anchor_obs).reshape(anchor_obs.shape[0], -1)
            return torch.unique(flat, dim=0, return_inverse=True)[1].to(torch.int64)
    values = anchor_obs.tolist() if isinstance(anchor_obs, np.ndarray) and anchor_obs.dtype.kind != "O" \
        else list(anchor_obs)
    try:
        return factorize(values, "anchor_obs")[0]
    except ValueError:  # unhashable entries: hash their value, as the authors' to_hashable does
        return factorize([_to_hashable(v) for v in values], "anchor_obs")[0]


def _check_mask(token_level_rewards: torch.Tensor, response_mask: torch.Tensor) -> None:
    if not isinstance(token_level_rewards, torch.Tensor) or token_level_rewards.dim() != 2:
        raise ValueError("token_level_rewards must be a (rows, response_length) tensor")
    if not isinstance(response_mask, torch.Tensor) or response_mask.shape != token_level_rewards.shape:
        got = tuple(response_mask.shape) if isinstance(response_mask, torch.Tensor) else type(response_mask).__name__
        raise ValueError(f"response_mask must be a tensor of shape {tuple(token_level_rewards.shape)}, got {got}")


def episode_advantage_per_row(scores: torch.Tensor, group_idx: torch.Tensor, num_groups: int, *, norm: str,
                              epsilon: float) -> torch.Tensor:
    """A_E per row with every row of the task group counted (their ``episode_norm_reward``), float64.

    :func:`group_normalize` gives a group of one 0; the authors give it mean 0 and std 1 instead, i.e. the raw score
    (divided by ``1 + epsilon`` when dividing by the std).
    """
    x = scores.to(torch.float64)
    adv = group_normalize(x, group_idx, num_groups, norm=norm, eps=epsilon)
    alone = torch.bincount(group_idx, minlength=num_groups)[group_idx] == 1
    raw = x / (1.0 + epsilon) if norm == "std" else x
    return torch.where(alone, raw, adv)


def compute_gigpo_outcome_advantage(token_level_rewards: torch.Tensor, step_rewards: torch.Tensor,
                                    response_mask: torch.Tensor, anchor_obs: np.ndarray, index: np.ndarray,
                                    traj_index: np.ndarray, epsilon: float = 1e-6, step_advantage_w: float = 1.0,
                                    mode: str = "mean_norm", enable_similarity: bool = False,
                                    similarity_thresh: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """GiGPO advantages for verl-agent's step batch; the signature and return of their function (paper Eq. 3, 6-8).

    Args:
        token_level_rewards: (rows, response_length); its row sum is the row's episode-level score.
        step_rewards: (rows,) the step-level values compared inside a step group (verl-agent: discounted returns).
        response_mask: (rows, response_length) multiplies the broadcast advantage.
        anchor_obs: (rows,) anchor state per row: texts, hashables, arrays (compared by value), or a numeric array
            of shape (rows, ...) compared row by row.
        index: (rows,) task-group id (verl's ``uid``), any hashable (str uuids included).
        traj_index: (rows,) rollout id; checked for length only (the authors' default pools rows across steps).
        epsilon: added to the std in ``mean_std_norm``.
        step_advantage_w: weight of the step-level advantage (Eq. 8).
        mode: ``"mean_norm"`` (subtract the group mean) or ``"mean_std_norm"`` (also divide by std + epsilon).
        enable_similarity: group text anchors by difflib ratio >= ``similarity_thresh`` instead of equality.
        similarity_thresh: in (0, 1), used only with ``enable_similarity``.

    Returns:
        ``(advantages, returns)``: the same (rows, response_length) tensor twice, as the authors'; dtype that of the
        rewards, on their device.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown mode: {mode!r}; expected 'mean_norm' or 'mean_std_norm'")
    norm = MODES[mode]
    check_eps(epsilon)
    check_finite(step_advantage_w, "step_advantage_w")
    if enable_similarity and not (isinstance(similarity_thresh, (int, float)) and 0.0 < similarity_thresh < 1.0):
        raise ValueError(f"with enable_similarity, similarity_thresh must be in (0, 1), got {similarity_thresh!r}")
    _check_mask(token_level_rewards, response_mask)
    n = token_level_rewards.shape[0]
    if not isinstance(step_rewards, torch.Tensor) or step_rewards.shape != (n,):
        got = tuple(step_rewards.shape) if isinstance(step_rewards, torch.Tensor) else type(step_rewards).__name__
        raise ValueError(f"step_rewards must be a tensor of shape ({n},), got {got}")
    for name, values in (("anchor_obs", anchor_obs), ("index", index), ("traj_index", traj_index)):
        if _rows(values, name) != n:
            raise ValueError(f"{name} has {_rows(values, name)} rows but token_level_rewards has {n}")

    group_idx, num_groups = factorize(index, "index")
    with torch.no_grad():
        scores = token_level_rewards.detach().sum(dim=-1).cpu()
        a_e = episode_advantage_per_row(scores, group_idx, num_groups, norm=norm, epsilon=epsilon)
        if enable_similarity:
            labels, k = similarity_step_groups(group_idx, list(anchor_obs), float(similarity_thresh))
        else:
            labels, k = exact_step_groups(group_idx, anchor_codes(anchor_obs))
        a_s = group_normalize(step_rewards.detach().cpu().to(torch.float64), labels, k, norm=norm, eps=epsilon)
        dtype = torch.promote_types(token_level_rewards.dtype, step_rewards.dtype)
        per_row = (a_e + step_advantage_w * a_s).to(device=token_level_rewards.device, dtype=dtype)
        advantages = per_row.unsqueeze(-1) * response_mask
    return advantages, advantages


def compute_step_discounted_returns(batch: Any, gamma: float) -> torch.Tensor:
    """``R_t = r_t + gamma R_{t+1}`` inside each trajectory (paper Eq. 5), for verl-agent's batch object.

    Reads what the authors' function reads: ``batch.non_tensor_batch['rewards']`` (per-step env reward, taken as
    float32), ``['traj_uid']`` (rollout id; a trajectory's rows in time order, possibly interleaved with others) and
    ``['active_masks']`` (must be all true: inactive rows are dropped before this in verl-agent), and puts the float32
    result on ``batch.batch['input_ids'].device``. Vectorized (:func:`gigpo.estimators.returns.discounted_returns`)
    instead of their per-row search, which is quadratic in the batch.
    """
    nt = getattr(batch, "non_tensor_batch", None)
    returns = step_returns_from_fields(nt, gamma)
    return returns.to(device=batch.batch["input_ids"].device)


def step_returns_from_fields(non_tensor_batch: Any, gamma: float) -> torch.Tensor:
    """:func:`compute_step_discounted_returns` on the non-tensor fields alone; a float32 CPU tensor."""
    check_gamma(gamma)
    nt = non_tensor_batch
    if nt is None or any(key not in nt for key in ("rewards", "traj_uid", "active_masks")):
        raise ValueError("non_tensor_batch must hold 'rewards', 'traj_uid' and 'active_masks'")
    rewards = np.asarray(nt["rewards"]).astype(np.float32)
    if rewards.ndim != 1:
        raise ValueError(f"non_tensor_batch['rewards'] must be 1-D, got shape {rewards.shape}")
    if not np.asarray(nt["active_masks"]).astype(np.float32).all():
        raise ValueError("active_masks should be all 1s: drop inactive rows before computing returns")
    traj_idx, num_traj = factorize(nt["traj_uid"], "traj_uid")
    if traj_idx.numel() != rewards.shape[0]:
        raise ValueError(f"traj_uid has {traj_idx.numel()} rows but rewards has {rewards.shape[0]}")
    # their rewards pass through float32 first; the recurrence itself runs in float64 here
    returns = discounted_returns(traj_idx, num_traj, torch.from_numpy(rewards).to(torch.float64), float(gamma))
    return returns.to(torch.float32)
