"""Shop env throughput and state revisits under a uniformly random admissible policy (prints figures).

    python benchmarks/shop_speed.py

Figures: steps per second on one core (resets and searches included, after one warm-up pass that builds the
catalogue and BM25 index), and GiGPO's mean step-group size: steps of the 8 rollouts of one task grouped by
``info["anchor"]`` over the first 15 steps, averaged over groups (and the share of steps in groups of size > 1).
"""
from __future__ import annotations

import random
import time
from collections import Counter

import envs


def random_rollouts(n_episodes: int, n_tasks: int, seed: int = 0) -> int:
    """Play ``n_episodes`` random-policy episodes over ``n_tasks`` task seeds; return the number of steps."""
    env = envs.make("shop")
    rng = random.Random(seed)
    steps = 0
    for ep in range(n_episodes):
        _, info = env.reset(seed=ep % n_tasks)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(rng.choice(info["admissible_actions"]))
            steps += 1
            done = terminated or truncated
    return steps


def step_group_sizes(n_tasks: int = 64, group_size: int = 8, horizon: int = 15, seed: int = 0) -> tuple[float, float]:
    """Mean step-group size and share of steps that share their anchor with another step of the group."""
    rng = random.Random(seed)
    runner = envs.GroupRunner("shop", group_size=group_size, max_steps=horizon)
    runner.reset(list(range(1000, 1000 + n_tasks)))
    runner.run(lambda live, obs, infos: [rng.choice(i["admissible_actions"]) for i in infos])
    counts = Counter((r.group_id, r.anchor) for r in runner.records if r.step < horizon)
    n_steps = sum(counts.values())
    shared = sum(c for c in counts.values() if c > 1)
    return n_steps / len(counts), shared / n_steps


if __name__ == "__main__":
    random_rollouts(200, 200, seed=1)  # warm-up: catalogue, index, task and page caches
    t0 = time.perf_counter()
    n = random_rollouts(2000, 1000, seed=2)
    dt = time.perf_counter() - t0
    print(f"random admissible policy: {n} steps in {dt:.2f} s = {n / dt:,.0f} steps/s (one process)")
    mean_size, shared = step_group_sizes()
    print(f"mean step-group size (8 rollouts/task, first 15 steps, 64 tasks): {mean_size:.2f}; "
          f"steps in groups of size > 1: {shared:.1%}")
