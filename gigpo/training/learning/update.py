"""The policy update of one iteration: PPO-clip epochs over the step batch (paper Sec. 4, Alg. 1; verl's actor).

``unit_log_probs`` scores what each step did (its response tokens in free mode, its chosen action among the
admissible ones in choice mode); ``policy_update`` turns those scores and the advantages into PPO-clip + k3 KL
gradient steps, each term aggregated over the minibatch by ``loss_agg_mode`` (token-mean by default).

The cost is token positions through the model, real or padding. So micro-batches hold rows of similar length, as
many as one scoring pass holds (``micro_batches.py``), and no pass runs that the loss does not need: the reference
pass only with ``kl_coef > 0``, and no separate old-log-prob pass for the rows whose first gradient pass comes before
any optimizer step (all rows with one epoch and one minibatch; the first minibatch otherwise).
"""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import torch

from gigpo.policy.scoring import continuation_log_probs
from gigpo.policy.step_batch import StepBatch
from gigpo.training.learning.micro_batches import plan_micro_batches, row_shape
from gigpo.training.learning.policy_loss import policy_loss
from gigpo.training.systems import sharding
from gigpo.training.systems.distributed import Distributed, global_row_index


@dataclass(frozen=True)
class UpdateSettings:
    """What the update reads of a run's settings (``TrainConfig`` fields of the same names; :meth:`of` picks them)."""

    action_mode: str = "choice"
    temperature: float = 1.0
    ppo_epochs: int = 1
    minibatch_size: int | None = None
    micro_batch_size: int = 16
    scoring_token_budget: int = 2560
    activation_checkpointing: bool = True
    clip_range: tuple[float, float] = (0.2, 0.2)
    loss_agg_mode: str = "token-mean"
    max_new_tokens: int = 64
    kl_coef: float = 0.01
    entropy_coef: float = 0.0
    target_kl: float | None = None
    max_grad_norm: float = 1.0

    @classmethod
    def of(cls, cfg) -> "UpdateSettings":
        """The update's settings from a config holding these fields (and ``clip_range()``)."""
        plain = ("action_mode", "temperature", "ppo_epochs", "minibatch_size", "micro_batch_size",
                 "scoring_token_budget", "activation_checkpointing", "loss_agg_mode", "max_new_tokens", "kl_coef",
                 "entropy_coef", "target_kl", "max_grad_norm")
        return cls(clip_range=tuple(cfg.clip_range()), **{k: getattr(cfg, k) for k in plain})

    def scoring(self, pad_id: int) -> dict:
        """The keyword arguments of :func:`unit_log_probs` for this update."""
        return dict(mode=self.action_mode, temperature=self.temperature, pad_id=pad_id,
                    token_budget=self.scoring_token_budget, recompute=self.activation_checkpointing)


def unit_log_probs(model, batch: StepBatch, rows: list[int], *, mode: str, temperature: float, pad_id: int,
                   entropy: str = "none", token_budget: int | None = None, recompute: bool = True):
    """Log-probs of what each step did, per unit: its response tokens (free) or its chosen action (choice).

    Choice mode is a categorical over the admissible actions: each candidate's score is the sum of its token
    log-probs, renormalized over the candidates; the step then has a single unit. Rows that show the model the same
    decision (identical prompt and candidates: the N rollouts of a task start in the same state, and a policy that
    has learnt something keeps meeting the same states) are scored once and gathered back, which gives the same
    values and gradients at a fraction of the forward cost.
    Returns ``(logp, mask, entropy)`` of shape (rows, units).
    """
    if mode == "free":
        return continuation_log_probs(model, [batch.prompt_ids[r] for r in rows],
                                      [batch.response_ids[r] for r in rows], pad_id=pad_id,
                                      temperature=temperature, entropy=entropy, token_budget=token_budget,
                                      recompute=recompute)
    keys = [(tuple(batch.prompt_ids[r]), tuple(map(tuple, batch.candidate_ids[r]))) for r in rows]
    first: dict = {}  # decision -> (its index, the first row showing it)
    row_of = torch.tensor([first.setdefault(k, (len(first), r))[0] for k, r in zip(keys, rows)])
    distinct = [r for _, r in first.values()]
    owner = [j for j, r in enumerate(distinct) for _ in batch.candidate_ids[r]]
    slot = [k for r in distinct for k in range(len(batch.candidate_ids[r]))]
    conts = [c for r in distinct for c in batch.candidate_ids[r]]
    token_logp, _, _ = continuation_log_probs(model, [batch.prompt_ids[r] for r in distinct], conts, owner=owner,
                                              pad_id=pad_id, temperature=temperature, token_budget=token_budget,
                                              recompute=recompute)
    width = max(len(batch.candidate_ids[r]) for r in distinct)
    scores = torch.full((len(distinct), width), float("-inf"), device=token_logp.device)
    scores = scores.index_put((torch.tensor(owner), torch.tensor(slot)), token_logp.sum(-1))
    scores = scores[row_of.to(scores.device)]
    logp_all = torch.log_softmax(scores, dim=1)
    chosen = torch.tensor([batch.chosen[r] for r in rows], device=scores.device)
    logp = logp_all.gather(1, chosen[:, None])
    mask = torch.ones_like(logp)
    ent = None
    if entropy != "none":
        # p log p over the real candidates only: a padded slot's log p is -inf, and behind a torch.where its zero
        # gradient still meets 0 * -inf = NaN in the product's backward; filled with 0 first, it adds 0 and no NaN
        lp = (logp_all if entropy == "grad" else logp_all.detach()).masked_fill(~torch.isfinite(scores), 0.0)
        ent = -(lp.exp() * lp).sum(1, keepdim=True)
    return logp, mask, ent


def _pad_rows(rows: list[torch.Tensor], width: int, device) -> torch.Tensor:
    out = torch.zeros(len(rows), width, device=device)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r.to(device)
    return out


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class MinibatchPlan:
    """Which rows each minibatch of each epoch holds, on this rank, and how they split into micro-batches.

    Minibatches are drawn over the rows of all ranks, numbered in (group, rollout, step) order
    (``global_row_index``), with ``shuffle`` (a keyed generator), so they hold the same rows whatever the number of
    ranks is; each rank keeps its own rows of each. All epochs are drawn up front (the same draws, in the same order,
    as one per epoch) to know the first minibatch's rows.
    """

    def __init__(self, batch: StepBatch, settings: UpdateSettings, dist: Distributed,
                 shuffle: torch.Generator | None):
        global_index, self.n_global = global_row_index(batch.traj_ids, dist)
        local_row = {g: r for r, g in enumerate(global_index)}
        size = settings.minibatch_size or self.n_global
        self.epochs = [[[local_row[g] for g in mb if g in local_row]
                        for mb in _chunks(torch.randperm(self.n_global, generator=shuffle).tolist(), size)]
                       for _ in range(settings.ppo_epochs)]
        self.shapes = {r: row_shape(batch, r, settings.action_mode) for r in range(len(batch))}
        self.token_budget, self.max_rows = settings.scoring_token_budget, settings.micro_batch_size

    def first_minibatch(self) -> set[int]:
        """Rows whose first gradient pass comes before any optimizer step: their old log-probs are its values."""
        return set(self.epochs[0][0])

    def micro_batches(self, rows: list[int]) -> list[list[int]]:
        return plan_micro_batches(rows, self.shapes, token_budget=self.token_budget, max_rows=self.max_rows)


def fixed_log_probs(model, reference, batch: StepBatch, plan: MinibatchPlan, settings: UpdateSettings, *,
                    pad_id: int, autocast) -> tuple[list, list]:
    """The no-grad pass: ``(old, ref)`` unit log-probs per row (None where not computed here).

    ``old``: the rollout policy's, for the rows whose first gradient pass comes after an optimizer step (as in verl,
    recomputed by the trainer, not taken from the sampler); the first minibatch's rows take theirs from that gradient
    pass, where they equal the current ones exactly (ratio 1). ``ref``: the reference policy's (the base model with
    the LoRA adapter disabled when ``reference`` is None), only with ``kl_coef > 0``.
    """
    n = len(batch)
    score = settings.scoring(pad_id)
    old: list[torch.Tensor | None] = [None] * n
    ref: list[torch.Tensor | None] = [None] * n
    first = plan.first_minibatch()
    with torch.no_grad(), autocast(), sharding.gathered(model, reference):
        for rows in plan.micro_batches([r for r in range(n) if r not in first]):
            logp, mask, _ = unit_log_probs(model, batch, rows, **score)
            for j, r in enumerate(rows):
                old[r] = logp[j, :int(mask[j].sum())].float().cpu()
        if settings.kl_coef > 0:
            for rows in plan.micro_batches(list(range(n))):
                with (model.disable_adapter() if reference is None else contextlib.nullcontext()):
                    ref_logp, mask, _ = unit_log_probs(reference if reference is not None else model, batch, rows,
                                                       **score)
                for j, r in enumerate(rows):
                    ref[r] = ref_logp[j, :int(mask[j].sum())].float().cpu()
    return old, ref


STAT_NAMES = ("pg_loss", "clip_frac", "approx_kl", "kl", "entropy")


def accumulate_minibatch(model, batch: StepBatch, rows: list[int], plan: MinibatchPlan, advantages: torch.Tensor,
                         old: list, ref: list, settings: UpdateSettings, sums: dict[str, float], *, pad_id: int,
                         autocast, mb_units: float, mb_count: float) -> tuple[float, float, str]:
    """Backward over this rank's ``rows`` of a minibatch, micro-batch by micro-batch; each micro-batch's loss carries
    the whole minibatch's denominators (``mb_units``, ``mb_count``: summed over ranks; ``policy_loss.unit_weights``),
    so the accumulated gradient is the ``loss_agg_mode`` aggregate over the minibatch.

    Adds the unit-weighted loss terms to ``sums`` and fills ``old`` for rows seen for the first time. Returns
    (units scored, this rank's share of the minibatch's approx KL, a non-finite loss's description or "").
    """
    device = advantages.device
    free = settings.action_mode == "free"
    entropy = "grad" if settings.entropy_coef > 0 else "detached"
    units_seen, mb_kl, bad_loss = 0.0, 0.0, ""
    for micro in plan.micro_batches(rows):
        with autocast():
            logp, mask, ent = unit_log_probs(model, batch, micro, **settings.scoring(pad_id), entropy=entropy)
        logp, width = logp.float(), logp.shape[1]
        for j, r in enumerate(micro):
            if old[r] is None:  # before the first optimizer step the policy has not moved: old == current
                old[r] = logp[j, :int(mask[j].sum())].detach().cpu()
        terms = policy_loss(
            logp, _pad_rows([old[r] for r in micro], width, device), advantages[micro][:, None] * mask, mask,
            clip=settings.clip_range,
            ref_logp=_pad_rows([ref[r] for r in micro], width, device) if settings.kl_coef > 0 else None,
            kl_coef=settings.kl_coef, entropy=ent, entropy_coef=settings.entropy_coef,
            loss_agg_mode=settings.loss_agg_mode, total_units=mb_units, total_rows=mb_count,
            norm_units=settings.max_new_tokens if free else 1)
        units = float(mask.sum())
        if not torch.isfinite(terms.loss):  # reported at the gradient check, which every rank reaches
            bad_loss = (f"non-finite loss {float(terms.loss.detach())} (pg_loss {float(terms.pg_loss)}, "
                        f"kl {float(terms.kl)}, entropy {float(terms.entropy)})")
        terms.loss.backward()  # already this micro-batch's share of the minibatch's aggregate
        for k in ("pg_loss", "clip_frac", "kl", "entropy"):
            sums[k] += float(getattr(terms, k)) * units
        sums["approx_kl"] += float(terms.approx_kl_old) * units
        mb_kl += float(terms.approx_kl_old) * units / mb_units
        units_seen += units
    return units_seen, mb_kl, bad_loss


def zero_loss(model, batch: StepBatch, rows: list[int], settings: UpdateSettings, *, pad_id: int,
              autocast) -> torch.Tensor:
    """A forward pass over ``rows`` whose loss has an exactly zero gradient (FSDP's reducing backward)."""
    with autocast():
        logp, _, _ = unit_log_probs(model, batch, rows, **settings.scoring(pad_id))
    return (logp.float().masked_fill(~torch.isfinite(logp), 0.0) * 0.0).sum()


def policy_update(model, reference, batch: StepBatch, advantages: torch.Tensor, settings: UpdateSettings,
                  optimizer, *, pad_id: int, autocast=contextlib.nullcontext, shuffle: torch.Generator | None = None,
                  dist: Distributed | None = None) -> dict[str, float]:
    """PPO epochs over the step batch; every step's advantage is broadcast to its units (prompt tokens carry none).

    Data-parallel (``dist`` with K ranks, each holding complete task groups): each rank runs its own rows of a
    minibatch, weighted by the whole minibatch's denominators, and the gradients are then summed over ranks, so the
    loss stays the aggregate over the global minibatch. A sharded model (FSDP, ``sharding.py``) runs each minibatch
    as a gathered phase and sums the gradients in one reducing backward instead; each rank then steps on its shard.
    Statistics are summed over ranks. Raises ``FloatingPointError`` before an optimizer step on a non-finite loss or
    gradient, so non-finite weights are never made.
    """
    dist = dist or Distributed()
    plan = MinibatchPlan(batch, settings, dist, shuffle)
    old, ref = fixed_log_probs(model, reference, batch, plan, settings, pad_id=pad_id, autocast=autocast)
    params = [p for p in model.parameters() if p.requires_grad]
    adv = advantages.to(params[0].device, torch.float32)
    free = settings.action_mode == "free"
    sums = dict.fromkeys(STAT_NAMES, 0.0)
    grad_norms: list[float] = []
    units_seen, early_stopped = 0.0, False
    sharded = sharding.is_sharded(model)
    model.train()
    for epoch in plan.epochs:
        for rows in epoch:
            mb_units, mb_count = dist.sum_floats([sum(len(batch.response_ids[r]) if free else 1 for r in rows),
                                                  len(rows)])
            optimizer.zero_grad(set_to_none=True)
            with sharding.gathered(model):  # FSDP: the weights stay whole for this rank's passes, however many
                units, mb_kl, bad_loss = accumulate_minibatch(model, batch, rows, plan, adv, old, ref, settings, sums,
                                                              pad_id=pad_id, autocast=autocast, mb_units=mb_units,
                                                              mb_count=mb_count)
                if sharded:  # every rank reduces once, the early stop's minibatch too
                    sharding.reduce_gradients(model, functools.partial(zero_loss, model, batch, rows[:1] or [0],
                                                                       settings, pad_id=pad_id, autocast=autocast))
            units_seen += units
            [mb_kl] = dist.sum_floats([mb_kl])  # every rank takes the same early-stop decision
            if settings.target_kl is not None and mb_kl > settings.target_kl:  # PPO's early stop: no step
                early_stopped = True
                break
            grad_norms.append(clipped_step(model, params, optimizer, dist, sharded, settings.max_grad_norm, bad_loss))
        if early_stopped:
            break
    optimizer.zero_grad(set_to_none=True)
    *totals, units_seen = dist.sum_floats([sums[k] for k in STAT_NAMES] + [units_seen])
    stats = {k: v / max(units_seen, 1) for k, v in zip(STAT_NAMES, totals)}
    stats["grad_norm"] = sum(grad_norms) / max(len(grad_norms), 1)  # already global: after the gradient sum
    stats["update_steps"] = len(grad_norms)
    stats["early_stopped"] = float(early_stopped)
    stats["response_units"] = units_seen / max(plan.n_global * settings.ppo_epochs, 1)
    stats["rollout_logprob_gap"] = _sampler_gap(batch, old, dist)
    return stats


def clipped_step(model, params: list, optimizer, dist: Distributed, sharded: bool, max_grad_norm: float,
                 bad_loss: str) -> float:
    """Sum the gradients over ranks (replicas), clip them, and step; returns the global gradient norm.

    Raises ``FloatingPointError`` before the step when the loss or the gradient is not finite.
    """
    if not sharded:
        dist.sum_gradients_(params)  # identical summed gradients on every rank: the replicas stay identical
    grad_norm = sharding.grad_norm_value(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
    if bad_loss or not math.isfinite(grad_norm):
        raise FloatingPointError(f"{bad_loss or 'non-finite gradient'} (gradient norm {grad_norm}); "
                                 "the optimizer step was not taken")
    optimizer.step()
    return grad_norm


def _sampler_gap(batch: StepBatch, old: list[torch.Tensor], dist: Distributed) -> float:
    """Mean |log-prob of the sampler - log-prob of the trained model| on the rollout tokens (vLLM only; else 0).

    A large gap means the rollouts did not come from the weights being trained (stale or base weights).
    """
    diffs = [(torch.tensor(s) - o).abs() for s, o in zip(batch.sampler_logprobs, old) if s is not None]
    if dist.world_size == 1:
        return float(torch.cat(diffs).mean()) if diffs else 0.0
    total, count = dist.sum_floats([float(torch.cat(diffs).sum()) if diffs else 0.0, sum(len(d) for d in diffs)])
    return total / count if count else 0.0


