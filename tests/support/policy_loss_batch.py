"""A two-row batch of log-probs whose PPO ratios are worked out by hand (1, 1.5, 0.5 / 1.5, 0.5, 1)."""
import math

import torch

LN = math.log


def hand_batch():
    # old log-probs 0; new log-probs chosen so the ratios are exactly 1, 1.5, 0.5 / 1.5, 0.5, 1 (last one masked)
    old = torch.zeros(2, 3)
    logp = torch.tensor([[0.0, LN(1.5), LN(0.5)], [LN(1.5), LN(0.5), 0.0]], requires_grad=True)
    adv = torch.tensor([[1.0, 1.0, 1.0], [-2.0, -2.0, -2.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    return logp, old, adv, mask
