"""The policy update's loss as pure tensor functions: token log-probs, PPO-clip, k3 KL, entropy, loss aggregation.

The objective is the paper's (Eq. 9, as run in verl-agent): a token-level PPO clipped surrogate with the advantage of
each environment step broadcast to that step's response tokens, plus ``beta * KL(pi_theta || pi_ref)`` estimated per
token with the low-variance k3 estimator, minus an optional entropy bonus. Prompt tokens carry no loss: they are
simply outside ``mask``.

Each term is aggregated over the (mini)batch by verl's ``loss_agg_mode`` (``core_algos.agg_loss``, the version that
aggregates over the global batch), with ``L`` the per-unit loss, ``n_i`` the units of row (step) ``i``, ``B`` the
rows and ``N = sum_i n_i``:

- ``token-mean`` (the paper's, the default): ``sum_i sum_t L / N``;
- ``seq-mean-token-sum``: ``sum_i (sum_t L) / B``;
- ``seq-mean-token-mean``: ``sum_i (sum_t L / n_i) / B``;
- ``seq-mean-token-sum-norm`` (Dr. GRPO): ``sum_i (sum_t L / C) / B`` with a constant ``C`` (verl: the padded
  response length; here the caller's ``norm_units``, the update passes ``max_new_tokens``). verl's ``agg_loss``
  divides a micro-batch's token sum by ``C`` alone, and its actor weights each of the ``B / b`` micro-batches of
  ``b`` rows by ``b / B`` (gradient accumulation), so its minibatch loss is ``sum_i (sum_t L / C) * b / B``:
  ``b`` times this one, growing with the micro-batch size where this one does not (under Adam the factor reaches
  the step only through gradient clipping and Adam's eps).

Every mode is a weighted sum of units (:func:`unit_weights`), so passing the whole batch's ``N`` and ``B`` to each
micro-batch makes the micro-batches' losses add up to the batch's exactly. The clip may be asymmetric (DAPO's
clip-higher): ``(low, high)`` clips the ratio to ``[1 - low, 1 + high]``. verl's dual-clip (``clip_ratio_c``) is not
implemented.

A "unit" below is a token in free mode, or a whole action in choice mode (a categorical over the admissible actions);
the functions do not care which.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Token-mean: the mean of ``values`` over the positions where ``mask`` is 1 (0 if there are none)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``log pi(target_t)`` from logits of shape (..., V) and integer targets of shape (...).

    The logits are divided by the sampling temperature first, as verl does, so the ratio is taken against the
    distribution the rollouts were actually sampled from.
    """
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Entropy (nats) of the categorical given by ``logits / temperature`` over the last dim."""
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-unit k3 estimate of KL(pi || pi_ref) on samples from pi (Schulman 2020): ``exp(d) - d - 1``, d = ref - logp.

    Non-negative, unbiased, and exactly 0 when the two policies agree. The log-ratio is clamped to [-20, 20] as in
    verl (``low_var_kl``) so one rare token cannot overflow.
    """
    d = (ref_logp - logp).clamp(-20.0, 20.0)
    return torch.exp(d) - d - 1.0


def clip_bounds(clip: float | tuple[float, float]) -> tuple[float, float]:
    """``(low, high)`` from a symmetric epsilon or a pair (clip-higher); both must be > 0."""
    low, high = (clip, clip) if isinstance(clip, (int, float)) else tuple(clip)
    if not (low > 0 and high > 0):
        raise ValueError(f"clip must be > 0 (or a pair of them), got {clip!r}")
    return float(low), float(high)


def ppo_clip_terms(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                   clip: float | tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit PPO-clip loss ``-min(r A, clip(r, 1-low, 1+high) A)``, ``r = exp(logp - old_logp)``, and where the
    clip bit. ``clip`` is epsilon (symmetric) or ``(low, high)``: with A > 0 only ``1 + high`` can bind, with A < 0
    only ``1 - low``."""
    low, high = clip_bounds(clip)
    ratio = torch.exp(logp - old_logp)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - low, 1.0 + high)
    return torch.maximum(unclipped, clipped), (clipped > unclipped).float()


LOSS_AGG_MODES = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")


def unit_weights(mask: torch.Tensor, mode: str = "token-mean", *, total_units: float | None = None,
                 total_rows: float | None = None, norm_units: float = 1.0) -> torch.Tensor:
    """Each unit's weight in the ``mode`` aggregate (module docstring), shape of ``mask`` (rows, units).

    ``total_units`` (N) and ``total_rows`` (B) default to this batch's; a micro-batch passes its minibatch's, so that
    the micro-batches' weighted sums add up to the minibatch's aggregate.
    """
    if mode not in LOSS_AGG_MODES:
        raise ValueError(f"loss_agg_mode must be one of {LOSS_AGG_MODES}, got {mode!r}")
    mask = mask.float()
    if mode == "token-mean":
        return mask / (float(mask.sum().clamp(min=1.0)) if total_units is None else total_units)
    rows = mask.shape[0] if total_rows is None else total_rows
    if mode == "seq-mean-token-sum":
        per_row = torch.ones(mask.shape[0], device=mask.device)
    elif mode == "seq-mean-token-mean":
        per_row = 1.0 / mask.sum(-1).clamp(min=1.0)
    else:
        if not norm_units > 0:
            raise ValueError(f"seq-mean-token-sum-norm needs norm_units > 0, got {norm_units!r}")
        per_row = torch.full((mask.shape[0],), 1.0 / norm_units, device=mask.device)
    return mask * per_row[:, None] / max(rows, 1)


def agg_loss(values: torch.Tensor, mask: torch.Tensor, mode: str = "token-mean", **denominators) -> torch.Tensor:
    """verl's ``agg_loss``: ``values`` (rows, units) to a scalar by ``mode``; ``denominators`` as in
    :func:`unit_weights`."""
    return (values * unit_weights(mask, mode, **denominators).to(values.dtype)).sum()


@dataclass
class LossTerms:
    """The total loss (differentiable) and its parts (detached) for one (micro)batch."""

    loss: torch.Tensor
    pg_loss: torch.Tensor
    kl: torch.Tensor
    entropy: torch.Tensor
    clip_frac: torch.Tensor
    approx_kl_old: torch.Tensor  # k3 KL(pi_old || pi_theta) = E_old[r - 1 - log r], r = pi_theta/pi_old (PPO's)


def policy_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor, *,
                clip: float | tuple[float, float] = 0.2, ref_logp: torch.Tensor | None = None, kl_coef: float = 0.0,
                entropy: torch.Tensor | None = None, entropy_coef: float = 0.0, loss_agg_mode: str = "token-mean",
                total_units: float | None = None, total_rows: float | None = None,
                norm_units: float = 1.0) -> LossTerms:
    """PPO-clip + k3 KL to the reference - entropy bonus, each aggregated over ``mask`` by ``loss_agg_mode``.

    All tensors have the same shape (e.g. (batch, response_len)); ``advantages`` is already broadcast from steps to
    their units. ``ref_logp`` may be ``None`` when ``kl_coef`` is 0. ``clip``: epsilon or ``(low, high)``.
    ``total_units``/``total_rows``/``norm_units``: see :func:`unit_weights`; ``loss`` is then this micro-batch's share
    of its minibatch's loss. The reported parts (``pg_loss``, ``kl``, ``entropy``, ``clip_frac``) are token-means
    over ``mask`` whatever the mode, so they stay comparable across modes and add up over micro-batches by units.
    """
    if not (logp.shape == old_logp.shape == advantages.shape == mask.shape):
        raise ValueError(f"shape mismatch: logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)}, "
                         f"advantages {tuple(advantages.shape)}, mask {tuple(mask.shape)}")
    weights = unit_weights(mask, loss_agg_mode, total_units=total_units, total_rows=total_rows,
                           norm_units=norm_units).to(logp.dtype)
    pg, clipped = ppo_clip_terms(logp, old_logp, advantages, clip)
    pg_loss = masked_mean(pg, mask)
    loss = (pg * weights).sum()
    kl = torch.zeros((), dtype=logp.dtype)
    if ref_logp is not None:
        per_unit = k3_kl(logp, ref_logp)
        kl = masked_mean(per_unit, mask)
        loss = loss + kl_coef * (per_unit * weights).sum()
    elif kl_coef:
        raise ValueError("kl_coef > 0 needs ref_logp")
    ent = torch.zeros((), dtype=logp.dtype)
    if entropy is not None:
        ent = masked_mean(entropy, mask)
        loss = loss - entropy_coef * (entropy * weights).sum()
    with torch.no_grad():  # samples come from pi_old: k3 with r = pi_theta / pi_old (the arguments swap roles)
        approx = masked_mean(k3_kl(old_logp, logp.detach()), mask)
    return LossTerms(loss, pg_loss.detach(), kl.detach(), ent.detach(), masked_mean(clipped, mask), approx)
