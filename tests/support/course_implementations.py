"""Implementations of the course exercises written without the library: plain-Python correct ones (also the
independent restatement the library's expected values are cross-checked against) and plausible wrong ones, each a
mistake students make. The course checks must accept the first and reject every one of the second."""
from __future__ import annotations

import math
from collections import defaultdict

import torch

from gigpo.course.bug_variants import BUGGY

EPS = 1e-6


def _sample_std(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _population_std(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def _normalize(value: float, members: list[float], eps: float, std=_sample_std) -> float:
    if len(members) < 2:
        return 0.0
    return (value - sum(members) / len(members)) / (std(members) + eps)


# --- correct, plain Python ------------------------------------------------------------------------------------------
def returns_py(traj_ids, rewards, gamma):
    out, running = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):  # backwards: each row adds its reward to the later rows' return
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def episode_py(group_ids, traj_ids, rewards, eps=EPS):
    total, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] += r
        group_of[t] = g
    members = defaultdict(list)
    for t, g in group_of.items():
        members[g].append(total[t])
    return [_normalize(total[t], members[group_of[t]], eps) for t in traj_ids]


def labels_py(group_ids, anchors):
    seen = {}
    return [seen.setdefault((g, a), len(seen)) for g, a in zip(group_ids, anchors)]


def step_py(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    ret = returns_py(traj_ids, rewards, gamma)
    members = defaultdict(list)
    for g, a, r in zip(group_ids, anchors, ret):
        members[(g, a)].append(r)
    return [_normalize(r, members[(g, a)], eps) for g, a, r in zip(group_ids, anchors, ret)]


def loss_torch(logp_new, logp_old, advantages, mask, clip=0.2):
    """Written from PPO's paper: maximise E[min(r A, clip(r) A)] over the real tokens; minimise its negative."""
    ratio = (logp_new - logp_old).exp()
    adv = advantages.unsqueeze(1)
    surrogate = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surrogate * mask).sum() / mask.sum()


def labels_numbered_by_anchor_then_group(group_ids, anchors):
    """Correct with other label values: labels need only split the rows the same way."""
    keys = sorted(set(zip(map(str, anchors), map(str, group_ids))))
    return [1000 + keys.index((str(a), str(g))) for g, a in zip(group_ids, anchors)]


def loss_per_row_weights(logp_new, logp_old, advantages, mask, clip=0.2):
    """Correct, written the other common way: PPO's objective for A>0 is min(r, 1+e) A, for A<0 max(r, 1-e) A."""
    ratio = torch.exp(logp_new - logp_old)
    adv = advantages[:, None].expand_as(ratio)
    capped = torch.where(adv >= 0, ratio.clamp(max=1 + clip), ratio.clamp(min=1 - clip))
    return -(capped * adv)[mask.bool()].mean()


CORRECT = {
    "discounted_returns": [returns_py],
    "episode_advantages": [episode_py],
    "step_group_labels": [labels_py, labels_numbered_by_anchor_then_group],
    "step_advantages": [step_py],
    "ppo_clip_loss": [loss_torch, loss_per_row_weights],
}


# --- wrong ----------------------------------------------------------------------------------------------------------
def returns_across_trajectories(traj_ids, rewards, gamma):
    """Discounts the batch as one sequence: a rollout inherits the rewards of rows recorded after it."""
    out, running = [0.0] * len(rewards), 0.0
    for i in reversed(range(len(rewards))):
        running = rewards[i] + gamma * running
        out[i] = running
    return out


def returns_contiguous_only(traj_ids, rewards, gamma):
    """Restarts the return whenever the trajectory id changes between adjacent rows: wrong once rollouts interleave."""
    out, running = [0.0] * len(rewards), 0.0
    for i in reversed(range(len(rewards))):
        if i + 1 < len(rewards) and traj_ids[i + 1] != traj_ids[i]:
            running = 0.0
        running = rewards[i] + gamma * running
        out[i] = running
    return out


def returns_discount_own_reward(traj_ids, rewards, gamma):
    """R_t = gamma (r_t + R_{t+1}): discounts the step's own reward too."""
    out, running = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):
        running[traj_ids[i]] = gamma * (rewards[i] + running.get(traj_ids[i], 0.0))
        out[i] = running[traj_ids[i]]
    return out


def returns_forward(traj_ids, rewards, gamma):
    """Accumulates from the start of the rollout (the return so far) instead of to its end."""
    out, running = [0.0] * len(rewards), {}
    for i in range(len(rewards)):
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def episode_population_std(group_ids, traj_ids, rewards, eps=EPS):
    total, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] += r
        group_of[t] = g
    members = defaultdict(list)
    for t, g in group_of.items():
        members[g].append(total[t])
    return [_normalize(total[t], members[group_of[t]], eps, std=_population_std) for t in traj_ids]


def episode_pooled_over_rows(group_ids, traj_ids, rewards, eps=EPS):
    """Statistics over step rows (a long rollout counts once per step), as the authors' code does."""
    total = defaultdict(float)
    for t, r in zip(traj_ids, rewards):
        total[t] += r
    members = defaultdict(list)
    for g, t in zip(group_ids, traj_ids):
        members[g].append(total[t])
    return [_normalize(total[t], members[g], eps) for g, t in zip(group_ids, traj_ids)]


def episode_ignores_groups(group_ids, traj_ids, rewards, eps=EPS):
    """Normalizes over every trajectory in the batch instead of within each task."""
    return episode_py(["all"] * len(group_ids), traj_ids, rewards, eps)


def episode_last_reward(group_ids, traj_ids, rewards, eps=EPS):
    """Takes the final step's reward as the episode return (right for household, wrong with step penalties)."""
    last = {t: r for t, r in zip(traj_ids, rewards)}
    spread = [0.0] * len(rewards)
    for i, t in enumerate(traj_ids):
        spread[i] = last[t] if i == max(j for j, u in enumerate(traj_ids) if u == t) else 0.0
    return episode_py(group_ids, traj_ids, spread, eps)


def episode_no_eps_no_guard(group_ids, traj_ids, rewards, eps=EPS):
    """Divides by the bare std: a group of equal returns gives 0/0 = NaN, a group of one has no std at all."""
    total, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] += r
        group_of[t] = g
    members = defaultdict(list)
    for t, g in group_of.items():
        members[g].append(total[t])
    out = []
    for t in traj_ids:
        xs = members[group_of[t]]
        m = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - m) ** 2 for x in xs) / max(len(xs) - 1, 1))
        out.append((total[t] - m) / sd if sd else float("nan"))
    return out


def labels_ignore_groups(group_ids, anchors):
    seen = {}
    return [seen.setdefault(a, len(seen)) for a in anchors]


def labels_consecutive_runs(group_ids, anchors):
    """A new label whenever (group, anchor) changes from the previous row: a revisit gets a fresh group."""
    out, label = [], -1
    for i, key in enumerate(zip(group_ids, anchors)):
        if i == 0 or key != (group_ids[i - 1], anchors[i - 1]):
            label += 1
        out.append(label)
    return out


def labels_additive_key(group_ids, anchors):
    """Numbers groups and anchors separately and adds the codes: (group 0, anchor 1) collides with (1, 0)."""
    g_code = {g: i for i, g in enumerate(dict.fromkeys(group_ids))}
    a_code = {a: i for i, a in enumerate(dict.fromkeys(anchors))}
    return [g_code[g] + a_code[a] for g, a in zip(group_ids, anchors)]


def step_population_std(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    ret = returns_py(traj_ids, rewards, gamma)
    members = defaultdict(list)
    for g, a, r in zip(group_ids, anchors, ret):
        members[(g, a)].append(r)
    return [_normalize(r, members[(g, a)], eps, std=_population_std) for g, a, r in zip(group_ids, anchors, ret)]


def step_undiscounted(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    """Compares undiscounted returns-to-go: gamma ignored."""
    return step_py(group_ids, traj_ids, rewards, anchors, 1.0, eps)


def step_ignores_groups(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    """Step groups across the whole batch: the same anchor name in two tasks is compared."""
    return step_py(["all"] * len(group_ids), traj_ids, rewards, anchors, gamma, eps)


def step_episode_return(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    """Compares each row's whole-episode return instead of its discounted return from this step on."""
    total = defaultdict(float)
    for t, r in zip(traj_ids, rewards):
        total[t] += r
    members = defaultdict(list)
    for g, a, t in zip(group_ids, anchors, traj_ids):
        members[(g, a)].append(total[t])
    return [_normalize(total[t], members[(g, a)], eps) for g, a, t in zip(group_ids, anchors, traj_ids)]


def step_returns_across_trajectories(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    ret = returns_across_trajectories(traj_ids, rewards, gamma)
    members = defaultdict(list)
    for g, a, r in zip(group_ids, anchors, ret):
        members[(g, a)].append(r)
    return [_normalize(r, members[(g, a)], eps) for g, a, r in zip(group_ids, anchors, ret)]


def loss_sample_mean(logp_new, logp_old, advantages, mask, clip=0.2):
    """Mean over each reply's tokens, then over replies: a 1-token reply weighs as much as a 40-token one."""
    ratio = (logp_new - logp_old).exp()
    adv = advantages.unsqueeze(1)
    per_token = -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return ((per_token * mask).sum(1) / mask.sum(1)).mean()


def loss_wrong_side_for_negative(logp_new, logp_old, advantages, mask, clip=0.2):
    """Caps the ratio at 1+e for every advantage: for A < 0 the bound that matters is 1-e, from below."""
    ratio = (logp_new - logp_old).exp()
    return -(ratio.clamp(max=1 + clip) * advantages[:, None] * mask).sum() / mask.sum()


def loss_max_instead_of_min(logp_new, logp_old, advantages, mask, clip=0.2):
    """The optimistic bound: max of the clipped and unclipped surrogates."""
    ratio = (logp_new - logp_old).exp()
    adv = advantages.unsqueeze(1)
    surrogate = torch.max(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surrogate * mask).sum() / mask.sum()


def loss_ignores_mask(logp_new, logp_old, advantages, mask, clip=0.2):
    """Averages over padding tokens too."""
    ratio = (logp_new - logp_old).exp()
    adv = advantages.unsqueeze(1)
    return -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv).mean()


def loss_detached(logp_new, logp_old, advantages, mask, clip=0.2):
    """The right number as a Python float: nothing left to differentiate."""
    return float(loss_torch(logp_new, logp_old, advantages, mask, clip).detach())


def loss_clip_ignored(logp_new, logp_old, advantages, mask, clip=0.2):
    """Plain policy gradient with importance weights: no clipping at all."""
    ratio = (logp_new - logp_old).exp()
    return -(ratio * advantages[:, None] * mask).sum() / mask.sum()


WRONG = {
    "discounted_returns": [returns_across_trajectories, returns_contiguous_only, returns_discount_own_reward,
                           returns_forward],
    "episode_advantages": [episode_population_std, episode_pooled_over_rows, episode_ignores_groups,
                           episode_last_reward, episode_no_eps_no_guard],
    "step_group_labels": [labels_ignore_groups, labels_consecutive_runs, labels_additive_key],
    "step_advantages": [step_population_std, step_undiscounted, step_ignores_groups, step_episode_return,
                        step_returns_across_trajectories],
    "ppo_clip_loss": [loss_sample_mean, loss_wrong_side_for_negative, loss_max_instead_of_min, loss_ignores_mask,
                      loss_detached, loss_clip_ignored],
}


# --- the bug-hunt fixes (unit 06): correct, plain Python ------------------------------------------------------------
def outcome_by_task_py(task_ids, traj_ids, rewards, eps=EPS):
    return episode_py(task_ids, traj_ids, rewards, eps)


def tokens_py(group_ids, traj_ids, rewards, response_mask, eps=EPS):
    per_row = episode_py(group_ids, traj_ids, rewards, eps)
    return [[a * float(m) for m in row] for a, row in zip(per_row, response_mask)]


def gigpo_py(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    a_e = episode_py(group_ids, traj_ids, rewards, eps)
    a_s = step_py(group_ids, traj_ids, rewards, anchors, gamma, eps)
    return [e + s for e, s in zip(a_e, a_s)]


def layout_repeat(task_seeds, group_size):
    return [s for s in task_seeds for _ in range(group_size)], [g for g in range(len(task_seeds))
                                                                for _ in range(group_size)]


def layout_tile_both(task_seeds, group_size):
    """Correct with the other layout: seeds and group ids both task-major."""
    n = len(task_seeds) * group_size
    return [task_seeds[i % len(task_seeds)] for i in range(n)], [f"task{i % len(task_seeds)}" for i in range(n)]


CORRECT.update({
    "outcome_advantages": [outcome_by_task_py],
    "step_token_advantages": [tokens_py],
    "multi_turn_gigpo": [gigpo_py],
    "stepwise_gigpo": [gigpo_py],
    "env_layout": [layout_repeat, layout_tile_both],
})


# --- the bug-hunt fixes: wrong ----------------------------------------------------------------------------------------
def outcome_raw_singletons(task_ids, traj_ids, rewards, eps=EPS):
    """Grouped by task, but keeps verl's mean 0 / std 1 for a task with one rollout."""
    total, task_of = defaultdict(float), {}
    for g, t, r in zip(task_ids, traj_ids, rewards):
        total[t] += r
        task_of[t] = g
    members = defaultdict(list)
    for t, g in task_of.items():
        members[g].append(total[t])
    return [total[t] / (1 + eps) if len(members[task_of[t]]) == 1 else _normalize(total[t], members[task_of[t]], eps)
            for t in traj_ids]


def outcome_one_group(task_ids, traj_ids, rewards, eps=EPS):
    """Every rollout of the batch in one group."""
    return episode_py(["all"] * len(task_ids), traj_ids, rewards, eps)


def tokens_first_step_mask(group_ids, traj_ids, rewards, response_mask, eps=EPS):
    first = {}
    for i, t in enumerate(traj_ids):
        first.setdefault(t, i)
    per_row = episode_py(group_ids, traj_ids, rewards, eps)
    return [[a * float(m) for m in response_mask[first[t]]] for a, t in zip(per_row, traj_ids)]


def tokens_unmasked(group_ids, traj_ids, rewards, response_mask, eps=EPS):
    per_row = episode_py(group_ids, traj_ids, rewards, eps)
    return [[a] * len(row) for a, row in zip(per_row, response_mask)]


def gigpo_anchor_only(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    """Step groups keyed on the anchor alone: the same state name in two tasks is compared."""
    a_e = episode_py(group_ids, traj_ids, rewards, eps)
    a_s = step_py(["all"] * len(group_ids), traj_ids, rewards, anchors, gamma, eps)
    return [e + s for e, s in zip(a_e, a_s)]


def gigpo_episode_only(group_ids, traj_ids, rewards, anchors, gamma, eps=EPS):
    return episode_py(group_ids, traj_ids, rewards, eps)


def layout_seed_per_env(task_seeds, group_size):
    """Each env reset with its own seed (the task seed plus its rollout index)."""
    return ([s + k for s in task_seeds for k in range(group_size)],
            [g for g in range(len(task_seeds)) for _ in range(group_size)])


def layout_groups_by_seed(task_seeds, group_size):
    """Group ids taken from the seed: a task drawn twice becomes one group of twice the size."""
    seeds, _ = layout_repeat(task_seeds, group_size)
    return seeds, list(seeds)


WRONG.update({
    "outcome_advantages": [BUGGY["outcome_advantages"], outcome_raw_singletons, outcome_one_group],
    "step_token_advantages": [BUGGY["step_token_advantages"], tokens_first_step_mask, tokens_unmasked],
    "multi_turn_gigpo": [BUGGY["multi_turn_gigpo"], gigpo_anchor_only, gigpo_episode_only],
    "stepwise_gigpo": [BUGGY["stepwise_gigpo"], gigpo_anchor_only, gigpo_episode_only],
    "env_layout": [BUGGY["env_layout"], layout_seed_per_env, layout_groups_by_seed],
})
