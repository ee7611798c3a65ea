"""The policy update's loss as pure tensor functions: token log-probs, PPO-clip, k3 KL, entropy, token-mean.

The objective is the paper's (Eq. 9, as run in verl-agent): a token-level PPO clipped surrogate with the advantage of
each environment step broadcast to that step's response tokens, plus ``beta * KL(pi_theta || pi_ref)`` estimated per
token with the low-variance k3 estimator, minus an optional entropy bonus; every term is averaged over the valid
(response) tokens of the batch ("token-mean"). Prompt tokens carry no loss: they are simply outside ``mask``.

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


def ppo_clip_terms(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
                   clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit PPO-clip loss ``-min(r A, clip(r, 1-e, 1+e) A)``, ``r = exp(logp - old_logp)``, and where the clip bit."""
    ratio = torch.exp(logp - old_logp)
    unclipped = -advantages * ratio
    clipped = -advantages * ratio.clamp(1.0 - clip, 1.0 + clip)
    return torch.maximum(unclipped, clipped), (clipped > unclipped).float()


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
                clip: float = 0.2, ref_logp: torch.Tensor | None = None, kl_coef: float = 0.0,
                entropy: torch.Tensor | None = None, entropy_coef: float = 0.0) -> LossTerms:
    """PPO-clip + k3 KL to the reference - entropy bonus, each token-mean over ``mask``.

    All tensors have the same shape (e.g. (batch, response_len)); ``advantages`` is already broadcast from steps to
    their units. ``ref_logp`` may be ``None`` when ``kl_coef`` is 0.
    """
    if not (logp.shape == old_logp.shape == advantages.shape == mask.shape):
        raise ValueError(f"shape mismatch: logp {tuple(logp.shape)}, old_logp {tuple(old_logp.shape)}, "
                         f"advantages {tuple(advantages.shape)}, mask {tuple(mask.shape)}")
    pg, clipped = ppo_clip_terms(logp, old_logp, advantages, clip)
    pg_loss = masked_mean(pg, mask)
    loss = pg_loss
    kl = torch.zeros((), dtype=logp.dtype)
    if ref_logp is not None:
        kl = masked_mean(k3_kl(logp, ref_logp), mask)
        loss = loss + kl_coef * kl
    elif kl_coef:
        raise ValueError("kl_coef > 0 needs ref_logp")
    ent = torch.zeros((), dtype=logp.dtype)
    if entropy is not None:
        ent = masked_mean(entropy, mask)
        loss = loss - entropy_coef * ent
    with torch.no_grad():  # samples come from pi_old: k3 with r = pi_theta / pi_old (the arguments swap roles)
        approx = masked_mean(k3_kl(old_logp, logp.detach()), mask)
    return LossTerms(loss, pg_loss.detach(), kl.detach(), ent.detach(), masked_mean(clipped, mask), approx)
