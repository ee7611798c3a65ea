"""Environment throughput and state-revisit figures, printed next to their targets.

For each env: a random policy over ``info["admissible_actions"]`` plays episodes back to back (resets included, a new
task seed each episode) on one thread, and we report steps per second. Then ``envs.GroupRunner`` plays groups of 8
rollouts per task with the same random policy, and we report the mean size of the step groups (steps of one group
that share an anchor, GiGPO Sec. 4.2) over each rollout's first 15 steps: above 1 means states repeat across
rollouts, which is what gives GiGPO its step-level groups.

    python benchmarks/env_speed.py                      # household, shop, sokoban (+ textworld if installed)
    python benchmarks/env_speed.py --envs sokoban --steps 100000

TextWorld runs the real Inform 7 engine (a few hundred steps/s), so it gets fewer steps and re-uses two cached games
instead of a new game per episode (compiling one takes a second or two).
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import time
from collections import Counter

import envs

TARGET_STEPS_PER_S = {"household": 10_000, "sokoban": 10_000, "shop": 2_000}
TARGET_GROUP_SIZE = 1.5
GROUP_SIZE, FIRST_STEPS = 8, 15
TEXTWORLD_SEEDS = (0, 1)


def steps_per_second(name: str, n_steps: int, seed_pool: tuple[int, ...] | None, rng: random.Random) -> float:
    env = envs.make(name)
    done, episodes = True, 0
    start = time.perf_counter()
    for _ in range(n_steps):
        if done:
            seed = episodes if seed_pool is None else seed_pool[episodes % len(seed_pool)]
            _, info = env.reset(seed=seed)
            episodes += 1
        _, _, terminated, truncated, info = env.step(rng.choice(info["admissible_actions"]))
        done = terminated or truncated
    return n_steps / (time.perf_counter() - start)


def mean_step_group_size(name: str, task_seeds: list[int], rng: random.Random) -> float:
    """Mean number of steps per (task group, anchor) among the first ``FIRST_STEPS`` steps of every rollout."""
    runner = envs.GroupRunner(name, group_size=GROUP_SIZE, max_steps=FIRST_STEPS)
    runner.reset(task_seeds)
    records = runner.run(lambda live, obs, infos: [rng.choice(i["admissible_actions"]) for i in infos])
    sizes = Counter((r.group_id, r.anchor) for r in records)
    return sum(sizes.values()) / len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="household,shop,sokoban,textworld", help="comma-separated env names")
    parser.add_argument("--steps", type=int, default=50_000, help="steps per env for the speed figure")
    parser.add_argument("--textworld-steps", type=int, default=500)
    parser.add_argument("--groups", type=int, default=16, help="tasks for the step-group figure (x8 rollouts)")
    args = parser.parse_args()

    print(f"{'env':<10} {'steps/s':>10} {'target':>9} {'':<4} {'group size':>10} {'target':>7} {'':<4} note")
    for name in args.envs.split(","):
        note = ""
        if name == "textworld":
            if importlib.util.find_spec("textworld") is None:
                print(f"{name:<10} skipped: textworld is not installed")
                continue
            n_steps, pool, seeds = args.textworld_steps, TEXTWORLD_SEEDS, list(TEXTWORLD_SEEDS)
            envs.make(name).reset(seed=TEXTWORLD_SEEDS[0])  # compile/cache the games outside the timing
            envs.make(name).reset(seed=TEXTWORLD_SEEDS[1])
            note = "real Inform 7 engine: slow by nature; 2 cached games"
        else:
            n_steps, pool, seeds = args.steps, None, list(range(1000, 1000 + args.groups))
        rng = random.Random(0)
        speed = steps_per_second(name, n_steps, pool, rng)
        group = mean_step_group_size(name, seeds, rng)
        target = TARGET_STEPS_PER_S.get(name)
        speed_ok = "" if target is None else ("ok" if speed >= target else "MISS")
        group_ok = "ok" if group > TARGET_GROUP_SIZE else "MISS"
        target_txt = f">={target:,}" if target else "-"
        print(f"{name:<10} {speed:>10,.0f} {target_txt:>9} {speed_ok:<4} {group:>10.2f} "
              f"{'>' + str(TARGET_GROUP_SIZE):>7} {group_ok:<4} {note}", flush=True)


if __name__ == "__main__":
    main()
