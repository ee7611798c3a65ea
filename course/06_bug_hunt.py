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
# # Unit 06 · Bug hunt: advantage bugs that real frameworks shipped (exercises)
#
# Goes with notebooks 02 and 04 and with `docs/advantages.md`. Step-level credit is easy to get subtly wrong, and
# the frameworks that implement group-relative advantages have shipped such bugs. Each one was silent: training
# ran, the curves moved, and the credit was wrong. This unit shows five of them, each as a short function in the
# style of the trainer it came from, with a batch that exposes it. For each you **find** it (predict what the
# function gives, then run it), **explain** it (by hand) and **fix** it (checked against the library by
# `gigpo.course.check`). At the end you write the test that would have caught one of them. Runs in a few seconds.
#
# Conventions, as in unit 02: rows are environment steps, the rows of a rollout are in time order but rollouts
# interleave; the std is the sample (n-1) std plus `eps`; a group of one member gets 0. The trainer functions
# share three correct helpers, which you may use in your fixes:

# %%
import statistics
from collections import defaultdict

import torch

from gigpo import advantage_details, grpo_advantages
from gigpo.notebook.plots import estimator_heatmaps

torch.set_num_threads(1)


def returns_to_go(traj_ids, rewards, gamma):
    """``R_t = r_t + gamma R_(t+1)`` within each trajectory (rows of a trajectory in time order, interleaved)."""
    out, running = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def normalise_within(values, keys, eps):
    """``(v - mean) / (std + eps)`` over the values of equal key (sample std); a key with one value gets 0."""
    members = defaultdict(list)
    for k, v in zip(keys, values):
        members[k].append(v)
    return [0.0 if len(members[k]) < 2 else (v - statistics.mean(members[k])) / (statistics.stdev(members[k]) + eps)
            for k, v in zip(keys, values)]


def episode_advantages(group_ids, traj_ids, rewards, eps):
    """A_E (Eq. 3) of every row: its trajectory's return normalised over the trajectories of its task group."""
    score, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        score[t] += r
        group_of[t] = g
    trajs = list(score)
    per_traj = dict(zip(trajs, normalise_within([score[t] for t in trajs], [group_of[t] for t in trajs], eps)))
    return [per_traj[t] for t in traj_ids]


# %% [markdown]
# ## Bug 1 · Every group has one member
#
# rLLM's workflow trainer (issue rllm-org/rllm#605, fixed by PR #924) filled the batch's `uid` column, the key
# GRPO groups rollouts by, from each trajectory's own uuid instead of its task. verl's GRPO treats a group of one
# member with mean 0 and std 1. Here is the function, in that style:

# %%
def outcome_advantages(task_ids, traj_ids, rewards, eps=1e-6):
    """GRPO: each step row gets its trajectory's return, normalised over the rollouts of its task (Eq. 3)."""
    score = defaultdict(float)
    for traj, r in zip(traj_ids, rewards):
        score[traj] += r
    uid = list(traj_ids)  # the batch's "uid" column, filled from each trajectory's own uuid
    members = defaultdict(dict)
    for u, traj in zip(uid, traj_ids):
        members[u][traj] = score[traj]
    out = []
    for u, traj in zip(uid, traj_ids):
        xs = list(members[u].values())
        mean, std = (0.0, 1.0) if len(xs) == 1 else (statistics.mean(xs), statistics.stdev(xs))
        out.append((score[traj] - mean) / (std + eps))
    return out


# %% [markdown]
# Four rollouts of one task, two steps each; rollouts `5f2c` and `0bd4` win (reward 1 on the last step), the
# other two fail.

# %%
bug1 = {"task_ids": ["task-7"] * 8,
        "traj_ids": ["5f2c", "a91e", "0bd4", "c3a8"] * 2,
        "rewards": [0.0] * 4 + [1.0, 0.0, 1.0, 0.0]}

# %% [raw]
# # BEGIN QUESTION
# name: q1_find_one_member_groups
# points: 1

# %% [markdown]
# **Q1 (find: predict, then run).** What does `outcome_advantages` give the rows of a winning rollout, and of a
# losing one? (A correct GRPO gives $\pm 0.866$.) Two numbers, to 3 decimals.

# %% [raw]
# # BEGIN SOLUTION

# %%
won_rollout_advantage = 1.0  # SOLUTION
lost_rollout_advantage = 0.0  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(won_rollout_advantage, (int, float)) and isinstance(lost_rollout_advantage, (int, float))

# %%
# HIDDEN
assert abs(won_rollout_advantage - 1.0) < 1e-3 and abs(lost_rollout_advantage) < 1e-3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it, beside the library's GRPO.

# %%
buggy = outcome_advantages(**bug1)
library = grpo_advantages(bug1["task_ids"], bug1["traj_ids"], bug1["rewards"])
for i, traj in enumerate(bug1["traj_ids"]):
    print(f"row {i} rollout {traj}  buggy {buggy[i]:+.3f}  library {float(library[i]):+.3f}")

# %% [raw]
# # BEGIN QUESTION
# name: q2_explain_one_member_groups
# manual: true
# points: 2

# %% [markdown]
# **Q2 (explain, graded by hand).** What does the policy gradient become with these advantages, compared with
# GRPO's? Why did training still improve, so that nobody noticed at once? What would a group of one member
# have given with the library's convention (0 for a group of one), and which convention makes the bug easier to
# see? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Every group holds one rollout, so its mean is taken as 0 and its std as 1: the advantage is the
# raw return, and the update is REINFORCE without a baseline. Wins are still pushed up (reward 1 > 0), so the
# success rate still rises, only with a much noisier gradient: nothing pushes failures down, and with positive
# rewards everything sampled is reinforced a little. With the library's convention every advantage would be 0
# and the policy would not move at all, which a flat curve or an "advantage std = 0" metric shows at once; the
# verl convention hides the grouping bug behind plausible numbers. Full marks: raw return / no baseline +
# why it still learns + the convention point.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_fix_one_member_groups
# points: 3

# %% [markdown]
# **Q3 (fix).** Write a correct `outcome_advantages(task_ids, traj_ids, rewards, eps=1e-6)`: a row's advantage is
# its trajectory's return normalised over the rollouts of its *task* (each trajectory counted once); a task with
# one rollout gets 0.

# %% [raw]
# # BEGIN SOLUTION

# %%
def outcome_advantages(task_ids, traj_ids, rewards, eps=1e-6):
    # BEGIN SOLUTION
    return episode_advantages(task_ids, traj_ids, rewards, eps)  # grouped by task; one member -> 0
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("outcome_advantages", outcome_advantages)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("outcome_advantages", outcome_advantages, random_batches=100, seed=61)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Bug 2 · The broadcast uses the wrong mask
#
# In step-wise training each turn of a rollout is its own row, with its own prompt and reply; the reply sits at
# different token positions in each row. SkyRL (issue NovaSky-AI/SkyRL#1492, fixed by PR #1507) ran the outcome
# estimator on the last step of each trajectory, which returns the advantage times *that step's* response mask,
# then copied that tensor to every step of the trajectory:

# %%
def step_token_advantages(group_ids, traj_ids, rewards, response_mask, eps=1e-6):
    """Step-wise training: one row per turn; the outcome advantage of its trajectory on each of its response
    tokens. ``response_mask`` is (rows, tokens), 1 on the row's own response tokens."""
    mask = torch.as_tensor(response_mask, dtype=torch.float64)
    adv = episode_advantages(group_ids, traj_ids, rewards, eps)  # one value per row, equal within a trajectory
    trajs = list(dict.fromkeys(traj_ids))
    traj_index = [trajs.index(t) for t in traj_ids]
    last_row = {t: i for i, t in enumerate(traj_ids)}  # rows of a trajectory are in time order
    last = [last_row[t] for t in trajs]
    # the estimator sees the last step of each trajectory: its scalar advantage times that step's response mask
    last_step_advantages = torch.tensor([adv[i] for i in last], dtype=torch.float64)[:, None] * mask[last]
    return last_step_advantages[traj_index]  # every step of the trajectory takes it over


# %% [markdown]
# Two rollouts of one task, three turns each (rollout `a` wins). `mask[i]` marks row `i`'s reply tokens.

# %%
bug2 = {"group_ids": ["t"] * 6, "traj_ids": ["a", "b"] * 3, "rewards": [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        "response_mask": [[1, 1, 1, 0, 0, 0],   # row 0: a, turn 0
                          [0, 1, 1, 1, 0, 0],   # row 1: b, turn 0
                          [0, 0, 1, 1, 1, 1],   # row 2: a, turn 1
                          [0, 0, 0, 1, 1, 0],   # row 3: b, turn 1
                          [0, 0, 0, 0, 0, 1],   # row 4: a, turn 2 (last)
                          [0, 0, 0, 0, 1, 1]]}  # row 5: b, turn 2 (last)

# %% [raw]
# # BEGIN QUESTION
# name: q4_find_wrong_mask
# points: 2

# %% [markdown]
# **Q4 (find: predict, then run).** Rollout `a` has 3 + 4 + 1 = 8 reply tokens over its three turns, `b` has
# 3 + 2 + 2 = 7. On how many of its *own* reply tokens does each get a non-zero advantage from
# `step_token_advantages`? (A correct broadcast: all of them.)

# %% [raw]
# # BEGIN SOLUTION

# %%
a_tokens_with_advantage = 2  # SOLUTION
b_tokens_with_advantage = 3  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(a_tokens_with_advantage, int) and isinstance(b_tokens_with_advantage, int), "two whole numbers"

# %%
# HIDDEN
assert (a_tokens_with_advantage, b_tokens_with_advantage) == (2, 3)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it: each row of advantages beside the row's own mask.

# %%
adv = step_token_advantages(**bug2)
mask = torch.tensor(bug2["response_mask"], dtype=torch.float64)
for i in range(len(mask)):
    print(f"row {i}  mask {mask[i].int().tolist()}  advantage {[round(v, 3) for v in adv[i].tolist()]}")
print("own tokens with a non-zero advantage:", int(((adv != 0) & (mask == 1)).sum()), "of", int(mask.sum()))

# %% [raw]
# # BEGIN QUESTION
# name: q5_explain_wrong_mask
# manual: true
# points: 2

# %% [markdown]
# **Q5 (explain, graded by hand).** In a trajectory of $N$ turns whose replies rarely share token positions, which
# share of its rows is trained with advantage 0? Why did the loss still look normal? Why does no single-turn test,
# and no test whose rows all have the same mask, catch this? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Only the last turn's reply positions carry the advantage, so every earlier row gets it only where
# its own reply happens to overlap the last reply: with little overlap, $(N-1)/N$ of the rows train with
# advantage 0 (their tokens contribute only KL/entropy terms), and advantage lands on padding positions that the
# loss mask then drops. The loss and the curves still move because the last turn of every rollout is trained
# correctly. With one turn, or with identical masks, "the last step's mask" *is* the row's own mask, so the buggy
# and the correct broadcast agree: a test needs several turns whose replies sit at different positions. Full
# marks: (N-1)/N + the last turn still learns + why equal masks hide it.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q6_fix_wrong_mask
# points: 3

# %% [markdown]
# **Q6 (fix).** Write a correct `step_token_advantages(group_ids, traj_ids, rewards, response_mask, eps=1e-6)`:
# a (rows, tokens) tensor holding each row's episode advantage on the row's *own* reply tokens, 0 elsewhere.

# %% [raw]
# # BEGIN SOLUTION

# %%
def step_token_advantages(group_ids, traj_ids, rewards, response_mask, eps=1e-6):
    # BEGIN SOLUTION
    per_row = torch.tensor(episode_advantages(group_ids, traj_ids, rewards, eps), dtype=torch.float64)
    return per_row[:, None] * torch.as_tensor(response_mask, dtype=torch.float64)  # each row's own mask
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("step_token_advantages", step_token_advantages)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("step_token_advantages", step_token_advantages, random_batches=100, seed=62)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Bug 3 · Steps grouped by turn index, not by state
#
# A natural first per-turn estimator normalises the returns of the $k$-th turn of every rollout of a task
# together (verl's RFC issue verl-project/verl#7244 shows that this baseline is biased once rollouts have
# different lengths). GiGPO instead compares the rows that stand in the same *state* (the anchor):

# %%
def multi_turn_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    """GiGPO's A = A_E + A_S (Eq. 8) for a multi-turn batch; A_S compares the discounted returns of the rows of a
    task group that share a step group."""
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    turn, seen = [], defaultdict(int)
    for t in traj_ids:  # the turn index of each row inside its trajectory
        turn.append(seen[t])
        seen[t] += 1
    step_group = list(zip(group_ids, turn))  # the k-th turn of every rollout of a task is compared
    a_s = normalise_within(returns_to_go(traj_ids, rewards, gamma), step_group, eps)
    return [e + s for e, s in zip(a_e, a_s)]


# %% [markdown]
# Three rollouts of one task. `r0` reaches `door` at turn 1 and wins; `r1` wastes turn 1 in `hall`, reaches
# `door` at turn 2 and wins; `r2` goes to `hall`, then to `pit`, and fails.

# %%
bug3 = {"group_ids": ["t"] * 10, "traj_ids": ["r0", "r1", "r2", "r0", "r1", "r2", "r0", "r1", "r2", "r1"],
        "rewards": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        "anchors": ["start", "start", "start", "door", "hall", "hall", "goal", "door", "pit", "goal"]}

# %% [raw]
# # BEGIN QUESTION
# name: q7_find_turn_index
# points: 2

# %% [markdown]
# **Q7 (find: predict, then run).** Row 3 is `r0` standing at `door` at turn 1. Which rows (indices, itself
# included) does `multi_turn_gigpo` compare it with? And which rows stand in the same state as row 3 (GiGPO's
# step group)? Two sets of row indices.

# %% [raw]
# # BEGIN SOLUTION

# %%
compared_by_turn = {3, 4, 5}  # SOLUTION
compared_by_state = {3, 7}  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(compared_by_turn, set) and isinstance(compared_by_state, set), "two sets of row indices"

# %%
# HIDDEN
assert compared_by_turn == {3, 4, 5} and compared_by_state == {3, 7}

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it: the buggy advantages beside the library's GiGPO, per rollout and step (notebook 02's heatmap).

# %%
details = advantage_details(bug3["group_ids"], bug3["traj_ids"], bug3["rewards"], bug3["anchors"], gamma=0.95)
by_turn = multi_turn_gigpo(**bug3, gamma=0.95)
for i, (traj, state) in enumerate(zip(bug3["traj_ids"], bug3["anchors"])):
    print(f"row {i} {traj} at {state:<5}  by turn {by_turn[i]:+.3f}  by state {float(details.advantage[i]):+.3f}")
estimator_heatmaps(details, {"grouped by turn (bug)": by_turn, "grouped by state (GiGPO)": details.advantage})

# %% [raw]
# # BEGIN QUESTION
# name: q8_explain_turn_index
# manual: true
# points: 2

# %% [markdown]
# **Q8 (explain, graded by hand).** Row 4 (`r1` wasting its turn in `hall`) and row 7 (`r1` reaching `door`):
# how does grouping by turn change their step advantage, and why is the comparison at turn 1 unfair? When do the
# two groupings agree? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** By turn, row 4 (`hall`) is compared with `r0`'s `door` and `r2`'s `hall`: it is judged against
# a rollout that is one step further along, so its score depends on where the others happen to be, not on what it
# did in its own state. Row 7 reaches `door` at turn 2, when the only other rows of turn 2 are `r0`'s `goal` and
# `r2`'s `pit`: a correct move is compared with the end states of other rollouts. Rows of different states have
# different values, so a turn-index baseline mixes state value into the advantage; since the number of turns a
# rollout takes depends on its own actions, this is an action-dependent baseline and biases the gradient (the
# point of verl #7244). The groupings agree only when all rollouts pass through the same states at the same
# turns, e.g. a fixed-length task with one path. Full marks: different states compared + bias + when they agree.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q9_fix_turn_index
# points: 3

# %% [markdown]
# **Q9 (fix).** Write a correct `multi_turn_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6)`:
# $A = A^E + A^S$ with the step groups of Eq. 7 (same task group, same anchor).

# %% [raw]
# # BEGIN SOLUTION

# %%
def multi_turn_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    # BEGIN SOLUTION
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    a_s = normalise_within(returns_to_go(traj_ids, rewards, gamma), list(zip(group_ids, anchors)), eps)
    return [e + s for e, s in zip(a_e, a_s)]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("multi_turn_gigpo", multi_turn_gigpo)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("multi_turn_gigpo", multi_turn_gigpo, random_batches=100, seed=63)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Bug 4 · A sparse final reward counted on every step
#
# A step-wise trainer keeps one row per turn, and every row carries its episode's score, the outcome its GRPO
# path trains each turn with. Porting GiGPO into it, the step level reads that column as if it were each step's
# own reward. Trinity-RFT's GiGPO guards against exactly this: when the workflow propagates the final reward to
# every step, it keeps it on the last step only.

# %%
def stepwise_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    """GiGPO's A = A_E + A_S (Eq. 8) in a step-wise trainer: each turn is a training row that carries its
    episode's score, the outcome every row is trained on."""
    score = defaultdict(float)
    for t, r in zip(traj_ids, rewards):
        score[t] += r
    row_reward = [score[t] for t in traj_ids]  # the rows' reward column: the episode's score on every row
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    a_s = normalise_within(returns_to_go(traj_ids, row_reward, gamma), list(zip(group_ids, anchors)), eps)
    return [e + s for e, s in zip(a_e, a_s)]


# %% [markdown]
# Three rollouts of one task, all won (reward 1 on the last step, nothing before), in 2, 3 and 5 steps.

# %%
bug4 = {"group_ids": ["t"] * 10, "traj_ids": ["w0", "w1", "w2", "w0", "w1", "w2", "w1", "w2", "w2", "w2"],
        "rewards": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        "anchors": ["start", "start", "start", "hall", "hall", "hall", "hall", "hall", "hall", "hall"]}

# %% [raw]
# # BEGIN QUESTION
# name: q10_find_final_reward_twice
# points: 2

# %% [markdown]
# **Q10 (find: predict, then run).** With $\gamma = 0.95$: at `start` (rows 0-2, the first step of each
# rollout), which rollout gets the largest advantage from `stepwise_gigpo`, and which from the library's GiGPO?
# Write `"w0"`, `"w1"` or `"w2"` for each.

# %% [raw]
# # BEGIN SOLUTION

# %%
stepwise_favours = "w2"  # SOLUTION
library_favours = "w0"  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert {stepwise_favours, library_favours} <= {"w0", "w1", "w2"}, 'write "w0", "w1" or "w2"'

# %%
# HIDDEN
assert (stepwise_favours, library_favours) == ("w2", "w0")

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it.

# %%
details = advantage_details(bug4["group_ids"], bug4["traj_ids"], bug4["rewards"], bug4["anchors"], gamma=0.95)
counted = stepwise_gigpo(**bug4, gamma=0.95)
for i in range(3):
    print(f"start of {bug4['traj_ids'][i]}: stepwise {counted[i]:+.3f}   library {float(details.advantage[i]):+.3f}")
estimator_heatmaps(details, {"score on every row (bug)": counted, "library GiGPO": details.advantage})

# %% [raw]
# # BEGIN QUESTION
# name: q11_explain_final_reward_twice
# manual: true
# points: 2

# %% [markdown]
# **Q11 (explain, graded by hand).** Write the step return $R_t$ at `start` for a win in $T$ steps, correct and
# buggy. Why does the bug reverse GiGPO's preference for short episodes, and what happens to a two-step episode's
# last step? How does the update's weight on the final reward grow with the episode's length? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Correct: $R_0 = \gamma^{T-1} r$, larger for shorter wins, so $A^S$ at `start` favours `w0`.
# Buggy: every row carries $r$, so $R_0 = r(1 + \gamma + \dots + \gamma^{T-1}) = r\,(1-\gamma^T)/(1-\gamma)$, which
# grows with $T$: the longest win looks best and the policy learns to take longer paths. The final reward is
# counted once per remaining step: in a two-step episode twice at the first step, and $T$ times at the first step of
# a $T$-step one, on top of $A^E$, which already carries it once for every step. With $\gamma = 1$, $R_t = (T - t)\,r$:
# the weight of the outcome in the update grows linearly with the episode's length. Full marks: both formulas +
# reversed preference + the growth with length.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q12_fix_final_reward_twice
# points: 3

# %% [markdown]
# **Q12 (fix).** Write a correct `stepwise_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6)`
# (`rewards` are the environment's per-step rewards): the episode's outcome counted once, in $A^E$, and each step's
# return from the rewards still to come.

# %% [raw]
# # BEGIN SOLUTION

# %%
def stepwise_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    # BEGIN SOLUTION
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    step_returns = returns_to_go(traj_ids, rewards, gamma)  # the per-step rewards, not the rows' episode score
    a_s = normalise_within(step_returns, list(zip(group_ids, anchors)), eps)
    return [e + s for e, s in zip(a_e, a_s)]
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("stepwise_gigpo", stepwise_gigpo)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("stepwise_gigpo", stepwise_gigpo, random_batches=100, seed=64)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## Bug 5 · Group members that do not start from the same state
#
# A group is only a group if its rollouts play the same task. In verl-agent's issue #82 the members of a group did
# not start from the same state. One way this happens: the parallel environments are reset task-major
# (`np.tile`) while the group ids are written rollout-major (`np.repeat`):

# %%
def env_layout(task_seeds, group_size):
    """The reset seed and the task-group id of each of the ``len(task_seeds) * group_size`` parallel envs."""
    n = len(task_seeds) * group_size
    seeds = [task_seeds[i % len(task_seeds)] for i in range(n)]  # np.tile(task_seeds, group_size)
    group_ids = [i // group_size for i in range(n)]  # np.repeat(np.arange(len(task_seeds)), group_size)
    return seeds, group_ids


# %% [markdown]
# Two tasks, two rollouts each, one step per rollout. Task seed 3 is easy (every rollout wins, reward 1), task
# seed 8 is hard (every rollout fails, reward 0): the policy has nothing to learn from either group.

# %%
seeds, groups = env_layout([3, 8], 2)
bug5 = {"group_ids": groups, "traj_ids": [0, 1, 2, 3], "rewards": [1.0 if s == 3 else 0.0 for s in seeds]}
print("env seeds:", seeds, " group ids:", groups)

# %% [raw]
# # BEGIN QUESTION
# name: q13_find_initial_state
# points: 2

# %% [markdown]
# **Q13 (find: predict, then run).** What GRPO advantage does env 0's rollout (seed 3, a win) get with this layout,
# and with a layout whose groups each play one task? Two numbers, to 3 decimals.

# %% [raw]
# # BEGIN SOLUTION

# %%
env0_advantage_this_layout = 0.7071  # SOLUTION
env0_advantage_one_task_per_group = 0.0  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(env0_advantage_this_layout, (int, float))
assert isinstance(env0_advantage_one_task_per_group, (int, float))

# %%
# HIDDEN
assert abs(env0_advantage_this_layout - 0.7071) < 1e-3 and abs(env0_advantage_one_task_per_group) < 1e-3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# Now run it.

# %%
print("this layout:      ", [round(v, 4) for v in grpo_advantages(**bug5).tolist()])
print("grouped by seed:  ", [round(v, 4) for v in grpo_advantages(seeds, bug5["traj_ids"], bug5["rewards"]).tolist()])

# %% [raw]
# # BEGIN QUESTION
# name: q14_explain_initial_state
# manual: true
# points: 2

# %% [markdown]
# **Q14 (explain, graded by hand).** What does the group comparison measure when its members play different
# tasks, and what does the policy learn from it? Why can no advantage function detect this from its inputs, and
# what check on the batch would? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** The baseline is meant to be the value of the task's start state, so that $A^E$ says how much
# better this rollout did than others *on the same task*. With mixed tasks it measures which task was easier: the
# easy task's rollouts get $+0.71$ and the hard task's $-0.71$ whatever the policy did, so the update pushes up
# whatever was done on easy tasks and down on hard ones, pure noise with respect to the actions. The advantage
# function only sees group ids and rewards, which look normal. Checking the batch does catch it: the first rows of
# every task group must share their anchor (initial state), and each group must have N members reset with one
# seed. Full marks: task difficulty instead of action quality + not detectable from rewards + the first-anchor check.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q15_fix_initial_state
# points: 3

# %% [markdown]
# **Q15 (fix).** Write a correct `env_layout(task_seeds, group_size)`: `(seeds, group_ids)`, one entry per env,
# such that the `group_size` members of every group are reset with the same task seed (a seed listed twice is
# two groups).

# %% [raw]
# # BEGIN SOLUTION

# %%
def env_layout(task_seeds, group_size):
    # BEGIN SOLUTION
    n = len(task_seeds) * group_size
    seeds = [task_seeds[i // group_size] for i in range(n)]  # np.repeat, as the group ids
    group_ids = [i // group_size for i in range(n)]
    return seeds, group_ids
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check

result = check("env_layout", env_layout)
assert result.passed, result.message

# %%
# HIDDEN
from gigpo.course import check

result = check("env_layout", env_layout, random_batches=100, seed=65)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [markdown]
# ## The test that would have caught one
#
# SkyRL's fix (bug 2) came with a regression test. Write one yourself.

# %% [raw]
# # BEGIN QUESTION
# name: q16_write_the_test
# points: 3

# %% [markdown]
# **Q16 (write a test).** Write `test_each_row_trained_on_its_own_tokens(step_token_advantages)`: it builds a batch,
# calls the function it is given, and `assert`s what a correct one must do. It is graded by running it twice: it
# must fail (an `AssertionError`) on the buggy `step_token_advantages` of bug 2 and pass on a correct one. Compare
# with properties, not with a copy of the fix: e.g. the advantages with the real masks must equal the advantages
# with all-ones masks times each row's own mask.

# %% [raw]
# # BEGIN SOLUTION

# %%
def test_each_row_trained_on_its_own_tokens(step_token_advantages):
    # BEGIN SOLUTION
    groups, trajs, rewards = ["t"] * 4, ["a", "b", "a", "b"], [0.0, 0.0, 1.0, 0.0]
    masks = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=torch.float64)
    masked = torch.as_tensor(step_token_advantages(groups, trajs, rewards, masks), dtype=torch.float64)
    whole = torch.as_tensor(step_token_advantages(groups, trajs, rewards, torch.ones_like(masks)), dtype=torch.float64)
    assert torch.allclose(masked, whole * masks), "a row's advantage must sit on its own reply tokens"
    # END SOLUTION


# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
from gigpo.course import check_test

result = check_test("step_token_advantages", test_each_row_trained_on_its_own_tokens)
assert result.passed, result.message

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
