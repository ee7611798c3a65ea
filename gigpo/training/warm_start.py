"""Optional warm start: supervised fine-tuning on the envs' expert trajectories before RL.

The paper starts from instruct models that already follow the reply format and have some skill. A tiny random model
has neither; a few hundred supervised steps on ``info["expert_action"]`` trajectories (built with the very prompts
the rollouts use) give it both, so RL then has non-zero success to work from. ``warm_start_steps`` sets how much.
The warm start trains all weights, before LoRA is added, so the warm-started model is also the KL reference.
"""
from __future__ import annotations

import envs
import torch

from gigpo.training.policy_backends import continuation_log_probs, encode_candidate, encode_prompt
from gigpo.training.policy_loss import masked_mean
from gigpo.training.prompts import chat_text, format_prompt


def expert_reply(action: str, mode: str) -> str:
    """The reply the warm start teaches: the required format in free mode, the bare action in choice mode."""
    if mode == "choice":
        return action
    return f"<think>The next step toward the goal is to {action}.</think><action>{action}</action>"


def expert_examples(tokenizer, env: str, env_options: dict, task_seeds: list[int], *, max_steps: int,
                    history_length: int, mode: str, max_prompt_tokens: int) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, target ids) for every step of the expert's episodes on ``task_seeds``."""
    examples = []
    for seed in task_seeds:
        e = envs.make(env, **env_options)
        obs, info = e.reset(seed=seed)
        history: list[tuple[str, str]] = []
        for _ in range(max_steps):
            action = info["expert_action"]
            if action is None:
                break
            prompt = chat_text(tokenizer, format_prompt(info["task"], obs, info["admissible_actions"], history,
                                                        history_length=history_length, mode=mode))
            prompt_ids = encode_prompt(tokenizer, prompt, max_prompt_tokens)
            if mode == "choice":
                target = encode_candidate(tokenizer, action)
            else:
                target = tokenizer(expert_reply(action, mode), add_special_tokens=False)["input_ids"]
                target = target + [tokenizer.eos_token_id]
            examples.append((prompt_ids, target))
            history.append((obs, action))
            obs, _, terminated, truncated, info = e.step(action)
            if terminated or truncated:
                break
    if not examples:
        raise ValueError(f"warm start: env {env!r} gave no expert actions on seeds {task_seeds[:5]}...")
    return examples


def supervised_finetune(model, tokenizer, examples, *, steps: int, lr: float, batch_size: int,
                        max_grad_norm: float = 1.0, token_budget: int | None = None) -> list[float]:
    """``steps`` AdamW steps of token-mean cross-entropy on the targets; returns the loss of each step."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(examples), (min(batch_size, len(examples)),)).tolist()
        logp, mask, _ = continuation_log_probs(model, [examples[i][0] for i in idx], [examples[i][1] for i in idx],
                                               pad_id=tokenizer.pad_token_id, token_budget=token_budget)
        loss = -masked_mean(logp, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses
