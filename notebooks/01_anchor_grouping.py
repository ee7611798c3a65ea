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
# # 01 · Anchor states and step groups
#
# GiGPO (Feng et al. 2025, *Group-in-Group Policy Optimization for LLM Agent Training*, arXiv 2505.10978) trains
# an agent from **groups of N rollouts of the same task**. Besides comparing whole rollouts (the episode level,
# as GRPO does), it looks *inside* the group: whenever several rollouts stand in the **same environment state**,
# the actions they took from there can be compared directly. The repeated state is an **anchor state**, and the
# steps taken from it form a **step group**.
#
# **Learning objectives.** After this notebook you can: say what an anchor state and a step group are; find the step
# groups of a group of rollouts (a step group is tied to a state, not to a time step); explain why the observation
# text is not always the state (texts that merge states, states that split over texts); predict what lowering the
# similarity threshold does to the step groups.
#
# **Paper.** arXiv 2505.10978, Sec. 4, the step-level relative advantage: anchor-state grouping (how the step groups
# are built, before Eq. 6-7), and its similarity-based grouping variant (verl-agent's `similarity_thresh`).
#
# **Run time.** About 10 s on 2 CPU cores (measured with `python -m gigpo run-notebook`, defaults).
#
# **What to expect.** With the defaults, 6 of 8 household rollouts win; 82% of their steps share their state with
# another step (24 step groups, mean size 3.3); a few observation texts stand for 2-3 different states; lower
# similarity thresholds merge the text anchors into fewer, larger groups; on the Sokoban puzzle text and state key
# give the same 15 step groups. No model is trained.
#
# This notebook makes step groups visible:
#
# 1. 8 rollouts of one household task (an offline counterpart of ALFWorld) played by a noisy expert;
# 2. a slider that steps through time, showing every rollout's observation and action and which of them share a state;
# 3. the rollouts drawn as paths through shared states;
# 4. the canonical **state key** against the **observation text** as the anchor, and the effect of the
#    **similarity threshold** (the paper's fuzzy-grouping variant);
# 5. the same for a Sokoban puzzle.
#
# No model is trained here: the rollouts come from `gigpo.notebook.scripted_rollouts`, an epsilon-expert policy (with
# probability epsilon a random admissible action, otherwise the environment's built-in expert move).

# %% tags=["parameters"]
# papermill parameters
group_size = 8             # N, rollouts per task (paper: 8)
epsilon = 0.3              # probability of a random admissible action instead of the expert's
policy_seed = 0            # seed of the policy's random draws
household_task = 0         # task seed of the household task
household_max_steps = 12   # step limit of a household rollout (short, so some rollouts fail)
sokoban_task = 0           # task seed of the Sokoban puzzle
sokoban_max_steps = 15     # step limit of a Sokoban rollout
thresholds = [1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5]  # similarity thresholds to sweep
output_dir = None          # if set (python -m gigpo run-notebook sets it), the figures are saved there as HTML

# %%
from IPython.display import HTML, display

from gigpo.inspect import inspect_table, table_from_step_records
from gigpo.inspect.cli import inspect_rollouts
from gigpo.inspect.figures import step_through_figure
from gigpo.notebook import plots
from gigpo.notebook.scripted_rollouts import anchor_disagreements, collect_group, outcomes, records_details
from gigpo.notebook.widgets import RolloutExplorer

# %% [markdown]
# ## 1. A group of rollouts of one household task
#
# All 8 rollouts reset with the same task seed, so they start in the same state. Each `StepRecord` row holds the
# observation the agent read, the canonical state key `anchor` (a tuple describing the whole state), the action,
# and the reward. GiGPO consumes exactly these rows.

# %%
household = collect_group("household", household_task, group_size, epsilon, seed=policy_seed,
                          env_options={"max_steps": household_max_steps})
print("task:", household[0].observation.split("Your task is to: ")[-1])
for traj, o in outcomes(household).items():
    print(f"rollout {traj}: {'won ' if o['won'] else 'failed'}  return {o['return']:5.1f}  {o['length']:2d} steps")

# %% [markdown]
# ## 2. Step through time
#
# Move the **step** slider. The table lists what every rollout sees at step *t* and what it does; rows with the
# same colour stand in the same anchor state, i.e. they belong to the same step group. At *t = 0* all rollouts
# share the start state; random actions make them drift apart, and they meet again whenever they reach the same
# state (often on the expert's path). The graph below outlines the states occupied at step *t*.
#
# Note that a step group is not tied to a time step: a state reached at *t = 2* by one rollout and at *t = 5* by
# another is one group. GiGPO compares the **discounted returns** of the steps of a group (notebook 02).

# %%
explorer = RolloutExplorer(household, step=2, name="household")
display(explorer.widget)

# %% [markdown]
# The same view without widgets (this is what a non-interactive run, e.g. papermill, keeps): step *t = 2*.

# %%
details = records_details(household, anchor="state")
display(HTML(plots.step_snapshot_html(household, details.step_group, step=2)))

# %% [markdown]
# And a step-through that needs no kernel: the same rollouts on their state graph, with a slider over steps (plotly
# frames, so it moves in the book and in any saved copy of this notebook). At step *t* each state is marked with
# how many rollouts stand there, and the largest step group of that step is ringed and named in the title. This is
# the figure `python -m gigpo inspect` draws for any rollout table (docs/inspect.md).

# %%
figures = {}  # name -> figure, saved to output_dir at the end
household_table = table_from_step_records(household)
household_inspected = inspect_table(household_table, ["gigpo"])
figures["household_step_through"] = step_through_figure(household_inspected)
figures["household_step_through"].show()
assert household_inspected.step_group.tolist() == details.step_group.tolist()  # the same step groups as above

# %% [markdown]
# ## 3. Rollouts as paths through shared states
#
# Each node is one anchor state, i.e. one step group; its size grows with the number of steps taken from it,
# its colour is the share of those steps that belong to rollouts that were eventually **won**. Lines follow the
# rollouts from state to state (thicker: more rollouts take that transition) into the final *won* / *failed*
# nodes. Hover over a node to read its observation and which rollouts visited it when.

# %%
figures["household_rollout_graph"] = plots.rollout_graph(
    household, details.step_group, title="Household task: 8 rollouts through anchor states")
figures["household_rollout_graph"].show()
print(details.step_group_stats())

# %% [markdown]
# ## 4. Which anchor? State key vs observation text
#
# The authors' code (verl-agent) groups steps on the **observation text**. Text is not the state:
#
# - one text can stand for different states (**merge**): "You arrive at fridge 1. ..." reads the same whether or
#   not the agent is holding the apple it must cool, yet the right next action differs;
# - one state can produce different texts (**split**): the message depends on the action that led there.
#
# Our environments expose a canonical **state key** (`info["anchor"]`, equal iff the states are equal), which is
# the default anchor here. Below, the same rollouts grouped both ways.

# %%
text_details = records_details(household, anchor="observation")
figures["household_state_vs_text"] = plots.rollout_graphs_side_by_side(
    household, {"state key": details.step_group, "observation text": text_details.step_group},
    title="Household: the same 8 rollouts, grouped by state key (left) and by observation text (right)")
figures["household_state_vs_text"].show()
figures["household_grouping_comparison"] = plots.grouping_comparison(
    {"state key": details.step_group_stats(), "observation text": text_details.step_group_stats()},
    title="Household: step groups under the two anchors")
figures["household_grouping_comparison"].show()

# %%
disagreements = anchor_disagreements(household)
print("texts that merge different states (text, #states, #steps):")
for text, n_states, n_steps in disagreements["merged"][:4]:
    print(f"  {n_states} states, {n_steps:2d} steps: {text[:90]!r}")
print("states that appear under different texts (#texts, #steps):", [d[1:] for d in disagreements["split"][:4]])

# %% [markdown]
# ### The similarity threshold
#
# The paper's similarity variant groups text anchors that are *alike*, not equal: verl-agent puts a step into the
# first existing cluster whose first text has a `difflib` similarity ratio of at least the threshold. Lowering the
# threshold merges more and more observations into fewer, larger step groups (more steps get a step-level
# comparison, but between less comparable states). Choose *observation text* and move **similarity** in the
# explorer above to watch it happen; here is the sweep.

# %%
sweep = [records_details(household, anchor="observation", similarity=t).step_group_stats() for t in thresholds]
figures["household_similarity_sweep"] = plots.similarity_sweep(
    thresholds, sweep, references={"state key (exact)": details.step_group_stats(),
                                   "observation text (exact)": text_details.step_group_stats()},
    title="Household: lower similarity thresholds merge observations into fewer step groups")
figures["household_similarity_sweep"].show()

# %% [markdown]
# ## 5. A Sokoban puzzle
#
# Sokoban's observation is the rendered grid, a pure function of the state, so here text and state key give the
# same step groups; rollouts that push a box into a corner can no longer win (the expert gives up and the policy
# acts randomly), which produces the failures.

# %%
sokoban = collect_group("sokoban", sokoban_task, group_size, epsilon, seed=policy_seed,
                        env_options={"max_steps": sokoban_max_steps})
print(sokoban[0].observation)
sokoban_details = records_details(sokoban, anchor="state")
sokoban_text = records_details(sokoban, anchor="observation")
print("won:", sum(o["won"] for o in outcomes(sokoban).values()), "of", group_size,
      "| step groups, state key:", sokoban_details.num_step_groups,
      "| observation text:", sokoban_text.num_step_groups)
figures["sokoban_rollout_graph"] = plots.rollout_graph(
    sokoban, sokoban_details.step_group, title="Sokoban: 8 rollouts through anchor states")
figures["sokoban_rollout_graph"].show()

# %%
sokoban_explorer = RolloutExplorer(sokoban, step=3, name="sokoban")
display(sokoban_explorer.widget)

# %% [markdown]
# ## 6. Inspecting a run of `make demo` (or any rollout table)
#
# `make demo` writes the rollouts of its anchor-grouping step as a rollout table, `runs/demo/anchor_groups.jsonl`
# (one row per step: group, rollout, step, anchor, observation, action, reward). `gigpo inspect` turns any such table
# into `advantages.csv` and one self-contained `index.html` (the step-through above, heatmaps for every estimator,
# the largest step groups); on the command line: `python -m gigpo inspect runs/demo/anchor_groups.jsonl --out
# runs/demo/inspect`. Without a demo run, this cell inspects the household group of section 1 the same way.

# %%
import tempfile
from pathlib import Path

from gigpo.run_files.rollout_table import write_rollout_table

demo_table = next((p for p in (Path("runs/demo/anchor_groups.jsonl"), Path("../runs/demo/anchor_groups.jsonl"))
                   if p.exists()), None)
inspect_dir = Path(output_dir or tempfile.mkdtemp()) / "inspect"
if demo_table is None:
    demo_table = write_rollout_table(household_table, inspect_dir.parent / "household_rollouts.jsonl")
csv_path, page = inspect_rollouts(demo_table, inspect_dir)
print(f"inspected {demo_table}: {csv_path} and {page} ({page.stat().st_size / 1e6:.1f} MB, open it in a browser)")
print(open(csv_path).read().splitlines()[0])

# %% [markdown]
# ## Check
#
# A step group must never mix tasks or states: every group under the state-key anchor holds exactly one state of
# one task, and under the text anchor exactly one text.

# %%
for records, d, key in ((household, details, "anchor"), (household, text_details, "observation"),
                        (sokoban, sokoban_details, "anchor")):
    members = {}
    for r, g in zip(records, d.step_group.tolist()):
        members.setdefault(g, set()).add((r.group_id, getattr(r, key)))
    assert all(len(m) == 1 for m in members.values()), key
    assert len(members) == d.num_step_groups
print("every step group holds one anchor of one task")
if output_dir:
    print("saved", [p.name for p in plots.save_figures(figures, output_dir)])
