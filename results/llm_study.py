"""The LLM estimator study on CPU (results/README.md): GiGPO vs GRPO vs RLOO in the credit lab's regime.

    python results/llm_study.py tune       # lr per estimator on the tuning seed (100): results/llm_tuning.csv
    python results/llm_study.py study      # GiGPO and GRPO x seeds 200-209, 20 iterations, held-out evaluation
    python results/llm_study.py report     # results/llm_seeds_*.csv/.md (llm_seeds_paired.md: intervals, sign
                                           # tests), figures/llm_seeds_*.png
    python results/llm_study.py notebook   # notebook 04 over the same runs (papermill)

The earlier study (3 seeds x 60 iterations x 3 estimators, no held-out evaluation; results/llm_*.csv):
``study --seeds 0 1 2 --iterations 60 --estimators gigpo grpo rloo --eval-every 0 --runs runs/llm-study-60`` and
``report --seeds 0 1 2 --estimators gigpo grpo rloo --runs runs/llm-study-60 --prefix llm``.

Every run is ``python -m gigpo train`` with :data:`STUDY` (below) plus its estimator, seed, lr and iterations, one
thread each, ``--jobs`` at a time. Runs go to ``runs/llm-study/<estimator>-seed<k>/`` (notebook 04's layout, so
``notebooks/04_gigpo_vs_grpo.ipynb`` reads them back with ``reuse_runs``). The warm start depends on the seed only,
so it is trained once per seed and copied into each estimator's run before it starts: every estimator starts from
the same weights and plays the same tasks (the whole pool) at every iteration.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable  # noqa: F401 (annotations)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gigpo.training.demo import DEMO_RECIPE  # noqa: E402

ESTIMATORS = ("gigpo", "grpo", "rloo")
# The demo's recipe as it is: every iteration plays the whole 8-task pool (N rollouts each), so the training success
# is measured on a fixed task set and every estimator sees the same tasks at every iteration.
STUDY = dict(DEMO_RECIPE)
TUNE_SEED, TUNE_LRS, TUNE_ITERATIONS, TUNE_WINDOW = 100, (3e-4, 1e-3), 20, 10
# The paired study (issue 29): 10 seeds never used before (not 0-2, not the tuning seed 100), GiGPO and GRPO, at the
# demo's own length (20 iterations: what fits ~90 min of one core, results/README.md "Cost"), with the held-out
# evaluation (16 tasks from eval_seed_offset on, greedy and sampled at eval_temperature) every 5 iterations.
STUDY_SEEDS, STUDY_ESTIMATORS, STUDY_ITERATIONS = tuple(range(200, 210)), ("gigpo", "grpo"), 20
EVAL_EVERY, EVAL_TASKS = 5, 16


def variant_name(estimator: str, filter_groups: str = "none") -> str:
    """A run's name before ``-seed<k>``: the estimator, then the group filter unless ``none`` (``gigpo-advantage``)."""
    return estimator if filter_groups == "none" else f"{estimator}-{filter_groups}"


def flags(settings: dict) -> list[str]:
    """``--name value`` CLI flags of ``python -m gigpo train`` for ``settings`` (dicts as JSON)."""
    out = []
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            out += [flag, json.dumps(value) if isinstance(value, (dict, list)) else str(value)]
    return out


def warm_start(run_root: Path, seed: int) -> Path:
    """Train the seed's warm start once (in ``<run_root>/warm-seed<k>``) and return its folder."""
    from gigpo.training.config import TrainConfig
    from gigpo.training.trainer import build_policy
    from gigpo.training.warm_start import saved_warm_start

    out = run_root / f"warm-seed{seed}"
    cfg = TrainConfig.from_dict({**STUDY, "seed": seed, "output_dir": str(out)})
    if saved_warm_start(out, cfg) is None:  # only a complete save with these settings counts as done
        out.mkdir(parents=True, exist_ok=True)
        build_policy(cfg, out, "cpu")  # seeds its own draws: the same weights as an unshared run
    return out / "warm_start"


def launch(run_dir: Path, settings: dict, warm) -> subprocess.Popen | None:
    if ((run_dir / "metrics.jsonl").exists()
            and sum(1 for _ in open(run_dir / "metrics.jsonl")) >= settings["iterations"]):
        return None  # finished earlier
    from gigpo.training.checkpoints.checkpoint import latest_checkpoint

    resume = run_dir.is_dir() and latest_checkpoint(run_dir) is not None  # an interrupted run continues exactly
    if not resume:
        shared_warm = warm() if warm is not None else None
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        if shared_warm is not None:
            shutil.copytree(shared_warm, run_dir / "warm_start")
    cmd = [sys.executable, "-m", "gigpo", "train", *flags({**settings, "progress": False}),
           "--output-dir", str(run_dir), *(["--resume"] if resume else [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(f"{run_dir}.log", "a"), stderr=subprocess.STDOUT)


def run_all(jobs: list[tuple[Path, dict, "Callable[[], Path] | None"]], parallel: int) -> None:
    """Run ``(run_dir, settings, warm)`` jobs in order, ``parallel`` at a time; raise if one fails.

    ``warm`` makes (or finds) the seed's shared warm start; it is called just before its run starts, so a warm start
    trains while earlier runs use the other slots instead of all of them training before the first run.
    """
    running: list[tuple[Path, subprocess.Popen]] = []
    for run_dir, settings, warm in jobs:
        while len(running) >= parallel:
            time.sleep(5)
            running = [(d, p) for d, p in running if _still_running(d, p)]
        proc = launch(run_dir, settings, warm)
        if proc is not None:
            running.append((run_dir, proc))
    while running:
        time.sleep(5)
        running = [(d, p) for d, p in running if _still_running(d, p)]


def _still_running(run_dir: Path, proc: subprocess.Popen) -> bool:
    if proc.poll() is None:
        return True
    if proc.returncode:
        raise RuntimeError(f"run {run_dir} failed (exit {proc.returncode}); see {run_dir}.log")
    return False


def tuned_lrs_or_empty() -> dict[str, float]:
    from results.llm_report import tuned_lrs

    return tuned_lrs() if (ROOT / "results" / "llm_tuning.csv").exists() else {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("tune", "study", "report", "notebook"))
    parser.add_argument("--estimators", nargs="+", default=list(STUDY_ESTIMATORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(STUDY_SEEDS))
    parser.add_argument("--iterations", type=int, default=None, help=f"study: {STUDY_ITERATIONS}; tune: 20")
    parser.add_argument("--eval-every", type=int, default=EVAL_EVERY, help="study: held-out evaluation every k")
    parser.add_argument("--eval-tasks", type=int, default=EVAL_TASKS, help="study: held-out tasks per evaluation")
    parser.add_argument("--lr", nargs="*", default=[], help="study: estimator=lr (default: results/llm_tuning.csv)")
    parser.add_argument("--filter-groups", choices=("none", "outcome", "advantage"), default="none",
                        help="study: dynamic sampling's group filter (issue 30); runs go to <est>-<filter>-seed<k>")
    parser.add_argument("--max-gen-batches", type=int, default=10, help="study: the filter's generation cap")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    parser.add_argument("--runs", default="runs/llm-study", help="where the runs go")
    parser.add_argument("--prefix", default="llm_seeds", help="report: results/<prefix>_*.csv/.md, figures/<prefix>_*"
                        " (the earlier 3-seed, 60-iteration study: llm)")
    ns = parser.parse_args(argv)
    root = ROOT / ns.runs
    if ns.mode == "notebook":  # notebook 04 reads the finished runs back (reuse_runs) and draws its own figures
        from gigpo.notebook.runner import run_notebook

        lrs = {**tuned_lrs_or_empty(), **dict(item.split("=") for item in ns.lr)}
        overrides = {**{k: v for k, v in STUDY.items() if k not in ("env", "iterations")},
                     "eval_every": ns.eval_every, "eval_tasks": ns.eval_tasks}
        run_notebook(ROOT / "notebooks" / "04_gigpo_vs_grpo.ipynb",
                     {"output_dir": str(root), "env": STUDY["env"], "estimators": ns.estimators, "seeds": ns.seeds,
                      "iterations": ns.iterations or STUDY_ITERATIONS, "last_k": 3, "train_overrides": overrides,
                      "estimator_overrides": {e: {"lr": float(lr)} for e, lr in lrs.items()}},
                     name="llm-study-notebook", runs_dir=ROOT / "runs", overwrite=True)
        return 0
    if ns.mode == "report":
        from results.llm_paired import write_paired
        from results.llm_report import report

        report(root, ns.estimators, prefix=ns.prefix)
        if {"gigpo", "grpo"} <= set(ns.estimators):
            write_paired(root, prefix=f"{ns.prefix}_paired")
        return 0
    if ns.mode == "tune":
        iterations = ns.iterations or TUNE_ITERATIONS
        warm = partial(warm_start, root / "tuning", TUNE_SEED)
        jobs = [(root / "tuning" / f"{est}-lr{lr:g}", {**STUDY, "estimator": est, "lr": lr, "seed": TUNE_SEED,
                                                       "iterations": iterations}, warm)
                for lr in TUNE_LRS for est in ns.estimators]
        run_all(jobs, ns.jobs)
        from results.llm_report import tuning_table

        tuning_table(root / "tuning", ns.estimators, TUNE_LRS, TUNE_WINDOW)
        return 0
    lrs = dict(item.split("=") for item in ns.lr)
    if len(lrs) < len(ns.estimators):
        from results.llm_report import tuned_lrs

        lrs = {**tuned_lrs(), **lrs}
    iterations = ns.iterations or STUDY_ITERATIONS
    # checkpoints every 5 iterations (the last kept): a study interrupted by the machine or the session continues
    # where it stopped when the same command runs again (resume is exact, so the results do not change)
    held_out = {"eval_every": ns.eval_every, "eval_tasks": ns.eval_tasks, "checkpoint_every": 5, "keep_checkpoints": 1}
    dynamic = {} if ns.filter_groups == "none" else {"filter_groups": ns.filter_groups,
                                                      "max_gen_batches": ns.max_gen_batches}
    jobs = []
    for seed in ns.seeds:
        warm = partial(warm_start, root, seed)
        jobs += [(root / f"{variant_name(est, ns.filter_groups)}-seed{seed}",
                  {**STUDY, "estimator": est, "lr": float(lrs[est]), "seed": seed, "iterations": iterations,
                   **held_out, **dynamic}, warm) for est in ns.estimators]
    run_all(jobs, ns.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
