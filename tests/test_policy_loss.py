"""The loss terms against values worked out by hand (see the comments for each number)."""
import math

import pytest
import torch

from gigpo.training.policy_loss import (entropy_from_logits, k3_kl, masked_mean, policy_loss, ppo_clip_terms,
                               token_log_probs)

LN = math.log


def hand_batch():
    # old log-probs 0; new log-probs chosen so the ratios are exactly 1, 1.5, 0.5 / 1.5, 0.5, 1 (last one masked)
    old = torch.zeros(2, 3)
    logp = torch.tensor([[0.0, LN(1.5), LN(0.5)], [LN(1.5), LN(0.5), 0.0]], requires_grad=True)
    adv = torch.tensor([[1.0, 1.0, 1.0], [-2.0, -2.0, -2.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    return logp, old, adv, mask


def test_ppo_clip_on_hand_worked_batch():
    logp, old, adv, mask = hand_batch()
    terms = policy_loss(logp, old, adv, mask, clip=0.2)
    # per token -min(rA, clip(r)A):
    #   A=+1: r=1 -> -1;  r=1.5 -> max(-1.5, -1.2) = -1.2 (clipped);  r=0.5 -> max(-0.5, -0.8) = -0.5
    #   A=-2: r=1.5 -> max(3.0, 2.4) = 3.0;  r=0.5 -> max(1.0, 1.6) = 1.6 (clipped);  third token masked
    # token-mean over the 5 valid tokens: (-1 - 1.2 - 0.5 + 3.0 + 1.6) / 5 = 0.38
    assert float(terms.pg_loss) == pytest.approx(0.38, abs=1e-6)
    assert terms.loss.item() == pytest.approx(0.38, abs=1e-6)
    assert float(terms.clip_frac) == pytest.approx(2 / 5)


def test_gradient_only_through_unclipped_tokens():
    logp, old, adv, mask = hand_batch()
    policy_loss(logp, old, adv, mask, clip=0.2).loss.backward()
    # d/dlogp of -A r / 5 is -A r / 5 where the unclipped term is active; 0 where clipped or masked
    expected = torch.tensor([[-1 * 1.0 / 5, 0.0, -1 * 0.5 / 5], [2 * 1.5 / 5, 0.0, 0.0]])
    assert torch.allclose(logp.grad, expected, atol=1e-6)


def test_k3_kl_by_hand_and_in_the_total():
    logp = torch.tensor([[0.0, -1.0]])
    ref = logp + torch.tensor([[LN(2.0), 0.0]])
    # exp(d) - d - 1 with d = ln 2: 2 - ln 2 - 1; with d = 0: 0
    assert torch.allclose(k3_kl(logp, ref), torch.tensor([[1 - LN(2.0), 0.0]]), atol=1e-6)
    mask = torch.ones(1, 2)
    terms = policy_loss(logp, logp.detach(), torch.zeros(1, 2), mask, ref_logp=ref, kl_coef=0.1)
    assert float(terms.kl) == pytest.approx((1 - LN(2.0)) / 2, abs=1e-6)
    assert terms.loss.item() == pytest.approx(0.1 * (1 - LN(2.0)) / 2, abs=1e-6)


def test_kl_is_zero_against_itself():
    torch.manual_seed(0)
    logp = torch.randn(4, 7)
    assert torch.count_nonzero(k3_kl(logp, logp)) == 0
    terms = policy_loss(logp, logp, torch.randn(4, 7), torch.ones(4, 7), ref_logp=logp.clone(), kl_coef=0.5)
    assert float(terms.kl) == 0.0 and float(terms.approx_kl_old) == 0.0 and float(terms.clip_frac) == 0.0


def test_k3_is_nonnegative_and_grows_with_distance():
    d = torch.linspace(-3, 3, 13)
    kl = k3_kl(torch.zeros(13), d)
    assert (kl >= 0).all()
    assert kl[0] > kl[3] > kl[6] == 0 and kl[12] > kl[9] > kl[6]


def test_token_mean_weights_every_token_equally():
    values = torch.tensor([[1.0, 3.0, 100.0], [5.0, 100.0, 100.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert float(masked_mean(values, mask)) == pytest.approx((1 + 3 + 5) / 3)
    assert float(masked_mean(values, torch.zeros_like(mask))) == 0.0


def test_token_log_probs_and_entropy_against_plain_formulas():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    targets = torch.tensor([0, 2])
    z = math.exp(2) + 1 + math.exp(-1)
    assert torch.allclose(token_log_probs(logits, targets), torch.tensor([2 - LN(z), -LN(3)]), atol=1e-6)
    # temperature 2 halves the logits first
    z2 = math.exp(1) + 1 + math.exp(-0.5)
    assert float(token_log_probs(logits, targets, temperature=2.0)[0]) == pytest.approx(1 - LN(z2), abs=1e-6)
    assert float(entropy_from_logits(logits)[1]) == pytest.approx(LN(3), abs=1e-6)  # uniform over 3
    p = [math.exp(2) / z, 1 / z, math.exp(-1) / z]
    assert float(entropy_from_logits(logits)[0]) == pytest.approx(-sum(q * LN(q) for q in p), abs=1e-6)


def test_clip_terms_flag_exactly_the_clipped_tokens():
    loss, clipped = ppo_clip_terms(torch.tensor([LN(1.1), LN(1.3)]), torch.zeros(2), torch.tensor([1.0, 1.0]), 0.2)
    assert clipped.tolist() == [0.0, 1.0]
    assert torch.allclose(loss, torch.tensor([-1.1, -1.2]), atol=1e-6)


def test_bad_input_is_a_clear_error():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="shape mismatch"):
        policy_loss(x, x, torch.zeros(2, 2), x)
    with pytest.raises(ValueError, match="ref_logp"):
        policy_loss(x, x, x, torch.ones(2, 3), kl_coef=0.1)
