"""Rollout generation speed, ``hf`` vs ``vllm``: the same prompts, model and sampling through both backends.

    make bench-rollout                                     # in .venv-vllm (make setup-vllm), CPU
    .venv-vllm/bin/python benchmarks/rollout_speed.py [--prompts 64] [--new-tokens 32] [--threads 2] [--model tiny]

Prompts are the first-turn prompts of ``--prompts`` sokoban tasks (the trainer's own chat format, ~400 tokens each
with the tiny tokenizer); both backends sample at T = 1 from the full distribution with the trainer's keyed streams,
``--new-tokens`` at most per reply. Each backend is warmed up by one call, then timed over ``--repeats`` calls. The
table gives prompt and generated tokens per call, seconds per call and generated tokens per second, with the thread
count each ran with: hf uses ``torch.set_num_threads(--threads)``; vLLM's CPU worker binds its own OpenMP threads
(``VLLM_CPU_OMP_THREADS_BIND``, set here to the first ``--threads`` cores) and is timed after its engine start (also
printed). On a GPU (``--device cuda``) the same script compares the two on the GPU.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time


def first_turn_prompts(tokenizer, count: int) -> list[str]:
    import envs
    from gigpo.policy.prompts import chat_text, format_prompt

    prompts = []
    for seed in range(count):
        obs, info = envs.make("sokoban").reset(seed=seed)
        prompts.append(chat_text(tokenizer, format_prompt(info["task"], obs, info["admissible_actions"], [],
                                                          history_length=2, mode="free")))
    return prompts


def timed(backend, prompts, args) -> tuple[float, int, int]:
    """Mean seconds per call, prompt tokens and generated tokens of one call."""
    keys = list(range(len(prompts)))
    backend.generate(prompts, temperature=1.0, max_new_tokens=args.new_tokens, sample_keys=keys)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        out = backend.generate(prompts, temperature=1.0, max_new_tokens=args.new_tokens, sample_keys=keys)
    seconds = (time.perf_counter() - t0) / args.repeats
    return seconds, sum(len(o.prompt_ids) for o in out), sum(len(o.response_ids) for o in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()

    import torch

    from gigpo.policy.hf_backend import HFBackend
    from gigpo.policy.vllm_backend import VLLMBackend
    from gigpo.training.systems.models import load_model_and_tokenizer, resolve_model

    torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    dtype = "float32" if args.device == "cpu" else "bfloat16"
    model, tok = load_model_and_tokenizer(path, device=args.device, dtype=dtype)
    prompts = first_turn_prompts(tok, args.prompts)
    longest = max(len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    rows = [("hf", torch.get_num_threads(), *timed(HFBackend(model, tok, max_prompt_tokens=longest), prompts, args))]

    if args.device == "cpu":
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = f"0-{args.threads - 1}"
    t0 = time.perf_counter()
    engine = VLLMBackend(path, tok, lora_rank=None, work_dir=tempfile.mkdtemp(), seed=0, max_prompt_tokens=longest,
                         max_new_tokens=args.new_tokens, dtype=dtype, enforce_eager=args.device == "cpu",
                         kv_cache_gib=1.0 if args.device == "cpu" else None)
    start = time.perf_counter() - t0
    rows.append(("vllm", torch.get_num_threads(), *timed(engine, prompts, args)))

    print(f"\nrollout generation, {args.model} on {args.device}: {args.prompts} sokoban prompts, T = 1, "
          f"<= {args.new_tokens} new tokens each, mean of {args.repeats} calls (vLLM engine start: {start:.1f} s)")
    print(f"{'backend':<8} {'threads':>7} {'prompt tok':>10} {'new tok':>8} {'s/call':>8} {'new tok/s':>10}")
    for name, threads, seconds, prompt_tokens, new_tokens in rows:
        print(f"{name:<8} {threads:>7} {prompt_tokens:>10} {new_tokens:>8} {seconds:>8.2f} "
              f"{new_tokens / seconds:>10.0f}")
    print(f"vllm / hf: {rows[0][2] / rows[1][2]:.1f}x")


if __name__ == "__main__":
    main()
