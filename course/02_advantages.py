# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# init_cell: true
# check_all_cell: true
# export_cell: false
# generate: true
# tests:
#   files: false

# %% [markdown]
# # Unit 02 · GiGPO's advantages (exercises)
#
# Goes with `notebooks/02_advantages.ipynb` and the paper's Sec. 4 (Eq. 3 episode advantage, Eq. 6-7 step
# advantage, Eq. 8 the sum). You write the three pieces yourself and compare them with the library; then you
# predict what GiGPO does on a small example. Conventions (the library's, the authors' code's): the std is the
# unbiased (n-1) sample std plus `eps`, and a group of one member gets 0. Runs in a few seconds.
#
# Inputs arrive as Python lists: `group_ids` and `traj_ids` (strings or ints), `rewards` (floats), `anchors`.
# One row per environment step; the rows of one trajectory are in time order, but trajectories interleave.
# Return a list or a 1-D tensor, one float per row. Write them without calling `gigpo`'s estimators.

# %%
import torch

from gigpo import advantage_details, grpo_advantages

torch.set_num_threads(1)

# %% [raw]
# # BEGIN QUESTION
# name: q1_discounted_returns
# points: 3

# %% [markdown]
# **Q1 (implement).** `discounted_returns(traj_ids, rewards, gamma)`: $R_t = r_t + \gamma R_{t+1}$ within each
# trajectory ($R$ after a trajectory's last row is 0).

# %% [raw]
# # BEGIN SOLUTION

# %%
def discounted_returns(traj_ids, rewards, gamma):
    # BEGIN SOLUTION
    out, future = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):  # backwards, one running return per trajectory
        future[traj_ids[i]] = rewards[i] + gamma * future.get(traj_ids[i], 0.0)
        out[i] = future[traj_ids[i]]
    return out
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("discounted_returns", discounted_returns)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("discounted_returns", discounted_returns, random_batches=100, seed=21)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2_episode_advantages
# points: 3

# %% [markdown]
# **Q2 (implement).** `episode_advantages(group_ids, traj_ids, rewards, eps=1e-6)`: $A^E$ of Eq. 3 for every
# row: the trajectory's return $R(\tau) = \sum_t r_t$, normalized over the trajectories of its task group (each
# trajectory counted once, however many steps it has).

# %% [raw]
# # BEGIN SOLUTION

# %%
def episode_advantages(group_ids, traj_ids, rewards, eps=1e-6):
    # BEGIN SOLUTION
    import statistics

    total, group_of = {}, {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] = total.get(t, 0.0) + r
        group_of[t] = g
    members = {}
    for t, g in group_of.items():
        members.setdefault(g, []).append(total[t])
    adv = {}
    for t, g in group_of.items():
        xs = members[g]
        adv[t] = 0.0 if len(xs) < 2 else (total[t] - statistics.mean(xs)) / (statistics.stdev(xs) + eps)
    return [adv[t] for t in traj_ids]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("episode_advantages", episode_advantages)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("episode_advantages", episode_advantages, random_batches=100, seed=22)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_step_advantages
# points: 4

# %% [markdown]
# **Q3 (implement).** `step_advantages(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6)`: $A^S$ of Eq. 7:
# each row's discounted return (Q1) normalized over its step group (same task group, same anchor), with the step
# group's own mean and std. You may call your `discounted_returns` from Q1.

# %% [raw]
# # BEGIN SOLUTION

# %%
def step_advantages(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    # BEGIN SOLUTION
    import statistics

    returns = discounted_returns(traj_ids, rewards, gamma)
    members = {}
    for g, a, r in zip(group_ids, anchors, returns):
        members.setdefault((g, a), []).append(r)
    out = []
    for g, a, r in zip(group_ids, anchors, returns):
        xs = members[(g, a)]
        out.append(0.0 if len(xs) < 2 else (r - statistics.mean(xs)) / (statistics.stdev(xs) + eps))
    return out
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("step_advantages", step_advantages)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("step_advantages", step_advantages, random_batches=100, seed=23)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## The four-rollout example of notebook 02
#
# One task, four rollouts, anchor states `s0`, `s1`, `s2`; taking `b` in `s1` wins (reward 1), `c` stays in `s0`,
# `d` leads to the dead end `s2`.
#
# | rollout | path (state, action) | return |
# |---|---|---|
# | 0 | (s0, a) → (s1, b) → won | 1 |
# | 1 | (s0, c) → (s0, a) → (s1, b) → won | 1 |
# | 2 | (s0, a) → (s1, d) → (s2, e) → step limit | 0 |
# | 3 | (s0, c) → (s0, c) → (s0, c) → step limit | 0 |
#
# GRPO gives every step of a won rollout $A = +0.866$ and of a lost one $-0.866$.

# %%
rollouts = {0: [("s0", "a", 0.0), ("s1", "b", 1.0)],
            1: [("s0", "c", 0.0), ("s0", "a", 0.0), ("s1", "b", 1.0)],
            2: [("s0", "a", 0.0), ("s1", "d", 0.0), ("s2", "e", 0.0)],
            3: [("s0", "c", 0.0), ("s0", "c", 0.0), ("s0", "c", 0.0)]}
rows = [(i, t, state, action, r) for i, steps in rollouts.items() for t, (state, action, r) in enumerate(steps)]
example = {"group_ids": [0] * len(rows), "traj_ids": [i for i, *_ in rows], "rewards": [r for *_, r in rows],
           "anchors": [state for _, _, state, _, _ in rows]}

# %% [raw]
# # BEGIN QUESTION
# name: q4_predict_wasted_move
# points: 2

# %% [markdown]
# **Q4 (predict, then run).** With $\gamma = 0.95$ and step weight 1:
# - the wasted move `c` of rollout 1 (its first step): is its GiGPO advantage $A = A^E + A^S$ positive or
#   negative? Write `+1` or `-1`.
# - the right move `a` of rollout 2 (its first step): does GiGPO punish it more than GRPO's $-0.866$ (`True`) or
#   less (`False`)?

# %% [raw]
# # BEGIN SOLUTION

# %%
predicted_sign_of_wasted_move = +1  # SOLUTION
rollout2_a_punished_more_than_grpo = True  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert predicted_sign_of_wasted_move in (1, -1), "write +1 or -1"
assert rollout2_a_punished_more_than_grpo in (True, False), "write True or False"

# %%
# HIDDEN
assert predicted_sign_of_wasted_move == 1

# %%
# HIDDEN
assert rollout2_a_punished_more_than_grpo is True

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it.

# %%
d = advantage_details(*example.values(), gamma=0.95)
grpo = grpo_advantages(example["group_ids"], example["traj_ids"], example["rewards"])
for k, (i, t, state, action, _) in enumerate(rows):
    print(f"rollout {i} t={t} {state} --{action}-->  R_t={d.step_returns[k]:.4f}  A_E={d.episode_adv[k]:+.3f}  "
          f"A_S={d.step_adv[k]:+.3f}  A={d.advantage[k]:+.3f}   GRPO {grpo[k]:+.3f}")

# %% [raw]
# # BEGIN QUESTION
# name: q5_continuation_luck
# manual: true
# points: 3

# %% [markdown]
# **Q5 (explain, graded by hand).** The wasted move `c` of rollout 1 gets $A = +1.871$, nearly as much as the
# right move `a` of rollout 0; the right move `a` of rollout 2 gets $-1.667$, worse than GRPO's $-0.866$.
# Explain both from how $A^S$ is estimated. What would make the estimate better? (4-6 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** $A^S$ compares one-sample Monte-Carlo returns: a row's $R_t$ is the return of the single
# continuation its own rollout happened to take, so a step inherits the luck of the rest of its rollout. `c` in
# rollout 1 was followed by `a`, `b` and a win, so its $R_t = 0.9025$ is above the `s0` mean (the `s0` group
# also holds rollout 3's three failed `c`s); the wasted move looks good because of what came after it. `a` in
# rollout 2 was followed by the mistake `d`, so its return is 0 and it is blamed for `d`; with $A^E = -0.866$
# on top it is punished more than under GRPO. Repeated visits count several times in one step group (rollout 3
# contributes three rows to `s0`), which weighs a looping rollout more. Better estimates: more rollouts per task
# (more continuations averaged per state), a baseline that conditions on the action (Q-values), or discounting
# harder so later luck matters less. Full marks: continuation luck/one-sample MC + the repeated-visit point or an
# improvement.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
