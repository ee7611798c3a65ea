"""Seconds and memory per training iteration with K = 1, 2, ... processes on CPU (torchrun, gloo), one thread each.

    .venv/bin/python benchmarks/data_parallel.py --procs 1 2 --num-groups 4 --group-size 4 --iterations 3
    .venv/bin/python benchmarks/data_parallel.py --procs 2 --model smollm2-135m --finetune full --fsdp

Prints, for each K, the mean of ``time_iteration`` (rollout + advantages + update, as logged by rank 0) over the
iterations after the first, its rollout and update parts, the launch-to-exit wall time and the CPU seconds of all
processes together (both with model loading). Also the machine's load average: on a busy machine the scheduler gives
K processes about K shares of the CPU, so wall times then flatter K > 1; the CPU seconds do not depend on that.
And the memory: the parameter elements each rank stores between phases (``params_per_rank``) and the largest rank's
peak resident memory (``host_peak_mem_gib``), which show what ``--fsdp`` (K > 1) saves against a replica per rank.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(procs: int, out: Path, args: argparse.Namespace) -> tuple[float, float]:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs),
                 "--master_port", str(29600 + procs)] if procs > 1 else [sys.executable])
    cmd = launcher + ["-m", "gigpo", "train", "--env", args.env, "--seed", "0", "--num-groups", str(args.num_groups),
                      "--group-size", str(args.group_size), "--max-steps", str(args.max_steps), "--iterations",
                      str(args.iterations), "--eval-every", "0", "--no-progress", "--action-mode", args.action_mode,
                      "--max-new-tokens", "16", "--model", args.model, "--finetune", args.finetune,
                      "--output-dir", str(out)] + (["--fsdp"] if args.fsdp and procs > 1 else [])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, check=True,
                   capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--env", default="sokoban")
    parser.add_argument("--action-mode", default="choice")
    parser.add_argument("--num-groups", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-steps", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--finetune", default="lora")
    parser.add_argument("--fsdp", action="store_true", help="shard the model in the runs with K > 1 (full FT)")
    args = parser.parse_args()
    print(f"{args.env} ({args.action_mode}), G={args.num_groups} x N={args.group_size}, max {args.max_steps} steps, "
          f"{args.iterations} iterations, {args.model} ({args.finetune}), 1 thread per process, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    print("K  mode  s/iteration  rollout  update  wall(s)  cpu(s)  params/rank (M)  peak RSS (GiB)", flush=True)
    for k in args.procs:
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = run(k, Path(tmp) / "run", args)
            rows = [json.loads(x) for x in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()][1:]
        mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
        mode = "fsdp" if args.fsdp and k > 1 else ("dp" if k > 1 else "-")
        shares = "/".join(f"{n / 1e6:.1f}" for n in rows[-1]["params_per_rank"])
        print(f"{k}  {mode:4}  {mean('time_iteration'):11.2f}  {mean('time_rollout'):7.2f}  "
              f"{mean('time_update'):6.2f}  {wall:7.1f}  {cpu:6.1f}  {shares:>15}  "
              f"{rows[-1]['host_peak_mem_gib']:14.2f}", flush=True)


if __name__ == "__main__":
    main()
