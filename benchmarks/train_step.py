"""Seconds per training phase for the tiny CPU preset, GiGPO vs GRPO on the same seed.

    python benchmarks/train_step.py [--env sokoban] [--iterations 3] [--mode choice]

Prints the mean seconds of each phase per iteration (rollout, env, advantage, update, iteration) for both
estimators, then GiGPO's extra cost: the difference of the advantage phase as a share of the iteration (target
<= 2%). Because two training runs diverge after their first update, the advantage functions are also timed head to
head on one identical recorded batch (the first iteration's steps), which isolates the estimator's own cost.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import torch

from gigpo.estimators import gigpo_advantages, grpo_advantages
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train

PHASES = ("rollout", "env", "advantage", "update", "iteration")


def mean_phases(rows: list[dict]) -> dict[str, float]:
    return {p: sum(r[f"time_{p}"] for r in rows) / len(rows) for p in PHASES}


def head_to_head(batch_cols: dict, repeats: int = 200) -> dict[str, float]:
    """Mean seconds per call of each estimator on the same batch."""
    out = {}
    for name, fn in (("gigpo", lambda: gigpo_advantages(batch_cols["group_ids"], batch_cols["traj_ids"],
                                                          batch_cols["rewards"], batch_cols["anchors"])),
                     ("grpo", lambda: grpo_advantages(batch_cols["group_ids"], batch_cols["traj_ids"],
                                                       batch_cols["rewards"]))):
        fn()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        out[name] = (time.perf_counter() - t0) / repeats
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="sokoban")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--mode", default="choice", choices=("choice", "free"))
    ap.add_argument("--num-groups", type=int, default=2)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--max-steps", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    results, first_batch = {}, None
    for estimator in ("gigpo", "grpo"):
        with tempfile.TemporaryDirectory() as out:
            cfg = TrainConfig(env=args.env, estimator=estimator, action_mode=args.mode, iterations=args.iterations,
                              num_groups=args.num_groups, group_size=args.group_size, max_steps=args.max_steps,
                              eval_every=0, checkpoint_every=0, seed=0, output_dir=out, progress=False)
            if first_batch is None:  # record iteration 0's steps for the head-to-head timing
                import gigpo.training.trainer as t
                real = t.compute_advantages

                def recording(cfg_, batch):
                    nonlocal first_batch
                    if first_batch is None:
                        first_batch = dict(group_ids=batch.group_ids, traj_ids=batch.traj_ids,
                                           rewards=batch.rewards, anchors=batch.anchors)
                    return real(cfg_, batch)
                t.compute_advantages = recording
                try:
                    rows = train(cfg)
                finally:
                    t.compute_advantages = real
            else:
                rows = train(cfg)
        results[estimator] = mean_phases(rows)

    print(f"env={args.env} mode={args.mode} G={args.num_groups} N={args.group_size} max_steps={args.max_steps} "
          f"iterations={args.iterations} threads={torch.get_num_threads()}")
    print(f"{'phase':<11}" + "".join(f"{e:>12}" for e in results))
    for p in PHASES:
        print(f"{p:<11}" + "".join(f"{results[e][p]:>12.4f}" for e in results))
    extra = results["gigpo"]["advantage"] - results["grpo"]["advantage"]
    print(f"GiGPO extra advantage time per iteration: {extra * 1e3:.2f} ms = "
          f"{100 * extra / results['gigpo']['iteration']:.3f}% of the iteration (target <= 2%)")
    h2h = head_to_head(first_batch)
    share = 100 * (h2h["gigpo"] - h2h["grpo"]) / results["gigpo"]["iteration"]
    print(f"same batch ({len(first_batch['rewards'])} steps): gigpo {h2h['gigpo'] * 1e3:.3f} ms, "
          f"grpo {h2h['grpo'] * 1e3:.3f} ms, extra {share:.4f}% of the iteration")


if __name__ == "__main__":
    main()
