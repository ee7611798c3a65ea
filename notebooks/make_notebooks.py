"""Build the course notebooks from the cell sources below, so they stay reviewable in diffs and regenerable.

    python notebooks/make_notebooks.py            # rewrite every notebook (outputs are dropped)
    python notebooks/make_notebooks.py 02         # only those whose file name starts with "02"

Conventions: ``md(...)`` is a markdown cell, ``code(...)`` a code cell, ``params(...)`` the papermill
``parameters`` cell. Notebooks hold explanation, parameters and plots; the algorithm lives in ``gigpo``.
"""
from __future__ import annotations

import ast
import dataclasses
import re
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str):
    return new_code_cell(textwrap.dedent(text).strip())


def params(text: str):
    cell = code(text)
    cell.metadata["tags"] = ["parameters"]
    return cell


def notebook(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    # papermill needs a language ("No language found" otherwise); nbmake and papermill find the venv's python3 kernel
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ---------------------------------------------------------------------------------------------------------------------
ANCHOR_GROUPING = [
    md("""
    # 01 · Anchor states and step groups

    GiGPO (Feng et al. 2025, *Group-in-Group Policy Optimization for LLM Agent Training*, arXiv 2505.10978) trains
    an agent from **groups of N rollouts of the same task**. Besides comparing whole rollouts (the episode level,
    as GRPO does), it looks *inside* the group: whenever several rollouts stand in the **same environment state**,
    the actions they took from there can be compared directly. The repeated state is an **anchor state**, and the
    steps taken from it form a **step group** (paper Sec. 4.2).

    This notebook makes step groups visible:

    1. 8 rollouts of one household task (an offline counterpart of ALFWorld) played by a noisy expert;
    2. a slider that steps through time, showing every rollout's observation and action and which of them share a state;
    3. the rollouts drawn as paths through shared states;
    4. the canonical **state key** against the **observation text** as the anchor, and the effect of the
       **similarity threshold** (the paper's fuzzy-grouping variant);
    5. the same for a Sokoban puzzle.

    No model is trained here: the rollouts come from `gigpo.scripted_rollouts`, an epsilon-expert policy (with
    probability epsilon a random admissible action, otherwise the environment's built-in expert move).
    """),
    params("""
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
    """),
    code("""
    from IPython.display import HTML, display

    from gigpo import plots
    from gigpo.scripted_rollouts import anchor_disagreements, collect_group, outcomes, records_details
    from gigpo.widgets import RolloutExplorer
    """),
    md("""
    ## 1. A group of rollouts of one household task

    All 8 rollouts reset with the same task seed, so they start in the same state. Each `StepRecord` row holds the
    observation the agent read, the canonical state key `anchor` (a tuple describing the whole state), the action,
    and the reward. GiGPO consumes exactly these rows.
    """),
    code("""
    household = collect_group("household", household_task, group_size, epsilon, seed=policy_seed,
                              env_options={"max_steps": household_max_steps})
    print("task:", household[0].observation.split("Your task is to: ")[-1])
    for traj, o in outcomes(household).items():
        print(f"rollout {traj}: {'won ' if o['won'] else 'failed'}  return {o['return']:5.1f}  {o['length']:2d} steps")
    """),
    md("""
    ## 2. Step through time

    Move the **step** slider. The table lists what every rollout sees at step *t* and what it does; rows with the
    same colour stand in the same anchor state, i.e. they belong to the same step group. At *t = 0* all rollouts
    share the start state; random actions make them drift apart, and they meet again whenever they reach the same
    state (often on the expert's path). The graph below outlines the states occupied at step *t*.

    Note that a step group is not tied to a time step: a state reached at *t = 2* by one rollout and at *t = 5* by
    another is one group. GiGPO compares the **discounted returns** of the steps of a group (notebook 02).
    """),
    code("""
    explorer = RolloutExplorer(household, step=2, name="household")
    display(explorer.widget)
    """),
    md("""
    The same view without widgets (this is what a non-interactive run, e.g. papermill, keeps): step *t = 2*.
    """),
    code("""
    details = records_details(household, anchor="state")
    display(HTML(plots.step_snapshot_html(household, details.step_group, step=2)))
    """),
    md("""
    ## 3. Rollouts as paths through shared states

    Each node is one anchor state, i.e. one step group; its size grows with the number of steps taken from it,
    its colour is the share of those steps that belong to rollouts that were eventually **won**. Lines follow the
    rollouts from state to state (thicker: more rollouts take that transition) into the final *won* / *failed*
    nodes. Hover over a node to read its observation and which rollouts visited it when.
    """),
    code("""
    figures = {}  # name -> figure, saved to output_dir at the end
    figures["household_rollout_graph"] = plots.rollout_graph(
        household, details.step_group, title="Household task: 8 rollouts through anchor states")
    figures["household_rollout_graph"].show()
    print(details.step_group_stats())
    """),
    md("""
    ## 4. Which anchor? State key vs observation text

    The authors' code (verl-agent) groups steps on the **observation text**. Text is not the state:

    - one text can stand for different states (**merge**): "You arrive at fridge 1. ..." reads the same whether or
      not the agent is holding the apple it must cool, yet the right next action differs;
    - one state can produce different texts (**split**): the message depends on the action that led there.

    Our environments expose a canonical **state key** (`info["anchor"]`, equal iff the states are equal), which is
    the default anchor here. Below, the same rollouts grouped both ways.
    """),
    code("""
    text_details = records_details(household, anchor="observation")
    figures["household_state_vs_text"] = plots.rollout_graphs_side_by_side(
        household, {"state key": details.step_group, "observation text": text_details.step_group},
        title="Household: the same 8 rollouts, grouped by state key (left) and by observation text (right)")
    figures["household_state_vs_text"].show()
    figures["household_grouping_comparison"] = plots.grouping_comparison(
        {"state key": details.step_group_stats(), "observation text": text_details.step_group_stats()},
        title="Household: step groups under the two anchors")
    figures["household_grouping_comparison"].show()
    """),
    code("""
    disagreements = anchor_disagreements(household)
    print("texts that merge different states (text, #states, #steps):")
    for text, n_states, n_steps in disagreements["merged"][:4]:
        print(f"  {n_states} states, {n_steps:2d} steps: {text[:90]!r}")
    print("states that appear under different texts (#texts, #steps):", [d[1:] for d in disagreements["split"][:4]])
    """),
    md("""
    ### The similarity threshold

    The paper's similarity variant groups text anchors that are *alike*, not equal: verl-agent puts a step into the
    first existing cluster whose first text has a `difflib` similarity ratio of at least the threshold. Lowering the
    threshold merges more and more observations into fewer, larger step groups (more steps get a step-level
    comparison, but between less comparable states). Choose *observation text* and move **similarity** in the
    explorer above to watch it happen; here is the sweep.
    """),
    code("""
    sweep = [records_details(household, anchor="observation", similarity=t).step_group_stats() for t in thresholds]
    figures["household_similarity_sweep"] = plots.similarity_sweep(
        thresholds, sweep, references={"state key (exact)": details.step_group_stats(),
                                       "observation text (exact)": text_details.step_group_stats()},
        title="Household: lower similarity thresholds merge observations into fewer step groups")
    figures["household_similarity_sweep"].show()
    """),
    md("""
    ## 5. A Sokoban puzzle

    Sokoban's observation is the rendered grid, a pure function of the state, so here text and state key give the
    same step groups; rollouts that push a box into a corner can no longer win (the expert gives up and the policy
    acts randomly), which produces the failures.
    """),
    code("""
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
    """),
    code("""
    sokoban_explorer = RolloutExplorer(sokoban, step=3, name="sokoban")
    display(sokoban_explorer.widget)
    """),
    md("""
    ## Check

    A step group must never mix tasks or states: every group under the state-key anchor holds exactly one state of
    one task, and under the text anchor exactly one text.
    """),
    code("""
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
    """),
]

# ---------------------------------------------------------------------------------------------------------------------
ADVANTAGES = [
    md(r"""
    # 02 · GiGPO's advantages, by hand and on a real batch

    GiGPO (Feng et al. 2025, arXiv 2505.10978, Sec. 4) gives every step of a rollout an advantage with two parts.
    For a task group of $N$ rollouts $\tau_1..\tau_N$ with returns $R(\tau_i) = \sum_t r_t^{(i)}$:

    **Episode level** (Eq. 3), the GRPO advantage, the same for every step of a rollout:
    $$A^E(\tau_i) = \frac{R(\tau_i) - \operatorname{mean}_j R(\tau_j)}{F_{norm}}, \qquad F_{norm} = \operatorname{std}_j R(\tau_j) \text{ (or 1 with norm = none)}$$

    **Step level** (Eq. 6-7): the steps of the group taken from the same anchor state $\tilde s$ form a step group
    $G^S(\tilde s)$. Each step has its discounted return inside its own rollout,
    $R_t = r_t + \gamma R_{t+1}$, and
    $$A^S(a_t^{(i)}) = \frac{R_t^{(i)} - \operatorname{mean}_{G^S(\tilde s)} R}{F_{norm}}$$

    **Combined** (Eq. 8): $A = A^E + \omega \cdot A^S$ with the step weight $\omega$ (paper: $\gamma = 0.95$, $\omega = 1$).

    Conventions of this library: the std is the unbiased one ($n - 1$) plus a small `eps`; a group with a single
    member gets 0 at that level.
    """),
    params("""
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
    """),
    code("""
    import statistics

    import torch
    from IPython.display import display

    from gigpo import advantage_details, grpo_advantages, plots
    from gigpo.scripted_rollouts import collect_groups, outcomes, records_details
    from gigpo.widgets import AdvantageExplorer
    """),
    md("""
    ## 1. A hand-sized example

    One task, four rollouts, three anchor states `s0`, `s1`, `s2`. The task is won by taking `b` in `s1`
    (reward 1 on that step, 0 everywhere else); `c` leaves the agent in `s0`; `d` leads to the dead end `s2`.

    | rollout | path (state, action) | return |
    |---|---|---|
    | 0 | (s0, a) → (s1, b) → won | 1 |
    | 1 | (s0, c) → (s0, a) → (s1, b) → won | 1 |
    | 2 | (s0, a) → (s1, d) → (s2, e) → step limit | 0 |
    | 3 | (s0, c) → (s0, c) → (s0, c) → step limit | 0 |
    """),
    code("""
    rollouts = {  # rollout -> list of (anchor state, action, reward)
        0: [("s0", "a", 0.0), ("s1", "b", 1.0)],
        1: [("s0", "c", 0.0), ("s0", "a", 0.0), ("s1", "b", 1.0)],
        2: [("s0", "a", 0.0), ("s1", "d", 0.0), ("s2", "e", 0.0)],
        3: [("s0", "c", 0.0), ("s0", "c", 0.0), ("s0", "c", 0.0)],
    }
    hand_gamma, eps = 0.95, 1e-6  # the worked example uses the paper's gamma, whatever the parameter above
    """),
    md("""
    **Episode level.** Returns 1, 1, 0, 0: mean 0.5, unbiased std $\\sqrt{4 \\cdot 0.25 / 3} = 0.577$, so
    $A^E = \\pm 0.5 / 0.577 = \\pm 0.866$.
    """),
    code("""
    episode_return = {i: sum(r for _, _, r in steps) for i, steps in rollouts.items()}
    mean_R, std_R = statistics.mean(episode_return.values()), statistics.stdev(episode_return.values())
    A_E = {i: (R - mean_R) / (std_R + eps) for i, R in episode_return.items()}
    print("R(tau):", episode_return, f"mean {mean_R}, std {std_R:.3f}")
    print("A_E:", {i: round(a, 3) for i, a in A_E.items()})
    """),
    md("""
    **Discounted returns.** Backwards through each rollout: $R_t = r_t + \\gamma R_{t+1}$. Rollout 1 gets
    $(0.95^2, 0.95, 1) = (0.9025, 0.95, 1)$.
    """),
    code("""
    R_t = {}
    for i, steps in rollouts.items():
        future = 0.0
        for t in reversed(range(len(steps))):
            future = steps[t][2] + hand_gamma * future
            R_t[i, t] = future
    for i, steps in rollouts.items():
        print(f"rollout {i}: R_t =", [round(R_t[i, t], 4) for t in range(len(steps))])
    """),
    md("""
    **Step groups and A_S.** `s1` was reached by rollouts 0, 1 and 2: two took `b` (return 1), one took `d`
    (return 0). Mean 2/3, std 0.577: `b` gets $+0.577$, `d` gets $-1.155$. GRPO cannot tell these apart *within*
    rollout 2 (it gives every step of rollout 2 the same $-0.866$); GiGPO singles out `d` as the mistake.
    `s0` has 7 steps; `s2` only one, so its $A^S$ is 0.
    """),
    code("""
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
    """),
    md("""
    ### Check against the library

    The same rows, flattened the way the library wants them (one row per step, rows of a rollout in time order),
    through `gigpo.advantage_details`.
    """),
    code("""
    rows = [(i, t) for i, steps in rollouts.items() for t in range(len(steps))]
    lib = advantage_details(group_ids=[0] * len(rows), traj_ids=[i for i, _ in rows],
                            rewards=[rollouts[i][t][2] for i, t in rows], anchors=[rollouts[i][t][0] for i, t in rows],
                            gamma=hand_gamma, step_weight=1.0, norm="std", eps=eps)
    torch.testing.assert_close(lib.episode_adv, torch.tensor([A_E[i] for i, _ in rows]))
    torch.testing.assert_close(lib.step_returns, torch.tensor([R_t[r] for r in rows]))
    torch.testing.assert_close(lib.step_adv, torch.tensor([A_S[r] for r in rows]))
    torch.testing.assert_close(lib.advantage, torch.tensor([A[r] for r in rows]))
    print("hand computation == gigpo.advantage_details:", lib.step_group_stats())
    """),
    md("""
    ## 2. A real batch

    Now 2 household tasks x 8 rollouts from the scripted epsilon-expert policy. The heatmaps show one row per
    rollout and one column per step (blank: the rollout had ended). $A^E$ is constant along a row; $A^S$ varies
    from step to step, positive where an action did better than the other actions taken from the same state.
    """),
    code("""
    batch = collect_groups(env_name, task_seeds, group_size, epsilon, seed=policy_seed, env_options=env_options)
    print(len(batch), "steps;", sum(o["won"] for o in outcomes(batch).values()), "of", len(outcomes(batch)), "rollouts won")
    details = records_details(batch, anchor="state", gamma=gamma, step_weight=step_weight, norm=norm)
    grpo = grpo_advantages([r.group_id for r in batch], [r.traj_id for r in batch], [r.reward for r in batch], norm=norm)
    shown = {"gamma": gamma, "step_weight": step_weight, "norm": norm}
    figures = {"advantage_heatmaps": plots.advantage_heatmaps(details, params=shown)}
    figures["advantage_heatmaps"].show()
    """),
    md("""
    ### GiGPO beside GRPO

    GRPO (left) gives every step of a rollout its episode advantage. GiGPO (right) adds the step-level term: a bad
    detour inside a won rollout turns negative, a good move inside a failed rollout is less punished.
    """),
    code("""
    figures["gigpo_vs_grpo"] = plots.gigpo_vs_grpo_heatmaps(details, grpo, params=shown)
    figures["gigpo_vs_grpo"].show()
    """),
    md("""
    ### Inside one step group

    The step group where the rollouts disagree most (most distinct actions). GRPO's bars only reflect how each
    rollout ended; GiGPO's also reflect the discounted return of the step itself (right).
    """),
    code("""
    figures["step_group_credit"] = plots.step_group_credit(batch, details, grpo)
    figures["step_group_credit"].show()
    """),
    md("""
    ## 3. Try it

    **gamma** shortens or lengthens how far ahead a step's return looks; **step_weight** scales $A^S$ (0 gives back
    GRPO exactly); **norm** = none keeps the raw differences; the **anchor** and **similarity** controls change the
    step groups as in notebook 01. The heatmap titles always say which values made them.
    """),
    code("""
    advantage_explorer = AdvantageExplorer(batch, gamma=gamma, step_weight=step_weight, norm=norm, name="batch")
    display(advantage_explorer.widget)
    """),
    md("""
    ## Check

    With `step_weight = 0` GiGPO's advantage is GRPO's, on this real batch.
    """),
    code("""
    no_step = records_details(batch, anchor="state", gamma=gamma, step_weight=0.0, norm=norm)
    torch.testing.assert_close(no_step.advantage, grpo)
    print("step_weight = 0 reproduces GRPO")
    if output_dir:
        print("saved", [p.name for p in plots.save_figures(figures, output_dir)])
    """),
]


# ---------------------------------------------------------------------------------------------------------------------
def train_config_parameters() -> str:
    """03's parameters cell: one line per ``TrainConfig`` field, in order, with its default and the first sentence of
    its docstring, under the section comments of ``gigpo/config.py`` (tests/test_notebook_params.py checks the
    match)."""
    from gigpo import config as config_module
    from gigpo.config import TrainConfig

    source = Path(config_module.__file__).read_text()
    cls = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "TrainConfig")
    docs, lines_of = {}, {}
    for stmt, nxt in zip(cls.body, cls.body[1:] + [None]):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            lines_of[stmt.target.id] = stmt.lineno
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    sections = {i: m.group(1) for i, line in enumerate(source.splitlines(), start=1)
                if (m := re.match(r"\s+# --- (.+?) -+$", line)) and i < cls.end_lineno}
    out = ["# papermill parameters: TrainConfig's fields, one for one (gigpo/config.py has the full documentation)"]
    for f in dataclasses.fields(TrainConfig):
        for line in sorted(sections):
            if line < lines_of[f.name] and sections.pop(line, None):
                out.append(f"\n# {source.splitlines()[line - 1].strip()[2:].strip(' -')}")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        assignment = f"{f.name} = {default!r}"
        doc = docs.get(f.name, "")
        room = 118 - len(assignment) - 3
        if doc and room > 20:
            sentence = doc if len(doc) <= room else doc[:room - 3].rstrip() + "..."
            assignment += f"  # {sentence}"
        out.append(assignment)
    return "\n".join(out)


LEARNING_KEYS = ["success_rate", "mean_return", "invalid_rate", "entropy", "kl", "adv_episode_abs", "adv_step_abs",
                 "step_group_mean_size", "step_group_share_grouped"]


def training_cells():
    return [
        md("""
        # 03 · Training an agent with GiGPO

        One training run, end to end: every iteration plays G tasks x N rollouts with the current policy, computes
        the advantages (GiGPO: episode + step level; or GRPO / RLOO for comparison), and takes a PPO-clip step with a
        KL penalty to the reference policy (paper Sec. 4, Alg. 1). The trainer is `gigpo.trainer.train`; this notebook
        only sets its parameters, runs it, and plots `metrics.jsonl` while it runs and at the end.

        **Parameters.** The next cell is papermill's `parameters` cell: it holds every field of
        `gigpo.config.TrainConfig` with its default, one for one (a test checks this). Defaults are the **tiny CPU
        preset**: a small randomly initialised Qwen2-shaped model built locally, LoRA, Sokoban, action *choice* among
        the admissible actions. It shows the machinery, not skill, in a few minutes on 2 CPU cores. Run with other
        parameters from a shell (outputs go to `runs/<name>/`: the executed notebook, `metrics.jsonl`,
        `config.json`, the figures):

        ```
        python -m gigpo run-notebook notebooks/03_training.ipynb --name sokoban-grpo -p estimator grpo -p iterations 20
        ```

        **The paper's setting (GPU).** Qwen2.5-1.5B-Instruct, free-form `<think>..</think><action>..</action>`
        replies generated with vLLM, 16 tasks x 8 rollouts, gamma 0.95, step weight 1, lr 1e-6, KL 0.01, 50 steps
        (ALFWorld; 15 for WebShop), 150 iterations, evaluation every 5 (`TrainConfig.paper("household")` in Python).
        The authors fine-tune all weights; LoRA (rank 16-64, a larger lr such as 1e-5) fits a smaller GPU. Needs
        `pip install -e ".[gpu]"`:

        ```
        python -m gigpo run-notebook notebooks/03_training.ipynb --name household-gigpo-qwen1.5b \\
            -p env household -p model Qwen/Qwen2.5-1.5B-Instruct -p device cuda -p dtype bfloat16 \\
            -p backend vllm -p action_mode free -p finetune lora -p lora_rank 32 -p lr 1e-5 \\
            -p num_groups 16 -p group_size 8 -p max_steps 50 -p history_length 2 -p max_new_tokens 512 \\
            -p kl_coef 0.01 -p entropy_coef 0.001 -p iterations 150 -p eval_every 5 -p eval_tasks 64 \\
            -p micro_batch_size 8 -p progress false
        ```
        (`-p finetune full -p lr 1e-6` is the paper exactly.)
        """),
        params(train_config_parameters()),
        code("""
        from IPython.display import display

        from gigpo import plots
        from gigpo.config import TrainConfig
        from gigpo.metrics_io import final_value, read_metrics
        from gigpo.train_process import training_command
        from gigpo.widgets import LiveCurves

        # the parameters above (and any papermill injected after them) become the run's config
        config = TrainConfig.from_dict({name: globals()[name] for name in TrainConfig.field_names()})
        print(f"{config.estimator} on {config.env}: {config.iterations} iterations of {config.num_groups} tasks x "
              f"{config.group_size} rollouts, model {config.model!r} ({config.finetune}), output in {config.output_dir}")
        """),
        md("""
        ## Train, with live curves

        Training (`gigpo.trainer.train`) runs in a child process (`gigpo.train_process`), its progress going to
        `train.log` in `output_dir`; the curves below redraw after every iteration, read back from `metrics.jsonl`.
        Re-running this cell starts the run over. An environment you registered in this notebook with
        `envs.register` is not known to the child: put the registration in a module and pass it with
        `training_command(config, setup_modules=["my_envs"])`.
        """),
        code(f"""
        curve_keys = {LEARNING_KEYS!r}
        live = LiveCurves(config.output_dir, curve_keys, title=f"{{config.estimator}} on {{config.env}}")
        display(live.widget)
        history = live.follow_process(training_command(config))
        """),
        md("""
        ## Final curves

        **success_rate** and **mean_return** are over the training rollouts of each iteration; **invalid_rate** is the
        share of steps whose reply was not an admissible action; **kl** and **entropy** describe the policy update;
        **adv_episode_abs** / **adv_step_abs** are the mean |A_E| and |A_S| of the batch, and the step-group statistics
        say how often rollouts shared a state (computed for every estimator so runs can be compared). Evaluation on
        held-out tasks (greedy and sampled) appears every `eval_every` iterations.
        """),
        code("""
        metrics = read_metrics(config.output_dir)
        figures = {"learning_curves": plots.learning_curves(
            metrics, curve_keys, title=f"{config.estimator} on {config.env}: training metrics per iteration")}
        eval_keys = [k for k in ("eval_greedy_success_rate", "eval_sampled_success_rate") if final_value(metrics, k) is not None]
        if eval_keys:
            figures["eval_curves"] = plots.learning_curves(metrics, eval_keys, cols=2,
                                                           title=f"{config.estimator} on {config.env}: held-out tasks")
        for fig in figures.values():
            fig.show()
        """),
        code("""
        summary = {k: final_value(metrics, k) for k in ["success_rate", "mean_return", "invalid_rate", *eval_keys]}
        print(f"{len(metrics)} iterations logged; last:", {k: round(v, 3) for k, v in summary.items() if v is not None})
        saved = plots.save_figures(figures, config.output_dir)
        print("figures:", [str(p) for p in saved])
        assert len(metrics) == config.iterations, "every iteration must log one metrics row"
        """),
    ]


def comparison_cells():
    return [
        md("""
        # 04 · GiGPO vs GRPO

        The paper's central comparison (Feng et al. 2025, Sec. 5, Table 1): the same training run with the episode-
        level advantage only (GRPO) and with GiGPO's added step-level advantage, over several seeds. This notebook runs
        `03_training.ipynb` through papermill once per (estimator, seed), each into its own folder under
        `output_dir`, then plots success curves with their spread across seeds, a results table (CSV and markdown)
        and the step-group statistics.

        **Defaults are a smoke test** (one seed, two iterations, no evaluation) so that CI can run it. A real study
        on CPU, e.g. ~1-2 h on 2 cores:

        ```
        python -m gigpo run-notebook notebooks/04_gigpo_vs_grpo.ipynb --name sokoban-study \\
            -p seeds "[0, 1, 2]" -p iterations 40 \\
            -p train_overrides "{task_pool: 16, num_groups: 4, group_size: 8, eval_every: 10, warm_start_steps: 100}"
        ```

        and on a GPU with the paper's model, pass the GPU parameters of notebook 03 in `train_overrides`
        (e.g. `{model: Qwen/Qwen2.5-1.5B-Instruct, device: cuda, backend: vllm, action_mode: free, ...}`) with
        `-p env household -p iterations 150 -p seeds "[0, 1, 2]"`. Runs that already finished are reused
        (`reuse_runs`), so a study can be extended seed by seed. Settings tuned per estimator (the learning rate)
        go in `estimator_overrides`, e.g. `-p estimator_overrides "{gigpo: {lr: 3.0e-4}, grpo: {lr: 1.0e-4}}"`.

        The published course-scale study (`results/README.md`) is `bash results/run_study.sh`: it trains the runs two
        at a time with the CLI and then runs this notebook over them with the same settings.
        """),
        params("""
        # papermill parameters
        estimators = ["gigpo", "grpo"]        # advantage estimators to compare (TrainConfig.estimator)
        seeds = [0]                           # one training run per estimator and seed
        env = "sokoban"                       # TrainConfig.env
        iterations = 2                        # TrainConfig.iterations of each run
        train_overrides = {"eval_every": 0, "checkpoint_every": 0}  # more TrainConfig fields, the same for every run
        estimator_overrides = {}              # TrainConfig fields per estimator (e.g. its tuned lr), over train_overrides
        training_notebook = "03_training.ipynb"  # the notebook that trains (path relative to this notebook)
        output_dir = "runs/gigpo_vs_grpo"     # each run in <output_dir>/<estimator>-seed<seed>/, table and figures here
        reuse_runs = True                     # skip a run whose metrics.jsonl already has `iterations` rows
        last_k = 1                            # the table's final value: mean over the last k iterations
        """),
        code("""
        import time
        from pathlib import Path

        from IPython.display import Markdown, display

        from gigpo import plots
        from gigpo.metrics_io import read_metrics, summarize_runs, to_markdown, write_csv
        from gigpo.notebook_runner import run_notebook

        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        """),
        md("""
        ## Run the training notebook for every estimator and seed

        Runs go one after the other (each already uses the machine's cores).
        """),
        code("""
        run_dirs = {}
        for estimator in estimators:
            for seed in seeds:
                name = f"{estimator}-seed{seed}"
                run_dir = out / name
                run_dirs[estimator, seed] = run_dir
                if reuse_runs and len(read_metrics(run_dir)) >= iterations:
                    print(f"{name}: reusing the finished run in {run_dir}")
                    continue
                params = {**train_overrides, **estimator_overrides.get(estimator, {}), "env": env,
                          "estimator": estimator, "seed": seed,
                          "iterations": iterations, "progress": False}
                started = time.perf_counter()
                run_notebook(training_notebook, params, name=name, runs_dir=out, overwrite=True)
                print(f"{name}: {iterations} iterations in {time.perf_counter() - started:.0f} s")
        runs = {e: [read_metrics(run_dirs[e, s])[:iterations] for s in seeds] for e in estimators}
        """),
        md("""
        ## Success rate over training

        Mean over seeds, with the spread (±1 std with three or more seeds, min-max otherwise). With the defaults
        (one seed, two iterations) this only shows that the pipeline works; see the study command above.
        """),
        code("""
        figures = {"success_rate": plots.curves_with_spread(
            runs, "success_rate", title=f"{env}: training success rate, GiGPO vs GRPO ({len(seeds)} seed(s))",
            y_title="success rate (training rollouts)")}
        if any("eval_greedy_success_rate" in r for recs in runs.values() for run in recs for r in run):
            figures["eval_success_rate"] = plots.curves_with_spread(
                runs, "eval_greedy_success_rate", title=f"{env}: held-out success rate (greedy), GiGPO vs GRPO",
                y_title="success rate (held-out, greedy)")
        for fig in figures.values():
            fig.show()
        """),
        md("""
        ## Results table

        Final values per estimator: the mean over seeds of each run's last `last_k` iterations, and the std over seeds.
        """),
        code("""
        table_keys = ["success_rate", "mean_return", "eval_greedy_success_rate", "invalid_rate",
                      "step_group_mean_size", "step_group_share_grouped", "adv_step_abs", "time_iteration"]
        table = summarize_runs(runs, table_keys, last=last_k)
        table = [{k: v for k, v in row.items() if any(r[k] is not None for r in table)} for row in table]
        write_csv(table, out / "results.csv")
        (out / "results.md").write_text(to_markdown(table))
        display(Markdown(to_markdown(table)))
        """),
        md("""
        ## Step-group statistics

        How much the rollouts of a group share states, and how large the step-level advantage is, over training.
        The trainer logs these for every estimator (GRPO ignores them), so both columns are comparable: GiGPO's
        step-level signal only exists where rollouts meet in the same state.
        """),
        code("""
        for key, label in (("step_group_mean_size", "mean step-group size"),
                           ("step_group_share_grouped", "share of steps in a group of 2+"),
                           ("adv_step_abs", "mean |A_S|")):
            figures[key] = plots.curves_with_spread(runs, key, title=f"{env}: {label} over training", y_title=label)
            figures[key].show()
        saved = plots.save_figures(figures, out)
        print("wrote", out / "results.csv", out / "results.md", "and", [p.name for p in saved])
        assert all(len(run) == iterations for recs in runs.values() for run in recs), "a run is missing iterations"
        """),
    ]


NOTEBOOKS = {
    "01_anchor_grouping.ipynb": lambda: ANCHOR_GROUPING,
    "02_advantages.ipynb": lambda: ADVANTAGES,
    "03_training.ipynb": training_cells,
    "04_gigpo_vs_grpo.ipynb": comparison_cells,
}


def main(argv: list[str]) -> None:
    wanted = [name for name in NOTEBOOKS if not argv or any(name.startswith(a) for a in argv)]
    for name in wanted:
        nb = notebook(NOTEBOOKS[name]())
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main(sys.argv[1:])
