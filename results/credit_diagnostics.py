"""Why GiGPO does or does not beat GRPO here: (1) does each estimator's advantage point at the right action,
(2) can the policy act on it (does its action distribution depend on the state at all)?

(1) Credit quality, model-free: G x N uniformly random rollouts on the study's training pool (the same env
    settings); for every step row, is the action the env's expert action (first move of a shortest solution)?
    Reported per estimator: mean advantage of expert-action rows minus that of other rows, and the AUC
    P(A(expert row) > A(other row)) (0.5 = no information about which action was right).
(2) State dependence of a model in choice mode: on the states along the expert path of every pool task, the
    policy's distribution over the 4 moves; reported: mean total-variation distance between p(.|s) and the average
    over states (0 = the policy ignores the state), and mean p(expert action | s) (0.25 = chance).

Usage: python results/credit_diagnostics.py [model_dir ...]   (default: the tiny-mini start only)
"""
from __future__ import annotations

import json
import sys

import torch

from gigpo.lab import credit_quality as lab_credit_quality
from gigpo.lab import policy_batch

ENV = "sokoban"
ENV_OPTIONS = {"num_boxes": 1, "max_steps": 10, "max_solution_moves": 4}
POOL, N, MAX_STEPS, ROUNDS = 8, 8, 10, 4


def credit_quality() -> dict:
    """Per estimator, the round-averaged gap and AUC of ``gigpo.lab.credit_quality`` on uniformly random rollouts
    (``gigpo.lab.policy_batch`` with no prior), every estimator scored on the same rows."""
    out = {k: {"gap": [], "auc": []} for k in ("gigpo", "grpo", "rloo")}
    for r in range(ROUNDS):
        batch = policy_batch(ENV, ENV_OPTIONS, list(range(POOL)), N, seed=r, max_steps=MAX_STEPS)
        for k, q in lab_credit_quality(batch, {k: {} for k in out}).items():
            out[k]["gap"].append(q["gap"])
            out[k]["auc"].append(q["auc"])
    return {k: {m: sum(v) / len(v) for m, v in d.items()} for k, d in out.items()}


def state_dependence(model_dir: str) -> dict:
    from gigpo.lab.expert_path import expert_path_choices
    from gigpo.training.systems.models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(model_dir)
    model.eval()
    states = expert_path_choices(model, tok, ENV, ENV_OPTIONS, range(POOL))
    d = torch.stack([s.probs for s in states])  # sokoban offers the same 4 moves in every state
    tv = 0.5 * (d - d.mean(0)).abs().sum(1)
    return {"states": len(states), "tv_to_mean": float(tv.mean()),
            "p_expert": sum(s.p_expert for s in states) / len(states),
            "mean_dist": [round(float(x), 3) for x in d.mean(0)]}


if __name__ == "__main__":
    torch.set_num_threads(1)
    from gigpo.training.systems.models import resolve_model
    result = {"credit_quality_random_rollouts": credit_quality(), "state_dependence": {}}
    for m in sys.argv[1:] or [resolve_model("tiny-mini")]:
        result["state_dependence"][m] = state_dependence(m)
    print(json.dumps(result, indent=1))
