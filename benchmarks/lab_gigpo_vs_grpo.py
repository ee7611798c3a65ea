"""The credit lab's comparison of the issue: GiGPO vs GRPO (and any other registered estimator) on 10 paired seeds,
lr tuned per estimator on a separate seed (``lr="auto"``), in two regimes (from an expert prior at 0.25 initial
success, and from scratch) on household 6/4, the default household, sokoban and shop. Prints the figures; each
setting's lab.jsonl and summary.json go to ``runs/lab-bench/<setting>/``.

    python benchmarks/lab_gigpo_vs_grpo.py                       # the headline: household 6/4 from a prior
    python benchmarks/lab_gigpo_vs_grpo.py --settings all        # every env and both regimes (long)
    python benchmarks/lab_gigpo_vs_grpo.py --estimators gigpo grpo rloo --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json

import torch

from gigpo.lab import LabConfig, comparison_table, run_lab

HOUSE64 = {"num_receptacles": 6, "num_objects": 4}
SETTINGS = {  # name -> LabConfig overrides (every setting: 16-task pool, G = N = 8)
    "household64-prior": dict(env="household", env_options=HOUSE64, prior_success=0.25, iterations=100),
    "household64-scratch": dict(env="household", env_options=HOUSE64, prior_success=None, iterations=100),
    "household-prior": dict(env="household", env_options={}, prior_success=0.25, iterations=100),
    "household-scratch": dict(env="household", env_options={}, prior_success=None, iterations=100),
    "sokoban-prior": dict(env="sokoban", env_options={}, prior_success=0.25, iterations=100),
    "sokoban-scratch": dict(env="sokoban", env_options={}, prior_success=None, iterations=100),
    "shop-prior": dict(env="shop", env_options={}, prior_success=0.25, iterations=100),
    "shop-scratch": dict(env="shop", env_options={}, prior_success=None, iterations=100),
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--settings", nargs="+", default=["household64-prior"], help=f"'all' or some of {list(SETTINGS)}")
    p.add_argument("--estimators", nargs="+", default=["gigpo", "grpo"])
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    p.add_argument("--iterations", type=int, default=None, help="override every setting's iterations")
    p.add_argument("--lr", default="auto", help="a number or 'auto' (tuned per estimator on tune_seed)")
    p.add_argument("--lr-grid", nargs="+", type=float, default=None, help="values tried by --lr auto "
                   "(default: LabConfig's grid)")
    p.add_argument("--output-root", default="runs/lab-bench")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    names = list(SETTINGS) if args.settings == ["all"] else args.settings
    for name in names:
        over = dict(SETTINGS[name])
        if args.iterations is not None:
            over["iterations"] = args.iterations
        cfg = LabConfig(**over, estimators=args.estimators, seeds=args.seeds, task_pool=16, num_groups=8,
                        group_size=8, lr=args.lr if args.lr == "auto" else float(args.lr),
                        output_dir=f"{args.output_root}/{name}",
                        **({"lr_grid": args.lr_grid} if args.lr_grid else {}))
        s = run_lab(cfg).summary
        print(f"\n== {name}: prior {json.dumps(s['prior'])}, lr {s['lr']}, {s['elapsed_s']} s")
        for row in comparison_table(s):
            print("  " + "  ".join(f"{k}={v}" for k, v in row.items()))
        for est, by_t in s["paired"].items():
            p90 = by_t.get("0.9")
            if p90:
                print(f"  at 90%: {est}/{s['reference']} ratio of mean iterations {p90['ratio_of_means']:.2f}; "
                      f"{s['reference']} faster on {p90['first_faster']} of {len(p90['differences'])} seeds "
                      f"(ties {p90['ties']}); per-seed differences {p90['differences']}")


if __name__ == "__main__":
    main()
