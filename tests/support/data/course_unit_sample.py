# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# solutions_pdf: false

# %% [markdown]
# # Unit 0: returns
#
# A sample unit.

# %%
import torch

# %% [raw]
# # BEGIN QUESTION
# name: discounted_returns
# points: 2

# %% [markdown]
# Write `discounted_returns(traj_ids, rewards, gamma)`: $R_t = r_t + \gamma R_{t+1}$.

# %%
def discounted_returns(traj_ids, rewards, gamma):
    # BEGIN SOLUTION
    out = [0.0] * len(rewards)
    running_by_traj = {}
    for i in reversed(range(len(rewards))):
        running_by_traj[traj_ids[i]] = rewards[i] + gamma * running_by_traj.get(traj_ids[i], 0.0)
        out[i] = running_by_traj[traj_ids[i]]
    return out
    # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert discounted_returns([0, 0], [0.0, 1.0], 0.5) == [0.5, 1.0]

# %%
# HIDDEN
assert discounted_returns([0, 1], [1.0, 1.0], 0.5) == [1.0, 1.0]  # secret interleaving case

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: explain_luck
# manual: true
# points: 1

# %% [markdown]
# Why does a step inherit the luck of the rest of its rollout?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# Because A_S is a one-sample Monte-Carlo estimate of the continuation value.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: step_weight
# points: 1

# %% [markdown]
# Set `w` to the paper's step weight and `gamma` to its discount.

# %%
w = 1.0  # SOLUTION
gamma = 0.95 # SOLUTION
print("weights set")

# %%
def helper(x):
    # BEGIN SOLUTION NO PROMPT
    x = x * 2  # doubled for the hidden check
    # END SOLUTION
    return x

# %% [raw]
# # END QUESTION
