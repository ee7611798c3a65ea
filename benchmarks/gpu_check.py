"""The GPU checks of issues 14, 15 and 23 as one prepared script: both parts in about 4-5 minutes on one H200.

    python benchmarks/gpu_check.py --out "$OUT"              # on the GPU machine (device tool)
    python benchmarks/gpu_check.py --out /tmp/gpu --smoke    # CPU: the same steps at toy sizes (a test runs this)

1. ``qwen1.5b`` (issue 15): a Qwen2.5-1.5B-shaped model (28 layers, hidden 1536, GQA 12/2 heads, vocabulary
   151,936 rows) with random weights built from its config and the package's tokenizer, the ``hf`` backend on CUDA
   in bfloat16 autocast (fp32 master weights), free-form replies, full fine-tuning with the KL reference: G = 8 tasks
   x N = 8 rollouts, 3 steps, 64 new tokens, 2 iterations of GiGPO, then of GRPO (the batch of the first GPU run, with
   fewer steps: that run's 10 steps took ~100 s per iteration, so 4 iterations would not fit).
2. ``notebook03`` (issue 14): notebook 03 through papermill on CUDA with a larger locally built Qwen2 model
   (8 layers, hidden 512) warm-started there, the CPU recipe's other settings (notebook 03's parameters) for 10
   iterations. Without papermill on the machine, the same configuration goes through ``train()`` and says so.

The script sets the environment it needs before anything imports transformers: no hub access (``HF_HUB_OFFLINE``,
the models are built here), no hub kernels (``USE_HUB_KERNELS=NO``; transformers 5.25 would fetch them at the first
``model.train()``). Values already in the environment win.

For every run: the success curve, rollout tokens/s (``rollout_tokens / time_rollout``), update seconds and peak GPU
memory (``gpu_peak_mem_gib``), per iteration from its ``metrics.jsonl``. ``<out>/gpu_check.json`` is rewritten as
each run finishes (and says which run is under way), and each run's table row is printed then, so a timeout still
leaves every finished run, and the unfinished one's completed iterations in its ``metrics.jsonl``. Random weights say
nothing about skill in part 1: it measures cost, not learning.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "USE_HUB_KERNELS": "NO", "TOKENIZERS_PARALLELISM": "false"}
QWEN_SHAPE = dict(num_groups=8, group_size=8, max_steps=3, max_new_tokens=64, iterations=2)
QWEN_SMOKE = dict(num_groups=1, group_size=2, max_steps=2, max_new_tokens=8, iterations=1)
NOTEBOOK_ITERATIONS = 10

QWEN25_1P5B = dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                   num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6, tie_word_embeddings=True)
QWEN25_VOCAB = 151_936
LARGER_QWEN2 = dict(hidden_size=512, intermediate_size=1408, num_hidden_layers=8, num_attention_heads=8,
                    num_key_value_heads=2, max_position_embeddings=4096, rope_theta=1e4, tie_word_embeddings=True)
SMOKE_DIMS = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  num_key_value_heads=1, max_position_embeddings=4096, tie_word_embeddings=True)


def build(path: Path, dims: dict, vocab_size: int | None) -> Path:
    from gigpo.training.systems.tiny_model import BASE_CORPUS, build_tiny_model, env_corpus

    if not (path / "config.json").exists():
        build_tiny_model(path, BASE_CORPUS + env_corpus(), seed=0, model_config=dims, vocab_size=vocab_size)
    return path


def summary(run_dir: Path) -> dict:
    """Per-iteration figures of one run, read back from its metrics.jsonl."""
    from gigpo.notebook.metrics_io import read_metrics

    rows = read_metrics(run_dir)
    return {"iterations": len(rows),
            "success_rate": [r["success_rate"] for r in rows],
            "rollout_tokens_per_s": [r["rollout_tokens"] / r["time_rollout"] for r in rows],
            "time_rollout_s": [r["time_rollout"] for r in rows],
            "time_update_s": [r["time_update"] for r in rows],
            "gpu_peak_mem_gib": [r.get("gpu_peak_mem_gib") for r in rows]}


def qwen_run(out: Path, device: str, smoke: bool, estimator: str) -> dict:
    """Part 1, one estimator on the 1.5B-shaped model (built once, on the first call)."""
    from gigpo.training.config import TrainConfig
    from gigpo.training.trainer import train
    started = time.perf_counter()
    model = build(out / "models" / "qwen2.5-1.5b-shaped", SMOKE_DIMS if smoke else QWEN25_1P5B,
                  None if smoke else QWEN25_VOCAB)
    built = time.perf_counter()
    cfg = TrainConfig(env="household", model=str(model), device=device,
                      dtype="float32" if device == "cpu" else "bfloat16", backend="hf", action_mode="free",
                      finetune="full", lr=1e-6, kl_coef=0.01, history_length=2, micro_batch_size=16,
                      eval_every=0, checkpoint_every=0, progress=False, estimator=estimator,
                      output_dir=str(out / f"qwen1.5b-{estimator}"), **(QWEN_SMOKE if smoke else QWEN_SHAPE))
    train(cfg, overwrite=True)
    return {**summary(Path(cfg.output_dir)), "wall_s": time.perf_counter() - started,
            "model_build_s": built - started, "shape": {k: getattr(cfg, k) for k in QWEN_SHAPE}}


def notebook_run(out: Path, device: str, smoke: bool) -> dict:
    """Part 2: notebook 03 with its parameters (the CPU recipe) on CUDA and a larger model."""
    from gigpo.training.demo import demo_config

    model = build(out / "models" / "qwen2-larger", SMOKE_DIMS if smoke else LARGER_QWEN2, None)
    params = {"model": str(model), "device": device, "progress": False, "iterations": NOTEBOOK_ITERATIONS}
    if smoke:
        params.update(iterations=1, num_groups=1, group_size=2, max_steps=2, warm_start_steps=2,
                      warm_start_episodes=2, warmup_iterations=0)
    started = time.perf_counter()
    try:
        from gigpo.notebook.runner import run_notebook

        run_dir = run_notebook(ROOT / "notebooks" / "03_training.ipynb", params, name="notebook03", runs_dir=out,
                               overwrite=True)
        how = "notebook 03 through papermill"
    except ImportError as exc:  # the GPU machine may lack papermill: the same TrainConfig through train()
        from gigpo.training.trainer import train
        run_dir = out / "notebook03"
        train(demo_config(**params, output_dir=str(run_dir)), overwrite=True)
        how = f"train() with notebook 03's parameters (papermill unavailable: {exc})"
    return {**summary(run_dir), "wall_s": time.perf_counter() - started, "how": how}


def set_environment() -> dict:
    """What the runs need, set before transformers is imported (explicit values in the environment are kept)."""
    for key, value in ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in ENVIRONMENT}


def versions() -> dict:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in ("torch", "transformers", "peft", "accelerate", "kernels", "papermill"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


HEADER = f"{'run':22} {'iters':>5} {'success first->last':>20} {'rollout tok/s':>14} {'update s':>9} {'peak GiB':>9}"


def table_row(name: str, r: dict) -> str:
    peak = max((m for m in r["gpu_peak_mem_gib"] if m is not None), default=float("nan"))
    return (f"{name:22} {r['iterations']:>5} {r['success_rate'][0]:>9.2f} -> {r['success_rate'][-1]:<8.2f} "
            f"{sum(r['rollout_tokens_per_s']) / r['iterations']:>14.0f} "
            f"{sum(r['time_update_s']) / r['iterations']:>9.2f} {peak:>9.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the models, runs and gpu_check.json")
    parser.add_argument("--smoke", action="store_true", help="toy sizes on CPU: checks the script, measures nothing")
    parser.add_argument("--parts", nargs="+", default=["qwen1.5b", "notebook03"], choices=["qwen1.5b", "notebook03"])
    ns = parser.parse_args(argv)
    environment = set_environment()
    import torch

    device = "cpu" if ns.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run on the GPU machine, or pass --smoke to check the script on CPU")
    out = Path(ns.out).resolve()  # the notebook runs elsewhere: model paths handed to it must be absolute
    out.mkdir(parents=True, exist_ok=True)
    report = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu (smoke)",
              "torch": torch.__version__, "versions": versions(), "environment": environment, "running": None}
    runs = []
    if "qwen1.5b" in ns.parts:
        runs += [(f"qwen1.5b-{e}", ("qwen1.5b", e), lambda e=e: qwen_run(out, device, ns.smoke, e))
                 for e in ("gigpo", "grpo")]
    if "notebook03" in ns.parts:
        runs.append(("notebook03", ("notebook03",), lambda: notebook_run(out, device, ns.smoke)))
    print(HEADER, flush=True)
    for name, where, run in runs:
        report["running"] = name
        write_report(out, report)
        result = run()
        if len(where) == 2:
            report.setdefault(where[0], {})[where[1]] = result
        else:
            report[where[0]] = result
        report["running"] = None
        write_report(out, report)
        print(table_row(name, result), flush=True)
    return 0


def write_report(out: Path, report: dict) -> None:
    """Replace gpu_check.json whole (written aside, then renamed), so a kill never leaves half a file."""
    tmp = out / "gpu_check.json.tmp"
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(out / "gpu_check.json")


if __name__ == "__main__":
    raise SystemExit(main())
