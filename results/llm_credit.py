"""Why GiGPO does or does not beat GRPO in the LLM study: credit quality on the model's own rollouts, and how much
the model's choice depends on the state.

    python results/llm_credit.py runs/llm-study/warm-seed0/warm_start runs/llm-study/gigpo-seed0/final ...

For every model folder (a seed's warm start, or a run's final weights), with the study's settings (DEMO_RECIPE:
household 6/4, the 8-task pool, N = 8, choice mode, T = 1):

1. Credit quality. ``--rounds`` batches of pool x N rollouts of that model; each rollout is replayed in a fresh env
   to read the env's expert action (first move of a shortest solution) at every state it visited. On the same rows,
   each estimator's advantage (GiGPO, GRPO, RLOO, with the study's settings) is scored by ``gigpo.lab.credit_auc``:
   P(A(expert-action row) > A(other row)), 0.5 = no information about which action was right; plus the share of
   rows in groups with no outcome spread (all won or all lost: A_E = 0) that still get a non-zero A_S.
2. State dependence. Along the expert path of every pool task: the model's p(expert action | s) against chance
   (1 / number of admissible actions), and the mean total-variation distance between p(. | s) over the actions
   every state offers (``go to`` commands) and its average over states (0: the policy ignores the state).

Adds each model's figures to ``results/llm_credit.json`` (keeping the models measured before) and prints them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent
sys.path.insert(0, str(RESULTS.parent))

import envs  # noqa: E402
from gigpo.estimators.registry import compute_advantages  # noqa: E402
from gigpo.lab.diagnostics import credit_auc, nonzero_step_share, zero_spread_rows  # noqa: E402
from gigpo.training.demo import DEMO_RECIPE, demo_config  # noqa: E402

ESTIMATORS = ("gigpo", "grpo", "rloo")


def rollouts(model, tok, round_: int):
    """Pool x N rollouts of the model (the study's settings) and, per row, whether its action was the expert's."""
    from gigpo.policy.hf_backend import HFBackend
    from gigpo.training.rollouts.rollout import collect_rollouts
    from gigpo.training.systems.seeds import SamplingStreams

    cfg = demo_config()
    runner = envs.GroupRunner(cfg.env, cfg.group_size, env_options=cfg.env_options, max_steps=cfg.max_steps)
    tasks = list(range(cfg.task_pool))
    batch, _ = collect_rollouts(HFBackend(model, tok, token_budget=cfg.scoring_token_budget), runner, tasks,
                                mode="choice", temperature=1.0, max_new_tokens=cfg.max_new_tokens,
                                history_length=cfg.history_length, invalid_penalty=cfg.invalid_penalty,
                                streams=SamplingStreams(10_000 + round_, "eval", 0, 0))
    expert, envs_by_traj = [], {}
    for g, t, action in zip(batch.group_ids, batch.traj_ids, batch.actions):
        if t not in envs_by_traj:  # replay the rollout: household is deterministic given the task seed
            env = envs.make(cfg.env, **cfg.env_options)
            envs_by_traj[t] = [env, env.reset(seed=tasks[g])[1]]
        env, info = envs_by_traj[t]
        expert.append(info["expert_action"] == action if info["expert_action"] is not None else None)
        envs_by_traj[t][1] = env.step(action)[4]
    return batch, expert


def mean(values) -> float | None:
    """Mean over the rounds, leaving out those with no value (None or NaN: no rows of one kind)."""
    kept = [v for v in values if v is not None and not np.isnan(v)]
    return float(np.mean(kept)) if kept else None


def credit(model, tok, rounds: int) -> dict:
    from gigpo.estimators.gigpo import advantage_details

    cfg = demo_config()
    out = {k: [] for k in ESTIMATORS}
    zero_share, success = [], []
    for r in range(rounds):
        batch, expert = rollouts(model, tok, r)
        has = np.array([e is not None for e in expert])
        is_expert = np.array([bool(e) for e in expert])[has]
        details = advantage_details(batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                                    **cfg.estimator_kwargs())  # the recipe's estimator: GiGPO, with A_E and A_S
        for name in ESTIMATORS:
            adv = details.advantage if name == cfg.estimator else compute_advantages(
                name, batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                **demo_config(estimator=name).estimator_kwargs())
            out[name].append(credit_auc(adv.double().numpy()[has], is_expert))
        zero = zero_spread_rows(np.array(batch.group_ids), np.array(batch.traj_ids), np.array(batch.rewards))
        zero_share.append(float(zero.mean()))
        success.append(batch.episode["success_rate"])
        out.setdefault("gigpo_zero_spread_nonzero_step", []).append(nonzero_step_share(details.step_adv, zero))
    return {**{f"auc_{k}": mean(out[k]) for k in ESTIMATORS}, "success": mean(success),
            "rows_without_outcome_spread": mean(zero_share),
            "gigpo_zero_spread_nonzero_step": mean(out["gigpo_zero_spread_nonzero_step"])}


def state_dependence(model, tok) -> dict:
    from gigpo.lab.expert_path import expert_path_choices

    cfg = demo_config()
    states = expert_path_choices(model, tok, cfg.env, cfg.env_options, range(cfg.task_pool),
                                 max_prompt_tokens=cfg.max_prompt_tokens)
    # TV distance over the go-to commands, among states that offer the same set of them (renormalised over that set)
    by_set: dict[tuple, list[np.ndarray]] = {}
    for s in states:
        go = sorted((a, float(p)) for a, p in zip(s.actions, s.probs) if a.startswith("go to "))
        if len(go) > 1:
            q = np.array([x for _, x in go])
            by_set.setdefault(tuple(a for a, _ in go), []).append(q / q.sum())
    tvs = [0.5 * np.abs(q - np.mean(qs, 0)).sum() for qs in by_set.values() if len(qs) > 1 for q in qs]
    return {"states": len(states), "p_expert": float(np.mean([s.p_expert for s in states])),
            "chance": float(np.mean([1.0 / len(s.actions) for s in states])),
            "tv_go_to_vs_mean": float(np.mean(tvs)) if tvs else None}


def main(argv=None) -> int:
    from gigpo.training.systems.models import load_model_and_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="saved model folders (warm_start/ or final/)")
    parser.add_argument("--rounds", type=int, default=4, help="rollout batches per model")
    ns = parser.parse_args(argv)
    torch.set_num_threads(1)
    assert DEMO_RECIPE["action_mode"] == "choice"
    out = RESULTS / "llm_credit.json"
    result = json.loads(out.read_text()) if out.exists() else {}  # models measured earlier stay, re-measured replace
    for path in ns.models:
        model, tok = load_model_and_tokenizer(path)
        model.eval()
        result[path] = {**credit(model, tok, ns.rounds), **state_dependence(model, tok)}
        print(path, json.dumps(result[path]), flush=True)
        out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
