"""A supervised warm start in TRL's tool-calling format, so a tiny random model plays multi-turn episodes.

A random model never writes a well-formed ``<tool_call>``, so every TRL episode would be one turn and GiGPO's step
level would have nothing to group. A few dozen steps of cross-entropy on the expert's tool calls (rendered with the
tokenizer's own chat template and the environment's ``act`` tool schema, exactly as TRL renders rollouts) teach the
format; ``gigpo.training.warm_start.supervised_finetune`` does the training.
"""
from __future__ import annotations

import json

import envs
from gigpo.integrations.trl.environments import TextEnvironment
from gigpo.training.warm_start import supervised_finetune


def tool_call_reply(action: str) -> str:
    """The assistant's tool call for ``action`` in the Qwen2.5 format (what TRL's parser reads back)."""
    call = json.dumps({"name": "act", "arguments": {"action": action}})
    return f"<tool_call>\n{call}\n</tool_call>"


def expert_tool_examples(tokenizer, env: str, env_options: dict, seeds, instruction: str,
                         max_turns: int) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, target ids) for each expert turn of the tasks ``seeds``, rendered as TRL renders a rollout."""
    environment = TextEnvironment(env, **env_options)
    tools = [environment.act]
    examples = []
    for seed in seeds:
        reference = envs.make(env, **env_options)
        _, info = reference.reset(seed=int(seed))
        messages = [{"role": "user", "content": instruction + environment.reset(seed=int(seed))}]
        for _ in range(max_turns):
            action = info["expert_action"]
            if action is None:
                break
            prompt = tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=True,
                                                   return_dict=False)
            target = tokenizer(tool_call_reply(action), add_special_tokens=False)["input_ids"]
            examples.append((list(prompt), target + [tokenizer.eos_token_id]))
            reply = environment.act(action)
            _, _, terminated, truncated, info = reference.step(action)
            messages += [{"role": "assistant", "content": "",
                          "tool_calls": [{"type": "function", "function": {"name": "act",
                                                                            "arguments": {"action": action}}}]},
                         {"role": "tool", "name": "act", "content": reply}]
            if terminated or truncated:
                break
    if not examples:
        raise ValueError(f"warm start: env {env!r} gave no expert actions on seeds {list(seeds)[:5]}")
    return examples


def warm_start(model, tokenizer, env: str, env_options: dict, seeds, instruction: str, *, steps: int,
               max_turns: int, lr: float = 1e-3, batch_size: int = 8) -> list[float]:
    """``steps`` AdamW steps of supervised learning on the expert's tool calls; returns the loss of each step."""
    examples = expert_tool_examples(tokenizer, env, env_options, seeds, instruction, max_turns)
    return supervised_finetune(model, tokenizer, examples, steps=steps, lr=lr, batch_size=batch_size)
