"""PPO's target-KL early stop in ``policy_update``, against a one-parameter policy worked out by hand.

The policy is a categorical over two actions with logits (theta, 0), so p(action 0) = sigmoid(theta); every step
row chose action 0 with advantage +1. With plain SGD at lr 1, a wide clip and one row per minibatch, minibatch k
sees the policy moved by the k-1 steps before it, and the early stop compares its approx KL with ``target_kl``.
"""
import math

import pytest
import torch

import gigpo.training.learning.update as update
from gigpo.policy.step_batch import StepBatch
from gigpo.training.config import TrainConfig


class OneLogit(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.zeros(()))


def fake_unit_log_probs(model, batch, rows, **_):
    logp = torch.nn.functional.logsigmoid(model.theta).expand(len(rows), 1)  # log p(action 0), same in every row
    return logp, torch.ones(len(rows), 1), None


def batch_of(n):
    b = StepBatch()
    b.prompt_ids = [[1, 2]] * n
    b.candidate_ids = [[[3], [4]]] * n
    b.chosen = [0] * n
    b.rewards = [1.0] * n
    b.group_ids, b.traj_ids = [0] * n, list(range(n))  # one task, one row per rollout
    return b


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def hand_steps():
    """theta after each SGD step and the approx KL (r - 1 - log r, r = p_theta / p_old) each minibatch sees."""
    theta, kls = 0.0, []
    for _ in range(3):
        log_r = math.log(sigmoid(theta) / 0.5)
        kls.append(math.exp(log_r) - 1 - log_r)
        # loss -A r, A = 1: d/dtheta = -r (1 - sigmoid(theta)); SGD at lr 1 adds r (1 - sigmoid(theta))
        theta += math.exp(log_r) * (1 - sigmoid(theta))
    return kls


def run(monkeypatch, target_kl):
    monkeypatch.setattr(update, "unit_log_probs", fake_unit_log_probs)
    model = OneLogit()
    cfg = TrainConfig(minibatch_size=1, micro_batch_size=1, kl_coef=0.0, clip_ratio=10.0, max_grad_norm=100.0,
                      target_kl=target_kl)
    stats = update.policy_update(model, None, batch_of(3), torch.ones(3), update.UpdateSettings.of(cfg),
                                 torch.optim.SGD(model.parameters(), lr=1.0), pad_id=0)
    return model.theta.item(), stats


def test_hand_values():
    # theta: 0 -> 0.5 -> 0.5 + 1.2449 * 0.3775 = 0.97; KL seen by minibatch 2: 1.2449 - 1 - 0.2191 = 0.0259
    kls = hand_steps()
    assert kls[0] == 0.0
    assert kls[1] == pytest.approx(0.02585, abs=1e-4)
    assert kls[2] == pytest.approx(0.0785, abs=1e-3)


def test_no_target_takes_every_step(monkeypatch):
    theta, stats = run(monkeypatch, None)
    assert stats["update_steps"] == 3 and stats["early_stopped"] == 0.0
    assert stats["approx_kl"] == pytest.approx(sum(hand_steps()) / 3, rel=1e-4)


def test_stop_before_the_step_whose_minibatch_exceeds_the_target(monkeypatch):
    kls = hand_steps()
    theta, stats = run(monkeypatch, 0.02)  # minibatch 2 sees 0.0259 > 0.02: only the first step is taken
    assert stats["update_steps"] == 1 and stats["early_stopped"] == 1.0
    assert theta == pytest.approx(0.5, abs=1e-6)
    assert stats["approx_kl"] == pytest.approx((kls[0] + kls[1]) / 2, rel=1e-4)  # the stopping minibatch is logged
    theta, stats = run(monkeypatch, 0.05)  # 0.0259 passes, 0.0785 stops: two steps
    assert stats["update_steps"] == 2 and stats["early_stopped"] == 1.0
    assert theta == pytest.approx(0.5 + math.exp(math.log(sigmoid(0.5) / 0.5)) * (1 - sigmoid(0.5)), abs=1e-5)
