"""Seconds and peak RSS of one choice-mode scoring call, on household steps with 10, 25 and 40 candidates.

Two calls are measured per (model, candidates):

- ``rollout``: ``HFBackend.choose`` on ``--rollout-rows`` prompts (the group of envs stepped together), no grad;
- ``update``: ``unit_log_probs`` on ``--update-rows`` steps of a LoRA-wrapped model (rank 16, the trainer's default),
  then ``backward`` (the update's micro-batch).

Steps come from the household env (``num_receptacles`` 8 and 20, a random walk, the prompt the trainer builds); the
env offers at most ~28 actions, so a K-candidate step is the first real step with >= K actions, or, when none has
that many (K=40), the largest one with household commands of its own layout added (``examine``/``go to`` names of
the scene, numbered beyond the real ones) and the prompt rebuilt to list all K. Each measurement runs in a fresh
process; its peak RSS is the kernel's high-water mark (``VmHWM``) reset right before the call (``clear_refs``), so
model loading does not count; ``base`` is the RSS before the call.

    python benchmarks/choice_scoring.py [--models tiny smollm2-135m] [--candidates 10 25 40] [--budget 2560|none]

``--budget none`` scores each call in one forward pass (no ``token_budget`` argument is passed, so the script also
runs on the code before the budget existed, which is how the "before" figures were taken). ``--limit-gib`` caps the
address space of each measurement (an allocation beyond it fails instead of swamping a shared machine).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def household_step(tokenizer, k: int, seed: int) -> tuple[str, list[int], list[str]]:
    """(prompt text, prompt ids, candidates) of a household step with exactly ``k`` candidates (see the module doc)."""
    import envs
    from gigpo.policy.encoding import encode_prompt
    from gigpo.policy.prompts import chat_text, format_prompt

    rng = random.Random(seed)
    best = None
    for receptacles in (8, 20):
        for task in range(seed * 100, seed * 100 + 20):
            env = envs.make("household", num_receptacles=receptacles, num_objects=30)
            obs, info = env.reset(seed=task)
            history: list[tuple[str, str]] = []
            for _ in range(30):
                acts = list(info["admissible_actions"])
                if best is None or len(acts) > len(best[3]):
                    best = (info["task"], obs, list(history), acts, env.layout)
                if len(acts) >= k:
                    break
                action = rng.choice(acts)
                history.append((obs, action))
                obs, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            if best and len(best[3]) >= k:
                break
        if best and len(best[3]) >= k:
            break
    task, obs, history, acts, layout = best
    extra = [f"{verb} {name.rsplit(' ', 1)[0]} {n}" for n in range(10, 40) for verb in ("go to", "examine")
             for name in layout.receptacles]
    cands = (acts + [a for a in extra if a not in acts])[:k]
    prompt = chat_text(tokenizer, format_prompt(task, obs, cands, history, history_length=2, mode="choice"))
    return prompt, encode_prompt(tokenizer, prompt, 2048), cands


def hwm_bytes() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def rss_bytes() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def measure(model_name: str, k: int, call: str, budget: int | None, rows: int) -> dict:
    """One measurement in this process (run it in a fresh one)."""
    import torch

    from gigpo.policy.encoding import encode_candidate
    from gigpo.policy.hf_backend import HFBackend
    from gigpo.policy.step_batch import StepBatch
    from gigpo.training.learning.update import unit_log_probs
    from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, tok = load_model_and_tokenizer(model_name)
    steps = [household_step(tok, k, seed) for seed in range(rows)]
    extra = {} if budget is None else {"token_budget": budget}
    if call == "update":
        model.requires_grad_(False)
        model = wrap_lora(model, rank=16, alpha=32, dropout=0.0,
                          target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                          "down_proj"])
        batch = StepBatch(prompt_ids=[p for _, p, _ in steps],
                          candidate_ids=[[encode_candidate(tok, a) for a in c] for _, _, c in steps],
                          chosen=[0] * rows)
    prompt_tokens = sum(len(p) for _, p, _ in steps)
    cand_tokens = sum(len(encode_candidate(tok, a)) for _, _, c in steps for a in c)
    base = rss_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak below is the call's own
    t0 = time.perf_counter()
    if call == "rollout":
        backend = HFBackend(model, tok, **extra)
        backend.choose([t for t, _, _ in steps], [c for _, _, c in steps], temperature=1.0)
    else:
        model.train()
        logp, _, _ = unit_log_probs(model, batch, list(range(rows)), mode="choice", temperature=1.0,
                                    pad_id=tok.pad_token_id, **extra)
        logp.sum().backward()
    seconds = time.perf_counter() - t0
    return {"model": model_name, "candidates": k, "call": call, "rows": rows, "budget": budget,
            "prompt_tokens": prompt_tokens, "candidate_tokens": cand_tokens, "seconds": round(seconds, 2),
            "base_rss_gib": round(base / 2**30, 2), "peak_rss_gib": round(hwm_bytes() / 2**30, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny", "smollm2-135m"])
    parser.add_argument("--candidates", nargs="+", type=int, default=[10, 25, 40])
    parser.add_argument("--calls", nargs="+", default=["rollout", "update"], choices=["rollout", "update"])
    parser.add_argument("--budget", default="2560", help="token positions per forward pass, or 'none'")
    parser.add_argument("--rollout-rows", type=int, default=4)
    parser.add_argument("--update-rows", type=int, default=4)
    parser.add_argument("--limit-gib", type=float, default=16.0)
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "K", "CALL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    budget = None if args.budget == "none" else int(args.budget)
    if args.one:
        model_name, k, call = args.one
        limit = int(args.limit_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        rows = args.rollout_rows if call == "rollout" else args.update_rows
        try:
            print(json.dumps(measure(model_name, int(k), call, budget, rows)))
        except (MemoryError, RuntimeError) as exc:  # torch reports a refused allocation as RuntimeError
            print(json.dumps({"model": model_name, "candidates": int(k), "call": call, "rows": rows,
                              "budget": budget, "failed": f"{type(exc).__name__}: {str(exc)[:120]}",
                              "peak_rss_gib": round(hwm_bytes() / 2**30, 2)}))
        return
    print(f"{'model':14} {'K':>3} {'call':8} {'rows':>4} {'tokens p+c':>11} {'seconds':>8} {'base GiB':>9} "
          f"{'peak GiB':>9}  budget={budget}")
    for model_name in args.models:
        for k in args.candidates:
            for call in args.calls:
                cmd = [sys.executable, __file__, "--one", model_name, str(k), call, "--budget", args.budget,
                       "--rollout-rows", str(args.rollout_rows), "--update-rows", str(args.update_rows),
                       "--limit-gib", str(args.limit_gib)]
                out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
                lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
                if not lines:
                    print(f"{model_name:14} {k:>3} {call:8} failed (exit {out.returncode}): {out.stderr[-300:]}")
                    continue
                r = json.loads(lines[-1])
                if "failed" in r:
                    print(f"{model_name:14} {k:>3} {call:8} {r['rows']:>4} allocation refused at the "
                          f"{args.limit_gib:g} GiB cap (peak {r['peak_rss_gib']} GiB): {r['failed']}")
                    continue
                print(f"{model_name:14} {k:>3} {call:8} {r['rows']:>4} "
                      f"{r['prompt_tokens']:>5}+{r['candidate_tokens']:<5} {r['seconds']:>8.2f} "
                      f"{r['base_rss_gib']:>9.2f} {r['peak_rss_gib']:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
