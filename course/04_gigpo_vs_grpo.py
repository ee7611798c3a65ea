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
# # Unit 04 · GiGPO vs GRPO (exercises)
#
# Goes with `notebooks/04_gigpo_vs_grpo.ipynb` and the paper's Sec. 4 and 5 (Table 1, the ablations): where the
# step level changes the update and where it cannot. Runs in a few seconds. What the package's studies found
# (results/README.md): on its CPU LLM recipes GiGPO and GRPO cannot be told apart, on unseen tasks too (10 paired
# seeds of the skill recipe: -0.003 in held-out success, 95% interval [-0.025, 0.019]); GiGPO's lead shows in the
# credit lab (notebook 05: a tabular policy, 10 of 10 paired seeds).

# %%
import torch

from gigpo import gigpo_advantages, grpo_advantages

torch.set_num_threads(1)

# %% [markdown]
# ## A group where every rollout wins
#
# Four rollouts of one task, all won (reward 10 on the last step), in 2, 3, 4 and 6 steps. They all start in
# `start`; the longer ones wander through `hall` before they reach `goal-room`.

# %%
paths = {"r0": ["start", "goal-room"],
         "r1": ["start", "hall", "goal-room"],
         "r2": ["start", "hall", "hall", "goal-room"],
         "r3": ["start", "hall", "hall", "hall", "hall", "goal-room"]}
all_win = {"group_ids": [], "traj_ids": [], "rewards": [], "anchors": []}
for traj, states in paths.items():
    for t, state in enumerate(states):
        all_win["group_ids"].append("task")
        all_win["traj_ids"].append(traj)
        all_win["rewards"].append(10.0 if t == len(states) - 1 else 0.0)
        all_win["anchors"].append(state)

# %% [raw]
# # BEGIN QUESTION
# name: q1_predict_all_win
# points: 2

# %% [markdown]
# **Q1 (predict, then run).** (a) Are all of GRPO's advantages in this group exactly 0? (b) At `start`
# ($\gamma = 0.95$), does GiGPO give the first step of the shortest rollout `r0` a larger advantage than the
# first step of the longest, `r3`? Write two booleans.

# %% [raw]
# # BEGIN SOLUTION

# %%
grpo_all_zero = True  # SOLUTION
gigpo_prefers_shortest_at_start = True  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert grpo_all_zero in (True, False) and gigpo_prefers_shortest_at_start in (True, False), "two booleans"

# %%
# HIDDEN
assert grpo_all_zero is True and gigpo_prefers_shortest_at_start is True

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
grpo = grpo_advantages(all_win["group_ids"], all_win["traj_ids"], all_win["rewards"])
gigpo = gigpo_advantages(*all_win.values(), gamma=0.95)
for k, (traj, state) in enumerate(zip(all_win["traj_ids"], all_win["anchors"])):
    print(f"{traj} {state:<10} GRPO {grpo[k]:+.3f}  GiGPO {gigpo[k]:+.3f}")

# %% [raw]
# # BEGIN QUESTION
# name: q2_step_weight_zero
# points: 2

# %% [markdown]
# **Q2 (predict, then run).** With `step_weight=0`, is GiGPO's advantage equal to GRPO's on *any* batch (`True`)
# or only on some (`False`)? Then write the one line that computes both on the `all_win` batch and compares them
# with `torch.allclose` into `same_with_step_weight_zero`.

# %% [raw]
# # BEGIN SOLUTION

# %%
predicted_equal_on_any_batch = True  # SOLUTION
same_with_step_weight_zero = None
# BEGIN SOLUTION NO PROMPT
no_step_level = gigpo_advantages(*all_win.values(), step_weight=0.0)
same_with_step_weight_zero = bool(torch.allclose(no_step_level, grpo))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert predicted_equal_on_any_batch in (True, False), "write True or False"
assert same_with_step_weight_zero is True, "compute the comparison (it should come out True)"

# %%
# HIDDEN
assert predicted_equal_on_any_batch is True

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_shorter_episodes
# manual: true
# points: 3

# %% [markdown]
# **Q3 (explain, graded by hand).** In notebook 04 and in the credit lab, GiGPO's episodes end shorter than
# GRPO's once the policy mostly wins. Use Q1 to explain why, say what $\gamma = 1$ would change, and say why the
# GiGPO-vs-GRPO gap is largest in the paper's regime (a pretrained policy that already succeeds sometimes) and
# small when learning from scratch on a hard task. (4-6 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** When every rollout of a group wins, all episode returns are equal: GRPO's $A^E$ is 0 for
# every step and the group teaches nothing. GiGPO's step returns are discounted, so at a shared state the
# rollout that reaches the goal sooner has the larger $R_t$ and its action gets a positive $A^S$: the policy
# keeps learning to take shorter paths. With $\gamma = 1$ every step return in an all-win group is the same 10,
# $A^S = 0$ and that signal disappears (reward only at the end). From scratch on a hard task most groups have no
# win at all: returns are all 0, both $A^E$ and $A^S$ are 0, so neither estimator learns until a first success;
# from a prior, groups have a mix of wins and losses and many shared states, where the step level adds
# per-state credit. Full marks: discounting + all-win groups + the regime point.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
