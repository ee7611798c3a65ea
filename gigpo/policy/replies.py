"""What a rollout backend returns per prompt: a free-mode :class:`Generation` or a choice-mode :class:`Choice`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Generation:
    """One free-mode reply: the exact token ids (so the update never re-tokenizes) and its text."""

    prompt_ids: list[int]
    response_ids: list[int]
    text: str
    sampler_logprobs: list[float] | None = None  # the backend's own log-probs of response_ids, when it reports them


@dataclass
class Choice:
    """One choice-mode decision: the candidates' token ids and the index sampled (or argmax when greedy)."""

    prompt_ids: list[int]
    candidate_ids: list[list[int]]
    index: int
    scores: list[float] | None = None  # each candidate's summed token log-prob, the logits the choice was drawn from
