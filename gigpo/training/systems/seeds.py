"""Keyed random streams: every random draw of a run is a pure function of (seed, purpose, iteration, task group, ...).

Why not one global RNG: with a single stream, whatever consumed random numbers earlier shifts everything after it.
An evaluation that only the shorter of two runs performed, a checkpoint, or a different number of processes (each
sampling only its share of the task groups) would then change the rollouts that follow. Here each use derives its
own seed from a key, so

- a run resumed from a checkpoint, or extended after it finished, draws exactly what the uninterrupted run drew;
- task group ``g`` samples the same actions whether it is rolled out alone, with the other groups in one batch, or on
  another rank of a data-parallel run.

Seeds are derived with numpy's ``SeedSequence`` (a hash designed for exactly this: well-mixed, independent child
streams from tuples of integers), then seed torch or numpy generators.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

PURPOSES = ("tasks", "warm_tasks", "rollout", "eval", "minibatch", "warm_start", "init", "global")
"""What a stream is for; the position in this tuple is part of the key, so never reorder, only append.

``tasks``/``warm_tasks``: which task seeds an iteration (the warm start) plays; ``rollout``/``eval``: action sampling
in training rollouts / the sampled evaluation; ``minibatch``: the PPO minibatch order; ``warm_start``: the
supervised warm start's example draws; ``init``: the LoRA adapter's initial weights; ``global``: the global RNGs,
reseeded at every iteration for anything that still uses them (e.g. dropout)."""


def stream_seed(seed: int, purpose: str, *keys: int) -> int:
    """A 63-bit seed that depends only on ``(seed, purpose, *keys)``.

    >>> stream_seed(0, "rollout", 3, 1, 0) == stream_seed(0, "rollout", 3, 1, 0) != stream_seed(0, "rollout", 3, 2, 0)
    True
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown random stream purpose {purpose!r}; known: {PURPOSES}")
    parts = [seed, PURPOSES.index(purpose), *keys]
    if any(not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 0 for p in parts):
        raise ValueError(f"random stream keys must be non-negative integers, got seed={seed!r}, keys={keys!r}")
    words = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])  # < 2**63: fits torch's int64 seed


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed`` (from :func:`stream_seed`)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def seed_global_rngs(seed: int) -> None:
    """Seed Python's, numpy's and torch's global RNGs (only for code that offers no generator argument)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class SamplingStreams:
    """The sampling keys of one rollout: task group ``g`` at turn ``t`` samples from ``(seed, purpose, iteration,
    group_offset + g, t)``.

    ``group_offset`` turns a rank's local group index into the global one. A fresh key per turn keeps groups
    independent even though a batched ``generate`` call runs as long as its longest reply: the tokens a group's
    stream gives after its own replies ended are never used, and never carried into the next turn.
    """

    seed: int
    purpose: str
    iteration: int
    group_offset: int = 0

    def key(self, group: int, turn: int) -> int:
        return stream_seed(self.seed, self.purpose, self.iteration, self.group_offset + group, turn)
