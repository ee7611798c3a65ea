"""The loss terms against values worked out by hand (see the comments for each number)."""
import math

import pytest
import torch

from gigpo.training.learning.policy_loss import (
    entropy_from_logits,
    k3_kl,
    masked_mean,
    policy_loss,
    ppo_clip_terms,
    token_log_probs,
)
from tests.support.policy_loss_batch import hand_batch

LN = math.log


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


def test_each_term_reads_its_own_input_and_the_total_combines_them_with_their_signs():
    # three units, the last masked (its values would dominate if it leaked in); clip 0.2, advantages +1
    logp = torch.tensor([[LN(0.5), LN(0.25), 5.0]], requires_grad=True)
    old = torch.tensor([[LN(0.25), LN(0.25), -5.0]])
    ref = torch.tensor([[LN(1.0), LN(0.125), 9.0]])
    entropy = torch.tensor([[0.3, 0.7, 100.0]], requires_grad=True)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    terms = policy_loss(logp, old, torch.ones(1, 3), mask, clip=0.2, ref_logp=ref, kl_coef=0.1, entropy=entropy,
                        entropy_coef=0.01)
    # ratio to old: 2 (clipped: max(-2, -1.2) = -1.2) and 1 (-1): pg = -1.1, clip_frac = 1/2
    assert float(terms.pg_loss) == pytest.approx(-1.1, abs=1e-6) and float(terms.clip_frac) == 0.5
    # KL to the reference, k3 on samples of pi_theta, d = ref - logp: d = ln 2 -> 2 - ln 2 - 1; d = -ln 2 -> 1/2 + ln 2
    # - 1; token-mean 1/4 (against old_logp instead it would be (ln 2 - 1/2) / 2)
    kl = 0.25
    assert float(terms.kl) == pytest.approx(kl, abs=1e-6)
    # KL(pi_old || pi_theta) on samples of pi_old, r = pi_theta / pi_old: r - 1 - ln r = 1 - ln 2 for r = 2, 0 for r = 1
    assert float(terms.approx_kl_old) == pytest.approx((1 - LN(2.0)) / 2, abs=1e-6)
    assert float(terms.entropy) == pytest.approx(0.5, abs=1e-6)
    assert terms.loss.item() == pytest.approx(-1.1 + 0.1 * kl - 0.01 * 0.5, abs=1e-6)
    terms.loss.backward()
    # the bonus is subtracted: raising a unit's entropy lowers the loss, by entropy_coef / (valid units) each
    assert entropy.grad[0].tolist() == pytest.approx([-0.005, -0.005, 0.0], abs=1e-9)
    # d loss / d logp: clipped unit 1 gets only the KL part 0.1 * (1 - e^d) / 2 = 0.1 * (1 - 2) / 2 = -0.05; unit 2
    # gets -A r / 2 = -0.5 plus 0.1 * (1 - 1/2) / 2 = 0.025; the masked unit nothing
    assert logp.grad[0].tolist() == pytest.approx([-0.05, -0.475, 0.0], abs=1e-6)


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
