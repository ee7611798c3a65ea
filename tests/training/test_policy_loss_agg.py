"""Loss aggregation (verl's four ``loss_agg_mode``s) and clip-higher, against values worked out by hand, and the
micro-batch property the update relies on: micro-batches carrying their minibatch's denominators add up to the
minibatch's aggregate, value and gradient."""
import math

import pytest
import torch

from gigpo.training.config import TrainConfig
from gigpo.training.learning.policy_loss import LOSS_AGG_MODES, agg_loss, policy_loss, ppo_clip_terms

# test_policy_loss's hand batch: ratios 1, 1.5, 0.5 (A = +1) and 1.5, 0.5 (A = -2), a masked third unit in row 1;
# per-unit PPO-clip loss (clip 0.2): [-1, -1.2, -0.5] and [3.0, 1.6]
from tests.support.policy_loss_batch import hand_batch

LN = math.log


def test_agg_loss_of_each_mode_by_hand():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    # token sums 6 and 9, token counts 3 and 2, 5 tokens, 2 rows
    assert float(agg_loss(values, mask, "token-mean")) == pytest.approx(15 / 5)
    assert float(agg_loss(values, mask, "seq-mean-token-sum")) == pytest.approx((6 + 9) / 2)
    assert float(agg_loss(values, mask, "seq-mean-token-mean")) == pytest.approx((6 / 3 + 9 / 2) / 2)
    assert float(agg_loss(values, mask, "seq-mean-token-sum-norm", norm_units=4)) == pytest.approx((6 / 4 + 9 / 4) / 2)


@pytest.mark.parametrize("mode, expected", [
    ("token-mean", (-1 - 1.2 - 0.5 + 3.0 + 1.6) / 5),           # 0.38, today's loss
    ("seq-mean-token-sum", (-2.7 + 4.6) / 2),                    # 0.95
    ("seq-mean-token-mean", (-2.7 / 3 + 4.6 / 2) / 2),           # 0.7
    ("seq-mean-token-sum-norm", (-2.7 / 8 + 4.6 / 8) / 2),       # constant 8 (max_new_tokens in the update)
])
def test_policy_loss_aggregates_the_ppo_clip_loss_by_mode(mode, expected):
    logp, old, adv, mask = hand_batch()
    terms = policy_loss(logp, old, adv, mask, clip=0.2, loss_agg_mode=mode, norm_units=8)
    assert terms.loss.item() == pytest.approx(expected, abs=1e-6)
    assert float(terms.pg_loss) == pytest.approx(0.38, abs=1e-6)  # the reported part stays the token-mean


def test_seq_mean_token_mean_gradient_weights_each_row_equally():
    logp, old, adv, mask = hand_batch()
    policy_loss(logp, old, adv, mask, clip=0.2, loss_agg_mode="seq-mean-token-mean").loss.backward()
    # d/dlogp of -A r where unclipped, times the unit's weight 1 / (n_i B): row 0 1/6, row 1 1/4
    expected = torch.tensor([[-1.0 / 6, 0.0, -0.5 / 6], [2 * 1.5 / 4, 0.0, 0.0]])
    assert torch.allclose(logp.grad, expected, atol=1e-6)


def test_kl_and_entropy_terms_are_aggregated_by_the_same_mode():
    # one row of 2 units, one of 1: KL per unit [k, 0 | 0] with k = 1 - ln 2 (d = ln 2), entropy [0.3, 0.7 | 0.5]
    logp = torch.zeros(2, 2)
    ref = torch.tensor([[LN(2.0), 0.0], [0.0, 0.0]])
    entropy = torch.tensor([[0.3, 0.7], [0.5, 9.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    k = 1 - LN(2.0)
    terms = policy_loss(logp, logp, torch.zeros(2, 2), mask, ref_logp=ref, kl_coef=0.1, entropy=entropy,
                        entropy_coef=0.01, loss_agg_mode="seq-mean-token-sum")
    # pg is 0 (A = 0); seq-mean of token sums: KL (k + 0) / 2, entropy (1.0 + 0.5) / 2
    assert terms.loss.item() == pytest.approx(0.1 * k / 2 - 0.01 * 1.5 / 2, abs=1e-7)
    assert float(terms.kl) == pytest.approx(k / 3, abs=1e-7)  # reported: token-mean over the 3 units


@pytest.mark.parametrize("mode", LOSS_AGG_MODES)
def test_micro_batches_with_the_minibatch_denominators_add_up_to_the_whole_minibatch(mode):
    g = torch.Generator().manual_seed(0)
    lengths = [5, 1, 3, 7, 2]
    width = max(lengths)
    mask = torch.tensor([[1.0] * n + [0.0] * (width - n) for n in lengths])
    logp = (-torch.rand(5, width, generator=g)).requires_grad_()
    old = logp.detach() + 0.3 * torch.randn(5, width, generator=g)
    ref = logp.detach() + 0.3 * torch.randn(5, width, generator=g)
    ent = torch.rand(5, width, generator=g).requires_grad_()
    adv = torch.randn(5, 1, generator=g).expand(5, width) * mask
    kw = dict(clip=(0.2, 0.28), kl_coef=0.05, entropy_coef=0.01, loss_agg_mode=mode, norm_units=8)
    whole = policy_loss(logp, old, adv, mask, ref_logp=ref, entropy=ent, **kw).loss
    want = torch.autograd.grad(whole, (logp, ent))
    total = torch.zeros(())
    for rows in ([3, 0], [1], [4, 2]):  # each micro-batch padded to its own longest row, as the update does
        w = max(lengths[r] for r in rows)
        part = policy_loss(logp[rows, :w], old[rows, :w], adv[rows, :w], mask[rows, :w], ref_logp=ref[rows, :w],
                           entropy=ent[rows, :w], total_units=float(mask.sum()), total_rows=5, **kw)
        total = total + part.loss
    got = torch.autograd.grad(total, (logp, ent))
    assert total.item() == pytest.approx(whole.item(), rel=1e-6, abs=1e-7)
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(got, want))


def test_clip_higher_clips_positive_advantages_at_one_plus_high_and_negative_at_one_minus_low():
    ratios = torch.tensor([1.25, 1.3, 0.85, 0.75, 1.25, 0.75])
    adv = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, 1.0])
    logp = torch.log(ratios).requires_grad_()
    loss, clipped = ppo_clip_terms(logp, torch.zeros(6), adv, (0.2, 0.28))
    # A > 0: 1.25 < 1.28 free (-1.25); 1.3 capped at 1.28 (-1.28); 0.85 free: the low side never binds for A > 0
    # A < 0: 0.75 floored at 0.8 (0.8); 1.25 free (1.25): the high side never binds for A < 0; A > 0 at 0.75: free
    assert loss.tolist() == pytest.approx([-1.25, -1.28, -0.85, 0.8, 1.25, -0.75], abs=1e-6)
    assert clipped.tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    loss.sum().backward()
    assert logp.grad.tolist() == pytest.approx([-1.25, 0.0, -0.85, 0.0, 1.25, -0.75], abs=1e-6)
    # the symmetric 0.2 would have capped the first unit at 1.2
    assert float(ppo_clip_terms(logp.detach()[:1], torch.zeros(1), adv[:1], 0.2)[0]) == pytest.approx(-1.2)


def test_config_fields_default_to_todays_loss_and_are_checked():
    cfg = TrainConfig()
    assert cfg.loss_agg_mode == "token-mean" and cfg.clip_range() == (0.2, 0.2)
    assert TrainConfig(clip_ratio=0.1, clip_ratio_high=0.28).clip_range() == (0.1, 0.28)
    assert TrainConfig(clip_ratio_low=0.2, clip_ratio_high=0.28).clip_range() == (0.2, 0.28)
    with pytest.raises(ValueError, match="loss_agg_mode must be one of"):
        TrainConfig(loss_agg_mode="seq-mean")
    with pytest.raises(ValueError, match="clip_ratio_high must be None or > 0"):
        TrainConfig(clip_ratio_high=0.0)
    with pytest.raises(ValueError, match="clip_ratio_low must be None or > 0"):
        TrainConfig(clip_ratio_low=-0.1)


def test_cli_flags_reach_the_config():
    import argparse

    from gigpo.__main__ import config_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="default")
    TrainConfig.add_arguments(parser)
    cfg = config_from_args(parser.parse_args(["--clip-ratio-low", "0.2", "--clip-ratio-high", "0.28",
                                              "--loss-agg-mode", "seq-mean-token-mean"]))
    assert cfg.clip_range() == (0.2, 0.28) and cfg.loss_agg_mode == "seq-mean-token-mean"
