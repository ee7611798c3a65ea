"""``seq-mean-token-sum-norm``: gigpo's minibatch loss against verl's current one, both worked out by hand on a small
batch, and the factor between them stated where the mode is documented."""
import pytest
import torch

from gigpo.training.learning import policy_loss as policy_loss_module
from gigpo.training.learning.policy_loss import agg_loss


def test_verls_seq_mean_token_sum_norm_is_micro_batch_size_times_gigpos():
    torch.manual_seed(0)
    B, T, C, b = 6, 4, 5.0, 3  # rows, units per row, the constant, rows per micro-batch
    loss = torch.randn(B, T, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]],
                        dtype=torch.float64)
    by_hand = sum(sum(float(loss[i, t]) for t in range(T) if mask[i, t]) / C for i in range(B)) / B

    micro = [slice(k, k + b) for k in range(0, B, b)]
    gigpo = sum(agg_loss(loss[m], mask[m], "seq-mean-token-sum-norm", total_rows=B, norm_units=C) for m in micro)
    assert float(gigpo) == pytest.approx(by_hand, rel=1e-6)  # the same for any micro-batch size (float32 weights)

    # verl (core_algos.agg_loss, after #4769): sum of the micro-batch's token sums over the constant; its actor
    # multiplies each micro-batch's loss by 1 / gradient_accumulation = b / B before backward
    def verl_agg_loss(loss_mat, loss_mask):
        return torch.sum(torch.sum(loss_mat * loss_mask, dim=-1)) / C

    verl = sum(verl_agg_loss(loss[m], mask[m]) * (b / B) for m in micro)
    assert float(verl) == pytest.approx(b * by_hand, rel=1e-12)
    assert float(verl) == pytest.approx(b * float(gigpo), rel=1e-6)
    doc = policy_loss_module.__doc__
    assert "``sum_i (sum_t L / C) * b / B``" in doc and "``b`` times this one" in doc
    assert "Older verl releases" not in doc
