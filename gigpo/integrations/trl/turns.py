"""From TRL's multi-turn completions to GiGPO's step rows, and back to per-token advantages.

TRL (>= 1.16) stores a multi-turn episode as one completion: the assistant's turns with the tool results between
them, and a ``tool_mask`` that is 1 on tokens the model generated and 0 on tool-result tokens. Each maximal run of 1s
is one turn: one step row for the estimators. These functions hold no TRL or model code, so tests check them alone.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Turn:
    """One assistant turn of a rollout: its token span in the completion, its anchor state and its env reward."""

    start: int  # first completion position of the turn's tokens
    end: int  # one past the last
    anchor: Hashable  # the state the turn's action is taken from
    env_reward: float  # reward the env gave for the turn's action(s)


def turn_spans(tool_mask: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of each maximal run of 1s in one completion's ``tool_mask`` (the model's own tokens)."""
    spans, start = [], None
    for i, m in enumerate(tool_mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(tool_mask)))
    return spans


def state_at_turns(snapshots: dict[int, tuple[Hashable, float]], final: tuple[Hashable, float],
                   num_turns: int) -> list[tuple[Hashable, float]]:
    """(anchor, reward so far) at the start of each turn.

    ``snapshots[k]`` was read just before turn k's first tool call ran; ``final`` after the rollout ended. Only tool
    calls change the env, so a turn without a snapshot (its calls failed before reaching the env, or it made none)
    starts in the state of the next snapshot, or in the final state when none follows.
    """
    states, later = [None] * num_turns, final
    for k in range(num_turns - 1, -1, -1):
        later = snapshots.get(k, later)
        states[k] = later
    return states


def rollout_turns(spans: list[tuple[int, int]], states: list[tuple[Hashable, float]],
                  final_reward: float) -> list[Turn]:
    """Pair each span with its start state; a turn's env reward is the rise of the env's running reward over it."""
    if len(spans) != len(states):
        raise ValueError(f"{len(spans)} token spans but {len(states)} turn states: the completion and the tool "
                         f"calls disagree on the number of turns")
    ends = [s[1] for s in states[1:]] + [final_reward]
    return [Turn(a, b, anchor, float(end - before)) for (a, b), (anchor, before), end in zip(spans, states, ends)]


def turn_rewards(turns: list[Turn], episode_reward: float) -> list[float]:
    """Per-turn rewards whose sum is TRL's episode reward.

    The env's per-turn rewards stay where they were earned; whatever of the episode reward the env did not hand out
    turn by turn (other reward functions, or an env without a running ``reward``) goes to the last turn, the sparse
    end-of-episode reward of the paper. So the episode return GiGPO normalises (Eq. 3) is exactly GRPO's reward, and
    no reward is counted twice.
    """
    if not turns:
        raise ValueError("a rollout without turns has no step rows")
    rewards = [t.env_reward for t in turns]
    rewards[-1] += float(episode_reward) - sum(rewards)
    return rewards


def token_advantages(turns_per_row: list[list[Turn]], turn_advantages: Sequence[torch.Tensor],
                     length: int) -> torch.Tensor:
    """(B, length) per-token advantages: each turn's tokens carry the turn's advantage, every other token 0.

    Tool-result and padding tokens get 0 here and are masked out of TRL's loss anyway.
    """
    out = torch.zeros(len(turns_per_row), length, dtype=torch.float32)
    for row, (turns, adv) in enumerate(zip(turns_per_row, turn_advantages, strict=True)):
        if len(turns) != len(adv):
            raise ValueError(f"row {row}: {len(turns)} turns but {len(adv)} advantages")
        for turn, a in zip(turns, adv.tolist()):
            if turn.end > length:
                raise ValueError(f"row {row}: turn ends at {turn.end}, past the completion length {length}")
            out[row, turn.start:turn.end] = a
    return out
