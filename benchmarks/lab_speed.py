"""Credit-lab speed: iterations/s of the tabular policy on household 6/4, G = N = 8, one core (target >= 20).

A lab iteration is G x N rollouts through ``envs.GroupRunner`` (per-step Python in the env), the estimator's
advantages, the diagnostics and one vectorized policy-gradient step, so its cost follows the number of env steps:
long failing episodes early, short ones once the policy has learned. Printed per estimator: iterations/s over a
whole run from the issue's 0.25 prior (wall clock and CPU time of this process; the CPU figure is what one free core
gives when the machine is shared), for the first and last 10 iterations, rows (env steps) per second, and the
share of time in rollouts vs advantages + diagnostics + update.

    python benchmarks/lab_speed.py [--iterations 100] [--estimators gigpo grpo]
"""
from __future__ import annotations

import argparse
import time

import torch

from gigpo.lab import LabConfig
from gigpo.lab.diagnostics import advantage_parts, iteration_diagnostics
from gigpo.lab.loop import resolve_prior
from gigpo.lab.policy import TabularPolicy
from gigpo.lab.rollout import ACTIONS, Uniforms, draw_tasks, make_runner, play


def timed_run(cfg: LabConfig, estimator: str, beta: float, lr: float, seed: int = 0) -> list[dict]:
    """The loop of ``gigpo.lab.loop.train_run``, with each phase timed (wall and CPU)."""
    runner = make_runner(cfg.env, cfg.group_size, cfg.resolved_env_options(), cfg.max_steps)
    policy = TabularPolicy(beta)
    options = cfg.estimator_kwargs(estimator)
    out = []
    for it in range(cfg.iterations):
        w0, c0 = time.perf_counter(), time.process_time()
        batch = play(runner, policy, draw_tasks(seed, it, cfg.num_groups, cfg.task_pool),
                     Uniforms(seed, ACTIONS, it, cfg.num_groups, cfg.group_size))
        c1 = time.process_time()
        adv, a_e, a_s = advantage_parts(estimator, batch, options)
        iteration_diagnostics(batch, adv, a_e, a_s)
        policy.update(batch.state_ids, batch.action_ids, adv.double().numpy(), lr)
        out.append({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0, "rollout_cpu": c1 - c0,
                    "rows": batch.num_rows, "success": float(batch.success.mean())})
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--estimators", nargs="+", default=["gigpo", "grpo"])
    p.add_argument("--lr", type=float, default=0.3)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cfg = LabConfig(env="household", env_options={"num_receptacles": 6, "num_objects": 4}, task_pool=16,
                    num_groups=8, group_size=8, prior_success=0.25, iterations=args.iterations, output_dir=None)
    c0 = time.process_time()
    prior = resolve_prior(cfg)
    print(f"household 6/4, G = N = 8, pool 16, prior beta {prior['beta']:.3f} (initial success "
          f"{prior['calibrated_success']:.3f}); calibration {time.process_time() - c0:.1f} s CPU")
    for est in args.estimators:
        runs = timed_run(cfg, est, prior["beta"], args.lr)

        def rate(part, key):
            return len(part) / sum(r[key] for r in part)

        rows = sum(r["rows"] for r in runs)
        cpu = sum(r["cpu"] for r in runs)
        print(f"{est:>6}: {rate(runs, 'wall'):5.1f} it/s wall, {rate(runs, 'cpu'):5.1f} it/s CPU over "
              f"{len(runs)} iterations; first 10 {rate(runs[:10], 'cpu'):5.1f} it/s CPU "
              f"({sum(r['rows'] for r in runs[:10]) / 10:.0f} rows/it), last 10 {rate(runs[-10:], 'cpu'):5.1f} it/s "
              f"CPU ({sum(r['rows'] for r in runs[-10:]) / 10:.0f} rows/it); {rows / cpu:,.0f} rows/s CPU; "
              f"rollouts {sum(r['rollout_cpu'] for r in runs) / cpu:.0%} of the time; final success "
              f"{runs[-1]['success']:.2f}")


if __name__ == "__main__":
    main()
