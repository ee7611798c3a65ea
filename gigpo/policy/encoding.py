"""Prompt and candidate text to token ids, the one encoding that rollouts, the update and the warm start share."""
from __future__ import annotations


def encode_prompt(tokenizer, prompt: str, max_prompt_tokens: int) -> list[int]:
    """Token ids of a chat-formatted prompt, keeping its last ``max_prompt_tokens`` (the instructions end it)."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return ids[-max_prompt_tokens:]


def encode_candidate(tokenizer, action: str) -> list[int]:
    """Choice-mode continuation: the action's tokens then end-of-turn, so no candidate is a prefix of another."""
    return tokenizer(action, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
