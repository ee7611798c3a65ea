"""How fast is the verl-agent drop-in? Times ``gigpo.integrations.verl`` on a verl-agent-shaped step batch.

Batch: 64 tasks x 8 rollouts x 26-50 steps (~19.5k rows), every id a str uuid (``uid``, ``traj_uid``), anchors
ALFWorld-like observation texts that repeat within a task group, rows interleaved as a batched rollout emits them
(step t of every live rollout, then step t+1), a padded response mask. Rows carry what verl-agent's pipeline puts in
them: ``token_level_rewards`` holds the episode reward (10 on success) minus 0.1 for an invalid action at the last
response token; ``non_tensor_batch['rewards']`` the per-step env reward.

Given the path to the authors' ``core_gigpo.py`` (verl-agent, never part of this repository), it also times theirs
on the same batch and prints the largest difference. ``from verl import DataProto`` in their file is satisfied by
a stub when verl is not installed.

    python benchmarks/verl_dropin_speed.py [--authors /tmp/authors/core_gigpo.py] [--threads 1] [--tasks 64]

Measured (2026-12, shared 2-core machine, one thread, 19,205 rows, two runs): theirs 17-41 s for the returns and
1.4-7.0 s for the advantages (27-36 s with similarity); ours 0.01-0.04 s and 0.02-0.10 s (0.35-0.62 s); largest
difference 2.9e-6. See docs/scale.md, "GiGPO inside verl".
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import sys
import time
import types
import uuid

import numpy as np
import torch

import gigpo.integrations.verl as ours

ROOMS = ["countertop", "cabinet", "drawer", "fridge", "sinkbasin", "shelf", "microwave", "desk", "sofa", "bed"]


class StepBatch:
    """The two fields of verl's ``DataProto`` that the functions read: ``batch`` (tensors) and ``non_tensor_batch``."""

    def __init__(self, batch: dict, non_tensor_batch: dict):
        self.batch = batch
        self.non_tensor_batch = non_tensor_batch


def make_batch(tasks: int = 64, rollouts: int = 8, max_steps: int = 50, response_len: int = 64, pool: int = 30,
               seed: int = 0) -> StepBatch:
    rng = np.random.default_rng(seed)
    uid = [str(uuid.UUID(int=int(rng.integers(2**62)))) for _ in range(tasks)]
    walks = []
    for g in range(tasks):
        for _ in range(rollouts):
            length = int(rng.integers(max_steps // 2 + 1, max_steps + 1))
            states = np.clip(np.cumsum(rng.choice([-1, 0, 1], size=length, p=[0.3, 0.2, 0.5])), 0, pool - 1)
            won = bool(states[-1] >= pool // 2)
            walks.append((g, str(uuid.UUID(int=int(rng.integers(2**62)))), states, won))
    rows = []
    for t in range(max_steps):
        for g, traj, states, won in walks:
            if t < len(states):
                last = t == len(states) - 1
                text = f"Task {g}: you are at the {ROOMS[states[t] % 10]} {states[t]}; you see {states[t] % 7} items."
                rows.append((uid[g], traj, text, 10.0 if (won and last) else 0.0, 10.0 * won))
    n = len(rows)
    invalid = rng.random(n) < 0.1
    lengths = torch.from_numpy(rng.integers(1, response_len + 1, size=n))
    mask = (torch.arange(response_len)[None, :] < lengths[:, None]).long()
    tlr = torch.zeros(n, response_len)
    tlr[torch.arange(n), lengths - 1] = torch.tensor([r[4] for r in rows]) - 0.1 * torch.from_numpy(invalid).float()
    def obj(xs):  # verl keeps non-tensor fields as object arrays
        return np.array(xs, dtype=object)

    return StepBatch(
        {"token_level_rewards": tlr, "response_mask": mask, "input_ids": torch.zeros(n, 1, dtype=torch.long)},
        {"uid": obj([r[0] for r in rows]), "traj_uid": obj([r[1] for r in rows]),
         "anchor_obs": obj([r[2] for r in rows]), "rewards": np.array([r[3] for r in rows], dtype=np.float32),
         "active_masks": np.ones(n, dtype=bool)})


def load_authors(path: str) -> types.ModuleType:
    if importlib.util.find_spec("verl") is None:  # their file imports DataProto only for a type hint
        stub = types.ModuleType("verl")
        stub.DataProto = object
        sys.modules["verl"] = stub
    spec = importlib.util.spec_from_file_location("authors_core_gigpo", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(module, data: StepBatch, gamma: float, mode: str, similarity: bool):
    """Returns, then advantages, as verl-agent's trainer calls them; ``(seconds, returns, advantages)``."""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # theirs prints the mean step-group size
        ret = module.compute_step_discounted_returns(data, gamma)
        t1 = time.perf_counter()
        adv, _ = module.compute_gigpo_outcome_advantage(
            data.batch["token_level_rewards"].clone(), ret, data.batch["response_mask"],
            data.non_tensor_batch["anchor_obs"], data.non_tensor_batch["uid"], data.non_tensor_batch["traj_uid"],
            mode=mode, enable_similarity=similarity)
    t2 = time.perf_counter()
    return (t1 - t0, t2 - t1), ret, adv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--authors", help="path to verl-agent's gigpo/core_gigpo.py, to time and compare")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--gamma", type=float, default=0.95)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best is printed")
    parser.add_argument("--similarity", action="store_true", help="also time similarity grouping (slow for theirs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = make_batch(tasks=args.tasks)
    n = data.batch["token_level_rewards"].shape[0]
    print(f"batch: {args.tasks} tasks x 8 rollouts, {n} rows, str uuids, text anchors; torch threads {args.threads}")
    theirs = load_authors(args.authors) if args.authors else None
    settings = [("mean_norm", False), ("mean_std_norm", False)] + ([("mean_norm", True)] if args.similarity else [])
    for mode, sim in settings:
        runs = [run(ours, data, args.gamma, mode, sim) for _ in range(args.repeat)]
        t_ret, t_adv = min(r[0][0] for r in runs), min(r[0][1] for r in runs)  # best of --repeat
        _, ret, adv = runs[0]
        print(f"{mode:<14} similarity={sim!s:<5} ours:   returns {t_ret:8.3f} s, advantages {t_adv:8.3f} s")
        if theirs is not None:
            (u_ret, u_adv), ret_a, adv_a = run(theirs, data, args.gamma, mode, sim)
            diff = (adv - adv_a).abs()
            print(f"{'':<14} {'':<16} theirs: returns {u_ret:8.3f} s, advantages {u_adv:8.3f} s | speed-up: returns"
                  f" x{u_ret / t_ret:.0f}, advantages x{u_adv / t_adv:.0f},"
                  f" both x{(u_ret + u_adv) / (t_ret + t_adv):.0f}"
                  f" | max |d returns| {(ret - ret_a).abs().max():.2e}, max |d adv| {diff.max():.2e},"
                  f" rows with |d adv| > 1e-5: {int((diff > 1e-5).any(dim=1).sum())}")


if __name__ == "__main__":
    main()
