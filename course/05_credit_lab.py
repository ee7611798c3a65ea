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
# # Unit 05 · Experiments in the credit lab (exercises)
#
# Goes with `notebooks/05_credit_lab.ipynb` (and docs/lab.md): a tabular softmax policy trained by policy
# gradient with the library's advantages on the real environments, fast enough to run experiments in seconds.
# Three experiments: the discount from a strong prior, Sokoban's step-penalty artefact, and an estimator of your
# own. About a minute on 2 CPU cores.

# %%
import torch

from gigpo import advantage_details, estimator_names, gigpo_advantages, register_estimator
from gigpo.lab import LabConfig, run_lab

torch.set_num_threads(1)


def final_length(result, estimator="gigpo"):
    """Mean episode length over the last 10 iterations (mean over seeds)."""
    return result.summary["estimators"][estimator]["final_length"]["mean"]


def final_success(result, estimator="gigpo"):
    return result.summary["estimators"][estimator]["final_success"]["mean"]


# %% [raw]
# # BEGIN QUESTION
# name: q1_gamma_from_a_strong_prior
# points: 3

# %% [markdown]
# **Q1 (lab experiment).** Train GiGPO in the lab (household, the lab's defaults) from a strong prior,
# `prior_success=0.6`, for 30 iterations on seed 0 (`seeds=[0]`, `estimators=["gigpo"]`, `output_dir=None`),
# once with `gamma=1.0` and once with `gamma=0.95`. Put the two `run_lab` results in `runs_by_gamma`, keyed by
# gamma. The cell after it prints final success and episode length of each.

# %% [raw]
# # BEGIN SOLUTION

# %%
runs_by_gamma = {}
# BEGIN SOLUTION NO PROMPT
for gamma in (1.0, 0.95):
    runs_by_gamma[gamma] = run_lab(LabConfig(estimators=["gigpo"], gamma=gamma, prior_success=0.6, iterations=30,
                                             seeds=[0], output_dir=None))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert set(runs_by_gamma) == {1.0, 0.95}, "runs_by_gamma needs one run_lab result for each of gamma 1.0 and 0.95"
for g, res in runs_by_gamma.items():
    cfg = res.summary["config"]
    assert cfg["gamma"] == g and cfg["prior_success"] == 0.6 and cfg["iterations"] == 30 and cfg["seeds"] == [0], \
        f"the run for gamma {g} must use prior_success=0.6, iterations=30, seeds=[0]"

# %%
# HIDDEN
assert final_length(runs_by_gamma[1.0]) > final_length(runs_by_gamma[0.95]) + 3

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
for g, res in runs_by_gamma.items():
    print(f"gamma {g}: final success {final_success(res):.2f}, final episode length {final_length(res):.1f} steps")

# %% [raw]
# # BEGIN QUESTION
# name: q2_gamma_explained
# manual: true
# points: 2

# %% [markdown]
# **Q2 (explain, graded by hand).** Which gamma gives the shorter episodes, by how much, and why? Success is high
# in both runs: what does the step level still learn once most rollouts win? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Measured (seed 0, 30 iterations): gamma 0.95 ends at about 7 steps per episode, gamma 1 at
# about 20, with success near 1 and 0.9. Household pays 10 on the last step only, so with gamma = 1 every step of
# a won rollout has the same return 10: in all-win groups both A_E and A_S are 0 and nothing prefers a shorter
# path (detours are never punished). With gamma = 0.95 the return of a step is 10 * 0.95^(steps left), so at a
# shared state the action that reaches the goal sooner gets a positive A_S: the step level keeps teaching short
# paths after the episode level has gone silent. Full marks: the numbers + the all-win / discount argument.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3_sokoban_artefact
# points: 3

# %% [markdown]
# **Q3 (lab experiment).** Sokoban costs -0.1 per step and truncates at 30 steps. Run the lab from scratch
# (`env="sokoban"`, `prior_success=None`, `estimators=["gigpo"]`, `iterations=3`, `num_groups=4`, `seeds=[0]`,
# `output_dir=None`) and set `artefact_share` to the mean over iterations of `zero_spread_nonzero_step` (each
# row of `result.rows` has it): of the rows in task groups whose rollouts all have the same return, the share
# that still gets a non-zero $A^S$.

# %% [raw]
# # BEGIN SOLUTION

# %%
artefact_share = None
# BEGIN SOLUTION NO PROMPT
sokoban = run_lab(LabConfig(env="sokoban", prior_success=None, estimators=["gigpo"], iterations=3, num_groups=4,
                            seeds=[0], output_dir=None))
artefact_share = sum(r["zero_spread_nonzero_step"] for r in sokoban.rows) / len(sokoban.rows)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert isinstance(artefact_share, float) and 0.0 <= artefact_share <= 1.0, "artefact_share is a share in [0, 1]"

# %%
# HIDDEN
_check = run_lab(LabConfig(env="sokoban", prior_success=None, estimators=["gigpo"], iterations=3, num_groups=4,
                           seeds=[0], output_dir=None))
assert abs(artefact_share - sum(r["zero_spread_nonzero_step"] for r in _check.rows) / 3) < 1e-9

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4_artefact_explained
# manual: true
# points: 2

# %% [markdown]
# **Q4 (explain, graded by hand).** In a group where every rollout fails (all returns equal, so $A^E = 0$), where
# does a non-zero $A^S$ come from? Is it credit for a good or bad action? What could remove it? (3-5 sentences.)

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown]
# **Answer key.** Nearly every such row (about 0.99 here) gets $A^S \neq 0$. With -0.1 per step and truncation,
# a failed rollout's discounted return at step t depends only on how many steps were left before the cut:
# rows of one state visited early and late have different returns. A_S then ranks visits by "time left", not by
# the action's quality: an artefact, not credit. gamma = 1 does not remove it (the return is still -0.1 times
# the steps left); norm="none" only shrinks it. Removing the step penalty does, and so would adding the step
# count to the anchor or skipping A_S in task groups without return spread. The lab measured no change in
# learning speed from any of these. Full marks: time-left explanation + one remedy that works.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q5_own_estimator
# points: 3

# %% [markdown]
# **Q5 (your own estimator).** Write an estimator `my_advantages(group_ids, traj_ids, rewards, anchors, *,
# gamma=0.95)` that returns one float per row as a tensor, *different* from both GiGPO and GRPO (for example:
# GiGPO with `norm="none"` on the step level only, a leave-one-out step baseline, or A_E plus half of A_S),
# register it as `"mine"` with `register_estimator("mine", my_advantages, overwrite=True)`, and run the lab with
# `estimators=["gigpo", "mine"]`, `prior_success=0.25`, `iterations=30`, `seeds=[0]`, `output_dir=None` into
# `mine_result`. You may build on the library's estimators.

# %% [raw]
# # BEGIN SOLUTION

# %%
mine_result = None


def my_advantages(group_ids, traj_ids, rewards, anchors, *, gamma=0.95):
    # BEGIN SOLUTION
    details = advantage_details(group_ids, traj_ids, rewards, anchors, gamma=gamma)
    return details.episode_adv + 0.5 * details.step_adv  # GiGPO with half the step weight
    # END SOLUTION


# BEGIN SOLUTION NO PROMPT
register_estimator("mine", my_advantages, overwrite=True)
mine_result = run_lab(LabConfig(estimators=["gigpo", "mine"], prior_success=0.25, iterations=30, seeds=[0],
                                output_dir=None))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
assert "mine" in estimator_names(), 'register your estimator as "mine"'
assert mine_result is not None and mine_result.summary["config"]["estimators"] == ["gigpo", "mine"], \
    'run the lab with estimators=["gigpo", "mine"] into mine_result'

# %%
# HIDDEN
from gigpo import compute_advantages, grpo_advantages

_b = {"group_ids": [0, 0, 0, 0, 0, 0, 0], "traj_ids": [0, 1, 2, 0, 1, 2, 1],
      "rewards": [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 10.0], "anchors": ["s", "s", "s", "t", "u", "t", "t"]}
_mine = compute_advantages("mine", *_b.values())
assert isinstance(_mine, torch.Tensor) and _mine.shape == (7,) and bool(torch.isfinite(_mine).all())
assert not torch.allclose(_mine.float(), gigpo_advantages(*_b.values()))
assert not torch.allclose(_mine.float(), grpo_advantages(_b["group_ids"], _b["traj_ids"], _b["rewards"]))
assert len(mine_result.rows) == 60

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
if mine_result is not None:
    for name in ("gigpo", "mine"):
        print(f"{name}: final success {final_success(mine_result, name):.2f}, "
              f"mean success over the run {mine_result.summary['estimators'][name]['mean_success']:.2f}")
