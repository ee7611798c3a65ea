"""Keyed sampling for the rollout backends: each prompt row draws from the stream of its key (see ``seeds.py``).

Rows that share a key (the live rollouts of one task group at one turn) draw from one generator, in row order; rows
with different keys never share random numbers. So a row's sample depends on its key, its own logits and the rows
before it with the same key, never on which other groups share the batch.

transformers' ``generate`` samples with the global torch RNG and takes no generator. :class:`GumbelSampler` gets
around that with the Gumbel-max trick (Gumbel 1954; e.g. Maddison et al. 2014, "A* sampling", Sec. 2):
``argmax_v (z_v / T + G_v)`` with ``G_v = -log(-log U_v)``, ``U_v ~ Uniform(0, 1)`` i.i.d. is an exact sample of
``softmax(z / T)``. Added as a logits processor to a *greedy* ``generate``, it turns the argmax into plain
temperature sampling from the full distribution (no top-k/top-p, as the update's log-probs assume), with the noise
drawn from per-key generators.
"""
from __future__ import annotations

import numpy as np
import torch


def shared_streams(keys: list[int], device: str | torch.device) -> list[tuple[torch.Generator, list[int]]]:
    """One generator per distinct key with the rows that use it, in order of first appearance."""
    rows: dict[int, list[int]] = {}
    for i, k in enumerate(keys):
        rows.setdefault(int(k), []).append(i)
    out = []
    for k, members in rows.items():
        gen = torch.Generator(device=device)
        gen.manual_seed(k)
        out.append((gen, members))
    return out


def default_keys(n: int) -> list[int]:
    """Keys for callers that pass none: one stream for the whole call, seeded from the global torch RNG."""
    return [int(torch.randint(2**62, ()))] * n


def gumbel_noise(streams: list[tuple[torch.Generator, list[int]]], shape: tuple[int, int],
                 device: torch.device) -> torch.Tensor:
    """Standard Gumbel noise of ``shape`` (rows, vocab); row ``i`` drawn from its key's generator.

    Uniforms are drawn in float64 so the Gumbel tail is not cut at float32's resolution (2**-24 would cap the noise
    at about 16.6, biasing the sampling of very unlikely tokens).
    """
    noise = torch.empty(shape, dtype=torch.float64, device=device)
    for gen, rows in streams:
        u = torch.rand((len(rows), shape[1]), generator=gen, dtype=torch.float64, device=device)
        noise[rows] = -torch.log(-torch.log(u))
    return noise


class GumbelSampler:
    """A transformers logits processor: ``scores / T + Gumbel noise`` from the rows' keyed streams.

    Use with ``do_sample=False``: greedy decoding over these scores samples ``softmax(logits / T)``. Generators are
    created on the scores' device at the first call (CUDA generators on GPU, so no noise crosses the bus).
    """

    def __init__(self, keys: list[int], temperature: float):
        if temperature <= 0:
            raise ValueError(f"sampling temperature must be > 0, got {temperature!r}")
        self.keys, self.temperature = list(keys), float(temperature)
        self._streams: list[tuple[torch.Generator, list[int]]] | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if scores.shape[0] != len(self.keys):
            raise ValueError(f"GumbelSampler: {len(self.keys)} keys for {scores.shape[0]} rows")
        if self._streams is None:
            self._streams = shared_streams(self.keys, scores.device)
        noise = gumbel_noise(self._streams, tuple(scores.shape), scores.device)
        return scores.double() / self.temperature + noise  # float64: no ties from rounding the sum


def sample_rows(probs: list[torch.Tensor], keys: list[int]) -> list[int]:
    """One index per row from ``probs[i]`` (a CPU probability vector), row ``i`` drawn from its key's stream."""
    chosen = [0] * len(probs)
    for gen, rows in shared_streams(keys, "cpu"):
        for i in rows:
            chosen[i] = int(torch.multinomial(probs[i], 1, generator=gen))
    return chosen


def request_seeds(keys: list[int]) -> list[int]:
    """Per-request seeds for engines that take one seed per prompt (vLLM): the j-th row of a key gets
    ``hash(key, j)``, so rows of one key differ and each is a pure function of its key and position."""
    seen: dict[int, int] = {}
    out = []
    for k in keys:
        j = seen.get(k, 0)
        seen[k] = j + 1
        out.append(int(np.random.SeedSequence([k % 2**32, k >> 32, j]).generate_state(1, np.uint32)[0]))
    return out
