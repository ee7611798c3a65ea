"""The policy update of one iteration: PPO-clip epochs over the step batch (paper Sec. 4, Alg. 1; verl's actor).

``unit_log_probs`` scores what each step did (its response tokens in free mode, its chosen action among the
admissible ones in choice mode); ``policy_update`` turns those scores and the advantages into PPO-clip + k3 KL
gradient steps, each term aggregated over the minibatch by ``loss_agg_mode`` (token-mean by default).

Where the time goes (``benchmarks/train_step.py --update-only``): token positions through the model, real or
padding, in the gradient pass, its activation recompute and the no-grad passes. So micro-batches hold rows of
similar length, as many as one pass of the scoring token budget holds (``micro_batches.py``: little padding, and no
whole-pass recompute on top of the per-layer one), and no pass runs that the loss does not need:
the reference pass only with ``kl_coef > 0``, and no separate old-log-prob pass for the rows whose first gradient
pass comes before any optimizer step (all rows with one epoch and one minibatch; the first minibatch otherwise).
``batching="plain"`` keeps the former scheme (rows in shuffle order, ``micro_batch_size`` at a time, an
old-log-prob pass over every row unless the update is a single step) for comparison.
"""
from __future__ import annotations

import contextlib
import functools
import math

import torch

from gigpo.training.systems import sharding
from gigpo.training.config import TrainConfig
from gigpo.training.systems.distributed import Distributed, global_row_index
from gigpo.training.learning.micro_batches import plan_micro_batches, row_shape
from gigpo.training.rollouts.policy_backends import continuation_log_probs
from gigpo.training.learning.policy_loss import policy_loss
from gigpo.training.rollouts.rollout import StepBatch


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


BATCHINGS = ("length", "plain")


def policy_update(model, reference, batch: StepBatch, advantages: torch.Tensor, cfg: TrainConfig, optimizer, *,
                  pad_id: int, autocast=contextlib.nullcontext, shuffle: torch.Generator | None = None,
                  dist: Distributed | None = None, batching: str = "length") -> dict[str, float]:
    """PPO epochs over the step batch; every step's advantage is broadcast to its units (prompt tokens carry none).

    First pass (no grad): the reference policy's log-probs, and the rollout ("old") policy's for the rows whose
    first gradient pass comes after an optimizer step (as verl, they are recomputed by the trainer, not taken from
    the sampler). The other rows, those of the first minibatch of the first epoch, take the old log-probs from that
    gradient pass, where they equal the current ones exactly (ratio 1). Each minibatch is accumulated over
    micro-batches whose losses carry the whole minibatch's denominators (``policy_loss.unit_weights``), so the sum is
    the ``loss_agg_mode`` aggregate over the whole minibatch. ``batching``: ``"length"`` (micro-batches of similar
    length within ``scoring_token_budget``) or ``"plain"`` (the former scheme, for benchmarks).

    Data-parallel (``dist`` with K ranks, each holding complete task groups): minibatches are drawn over the rows of
    all ranks, numbered in (group, rollout, step) order (``global_row_index``), with ``shuffle`` (a keyed generator),
    so they hold the same rows whatever K is; each rank runs its own rows of a minibatch, weighted by the whole
    minibatch's denominators (its units and rows summed over ranks), and the gradients are then summed over ranks:
    the loss stays the aggregate over the global minibatch. Statistics are summed over ranks too.
    A sharded model (FSDP, ``sharding.py``) runs each minibatch as a gathered phase and sums the gradients in one
    reducing backward instead; each rank then steps on its shard.
    """
    if batching not in BATCHINGS:
        raise ValueError(f"batching must be one of {BATCHINGS}, got {batching!r}")
    n = len(batch)
    dist = dist or Distributed()
    global_index, n_global = global_row_index(batch.traj_ids, dist)
    local_row = {g: r for r, g in enumerate(global_index)}
    use_ref = cfg.kl_coef > 0
    free = cfg.action_mode == "free"
    # drawn up front (the same draws, in the same order, as one per epoch) to know the first minibatch's rows
    schedule = [[[local_row[g] for g in mb if g in local_row]  # this rank's rows of each minibatch
                 for mb in _chunks(torch.randperm(n_global, generator=shuffle).tolist(),
                                   cfg.minibatch_size or n_global)]
                for _ in range(cfg.ppo_epochs)]
    if batching == "plain":
        single_step = cfg.ppo_epochs == 1 and len(schedule[0]) == 1
        old_from_grad_pass = set(range(n)) if single_step else set()
    else:
        old_from_grad_pass = set(schedule[0][0])
    shapes = {r: row_shape(batch, r, cfg.action_mode) for r in range(n)} if batching == "length" else {}

    def micro_batches(rows: list[int], *, no_grad: bool = False) -> list[list[int]]:
        if batching == "length":
            return plan_micro_batches(rows, shapes, token_budget=cfg.scoring_token_budget,
                                      max_rows=cfg.micro_batch_size)
        if cfg.action_mode == "choice" and not no_grad:  # repeated decisions into one micro-batch: scored once
            rows = sorted(rows, key=lambda r: batch.prompt_ids[r])
        return _chunks(rows, cfg.micro_batch_size)

    score = dict(mode=cfg.action_mode, temperature=cfg.temperature, pad_id=pad_id,
                 token_budget=cfg.scoring_token_budget, recompute=cfg.activation_checkpointing)
    old: list[torch.Tensor | None] = [None] * n
    ref: list[torch.Tensor | None] = [None] * n
    with torch.no_grad(), autocast(), sharding.gathered(model, reference):
        for rows in micro_batches([r for r in range(n) if r not in old_from_grad_pass], no_grad=True):
            logp, mask, _ = unit_log_probs(model, batch, rows, **score)
            for j, r in enumerate(rows):
                old[r] = logp[j, :int(mask[j].sum())].float().cpu()
        if use_ref:
            for rows in micro_batches(list(range(n)), no_grad=True):
                with (model.disable_adapter() if reference is None else contextlib.nullcontext()):
                    ref_logp, mask, _ = unit_log_probs(reference if reference is not None else model, batch, rows,
                                                       **score)
                for j, r in enumerate(rows):
                    ref[r] = ref_logp[j, :int(mask[j].sum())].float().cpu()

    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    adv = advantages.to(device, torch.float32)
    sums = {"pg_loss": 0.0, "clip_frac": 0.0, "approx_kl": 0.0, "kl": 0.0, "entropy": 0.0, "grad_norm": 0.0}
    units_seen = minibatches = 0
    early_stopped = False

    def accumulate(mb_rows: list[int], mb_units: float, mb_count: float) -> tuple[float, str]:
        """Backward over this rank's rows of a minibatch, in micro-batches; returns (its share of the minibatch's
        approx KL, a non-finite loss's description or "")."""
        nonlocal units_seen
        mb_kl, bad_loss = 0.0, ""
        for rows in micro_batches(mb_rows):
            with autocast():
                logp, mask, ent = unit_log_probs(model, batch, rows, **score,
                                                 entropy="grad" if cfg.entropy_coef > 0 else "detached")
            logp, width = logp.float(), logp.shape[1]
            for j, r in enumerate(rows):
                if old[r] is None:  # before the first optimizer step the policy has not moved: old == current
                    old[r] = logp[j, :int(mask[j].sum())].detach().cpu()
            terms = policy_loss(
                logp, _pad_rows([old[r] for r in rows], width, device), adv[rows][:, None] * mask, mask,
                clip=cfg.clip_range(), ref_logp=_pad_rows([ref[r] for r in rows], width, device) if use_ref else None,
                kl_coef=cfg.kl_coef, entropy=ent, entropy_coef=cfg.entropy_coef, loss_agg_mode=cfg.loss_agg_mode,
                total_units=mb_units, total_rows=mb_count, norm_units=cfg.max_new_tokens if free else 1)
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
        return mb_kl, bad_loss

    def zero_loss(rows: list[int]) -> torch.Tensor:
        """A forward pass over ``rows`` whose loss has an exactly zero gradient (FSDP's reducing backward)."""
        with autocast():
            logp, _, _ = unit_log_probs(model, batch, rows, **score)
        return (logp.float().masked_fill(~torch.isfinite(logp), 0.0) * 0.0).sum()

    sharded = sharding.is_sharded(model)
    model.train()
    for epoch_minibatches in schedule:
        for mb_rows in epoch_minibatches:
            mb_units, mb_count = dist.sum_floats(
                [sum(len(batch.response_ids[r]) if free else 1 for r in mb_rows), len(mb_rows)])
            optimizer.zero_grad(set_to_none=True)
            with sharding.gathered(model):  # FSDP: the weights stay whole for this rank's passes, however many
                mb_kl, bad_loss = accumulate(mb_rows, mb_units, mb_count)
                if sharded:  # every rank reduces once, the early stop's minibatch too
                    sharding.reduce_gradients(model, functools.partial(zero_loss, mb_rows[:1] or [0]))
            [mb_kl] = dist.sum_floats([mb_kl])  # every rank takes the same early-stop decision
            if cfg.target_kl is not None and mb_kl > cfg.target_kl:  # PPO's early stop: this step is not taken
                early_stopped = True
                break
            if not sharded:
                dist.sum_gradients_(params)  # identical summed gradients on every rank: the replicas stay identical
            grad_norm = sharding.grad_norm_value(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm))
            if bad_loss or not math.isfinite(grad_norm):  # before the step: NaN weights are never made, nor saved
                raise FloatingPointError(f"{bad_loss or 'non-finite gradient'} (gradient norm {grad_norm}); "
                                         "the optimizer step was not taken")
            sums["grad_norm"] += grad_norm
            optimizer.step()
            minibatches += 1
        if early_stopped:
            break
    optimizer.zero_grad(set_to_none=True)
    names = [k for k in sums if k != "grad_norm"]  # grad_norm is already global: computed after the gradient sum
    *totals, units_seen = dist.sum_floats([sums[k] for k in names] + [units_seen])
    sums.update(zip(names, totals))
    stats = {k: v / max(units_seen, 1) for k, v in sums.items() if k != "grad_norm"}
    stats["grad_norm"] = sums["grad_norm"] / max(minibatches, 1)
    stats["update_steps"] = minibatches
    stats["early_stopped"] = float(early_stopped)
    stats["response_units"] = units_seen / max(n_global * cfg.ppo_epochs, 1)
    stats["rollout_logprob_gap"] = _sampler_gap(batch, old, dist)
    return stats


def _sampler_gap(batch: StepBatch, old: list[torch.Tensor], dist: Distributed) -> float:
    """Mean |log-prob of the sampler - log-prob of the trained model| on the rollout tokens (vLLM only; else 0).

    A large gap means the rollouts did not come from the weights being trained (stale or base weights).
    """
    diffs = [(torch.tensor(s) - o).abs() for s, o in zip(batch.sampler_logprobs, old) if s is not None]
    if dist.world_size == 1:
        return float(torch.cat(diffs).mean()) if diffs else 0.0
    total, count = dist.sum_floats([float(torch.cat(diffs).sum()) if diffs else 0.0, sum(len(d) for d in diffs)])
    return total / count if count else 0.0


