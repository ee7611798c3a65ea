"""Estimator arguments given as numpy scalars (``np.float32(0.95)`` for gamma, as a sweep over ``np.linspace``
yields them) are accepted and give exactly what the same value as a Python number gives (issue 22, item 5); a bool
or a string is still refused with a message that says what was expected."""
import numpy as np
import pytest
import torch

from gigpo.estimators.registry import compute_advantages

# two tasks x two rollouts; rollout 0 of each task revisits state "a"
GROUPS = [0, 0, 0, 0, 1, 1, 1]
TRAJS = [0, 0, 1, 1, 2, 3, 3]
REWARDS = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.5]
ANCHORS = ["a", "b", "a", "c", "a", "a", "d"]

NUMPY_OPTIONS = {
    "gigpo": {"gamma": np.float32(0.95), "step_weight": np.float64(0.5), "eps": np.float32(1e-6),
              "similarity": np.float64(1.0)},
    "grpo": {"eps": np.float32(1e-6)},
    "hgpo": {"gamma": np.float32(0.9), "history_length": np.int64(1), "length_weight_alpha": np.float32(1.0)},
    "graphgpo": {"gamma": np.float32(0.1), "step_weight": np.float32(1.0), "success_reward": np.int64(1)},
}


@pytest.mark.parametrize("name", sorted(NUMPY_OPTIONS))
def test_numpy_scalars_act_as_the_same_python_numbers(name):
    options = NUMPY_OPTIONS[name]
    anchors = None if name == "grpo" else ANCHORS
    got = compute_advantages(name, GROUPS, TRAJS, REWARDS, anchors, **options)
    want = compute_advantages(name, GROUPS, TRAJS, REWARDS, anchors, **{k: v.item() for k, v in options.items()})
    assert got.dtype == want.dtype and torch.equal(got, want)


@pytest.mark.parametrize("bad", [True, np.bool_(True), "0.9", 1.5, np.float32(-0.1)])
def test_gamma_that_is_not_a_number_in_0_1_is_refused_saying_what_was_expected(bad):
    with pytest.raises(ValueError, match="gamma must be a real number in \\[0, 1\\]"):
        compute_advantages("gigpo", GROUPS, TRAJS, REWARDS, ANCHORS, gamma=bad)
