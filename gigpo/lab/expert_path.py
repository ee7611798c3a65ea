"""What a choice-mode policy does along the expert's path: its distribution over the admissible actions in every
state an expert visits, for diagnostics (does the policy read the state at all? how much does it give the expert's
move?). Used by ``results/credit_diagnostics.py`` (sokoban) and ``results/llm_credit.py`` (household).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

import envs
from gigpo.policy.encoding import encode_candidate, encode_prompt
from gigpo.policy.prompts import chat_text, format_prompt
from gigpo.policy.scoring import continuation_log_probs


@dataclass(frozen=True)
class ExpertState:
    """One state on an expert path: the admissible actions, the policy's probability of each, the expert's action."""

    task: int
    actions: list[str]
    probs: torch.Tensor  # (len(actions),), sums to 1
    expert: str

    @property
    def p_expert(self) -> float:
        return float(self.probs[self.actions.index(self.expert)])


def expert_path_choices(model, tokenizer, env: str, env_options: Mapping[str, Any] | None, task_seeds: Sequence[int],
                        *, max_prompt_tokens: int = 2048) -> list[ExpertState]:
    """Play each task by its expert actions (``info["expert_action"]``) and, in every state on the way, score the
    admissible actions with ``model`` as choice mode does: ``p(a | s) = softmax_a sum_t log pi(a_t | prompt, a_<t)``
    over the candidates, the prompt showing the task, the observation and the actions without history.
    """
    out = []
    for task in task_seeds:
        game = envs.make(env, **dict(env_options or {}))
        obs, info = game.reset(seed=task)
        while info["expert_action"] is not None:
            actions = list(info["admissible_actions"])
            prompt = encode_prompt(tokenizer, chat_text(tokenizer, format_prompt(
                info["task"], obs, actions, [], history_length=0, mode="choice")), max_prompt_tokens)
            with torch.no_grad():
                logp, _, _ = continuation_log_probs(model, [prompt], [encode_candidate(tokenizer, a) for a in actions],
                                                    owner=[0] * len(actions), pad_id=tokenizer.pad_token_id)
            out.append(ExpertState(task, actions, torch.softmax(logp.sum(-1), 0).cpu(), info["expert_action"]))
            obs, _, terminated, truncated, info = game.step(info["expert_action"])
            if terminated or truncated:
                break
    return out
