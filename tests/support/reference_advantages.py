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


def _returns_and_rows(traj_ids, rewards, gamma):
    """Discounted return of every row, and each trajectory's rows in time order."""
    rows_of: dict = {}
    for i, t in enumerate(traj_ids):
        rows_of.setdefault(t, []).append(i)
    ret = [0.0] * len(rewards)
    for rows in rows_of.values():
        acc = 0.0
        for i in reversed(rows):
            acc = rewards[i] + gamma * acc
            ret[i] = acc
    return ret, rows_of


def reference_hgpo(group_ids, traj_ids, rewards, anchors, *, gamma=0.95, history_length=2, norm="std",
                   length_weight_alpha=1.0, base_group=False, eps=1e-6, unbiased=False, drop_zero_items=True,
                   weight_eps=None, episode_stats="step"):
    """HGPO restated: a dict of groups keyed by (task, k, last k anchors); items weighted by (k+1)^alpha."""
    n = len(rewards)
    ret, rows_of = _returns_and_rows(traj_ids, rewards, gamma)
    groups: dict = {}
    for rows in rows_of.values():
        for t, i in enumerate(rows):
            for k in range(1, min(history_length + 1, t + 1) + 1):
                history = tuple(anchors[j] for j in rows[t - k + 1: t + 1])
                groups.setdefault((group_ids[i], k, history), []).append(i)
    items: list[list] = [[] for _ in range(n)]
    for (_, k, _), rows in groups.items():
        if len(rows) < 2:
            continue
        vals = [ret[i] for i in rows]
        if max(vals) == min(vals):
            advs = [0.0] * len(vals)
        else:
            mean = sum(vals) / len(vals)
            advs = [v - mean for v in vals]
            if norm == "std":
                std = math.sqrt(sum(a * a for a in advs) / (len(vals) - (1 if unbiased else 0)))
                advs = [a / (std + eps) for a in advs]
        for i, a in zip(rows, advs):
            items[i].append((k, a))
    if base_group:
        a_e = reference_gigpo(group_ids, traj_ids, rewards, anchors, norm=norm, eps=eps,
                              episode_stats=episode_stats)["A_E"]
        for i in range(n):
            items[i].insert(0, (0, a_e[i]))
    w_eps = eps if weight_eps is None else weight_eps
    out = []
    for row_items in items:
        kept = [(k, a) for k, a in row_items if a != 0 or not drop_zero_items]
        weights = [(k + 1) ** length_weight_alpha for k, _ in kept]
        total = sum(weights)
        out.append(sum(w * a for w, (_, a) in zip(weights, kept)) / (total + w_eps) if total > 0 else 0.0)
    return out


def reference_graphgpo(group_ids, traj_ids, rewards, anchors, *, gamma=0.1, step_weight=1.0, episode_weight=1.0,
                       norm="std", eps=1e-6, episode_stats="step", progress="absolute", success_reward=10.0):
    """GraphGPO restated: per task group a dict graph, breadth-first search back from success, returns c*gamma^d."""
    n = len(rewards)
    _, rows_of = _returns_and_rows(traj_ids, rewards, 1.0)
    won = {t: sum(rewards[i] for i in rows) > 0 for t, rows in rows_of.items()}
    succ, end = ("<success>",), ("<end>",)
    nxt = [None] * n
    for t, rows in rows_of.items():
        for j, i in enumerate(rows):
            nxt[i] = anchors[rows[j + 1]] if j + 1 < len(rows) else (succ if won[t] else end)
    dist: dict = {}
    for g in set(group_ids):
        rows = [i for i in range(n) if group_ids[i] == g]
        into: dict = {}
        nodes = {succ}
        for i in rows:
            into.setdefault(nxt[i], set()).add(anchors[i])
            nodes |= {anchors[i], nxt[i]}
        d = {succ: 0}
        frontier = [succ]
        while frontier:
            new = []
            for v in frontier:
                for u in into.get(v, ()):
                    if u not in d:
                        d[u] = d[v] + 1
                        new.append(u)
            frontier = new
        far = max(d.values())
        for node in nodes:
            dist[(g, node)] = d.get(node, far + 1)
    ret = []
    for i in range(n):
        d_next, d_here = dist[(group_ids[i], nxt[i])], dist[(group_ids[i], anchors[i])]
        ret.append(success_reward * gamma ** (d_next if progress == "absolute" else d_next - d_here + 1))
    a_s = [0.0] * n
    for key in {(g, a) for g, a in zip(group_ids, anchors)}:
        rows = [i for i in range(n) if (group_ids[i], anchors[i]) == key]
        for i, v in zip(rows, normalize([ret[i] for i in rows], norm, eps)):
            a_s[i] = v
    a_e = reference_gigpo(group_ids, traj_ids, rewards, anchors, norm=norm, eps=eps, episode_stats=episode_stats)["A_E"]
    return {"A": [step_weight * s + episode_weight * e for s, e in zip(a_s, a_e)], "A_S": a_s, "A_E": a_e, "R": ret,
            "d_next": [dist[(g, x)] for g, x in zip(group_ids, nxt)]}
