"""A tabular softmax policy over (task, anchor state) x admissible action, the credit lab's stand-in for an LLM.

Each state ``s`` (a task seed and the env's canonical anchor) owns a slice of one flat logit vector ``theta``, one
logit per admissible action, created the first time the state is seen::

    pi(a | s) = exp(theta[s, a]) / sum_b exp(theta[s, b]),      theta[s, a] = beta * 1[a = expert(s)] at creation

``beta`` is the expert prior (a logit bonus on the env's ``expert_action``; 0: uniform, learning from scratch).
Sampling and the update work on padded ``(rows, max actions)`` matrices, so a whole lock-step or a whole batch is
a handful of array operations; the only per-row Python is the dictionary lookup of a state's key.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import torch


class TabularPolicy:
    """Softmax table keyed by ``(task, anchor)``.

    Args:
        beta: logit bonus on the expert action of each new state (the prior); 0 is the uniform policy.
    """

    def __init__(self, beta: float = 0.0):
        self.beta = float(beta)
        self.actions: list[tuple[str, ...]] = []  # admissible actions of each state, in the env's order
        self._index: dict[Hashable, int] = {}
        self._offset = np.zeros(1024, dtype=np.int64)  # start of each state's slice in theta
        self._count = np.zeros(1024, dtype=np.int64)  # number of admissible actions
        self._expert = np.zeros(1024, dtype=np.int64)  # expert action's position, -1 where the env gives none
        self._theta = np.zeros(4096, dtype=np.float64)
        self._size = 0  # used length of theta

    # -- the table -------------------------------------------------------------------------------------------------
    @property
    def num_states(self) -> int:
        return len(self.actions)

    @property
    def theta(self) -> np.ndarray:
        """The used part of the flat logit vector (a view)."""
        return self._theta[:self._size]

    def state_ids(self, keys: Sequence[Hashable], infos: Sequence[dict[str, Any]]) -> np.ndarray:
        """Index of each ``(task, anchor)`` key, adding unseen states with their admissible and expert actions."""
        out = np.empty(len(keys), dtype=np.int64)
        index = self._index
        for r, key in enumerate(keys):
            s = index.get(key)
            if s is None:
                s = self._add(key, infos[r])
            out[r] = s
        return out

    def _add(self, key: Hashable, info: dict[str, Any]) -> int:
        actions = tuple(info["admissible_actions"])
        if not actions:
            raise ValueError(f"state {key!r} has no admissible actions; the lab needs at least one per live state")
        expert = info.get("expert_action")
        if expert is not None and expert not in actions:
            raise ValueError(f"state {key!r}: expert_action {expert!r} is not among its admissible actions")
        s, n = len(self.actions), len(actions)
        if s == len(self._offset):  # grow the per-state arrays by doubling (amortised O(1) per state)
            for name in ("_offset", "_count", "_expert"):
                setattr(self, name, np.concatenate([getattr(self, name), np.zeros_like(getattr(self, name))]))
        if self._size + n > len(self._theta):
            self._theta = np.concatenate([self._theta, np.zeros(max(len(self._theta), n))])
        self._offset[s], self._count[s] = self._size, n
        self._expert[s] = -1 if expert is None else actions.index(expert)
        if expert is not None:
            self._theta[self._size + self._expert[s]] = self.beta
        self._size += n
        self.actions.append(actions)
        self._index[key] = s
        return s

    def set_prior(self, beta: float) -> None:
        """Reset every logit to the prior ``beta * 1[a = expert]`` (the calibration probes reuse one table)."""
        self.beta = float(beta)
        self._theta[:] = 0.0
        s = np.flatnonzero(self._expert[:self.num_states] >= 0)
        self._theta[self._offset[s] + self._expert[s]] = self.beta

    def expert_index(self, state_ids: np.ndarray) -> np.ndarray:
        """Position of the expert action in each state's action list, -1 where the env gave none."""
        return self._expert[state_ids]

    # -- distributions ---------------------------------------------------------------------------------------------
    def padded(self, state_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(flat index into theta, mask)`` of shape ``(rows, max actions)``; padding points at the row's first
        logit and is masked out."""
        count = self._count[state_ids]
        width = int(count.max()) if len(state_ids) else 1
        cols = np.arange(width)
        mask = cols[None, :] < count[:, None]
        idx = np.where(mask, self._offset[state_ids][:, None] + cols[None, :], self._offset[state_ids][:, None])
        return idx, mask

    def probs(self, state_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(pi, flat index, mask)``: the softmax over each row's admissible actions, zero on padding."""
        idx, mask = self.padded(state_ids)
        logits = np.where(mask, self._theta[idx], -np.inf)
        logits = logits - logits.max(axis=1, keepdims=True)  # stable softmax
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        return p, idx, mask

    def sample(self, state_ids: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """Action positions drawn by inverting each row's CDF at ``uniforms`` (one U(0,1) per row)."""
        p, _, _ = self.probs(state_ids)
        cdf = np.cumsum(p, axis=1)
        a = (cdf < uniforms[:, None] * cdf[:, -1:]).sum(axis=1)
        return np.minimum(a, self._count[state_ids] - 1)  # float round-off can never pick padding

    # -- learning --------------------------------------------------------------------------------------------------
    def update(self, state_ids: np.ndarray, action_ids: np.ndarray, advantages: torch.Tensor | np.ndarray,
               lr: float) -> None:
        """One on-policy policy-gradient step on the sum over rows of ``A_r log pi(a_r | s_r)`` (REINFORCE with the
        estimator's advantage in place of the return; the PPO ratio is 1 on fresh on-policy data).

        For a softmax the gradient in closed form is ``d log pi(a|s) / d theta[s, b] = 1[b = a] - pi(b|s)``, so::

            theta[s, b] += lr * sum_{r: s_r = s} A_r (1[b = a_r] - pi(b | s))

        accumulated over all rows with ``index_add_`` (rows of one state add up; no per-row loop). A sum, not a
        mean over rows: a table's states are disjoint parameters, so each visit is one SGD sample of its own
        state and the step size per visit must not shrink with the batch (a mean would divide it by ~3000).
        """
        rows = len(state_ids)
        if rows == 0:
            return
        adv = torch.as_tensor(np.asarray(advantages, dtype=np.float64))
        if adv.shape != (rows,) or len(action_ids) != rows:
            raise ValueError(f"update: {rows} state ids, {len(action_ids)} actions and advantages of shape "
                             f"{tuple(adv.shape)} must align")
        p, idx, mask = self.probs(state_ids)
        grad = -adv[:, None] * torch.from_numpy(p)  # -A_r pi(b|s_r)
        grad[torch.arange(rows), torch.from_numpy(np.asarray(action_ids))] += adv  # + A_r 1[b = a_r]
        m = torch.from_numpy(mask)
        theta = torch.from_numpy(self._theta)  # shares memory: the update lands in the table
        theta.index_add_(0, torch.from_numpy(idx)[m], grad[m], alpha=float(lr))
