"""The state-transition graph of a task group's rollouts, and every state's distance to success (GraphGPO).

Each step row is an edge ``anchor -> next state`` of its task group's graph. A trajectory that succeeded ends in one
shared node, *success*; a failed one ends wherever its last step led (an *end* node when that is unknown). The
distance of a state is the number of steps of the shortest path from it to success over all edges that any rollout of
the group took (all edges weigh 1, as in the authors' code). Following the authors (``all_to_target_shortest_paths``
in ``recipe/GraphGPO/core_graph.py``), a state from which success cannot be reached gets ``d_max + 1``, with
``d_max`` the largest finite distance in its group (0 when no rollout of the group succeeded, so every state then
gets 1).

Vectorized: all groups share one node numbering ``(group, state)``; distances are found by relaxing every edge at
once, ``d[u] = min(d[u], d[v] + 1)`` with ``scatter_reduce``, until nothing changes (as many passes as the longest
shortest path, plus one). No per-row or per-node Python loop.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch

from gigpo.estimators.batch import FlatBatch
from gigpo.estimators.grouping import factorize
from gigpo.estimators.trajectory_layout import next_row, trajectory_layout


@dataclass(frozen=True)
class Transitions:
    """Per row: the state codes of the step's anchor and of where it led, in one numbering per batch."""

    state: torch.Tensor  # anchor state code, 0..num_states-1
    next_state: torch.Tensor  # next state code; ``success_code`` or ``end_code`` at a trajectory's last step
    num_states: int

    @property
    def success_code(self) -> int:
        return self.num_states

    @property
    def end_code(self) -> int:  # where a failed trajectory's last step led, when no next state was given
        return self.num_states + 1


def transitions(b: FlatBatch, anchors: torch.Tensor | Sequence[Hashable], success: torch.Tensor,
                next_anchors: torch.Tensor | Sequence[Hashable] | None = None) -> Transitions:
    """Edges of the state graph, one per row.

    Without ``next_anchors`` the next state of a step is the anchor of the next row of its trajectory (so the batch
    must hold whole trajectories in time order); at a trajectory's last step it is success when the trajectory
    succeeded, else an end node with no way out. With ``next_anchors`` (one per row, same kind as ``anchors``) those
    are used as given, except that the last step of a successful trajectory leads to success, as the authors' rollout
    loop writes ``next_obs = 'success'`` there. ``success`` is one bool per trajectory.
    """
    n = b.num_rows
    if next_anchors is None:
        state, num_states = factorize(anchors, "anchors")
        layout = trajectory_layout(b.traj_idx, b.num_traj)
        after = next_row(layout)
        last = after < 0
        nxt = state[after.clamp_min(0)]
    else:
        num_next = next_anchors.shape[0] if isinstance(next_anchors, torch.Tensor) else len(next_anchors)
        if num_next != n:
            raise ValueError(f"next_anchors has {num_next} rows but rewards has {n}")
        both = _concat(anchors, next_anchors)
        codes, num_states = factorize(both, "anchors and next_anchors")
        state, nxt = codes[:n], codes[n:]
        layout = trajectory_layout(b.traj_idx, b.num_traj)
        last = layout.position + 1 == layout.length
    won = success[b.traj_idx]
    nxt = torch.where(last & won, torch.full_like(nxt, num_states), nxt)
    if next_anchors is None:
        nxt = torch.where(last & ~won, torch.full_like(nxt, num_states + 1), nxt)
    return Transitions(state, nxt, num_states)


def _concat(anchors, next_anchors):
    if isinstance(anchors, torch.Tensor) and isinstance(next_anchors, torch.Tensor):
        if anchors.dim() != 1 or next_anchors.dim() != 1:
            raise ValueError("anchors and next_anchors must be 1-D")
        return torch.cat([anchors, next_anchors])

    def as_list(x):
        return x.tolist() if isinstance(x, torch.Tensor) else list(x)

    return as_list(anchors) + as_list(next_anchors)


def distances_to_success(b: FlatBatch, tr: Transitions) -> tuple[torch.Tensor, torch.Tensor]:
    """``(d(anchor), d(next state))`` per row, float64, with unreachable states at ``d_max + 1`` of their group."""
    width = tr.num_states + 2
    u_key = b.group_idx * width + tr.state
    v_key = b.group_idx * width + tr.next_state
    success_key = torch.arange(b.num_groups) * width + tr.success_code
    nodes, inverse = torch.unique(torch.cat([u_key, v_key, success_key]), return_inverse=True)
    n, m = b.num_rows, nodes.numel()
    u, v, target = inverse[:n], inverse[n:2 * n], inverse[2 * n:]
    edges = torch.unique(u * m + v)  # repeated transitions relax the same edge: keep one
    eu, ev = edges // m, edges % m
    node_group = nodes // width

    dist = torch.full((m,), torch.inf, dtype=torch.float64)
    dist[target] = 0.0
    while True:  # Bellman-Ford with unit weights: pass p settles every node p steps from success
        relaxed = dist.scatter_reduce(0, eu, dist[ev] + 1.0, reduce="amin")
        if torch.equal(relaxed, dist):
            break
        dist = relaxed
    finite = torch.isfinite(dist)
    far = torch.zeros(b.num_groups, dtype=torch.float64).scatter_reduce_(
        0, node_group[finite], dist[finite], reduce="amax")
    dist = torch.where(finite, dist, far[node_group] + 1.0)
    return dist[u], dist[v]
