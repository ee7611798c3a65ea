# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · GiGPO's advantages, by hand and on a real batch
#
# **Learning objectives.** After this notebook you can: compute A_E, the discounted step returns, A_S and A for a
# small group by hand; say why a step's A_S is a one-sample estimate that inherits the luck of the rest of its
# rollout; read GiGPO's and GRPO's advantages side by side on a real batch; predict what `gamma`, `step_weight`
# and `norm` change.
#
# **Paper.** arXiv 2505.10978, Sec. 4 (Group-in-Group Policy Optimization): the episode-level relative advantage
# (Eq. 3), the step-level relative advantage over anchor-state groups with discounted returns (Eq. 6-7) and their
# sum (Eq. 8).
#
# **Run time.** About 13 s on 2 CPU cores (measured with `python -m gigpo run-notebook`, defaults).
#
# **What to expect.** The hand computation prints every row's $R_t$, $A^E$, $A^S$ and $A$ and agrees with the
# library; in the 4-rollout example a wasted move of a won rollout gets a *larger* advantage than under GRPO, and a
# right move of a lost rollout a *more negative* one (section 1, "continuation luck"); heatmaps of a batch of
# 2 household tasks x 8 rollouts; every registered estimator on that batch; a check that `step_weight = 0` gives
# GRPO.
#
# GiGPO (Feng et al. 2025) gives every step of a rollout an advantage with two parts.
# For a task group of $N$ rollouts $\tau_1..\tau_N$ with returns $R(\tau_i) = \sum_t r_t^{(i)}$:
#
# **Episode level** (Eq. 3), the GRPO advantage, the same for every step of a rollout:
# $$A^E(\tau_i) = \frac{R(\tau_i) - \operatorname{mean}_j R(\tau_j)}{F_{norm}}, \qquad F_{norm} = \operatorname{std}_j R(\tau_j) \text{ (or 1 with norm = none)}$$
#
# **Step level** (Eq. 6-7): the steps of the group taken from the same anchor state $\tilde s$ form a step group
# $G^S(\tilde s)$. Each step has its discounted return inside its own rollout,
# $R_t = r_t + \gamma R_{t+1}$, and
# $$A^S(a_t^{(i)}) = \frac{R_t^{(i)} - \operatorname{mean}_{G^S(\tilde s)} R}{F_{norm}}, \qquad F_{norm} = \operatorname{std}_{G^S(\tilde s)} R \text{ (or 1 with norm = none)}$$
#
# Here $F_{norm}$ is the std of the discounted returns **of the step group**, not the episode group's std above.
#
# **Combined** (Eq. 8): $A = A^E + \omega \cdot A^S$ with the step weight $\omega$ (paper: $\gamma = 0.95$, $\omega = 1$).
#
# Conventions of this library: the std is the unbiased one ($n - 1$) plus a small `eps`; a group with a single
# member gets 0 at that level.

# %% tags=["parameters"]
# papermill parameters
gamma = 0.95          # discount of the step-level return (paper: 0.95)
step_weight = 1.0     # omega, weight of A_S (paper: 1.0)
norm = "std"          # "std" or "none" (mean-only, the paper's w/o-std variant)
env_name = "household"
task_seeds = [0, 1]   # one task group per seed
group_size = 8        # N, rollouts per task
epsilon = 0.3         # random-action probability of the scripted policy
policy_seed = 0
env_options = {"max_steps": 12}
output_dir = None     # if set (python -m gigpo run-notebook sets it), the figures are saved there as HTML

# %%
import statistics

import torch
from IPython.display import display

from gigpo import advantage_details, grpo_advantages
from gigpo.inspect import inspect_table, table_from_step_records
from gigpo.inspect.figures import step_through_figure
from gigpo.notebook import plots
from gigpo.notebook.scripted_rollouts import collect_groups, outcomes, records_details
from gigpo.notebook.widgets import AdvantageExplorer

# %% [markdown]
# ## 1. A hand-sized example
#
# One task, four rollouts, three anchor states `s0`, `s1`, `s2`. The task is won by taking `b` in `s1`
# (reward 1 on that step, 0 everywhere else); `c` leaves the agent in `s0`; `d` leads to the dead end `s2`.
#
# | rollout | path (state, action) | return |
# |---|---|---|
# | 0 | (s0, a) → (s1, b) → won | 1 |
# | 1 | (s0, c) → (s0, a) → (s1, b) → won | 1 |
# | 2 | (s0, a) → (s1, d) → (s2, e) → step limit | 0 |
# | 3 | (s0, c) → (s0, c) → (s0, c) → step limit | 0 |

# %%
rollouts = {  # rollout -> list of (anchor state, action, reward)
    0: [("s0", "a", 0.0), ("s1", "b", 1.0)],
    1: [("s0", "c", 0.0), ("s0", "a", 0.0), ("s1", "b", 1.0)],
    2: [("s0", "a", 0.0), ("s1", "d", 0.0), ("s2", "e", 0.0)],
    3: [("s0", "c", 0.0), ("s0", "c", 0.0), ("s0", "c", 0.0)],
}
hand_gamma, eps = 0.95, 1e-6  # the worked example uses the paper's gamma, whatever the parameter above

# %% [markdown]
# **Episode level.** Returns 1, 1, 0, 0: mean 0.5, unbiased std $\sqrt{4 \cdot 0.25 / 3} = 0.577$, so
# $A^E = \pm 0.5 / 0.577 = \pm 0.866$.

# %%
episode_return = {i: sum(r for _, _, r in steps) for i, steps in rollouts.items()}
mean_R, std_R = statistics.mean(episode_return.values()), statistics.stdev(episode_return.values())
A_E = {i: (R - mean_R) / (std_R + eps) for i, R in episode_return.items()}
print("R(tau):", episode_return, f"mean {mean_R}, std {std_R:.3f}")
print("A_E:", {i: round(a, 3) for i, a in A_E.items()})

# %% [markdown]
# **Discounted returns.** Backwards through each rollout: $R_t = r_t + \gamma R_{t+1}$. Rollout 1 gets
# $(0.95^2, 0.95, 1) = (0.9025, 0.95, 1)$.

# %%
R_t = {}
for i, steps in rollouts.items():
    future = 0.0
    for t in reversed(range(len(steps))):
        future = steps[t][2] + hand_gamma * future
        R_t[i, t] = future
for i, steps in rollouts.items():
    print(f"rollout {i}: R_t =", [round(R_t[i, t], 4) for t in range(len(steps))])

# %% [markdown]
# **Step groups and A_S.** `s1` was reached by rollouts 0, 1 and 2: two took `b` (return 1), one took `d`
# (return 0). Mean 2/3, std 0.577: `b` gets $+0.577$, `d` gets $-1.155$. GRPO cannot tell these apart *within*
# rollout 2 (it gives every step of rollout 2 the same $-0.866$); GiGPO singles out `d` as the mistake.
# `s0` has 7 steps; `s2` only one, so its $A^S$ is 0.

# %%
step_group = {}
for i, steps in rollouts.items():
    for t, (state, _, _) in enumerate(steps):
        step_group.setdefault(state, []).append((i, t))
A_S = {}
for state, members in step_group.items():
    returns = [R_t[m] for m in members]
    for m in members:
        A_S[m] = 0.0 if len(members) == 1 else (R_t[m] - statistics.mean(returns)) / (statistics.stdev(returns) + eps)
A = {m: A_E[m[0]] + 1.0 * A_S[m] for m in A_S}
for (i, t), a in sorted(A.items()):
    state, action, _ = rollouts[i][t]
    print(f"rollout {i} t={t} {state} --{action}-->  R_t={R_t[i, t]:.4f}  A_E={A_E[i]:+.3f}  "
          f"A_S={A_S[i, t]:+.3f}  A={a:+.3f}")

# %% [markdown]
# ### Check against the library
#
# The same rows, flattened the way the library wants them (one row per step, rows of a rollout in time order),
# through `gigpo.advantage_details`.

# %%
rows = [(i, t) for i, steps in rollouts.items() for t in range(len(steps))]
lib = advantage_details(group_ids=[0] * len(rows), traj_ids=[i for i, _ in rows],
                        rewards=[rollouts[i][t][2] for i, t in rows], anchors=[rollouts[i][t][0] for i, t in rows],
                        gamma=hand_gamma, step_weight=1.0, norm="std", eps=eps)
torch.testing.assert_close(lib.episode_adv, torch.tensor([A_E[i] for i, _ in rows]))
torch.testing.assert_close(lib.step_returns, torch.tensor([R_t[r] for r in rows]))
torch.testing.assert_close(lib.step_adv, torch.tensor([A_S[r] for r in rows]))
torch.testing.assert_close(lib.advantage, torch.tensor([A[r] for r in rows]))
print("hand computation == gigpo.advantage_details:", lib.step_group_stats())

# %% [markdown]
# ### Continuation luck: $A^S$ is a one-sample estimate
#
# Look at `s0`, the start state. Seven steps were taken there: `a` three times (rollout 0, rollout 1 at t=1,
# rollout 2) and `c` four times (rollout 1 at t=0, rollout 3 three times). $A^S$ scores each of them by the
# discounted return of **its own rollout from that step on**: a single Monte-Carlo sample of what follows the action,
# not the action's value. So a step inherits the luck of the rest of its rollout:
#
# - the wasted move `c` of rollout 1 (it stays in `s0`) gets $A = +1.871$, nearly as much as the right move `a`
#   ($+1.966$) and more than GRPO's $+0.866$, because rollout 1 went on to win;
# - the right move `a` of rollout 2 gets $A = -1.667$, **more** negative than GRPO's $-0.866$, because rollout 2
#   later took `d` into the dead end: the same advantage as rollout 3's useless `c` moves.
#
# Repeated visits count several times: rollout 3 stood in `s0` three times, so its return of 0 is three of the
# seven members of `s0`'s step group, pulling the group's mean down (to 0.400) and lifting every won step from `s0`.
#
# Per action, averaged over its samples, `a` still ranks above `c` (below). In expectation over rollouts a step's
# return estimates the value of its action under the current policy; a single sample does not, and the policy
# gradient only sees the average over many rollouts and iterations.

# %%
s0_actions = {}
for i, t in step_group["s0"]:
    s0_actions.setdefault(rollouts[i][t][1], []).append(A_S[i, t])
print(f"s0: {len(step_group['s0'])} steps, mean return {statistics.mean(R_t[m] for m in step_group['s0']):.3f}")
for action, values in s0_actions.items():
    print(f"  action {action}: {len(values)} samples, A_S {[round(v, 3) for v in values]}, "
          f"mean {statistics.mean(values):+.3f}")
assert A[1, 0] > A_E[1] and A[2, 0] < A_E[2]  # the wasted move gains and the right move loses against GRPO
assert statistics.mean(s0_actions["a"]) > statistics.mean(s0_actions["c"])

# %% [markdown]
# ## 2. A real batch
#
# Now 2 household tasks x 8 rollouts from the scripted epsilon-expert policy. The heatmaps show one row per
# rollout and one column per step (blank: the rollout had ended). $A^E$ is constant along a row; $A^S$ varies
# from step to step, positive where an action did better than the other actions taken from the same state.

# %%
batch = collect_groups(env_name, task_seeds, group_size, epsilon, seed=policy_seed, env_options=env_options)
print(len(batch), "steps;", sum(o["won"] for o in outcomes(batch).values()), "of", len(outcomes(batch)), "rollouts won")
details = records_details(batch, anchor="state", gamma=gamma, step_weight=step_weight, norm=norm)
grpo = grpo_advantages([r.group_id for r in batch], [r.traj_id for r in batch], [r.reward for r in batch], norm=norm)
shown = {"gamma": gamma, "step_weight": step_weight, "norm": norm}
figures = {"advantage_heatmaps": plots.advantage_heatmaps(details, params=shown)}
figures["advantage_heatmaps"].show()

# %% [markdown]
# The step groups behind $A^S$, without a kernel: the first task's rollouts on their state graph, a slider over
# steps (the figure of `python -m gigpo inspect`, docs/inspect.md). The ringed state at step *t* is the largest step
# group of that step; its rows are the ones whose discounted returns GiGPO compares there.

# %%
inspected = inspect_table(table_from_step_records(batch), ["gigpo", "grpo"],
                          shared={"gamma": gamma, "step_weight": step_weight, "norm": norm})
figures["step_through"] = step_through_figure(inspected, group=0)
figures["step_through"].show()
torch.testing.assert_close(torch.from_numpy(inspected.advantages["gigpo"]).float(), details.advantage)

# %% [markdown]
# ### GiGPO beside GRPO
#
# GRPO (left) gives every step of a rollout its episode advantage. GiGPO (right) adds $\omega A^S$: each step's
# discounted return against the other steps taken from the same state. Household pays a reward only on success, so
# a step's return is 0 in a lost rollout and positive in a won one: wherever won and lost rollouts share a state,
# $A^S$ has the sign of $A^E$ and adds to it. With the defaults no row changes sign and no row's $|A|$ shrinks
# (counted below); what GiGPO adds is the spread *within* a rollout, larger for steps from states where the other
# rollouts did worse, and larger for steps nearer the goal (they are discounted less). A step group of won
# rollouts only can still give a won step a negative $A^S$ (a longer remaining path than the others); notebook 05
# shows that length signal at work.

# %%
figures["gigpo_vs_grpo"] = plots.gigpo_vs_grpo_heatmaps(details, grpo, params=shown)
figures["gigpo_vs_grpo"].show()
gigpo_adv = details.advantage
print(f"{len(grpo)} rows: sign differs from GRPO's on {int((gigpo_adv.sign() * grpo.sign() < 0).sum())}, "
      f"|A| larger than GRPO's on {int((gigpo_adv.abs() > grpo.abs() + 1e-6).sum())}, "
      f"smaller on {int((gigpo_adv.abs() < grpo.abs() - 1e-6).sum())}")

# %% [markdown]
# ### Inside one step group
#
# The step group where the rollouts disagree most (most distinct actions). GRPO's bars only reflect how each
# rollout ended; GiGPO's also reflect the discounted return from the step on, i.e. how the rest of its own
# rollout went (right).

# %%
figures["step_group_credit"] = plots.step_group_credit(batch, details, grpo)
figures["step_group_credit"].show()

# %% [markdown]
# ### Every registered estimator side by side
#
# The same batch through every estimator in the registry (`gigpo.estimator_names()`), each with its defaults plus
# this notebook's `gamma`, `step_weight` and `norm` where it takes them (as `TrainConfig` passes them):
# **HGPO** (He et al. 2026) compares a step only with steps that share its last $k$ anchors, $k = 1..3$, and
# averages those group advantages with weights $(k+1)^\alpha$: steps reached along the same recent path decide.
# **GraphGPO** pools the rollouts into one state graph and scores a step by $c\,\gamma^{d}$ with $d$ the
# shortest distance from where it led to success, normalised among the steps from the same state: a step credits
# the best path *any* rollout found, not only its own continuation. HGPO has no episode term by default
# (`base_group=False`); GraphGPO adds $A^E$ with weight 1. Definitions and every option: `docs/advantages.md`.

# %%
from gigpo.estimators import applicable_options, compute_advantages, estimator_names
from gigpo.notebook.scripted_rollouts import record_anchors

columns = ([r.group_id for r in batch], [r.traj_id for r in batch], [r.reward for r in batch],
           record_anchors(batch, "state"))
shared = {"gamma": gamma, "step_weight": step_weight, "norm": norm}
side_by_side = {name: compute_advantages(name, *columns, **applicable_options(name, shared))
                for name in estimator_names()}
figures["estimators_side_by_side"] = plots.estimator_heatmaps(details, side_by_side, params=shown)
figures["estimators_side_by_side"].show()
torch.testing.assert_close(side_by_side["gigpo"], details.advantage)  # the same batch as the heatmaps above

# %% [markdown]
# ## 3. Try it
#
# **gamma** shortens or lengthens how far ahead a step's return looks; **step_weight** scales $A^S$ (0 gives back
# GRPO exactly); **norm** = none keeps the raw differences; the **anchor** and **similarity** controls change the
# step groups as in notebook 01. The heatmap titles always say which values made them.

# %%
advantage_explorer = AdvantageExplorer(batch, gamma=gamma, step_weight=step_weight, norm=norm, name="batch")
display(advantage_explorer.widget)

# %% [markdown]
# ## Check
#
# With `step_weight = 0` GiGPO's advantage is GRPO's, on this real batch.

# %%
no_step = records_details(batch, anchor="state", gamma=gamma, step_weight=0.0, norm=norm)
torch.testing.assert_close(no_step.advantage, grpo)
print("step_weight = 0 reproduces GRPO")
if output_dir:
    print("saved", [p.name for p in plots.save_figures(figures, output_dir)])
