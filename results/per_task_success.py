"""Wins per pool task of saved models (the diagnosis in results/README.md): is success spread over the tasks or not?

    python results/per_task_success.py runs/llm-study-pool8/gigpo-seed0/warm_start \\
        runs/llm-study-pool8/gigpo-seed0/final

Plays every task of the demo recipe's pool ``--rollouts`` times at temperature 1 with each model and prints the
number of wins per task.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import torch

    from envs import GroupRunner
    from gigpo.policy.hf_backend import HFBackend
    from gigpo.training.demo import DEMO_RECIPE
    from gigpo.training.rollouts.rollout import collect_rollouts
    from gigpo.training.systems.models import load_model_and_tokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="saved model folders (a run's warm_start/ or final/)")
    parser.add_argument("--rollouts", type=int, default=8, help="rollouts per task")
    ns = parser.parse_args(argv)
    torch.set_num_threads(1)
    pool = DEMO_RECIPE["task_pool"]
    for path in ns.models:
        torch.manual_seed(0)
        model, tok = load_model_and_tokenizer(path)
        runner = GroupRunner(DEMO_RECIPE["env"], ns.rollouts, env_options=DEMO_RECIPE["env_options"],
                             max_steps=DEMO_RECIPE["max_steps"])
        batch, _ = collect_rollouts(HFBackend(model, tok), runner, list(range(pool)), mode="choice", temperature=1.0,
                                    max_new_tokens=8, history_length=DEMO_RECIPE["history_length"], invalid_penalty=0.1)
        wins = Counter(rec.group_id for rec in runner.records if rec.won)
        print(json.dumps({"model": path, "success": batch.episode["success_rate"],
                          "wins_per_task": [wins[g] for g in range(pool)]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
