"""Optional warm start: supervised fine-tuning on the envs' expert trajectories before RL.

The paper starts from instruct models that already follow the reply format and have some skill. A tiny random model
has neither; a few hundred supervised steps on ``info["expert_action"]`` trajectories (built with the very prompts
the rollouts use) give it both, so RL then has non-zero success to work from. ``warm_start_steps`` sets how much.
The warm start trains all weights, before LoRA is added, so the warm-started model is also the KL reference.
It is saved to ``<output_dir>/warm_start`` atomically, and a later run reuses it only when that save completed.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

import envs
from gigpo.policy.encoding import encode_candidate, encode_prompt
from gigpo.policy.prompts import chat_text, format_prompt
from gigpo.policy.scoring import continuation_log_probs
from gigpo.training.learning.policy_loss import masked_mean


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
                        max_grad_norm: float = 1.0, token_budget: int | None = None,
                        recompute: bool = True) -> list[float]:
    """``steps`` AdamW steps of token-mean cross-entropy on the targets; returns the loss of each step."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    model.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(examples), (min(batch_size, len(examples)),)).tolist()
        logp, mask, _ = continuation_log_probs(model, [examples[i][0] for i in idx], [examples[i][1] for i in idx],
                                               pad_id=tokenizer.pad_token_id, token_budget=token_budget,
                                               recompute=recompute)
        loss = -masked_mean(logp, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


# --- the saved warm start: written atomically, reused only when complete and made with the same settings ------------
WARM_START_DIR = "warm_start"
DONE_FILE = "warm_start.json"  # written last, inside the temporary folder: its presence means the save completed


def warm_start_settings(cfg) -> dict:
    """The ``TrainConfig`` fields the warm-started weights depend on, in their JSON form (tuples become lists)."""
    keys = ("model", "finetune", "dtype", "env", "env_options", "seed", "task_pool", "eval_seed_offset", "max_steps",
            "history_length", "action_mode", "max_prompt_tokens", "warm_start_steps", "warm_start_episodes",
            "warm_start_lr", "warm_start_batch", "max_grad_norm")
    return json.loads(json.dumps({k: getattr(cfg, k) for k in keys}))


def saved_warm_start(out_dir: Path, cfg) -> Path | None:
    """``<out_dir>/warm_start`` if a complete save made with ``cfg``'s warm-start settings is there, else None."""
    folder = Path(out_dir) / WARM_START_DIR
    done = folder / DONE_FILE
    if not done.exists():
        return None
    return folder if json.loads(done.read_text()).get("settings") == warm_start_settings(cfg) else None


def save_warm_start(out_dir: Path, cfg, model, tokenizer, *, examples: int, losses: list[float]) -> Path:
    """Save the warm-started model and tokenizer to ``<out_dir>/warm_start`` through a temporary folder and a rename.

    An interrupted save leaves only the temporary folder (removed by the next save), never a ``warm_start/`` that
    :func:`saved_warm_start` would take for a finished one; a stale or foreign ``warm_start/`` is replaced.
    """
    folder = Path(out_dir) / WARM_START_DIR
    tmp = folder.with_name(f".{WARM_START_DIR}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    record = {"settings": warm_start_settings(cfg), "examples": examples, "losses": losses}
    (tmp / DONE_FILE).write_text(json.dumps(record))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder
