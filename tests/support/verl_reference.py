"""The authors' GiGPO semantics restated in plain Python (loops, dicts, difflib, float64), independent of the package,
and random verl-agent-shaped step batches: the oracle of tests/test_integration_verl*.py.

Restated from verl-agent ``gigpo/core_gigpo.py`` (upstream 796ed31): ``episode_norm_reward``, ``build_step_group``,
``step_norm_reward``, ``compute_step_discounted_returns``.
"""
from __future__ import annotations

import math
import uuid
from collections import defaultdict
from difflib import SequenceMatcher

import numpy as np
import torch


# --- the authors' semantics restated (verl-agent gigpo/core_gigpo.py), loops and dicts, float64 -----------------
def ref_hashable(x):
    if isinstance(x, np.ndarray):
        return tuple(x.flatten().tolist())
    if isinstance(x, (list, tuple)):
        return tuple(ref_hashable(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((k, ref_hashable(v)) for k, v in x.items()))
    return x


def ref_normalize(values: list[float], keys: list, eps: float, divide: bool, alone) -> list[float]:
    """Per row: (x - mean) [/ (unbiased std + eps)] over the rows sharing its key; ``alone(x)`` for a key of one."""
    members = defaultdict(list)
    for x, k in zip(values, keys):
        members[k].append(x)
    out = []
    for x, k in zip(values, keys):
        xs = members[k]
        if len(xs) == 1:
            out.append(alone(x))
            continue
        mean = sum(xs) / len(xs)
        std = math.sqrt(sum((v - mean) ** 2 for v in xs) / (len(xs) - 1))
        out.append((x - mean) / (std + eps) if divide else x - mean)
    return out


def ref_step_groups(anchors, index, similarity: bool, thresh: float) -> list:
    if not similarity:
        return [(g, ref_hashable(a)) for g, a in zip(index, anchors)]
    label, heads = [None] * len(index), defaultdict(list)  # per task group: [(head text, cluster id)]
    for i, (g, a) in enumerate(zip(index, anchors)):
        for head, cid in heads[g]:
            if SequenceMatcher(None, a, head).ratio() >= thresh:
                label[i] = cid
                break
        else:
            label[i] = (g, len(heads[g]))
            heads[g].append((a, label[i]))
    return label


def ref_gigpo(tlr, step_rewards, mask, anchors, index, eps=1e-6, w=1.0, mode="mean_norm", similarity=False,
              thresh=0.95) -> list[list[float]]:
    divide = mode == "mean_std_norm"
    scores = [sum(row) for row in tlr.tolist()]
    # episode: every row of the task group counts; a group of one keeps its score (mean 0, std 1)
    a_e = ref_normalize(scores, list(index), eps, divide, alone=lambda x: x / (1 + eps) if divide else x)
    keys = ref_step_groups(list(anchors), list(index), similarity, thresh)
    a_s = ref_normalize(step_rewards.tolist(), keys, eps, divide, alone=lambda x: 0.0)
    return [[(e + w * s) * m for m in row] for e, s, row in zip(a_e, a_s, mask.tolist())]


def ref_returns(rewards, traj, gamma) -> list[float]:
    out = [0.0] * len(rewards)
    running = {}
    for i in reversed(range(len(rewards))):  # rows of a trajectory are in time order
        running[traj[i]] = float(rewards[i]) + gamma * running.get(traj[i], 0.0)
        out[i] = running[traj[i]]
    return out


# --- random verl-agent-shaped batches ------------------------------------------------------------------------------
def random_batch(seed: int, texts_alike: bool = False):
    """Task groups of 1-4 rollouts x 1-6 steps, str uuids, interleaved rows, repeated (or near-duplicate) anchors,
    padded masks, rewards beyond the mask (the authors sum every token), ties in the step rewards."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(int(rng.integers(1, 5))):
        gid = str(uuid.UUID(int=int(rng.integers(2**62))))
        for _ in range(int(rng.integers(1, 5))):
            tid = str(uuid.UUID(int=int(rng.integers(2**62))))
            for t in range(int(rng.integers(1, 7))):
                k = int(rng.integers(0, 4))
                text = (f"you are in room {g} and see a mug, a plate and a knife on the table {k}" if texts_alike
                        else f"task {g} state {k}")
                rows.append((t, gid, tid, text))
    rows.sort(key=lambda r: r[0])  # step t of every rollout, then t + 1 (stable: keeps trajectory order)
    n, length = len(rows), 5
    lens = torch.from_numpy(rng.integers(1, length + 1, size=n))
    mask = (torch.arange(length)[None, :] < lens[:, None]).long()
    tlr = torch.from_numpy(rng.choice([0.0, 0.0, 1.0, 10.0, -0.1], size=(n, length))).float()
    step = torch.from_numpy(rng.choice([0.0, 0.9025, 9.5, 10.0, 3.3], size=n)).float()
    def obj(xs):
        return np.array(xs, dtype=object)

    return (tlr, step, mask, obj([r[3] for r in rows]), obj([r[1] for r in rows]), obj([r[2] for r in rows]),
            rng.choice([0.0, 1.0, 10.0], size=n).astype(np.float32))


class Batch:
    def __init__(self, batch, non_tensor_batch):
        self.batch, self.non_tensor_batch = batch, non_tensor_batch


def verl_agent_batch(seed: int, with_step_rewards: bool) -> Batch:
    tlr, step, mask, anchors, index, traj, rewards = random_batch(seed)
    tensors = {"token_level_rewards": tlr, "response_mask": mask, "input_ids": torch.zeros(len(traj), 2)}
    if with_step_rewards:
        tensors["step_rewards"] = step
    return Batch(tensors, {"uid": index, "traj_uid": traj, "anchor_obs": anchors, "rewards": rewards,
                           "active_masks": np.ones(len(traj), dtype=bool)})
