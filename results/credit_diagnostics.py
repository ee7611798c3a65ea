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

import envs
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
    from gigpo.training.models import load_model_and_tokenizer
    from gigpo.training.policy_backends import continuation_log_probs, encode_candidate, encode_prompt
    from gigpo.training.prompts import chat_text, format_prompt

    model, tok = load_model_and_tokenizer(model_dir)
    model.eval()
    dists, expert_p = [], []
    for seed in range(POOL):
        env = envs.make(ENV, **ENV_OPTIONS)
        obs, info = env.reset(seed=seed)
        while info["expert_action"] is not None:
            acts = list(info["admissible_actions"])
            prompt = encode_prompt(tok, chat_text(tok, format_prompt(info["task"], obs, acts, [], history_length=0,
                                                                     mode="choice")), 2048)
            conts = [encode_candidate(tok, a) for a in acts]
            with torch.no_grad():
                lp, _, _ = continuation_log_probs(model, [prompt], conts, owner=[0] * len(acts),
                                                  pad_id=tok.pad_token_id)
            p = torch.softmax(lp.sum(-1), 0)
            dists.append(p)
            expert_p.append(float(p[acts.index(info["expert_action"])]))
            obs, _, term, trunc, info = env.step(info["expert_action"])
            if term or trunc:
                break
    d = torch.stack(dists)
    tv = 0.5 * (d - d.mean(0)).abs().sum(1)
    return {"states": len(dists), "tv_to_mean": float(tv.mean()), "p_expert": sum(expert_p) / len(expert_p),
            "mean_dist": [round(float(x), 3) for x in d.mean(0)]}


if __name__ == "__main__":
    torch.set_num_threads(1)
    from gigpo.training.models import resolve_model
    result = {"credit_quality_random_rollouts": credit_quality(), "state_dependence": {}}
    for m in sys.argv[1:] or [resolve_model("tiny-mini")]:
        result["state_dependence"][m] = state_dependence(m)
    print(json.dumps(result, indent=1))
