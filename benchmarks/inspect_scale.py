"""How long does ``gigpo inspect`` take on a 100k-row rollout table, and how large is the page it writes?

The table: 128 tasks x 16 rollouts x up to 60 steps (about 100k rows), uuid-string ids and observation-like text
anchors; each rollout is a seeded random walk over its task's 30 states (stay, forward, back), so states repeat within
a group as in ALFWorld, and a rollout that reaches the last state wins (reward 10). Prints the seconds of each stage
(write the JSONL, read and validate it, all five estimators, advantages.csv, index.html) and the sizes of the files.

    python benchmarks/inspect_scale.py [--rows 100000] [--out /tmp/inspect_scale]
"""
from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

import numpy as np
import torch

from gigpo.inspect.advantages import DEFAULT_ESTIMATORS, inspect_table, write_advantages_csv
from gigpo.inspect.page import write_page
from gigpo.run_files.rollout_table import RolloutTable, read_rollout_table, write_rollout_table


def random_walk_table(rows: int, *, group_size: int = 16, max_steps: int = 60, states: int = 30,
                      seed: int = 0) -> RolloutTable:
    """About ``rows`` step rows of random walks (module docstring), rollouts interleaved step by step."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {k: [] for k in ("group_id", "traj_id", "step", "anchor", "observation", "action",
                                             "reward")}
    per_task = group_size * max_steps  # a few walks win and end early
    for task in range(max(1, round(rows / per_task))):
        gid = str(uuid.UUID(int=int(rng.integers(2**62))))
        walks = []
        for _ in range(group_size):
            tid, s, path = str(uuid.UUID(int=int(rng.integers(2**62)))), 0, []
            for _t in range(max_steps):
                move = int(rng.choice([-1, 0, 1, 1]))
                path.append((s, move))
                s = min(max(s + move, 0), states - 1)
                if s == states - 1:
                    break
            walks.append((tid, path, s == states - 1))
        for t in range(max_steps):
            for tid, path, won in walks:
                if t < len(path):
                    state, move = path[t]
                    cols["group_id"].append(gid)
                    cols["traj_id"].append(tid)
                    cols["step"].append(t)
                    text = f"task {task}: you are in room {state}; you see a door to the east and a mug"
                    cols["anchor"].append(text)
                    cols["observation"].append(text)
                    cols["action"].append({-1: "go west", 0: "look", 1: "go east"}[move])
                    cols["reward"].append(10.0 if won and t == len(path) - 1 else 0.0)
    return RolloutTable.from_columns(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", default="/tmp/inspect_scale")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    table = random_walk_table(args.rows)
    seconds = {}
    t0 = time.perf_counter()
    path = write_rollout_table(table, out / "rollouts.jsonl")
    seconds["write jsonl"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = read_rollout_table(path)
    seconds["read + validate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    batch = inspect_table(table, list(DEFAULT_ESTIMATORS))
    seconds["5 estimators"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    csv_path = write_advantages_csv(batch, out / "advantages.csv")
    seconds["advantages.csv"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = write_page(batch, out / "index.html", source=str(path))
    seconds["index.html"] = time.perf_counter() - t0
    total = sum(seconds.values()) - seconds["write jsonl"]
    print(f"{table.num_rows} rows, {len(set(table.traj_id))} rollouts, {batch.details.num_step_groups} step groups")
    for name, s in seconds.items():
        print(f"  {name:16s} {s:6.2f} s")
    print(f"  gigpo inspect    {total:6.2f} s (read to page)")
    print(f"sizes: table {path.stat().st_size / 1e6:.1f} MB, advantages.csv {csv_path.stat().st_size / 1e6:.1f} MB, "
          f"index.html {page.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
