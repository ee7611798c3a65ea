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
# # Unit 01 · Anchor states and step groups (exercises)
#
# Goes with `notebooks/01_anchor_grouping.ipynb` and the paper's Sec. 4.2 (anchor states, step groups).
# Run every cell from the top; a check cell (`grader.check(...)`) tells you at once what is still wrong.
# Predictions are graded on what you predict: write them before you run the cell after them.
# Runs in a few seconds.

# %%
import torch

from gigpo import advantage_details

torch.set_num_threads(1)

# %% [markdown]
# ## A batch of two tasks
#
# Each row is one environment step: the task group it belongs to, the rollout, the reward, and the anchor state
# the agent stood in. Rollouts of a group are recorded in lock step, so rows of one rollout are not adjacent.

# %%
batch = {
    "group_ids": ["pan", "pan", "pan", "mug", "mug", "pan", "pan", "pan", "mug", "mug", "pan", "mug"],
    "traj_ids":  ["p0",  "p1",  "p2",  "m0",  "m1",  "p0",  "p1",  "p2",  "m0",  "m1",  "p1",  "m1"],
    "rewards":   [0.0,   0.0,   0.0,   0.0,   0.0,   10.0,  0.0,   0.0,   10.0,  0.0,   10.0,  0.0],
    "anchors":   ["hall", "hall", "hall", "hall", "hall", "stove", "hall", "sink", "shelf", "sink", "stove",
                  "shelf"],
}
for row, values in enumerate(zip(*batch.values())):
    print(row, *values)

# %% [raw]
# # BEGIN QUESTION
# name: q1_predict_step_groups
# points: 2

# %% [markdown]
# **Q1 (predict, then run).** Before running anything: how many step groups does GiGPO form in this batch, and how
# many rows does the largest one hold? Remember which rows may be compared with which.

# %% [raw]
# # BEGIN SOLUTION

# %%
predicted_num_step_groups = 6  # SOLUTION
predicted_largest_step_group = 4  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(predicted_num_step_groups, int) and isinstance(predicted_largest_step_group, int), \
    "write two whole numbers"

# %%
# HIDDEN
assert predicted_num_step_groups == 6

# %%
# HIDDEN
assert predicted_largest_step_group == 4

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it: the library's step groups, and their sizes.

# %%
details = advantage_details(batch["group_ids"], batch["traj_ids"], batch["rewards"], batch["anchors"])
print("step group of each row:", details.step_group.tolist())
print("size of each row's group:", details.step_group_size.tolist())
print("step groups:", details.num_step_groups, " largest:", int(details.step_group_size.max()))

# %% [raw]
# # BEGIN QUESTION
# name: q2_step_group_labels
# points: 4

# %% [markdown]
# **Q2 (implement).** Write `step_group_labels(group_ids, anchors)`: one int per row, equal for two rows exactly
# when they are in the same task group *and* stand in the same anchor state. Only the partition matters, not the
# label values. Inputs arrive as Python lists (ids and anchors may be strings or ints); return a list or a 1-D
# tensor. Do not call the library's grouping: write it yourself.

# %% [raw]
# # BEGIN SOLUTION

# %%
def step_group_labels(group_ids, anchors):
    # BEGIN SOLUTION
    labels = {}
    return [labels.setdefault((g, a), len(labels)) for g, a in zip(group_ids, anchors)]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [markdown]
# Try it on the batch above, then run the check: it tries the situations that usually go wrong (interleaved rows,
# the same anchor name in two tasks, a state visited once, integer ids) and random batches.

# %%
print(step_group_labels(batch["group_ids"], batch["anchors"]))

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("step_group_labels", step_group_labels)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("step_group_labels", step_group_labels, random_batches=100, seed=11)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_why_per_task
# manual: true
# points: 2

# %% [markdown]
# **Q3 (explain, graded by hand).** Rows 0-2 (task `pan`) and rows 3-4 (task `mug`) all stand in `hall`. Why
# does GiGPO not put them in one step group, although the state looks the same? And why does the notebook's
# household env key its anchors by the state, not by the observation text the authors use? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** A step group compares the discounted returns of rows that took an action *in the same
# situation*; the return after `hall` depends on the task (put the pan on the stove vs the mug on the shelf), so
# pooling tasks would compare returns of different problems and credit an action for the task's difficulty, not
# for the action. So groups are formed within a task group (the N rollouts of one task) only. Keying by the
# state (a canonical key of what matters: location, what is held, object positions) groups rows that really are
# the same state even if the text differs (e.g. listed in another order), and keeps apart states whose text
# happens to coincide; exact text equality (the authors' anchor) does the first badly and similarity thresholds
# can merge different states. Full marks: task-conditioned returns + the state-vs-text point.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
