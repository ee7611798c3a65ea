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
# # 05 · Credit lab: GiGPO's step-level credit, where it helps and where it does not
#
# **Learning objectives.** After this notebook you can: compare estimators on paired seeds and read
# iterations-to-threshold with their spread; say where GiGPO's step-level credit helps (states that rollouts revisit;
# the length signal once every rollout of a group wins) and where it does not (Sokoban's step penalty with
# truncation, the shop's partial rewards); measure credit directly (credit AUC) instead of only through learning
# speed; place HGPO and GraphGPO beside GiGPO.
#
# **Paper.** arXiv 2505.10978, Sec. 4 (A_E, Eq. 3; A_S over anchor-state groups, Eq. 6-7; their sum, Eq. 8) and
# the experiments' claim that step-level credit learns faster than GRPO, tested here without an LLM.
#
# **Run time.** About 80 s on 2 CPU cores with the defaults (measured with `python -m gigpo run-notebook`; the
# notebook prints its own total; it uses one thread).
#
# **What to expect.** From a prior at 0.25 success (household 6/4, 3 seeds): GiGPO reaches 90% in about 22
# iterations, GRPO in about 49, GiGPO faster on 3 of 3 seeds, with shorter final episodes (6.5 vs 14.8 steps);
# from scratch GiGPO is faster to 50%; on Sokoban the two tie; on the shop neither gets far in 40 iterations.
# The 10-seed figures are in docs/lab.md (issue 29: the lead held on 10 more seeds). This is where GiGPO's lead over
# GRPO is established; on the LLM recipe of notebooks 03/04 it is not (issue 29, `results/README.md`).
#
# The LLM of notebooks 03/04 learns the CPU recipe in minutes (about +0.3 to +0.4 success in 20 iterations), but
# each run costs minutes and its seed-to-seed spread is as large as the difference between estimators. Here
# the LLM is replaced by a **tabular softmax policy**: one logit per (task, anchor state) x admissible action,
# trained by plain on-policy policy gradient with the library's own advantages (`gigpo.lab`). Everything else is
# the real thing: the environments, `envs.GroupRunner`, G tasks x N rollouts, and every registered estimator
# (`gigpo`, `grpo`, `rloo`, or one you add with `gigpo.register_estimator`). Seconds per run.
#
# Two regimes:
# - **from scratch**: the uniform policy over admissible actions;
# - **from an expert prior** (the paper's regime: a pretrained LLM already succeeds sometimes): a logit bonus
#   `beta` on the env's expert action, calibrated so the initial policy succeeds at `prior_success`.
#
# The parameters below are `gigpo.lab.LabConfig`, field for field; the prior regime on the command line:
#
# ```
# python -m gigpo lab --env household --env-options '{"num_receptacles": 6, "num_objects": 4}' --task-pool 16 \
#     --num-groups 8 --group-size 8 --prior-success 0.25 --estimators gigpo grpo --seeds 0 1 2 \
#     --iterations 60 --lr 0.3 --output-dir runs/lab
# ```
#
# The 10-seed comparison is `python benchmarks/lab_gigpo_vs_grpo.py` (docs/lab.md has its measured figures).

# %% tags=["parameters"]
env = "household"
env_options = None
max_steps = None
task_pool = 16
num_groups = 8
group_size = 8
filter_groups = "none"
max_gen_batches = 10
estimators = ["gigpo", "grpo"]
gamma = 0.95
step_weight = 1.0
norm = "std"
similarity = None
episode_stats = "trajectory"
estimator_options = {}
prior_success = 0.25
prior_beta = None
calibration_rollouts = 16
lr = 0.3
lr_grid = [0.03, 0.1, 0.3, 1.0, 3.0]
tune_seed = 1000
iterations = 60
seeds = [0, 1, 2]
thresholds = [0.5, 0.8, 0.9]
window = 5
output_dir = "runs/lab"
progress = False
save_rollouts = False  # rollout tables per iteration for `python -m gigpo inspect`
report_to = []  # trackers: tensorboard, mlflow, trackio, wandb (docs/metrics.md)
run_name = None
project = "gigpo-lab"

# %%
import time
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Markdown, display

from gigpo.lab import LabConfig, comparison_table, credit_quality, policy_batch, run_lab
from gigpo.notebook import plots

torch.set_num_threads(1)
cfg = LabConfig.from_dict({name: globals()[name] for name in LabConfig.field_names()})
out = Path(output_dir) if output_dir else None
start = time.perf_counter()
figures = {}

# %% [markdown]
# ## 1 · The two regimes
# Both regimes use the same paired seeds: for a given seed every estimator sees the same task draws and the same
# uniforms, so differences between estimators are not luck of the draw. If the parameters ask for no prior, the
# prior regime uses `prior_success = 0.25`.

# %%
prior_cfg = cfg if (cfg.prior_success is not None or cfg.prior_beta is not None) else cfg.replace(prior_success=0.25)
regimes = {
    "from scratch": run_lab(cfg.replace(prior_success=None, prior_beta=None,
                                        output_dir=str(out / "scratch") if out else None)),
    "from a prior": run_lab(prior_cfg.replace(output_dir=str(out / "prior") if out else None)),
}
prior = regimes["from a prior"].summary["prior"]
display(Markdown(f"Prior: beta = {prior['beta']:.2f} on the expert action gives an initial success of "
                 f"{prior['calibrated_success'] if prior['calibrated_success'] is not None else float('nan'):.2f}; "
                 f"lr per estimator: {regimes['from a prior'].summary['lr']}; "
                 f"{time.perf_counter() - start:.0f} s so far."))
figures["success"] = plots.lab_curves({k: r.rows for k, r in regimes.items()}, "success_rate",
                                      title=f"{env}: success rate, mean and ±1 std over {len(seeds)} seeds")
figures["success"]

# %% [markdown]
# ## 2 · Iterations to a success threshold
# The first iteration whose trailing `window`-iteration mean success reaches the threshold; a run that never gets
# there counts as `iterations + 1` (so that mean is a lower bound) and `(k/n)` says how many seeds got there.
# `ratio_to_<first>` is the ratio of mean iterations against the first estimator listed (above 1: the first
# was faster), `<first>_faster` on how many paired seeds it was strictly faster.

# %%
table = pd.DataFrame([{"regime": k, **row} for k, r in regimes.items() for row in comparison_table(r.summary)])
display(table)
if out:
    table.to_csv(out / "comparison.csv", index=False)
top = f"{max(thresholds):g}"
figures["iterations_to"] = plots.iterations_to_bars({k: r.summary for k, r in regimes.items()}, top)
figures["iterations_to"]

# %% [markdown]
# ## 3 · Episode length
# Shorter is better once tasks are solved: the expert paths take a handful of steps, the cap is the env's limit.

# %%
figures["length"] = plots.lab_curves({k: r.rows for k, r in regimes.items()}, "mean_length",
                                     title="Mean episode length (steps), mean and ±1 std over seeds",
                                     y_title="steps")
figures["length"]

# %% [markdown]
# ## 4 · |A_E| vs |A_S|
# GRPO and RLOO have only the episode-level part. GiGPO adds the step-level part A_S, computed within groups of
# steps that stand in the same anchor state. Note where |A_S| stays large while |A_E| falls.

# %%
figures["advantages"] = plots.advantage_magnitudes(regimes["from a prior"].rows,
                                                   title="From a prior: advantage magnitudes over training")
figures["advantages"]

# %% [markdown]
# ## 5 · Credit AUC
# For each step row whose state has an expert action: P(A(row where the expert's action was taken) > A(other
# row)), ties counting one half. 0.5 means the advantage carries no information about which action was right.
# Left: on each estimator's own training rows. Right: every estimator on the **same** rows, rollouts of the untrained
# policy at several prior strengths (uniform, the calibrated prior, a strong prior where nearly every rollout wins).

# %%
figures["credit_auc_training"] = plots.lab_curves({k: r.rows for k, r in regimes.items()}, "credit_auc",
                                                  title="Credit AUC on the training rows", y_title="AUC")
display(figures["credit_auc_training"])
options = {e: cfg.estimator_kwargs(e) for e in cfg.estimators}
pool = list(range(task_pool))
betas = {"uniform (β=0)": 0.0, f"calibrated prior (β={prior['beta']:.2f})": prior["beta"], "strong prior (β=3)": 3.0}
same_rows = {label: policy_batch(env, cfg.resolved_env_options(), pool, group_size, beta=b, max_steps=max_steps)
             for label, b in betas.items()}
quality = {label: credit_quality(b, options) for label, b in same_rows.items()}
figures["credit_auc_same_rows"] = plots.credit_auc_bars(quality)
display(pd.DataFrame({label: {e: round(q[e]["auc"], 3) for e in q} for label, q in quality.items()}))
display(pd.DataFrame({label: {"success": b.success.mean(), "rows": b.num_rows} for label, b in same_rows.items()}))
figures["credit_auc_same_rows"]

# %% [markdown]
# ## 6 · The successors beside GiGPO: HGPO and GraphGPO
# Both compute step credit from the same rollouts (`gigpo.estimators`): HGPO groups steps by their recent history
# of anchor states (the last k anchors equal, k = 1..history_length+1) and averages the group advantages with
# weights growing in k; GraphGPO builds the group's anchor-state graph and credits a step by how much closer to
# success (shortest path) its transition moved. They run here in the prior regime on the same paired seeds and the
# same lr setting; their credit AUC is measured on the same calibrated-prior rows as above.

# %%
successors = [e for e in ("hgpo", "graphgpo") if e not in cfg.estimators]  # any registered name can be added
runs = [regimes["from a prior"]]
if successors:
    runs.append(run_lab(prior_cfg.replace(estimators=successors,
                                          output_dir=str(out / "successors") if out else None)))
keep = ("estimator", *(k for k in comparison_table(runs[0].summary)[0] if k.startswith(("iters_to", "final"))))
every = {row["estimator"]: {k: row[k] for k in keep} for r in runs for row in comparison_table(r.summary)}
calibrated = same_rows[next(label for label in same_rows if label.startswith("calibrated"))]
auc = credit_quality(calibrated, {e: cfg.estimator_kwargs(e) for e in every})
successor_table = pd.DataFrame([{**row, "credit_auc (calibrated prior rows)": round(auc[e]["auc"], 3)}
                                for e, row in every.items()])
if out:
    successor_table.to_csv(out / "estimators.csv", index=False)
successor_table

# %% [markdown]
# ## 7 · Where GiGPO helps
# **Revisits.** A_S compares steps taken in the same state of the same task, so it needs states that several
# rollouts visit; small tasks and a prior that keeps rollouts near the expert path give many.
#
# **The length signal once every rollout wins.** When all N rollouts of a task succeed, their undiscounted returns
# are equal: the group has zero return spread and GRPO's A_E is 0 on all of its rows, so GRPO stops learning from
# that task. GiGPO's step returns are discounted (gamma < 1), so in such a group the step that reaches the goal
# sooner still gets a higher return and A_S is not 0: it keeps pushing towards the shorter path. The strong-prior
# bars above show the same thing without training (GRPO at 0.5, GiGPO well above). Below: the share of rows in
# zero-spread groups, and the share of those rows where the estimator still gives a non-zero A_S.

# %%
figures["zero_spread"] = plots.lab_curves({"from a prior": regimes["from a prior"].rows}, "zero_spread_share",
                                          title="Share of rows in groups with zero return spread (A_E = 0 there)",
                                          y_title="share of rows")
display(figures["zero_spread"])
figures["signal_in_zero_spread"] = plots.lab_curves(
    {"from a prior": regimes["from a prior"].rows}, "zero_spread_nonzero_step",
    title="Of those rows, the share that still gets a non-zero A_S", y_title="share")
figures["signal_in_zero_spread"]

# %% [markdown]
# ## 8 · Where GiGPO does not help
# **Sokoban's step penalty with truncation.** Every step costs -0.1 and an episode is cut at the step limit. In a
# group where every rollout fails, all returns agree (zero spread) yet two visits of one state still differ in
# their discounted step returns, only by how many steps were left before truncation: A_S is non-zero on most such
# rows, a signal about time left rather than about the action.
#
# **Shop's partial rewards.** The reward of a purchase grows with how well the product and its options match; the
# discounted step return prefers buying at once (fewer steps before the reward) over first choosing options, so
# A_S can point away from the better, longer path.
#
# Below: short runs of both envs from scratch (2 seeds, at most 40 iterations) and the artefact share on the
# same rows of uniform rollouts.

# %%
side = {name: run_lab(cfg.replace(env=name, env_options=None, max_steps=None, prior_success=None, prior_beta=None,
                                  iterations=min(iterations, 40), seeds=seeds[:2],
                                  output_dir=str(out / name) if out else None))
        for name in ("sokoban", "shop")}
figures["sokoban_shop_success"] = plots.lab_curves({k: r.rows for k, r in side.items()}, "success_rate",
                                                   title="Sokoban and shop from scratch: success rate")
display(figures["sokoban_shop_success"])
display(pd.DataFrame([{"env": k, **row} for k, r in side.items() for row in comparison_table(r.summary)]))
uniform = {name: policy_batch(name, None, pool, group_size) for name in ("sokoban", "shop")}
artefact = {name: {**credit_quality(b, options),
                   **{f"{e} (norm=none)": v for e, v in credit_quality(b, {e: {**options[e], "norm": "none"}
                                                                          for e in options if "norm" in options[e]
                                                                          }).items()}}
            for name, b in uniform.items()}
figures["artefact"] = plots.metric_bars(
    {name: {e: q["zero_spread_nonzero_step"] for e, q in a.items()} for name, a in artefact.items()},
    title="Uniform rollouts: share of zero-spread rows with a non-zero A_S (an artefact, not credit)",
    y_title="share of rows")
display(figures["artefact"])
figures["credit_auc_other_envs"] = plots.credit_auc_bars(artefact)
figures["credit_auc_other_envs"]

# %% [markdown]
# ## 9 · What this run shows
# Generated from this run's summaries (the 10-seed figures of the issue are in docs/lab.md).

# %%
lines = []
for k, r in {**regimes, **side}.items():
    s, ref = r.summary, r.summary["reference"]
    for e, by_t in s["paired"].items():
        lines.append(f"- **{k if k not in side else k + ', from scratch'}**, {ref} vs {e}: " + "; ".join(
            f"to {float(t):.0%} {s['estimators'][ref]['iterations_to'][t]['mean']:.1f} vs "
            f"{s['estimators'][e]['iterations_to'][t]['mean']:.1f} iterations (ratio {by_t[t]['ratio_of_means']:.2f}, "
            f"{ref} faster on {by_t[t]['first_faster']}/{len(by_t[t]['differences'])} seeds, reached "
            f"{s['estimators'][ref]['iterations_to'][t]['reached']} vs "
            f"{s['estimators'][e]['iterations_to'][t]['reached']})"
            for t in dict.fromkeys([f"{min(thresholds):g}", top]))
            + f"; final success {s['estimators'][ref]['final_success']['mean']:.2f} vs "
            f"{s['estimators'][e]['final_success']['mean']:.2f}, final length "
            f"{s['estimators'][ref]['final_length']['mean']:.1f} vs {s['estimators'][e]['final_length']['mean']:.1f}")
display(Markdown("\n".join(lines)))
if out:
    saved = plots.save_figures(figures, out)
    pngs, note = plots.save_static(figures, out)
    print(f"{len(saved)} HTML figures and {len(pngs)} PNGs in {out}" + (f"; {note}" if note else ""))
print(f"total {time.perf_counter() - start:.0f} s")
