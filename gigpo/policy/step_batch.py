"""The step batch: one row per environment step, what the estimators need (group, trajectory, reward, anchor) beside
what the update needs (the exact prompt and response token ids)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable


@dataclass
class StepBatch:
    """One row per env step. Free mode fills ``response_ids``; choice mode fills ``candidate_ids`` and ``chosen``."""

    group_ids: list[int] = field(default_factory=list)
    traj_ids: list[int] = field(default_factory=list)
    anchors: list[Hashable] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)  # env reward minus the invalid-action penalty
    env_rewards: list[float] = field(default_factory=list)  # the env's reward alone (the outcome filter's)
    valid: list[bool] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # what the env received
    replies: list[str] = field(default_factory=list)  # what the model wrote (choice mode: the chosen action)
    prompt_ids: list[list[int]] = field(default_factory=list)
    response_ids: list[list[int]] = field(default_factory=list)
    candidate_ids: list[list[list[int]]] = field(default_factory=list)
    chosen: list[int] = field(default_factory=list)
    sampler_logprobs: list[list[float] | None] = field(default_factory=list)
    episode: dict[str, float] = field(default_factory=dict)  # success rate, mean return, mean length (env rewards)

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def invalid_rate(self) -> float:
        return 1.0 - sum(self.valid) / max(len(self.valid), 1)
