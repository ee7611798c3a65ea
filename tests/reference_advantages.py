"""A plain-Python restatement of the paper's equations: slow, loop-based and obvious, used as the tests' oracle.

It shares no code with the library: groups are dicts, returns are computed backwards per trajectory, similarity
clusters are formed by the literal greedy rule with difflib on every row.
"""
from __future__ import annotations

import math
from difflib import SequenceMatcher


def normalize(values: list[float], norm: str, eps: float) -> list[float]:
    n = len(values)
    if n == 1:
        return [0.0]
    mean = sum(values) / n
    if norm == "none":
        return [v - mean for v in values]
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return [(v - mean) / (std + eps) for v in values]


def reference_gigpo(group_ids, traj_ids, rewards, anchors, *, gamma=0.95, step_weight=1.0, norm="std",
                    similarity=None, eps=1e-6, episode_stats="trajectory"):
    n = len(rewards)
    # episode level
    total: dict = {}
    traj_group: dict = {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] = total.get(t, 0.0) + r
        traj_group[t] = g
    a_e = [0.0] * n
    for g in set(group_ids):
        if episode_stats == "trajectory":
            trajs = [t for t in total if traj_group[t] == g]
            normed = dict(zip(trajs, normalize([total[t] for t in trajs], norm, eps)))
            for i in range(n):
                if group_ids[i] == g:
                    a_e[i] = normed[traj_ids[i]]
        else:
            rows = [i for i in range(n) if group_ids[i] == g]
            for i, v in zip(rows, normalize([total[traj_ids[i]] for i in rows], norm, eps)):
                a_e[i] = v
    # discounted returns, backwards through each trajectory's rows
    ret = [0.0] * n
    for t in total:
        rows = [i for i in range(n) if traj_ids[i] == t]
        acc = 0.0
        for i in reversed(rows):
            acc = rewards[i] + gamma * acc
            ret[i] = acc
    # step groups
    label = [None] * n
    if similarity is None:
        for i in range(n):
            label[i] = (group_ids[i], anchors[i])
    else:
        clusters: dict = {}  # group -> list of (head text, cluster id)
        next_id = 0
        for i in range(n):
            heads = clusters.setdefault(group_ids[i], [])
            for head, cid in heads:
                if SequenceMatcher(None, anchors[i], head).ratio() >= similarity:
                    label[i] = cid
                    break
            else:
                label[i] = next_id
                heads.append((anchors[i], next_id))
                next_id += 1
    a_s = [0.0] * n
    for lab in set(label):
        rows = [i for i in range(n) if label[i] == lab]
        for i, v in zip(rows, normalize([ret[i] for i in rows], norm, eps)):
            a_s[i] = v
    return {"A": [e + step_weight * s for e, s in zip(a_e, a_s)], "A_E": a_e, "A_S": a_s, "R_t": ret, "label": label}


def reference_rloo(group_ids, traj_ids, rewards):
    total: dict = {}
    traj_group: dict = {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] = total.get(t, 0.0) + r
        traj_group[t] = g
    out = []
    for g, t in zip(group_ids, traj_ids):
        others = [total[u] for u in total if traj_group[u] == g and u != t]
        out.append(total[t] - sum(others) / len(others) if others else 0.0)
    return out
