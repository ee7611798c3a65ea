"""Seconds per training phase for the tiny CPU preset, GiGPO vs GRPO on the same seed; and where the update's time
goes, before and after its length-sorted micro-batches.

    python benchmarks/train_step.py [--env sokoban] [--iterations 3] [--mode choice]
    python benchmarks/train_step.py --update-only --env household --mode free [--threads 1]

Phases: the mean seconds of each phase per iteration (rollout, env, advantage, update, iteration) for both
estimators, then GiGPO's extra cost: the difference of the advantage phase as a share of the iteration (target
<= 2%). Because two training runs diverge after their first update, the advantage functions are also timed head to
head on one identical recorded batch (the first iteration's steps), which isolates the estimator's own cost.

Update (``--update-only``, or after the phases): one recorded rollout batch of the tiny model, then ``policy_update`` on
copies of the same weights with ``batching="plain"`` (the reference kept here, :class:`PlainPlan`: rows in shuffle
order, ``micro_batch_size`` at a time, an old-log-prob pass over every row unless the update is a single step) and
``"length"`` (the library's), for two schedules (one epoch and one minibatch, the paper's; four minibatches), at the
TrainConfig defaults otherwise (LoRA, KL 0.01, activation checkpointing, budget 2560).
For each: forward passes, the padding share of their token positions, the token positions the first decoder layer's
MLP ran per real token (padding, the reference and old-log-prob passes and activation recompute all raise it: a
forward and the backward's recompute of each real token make 2), seconds and real tokens/s (prompt + scored
continuation tokens of every row, per epoch; the fastest of ``--repeats`` interleaved runs). The thread count and
the attention kernel are printed.
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


def record_batch(args):
    """One rollout batch of the tiny model (G x N episodes of ``args.env``), the model and its tokenizer."""
    from envs import GroupRunner
    from gigpo.policy.hf_backend import HFBackend
    from gigpo.training.rollouts.rollout import collect_rollouts
    from gigpo.training.systems.models import load_model_and_tokenizer, wrap_lora
    from gigpo.training.systems.seeds import SamplingStreams

    cfg = TrainConfig(env=args.env, action_mode=args.mode)
    model, tok = load_model_and_tokenizer(cfg.model)
    model = wrap_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha, dropout=0.0,
                      target_modules=cfg.lora_target_modules)
    backend = HFBackend(model, tok, max_prompt_tokens=cfg.max_prompt_tokens, token_budget=cfg.scoring_token_budget)
    runner = GroupRunner(args.env, args.group_size, max_steps=args.max_steps)
    batch, _ = collect_rollouts(backend, runner, list(range(args.num_groups)), mode=args.mode,
                                temperature=1.0, max_new_tokens=cfg.max_new_tokens, history_length=2,
                                invalid_penalty=0.1, streams=SamplingStreams(0, "rollout", 0))
    return batch, model, tok


def plain_plan_class():
    """The reference batching the length-sorted micro-batches replaced, as a ``MinibatchPlan`` subclass."""
    from gigpo.training.learning.update import MinibatchPlan

    class PlainPlan(MinibatchPlan):
        def __init__(self, batch, settings, dist, shuffle):
            super().__init__(batch, settings, dist, shuffle)
            self.batch, self.mode = batch, settings.action_mode
            single_step = len(self.epochs) == 1 and len(self.epochs[0]) == 1
            self.first = set(range(len(batch))) if single_step else set()

        def first_minibatch(self):
            return self.first

        def micro_batches(self, rows):
            if self.mode == "choice" and torch.is_grad_enabled():  # repeated decisions side by side: scored once
                rows = sorted(rows, key=lambda r: self.batch.prompt_ids[r])
            return [rows[i:i + self.max_rows] for i in range(0, len(rows), self.max_rows)]

    return PlainPlan


def measured_update(model, tok, batch, cfg: TrainConfig, batching: str) -> dict[str, float]:
    """Run ``policy_update`` once on a copy of ``model``, counting passes, padding and layer-0 token positions."""
    import copy

    import gigpo.policy.scoring as scoring
    import gigpo.training.learning.update as update
    from gigpo.training.learning.update import UpdateSettings, policy_update

    model = copy.deepcopy(model)
    counts = {"passes": 0, "real": 0, "positions": 0, "layer0": 0}
    real_pack = scoring.pack_pass

    def counting_pack(plan, prompts, continuations, **kw):
        counts["passes"] += 1
        counts["real"] += sum(len(prompts[i]) for i in plan.row_prompt) + sum(len(continuations[s])
                                                                              for s in plan.conts)
        counts["positions"] += plan.tokens
        return real_pack(plan, prompts, continuations, **kw)

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    # the MLP inside the first layer: a layer's activation-checkpoint recompute calls it again, the layer's own
    # hooks it may not
    hook = base.model.layers[0].mlp.register_forward_pre_hook(
        lambda _m, a, kw: counts.__setitem__("layer0", counts["layer0"] + (a[0] if a else next(iter(kw.values())))
                                             .shape[:2].numel()), with_kwargs=True)
    scoring.pack_pass = counting_pack
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    advantages = torch.linspace(-1.0, 1.0, len(batch))
    real_plan = update.MinibatchPlan
    if batching == "plain":
        update.MinibatchPlan = plain_plan_class()
    try:
        t0 = time.perf_counter()
        policy_update(model, None, batch, advantages, UpdateSettings.of(cfg), opt, pad_id=tok.pad_token_id,
                      shuffle=torch.Generator().manual_seed(0))
        seconds = time.perf_counter() - t0
    finally:
        scoring.pack_pass = real_pack
        update.MinibatchPlan = real_plan
        hook.remove()
    if cfg.action_mode == "free":
        tokens = sum(len(p) + len(r) for p, r in zip(batch.prompt_ids, batch.response_ids))
    else:
        tokens = sum(len(p) + sum(map(len, c)) for p, c in zip(batch.prompt_ids, batch.candidate_ids))
    tokens *= cfg.ppo_epochs
    return {"passes": counts["passes"], "padding": 1 - counts["real"] / counts["positions"],
            "work": counts["layer0"] / tokens, "seconds": seconds, "tokens_per_s": tokens / seconds}


def update_report(args) -> None:
    batch, model, tok = record_batch(args)
    if args.attention:  # transformers picks sdpa by default where torch has it; eager to compare
        model.set_attn_implementation(args.attention)
    n = len(batch)
    attn = model.config._attn_implementation
    print(f"update: env={args.env} mode={args.mode} rows={n} threads={torch.get_num_threads()} attention={attn}")
    schedules = {"1 epoch, 1 minibatch": {}, "1 epoch, 4 minibatches": {"minibatch_size": -(-n // 4)}}
    print(f"{'schedule':<24}{'batching':<9}{'passes':>7}{'padding':>9}{'work/tok':>9}{'seconds':>9}{'tok/s':>9}")
    for name, extra in schedules.items():
        cfg = TrainConfig(env=args.env, action_mode=args.mode, **extra)
        runs = {"plain": [], "length": []}
        for _ in range(args.repeats):  # interleaved, so a busy spell of the machine hits both alike
            for batching in runs:
                runs[batching].append(measured_update(model, tok, batch, cfg, batching))
        for batching, ms in runs.items():
            m = min(ms, key=lambda x: x["seconds"])
            print(f"{name:<24}{batching:<9}{m['passes']:>7}{m['padding']:>9.1%}{m['work']:>9.2f}"
                  f"{m['seconds']:>9.2f}{m['tokens_per_s']:>9.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="sokoban")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--mode", default="choice", choices=("choice", "free"))
    ap.add_argument("--num-groups", type=int, default=2)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--max-steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--update-only", action="store_true", help="only the update's before/after figures")
    ap.add_argument("--repeats", type=int, default=1, help="update runs per setting; the fastest is shown")
    ap.add_argument("--attention", choices=("sdpa", "eager"), default=None,
                    help="the update's attention kernel (default: the model's, sdpa where available)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.update_only:
        update_report(args)
        return
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
    update_report(args)


if __name__ == "__main__":
    main()
