"""HGPO: a hand-worked case, the plain-Python restatement on random batches, invariants, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gigpo import advantage_details, compute_advantages, hgpo_advantages, hgpo_details
from gigpo.estimators.grouping import group_normalize
from tests.support.reference_advantages import reference_hgpo
from tests.support.rollout_batches import batches

# One task group, gamma 0.5, rows interleaved A0 B0 C0 A1 B1 C1:
#   A: x -> s, rewards 0, 1 (R .5, 1)    B: x -> s, rewards 0, 0 (R 0, 0)    C: y -> s, rewards 0, 1 (R .5, 1)
GROUPS = ["task"] * 6
TRAJS = ["A", "B", "C", "A", "B", "C"]
REWARDS = [0.0, 0.0, 0.0, 1.0, 0.0, 1.0]
ANCHORS = ["x", "x", "y", "s", "s", "s"]
# level 1 at s: {1, 0, 1}: mean 2/3, population std sqrt(2/9) -> A1, C1: 1/sqrt(2); B1: -sqrt(2)
# level 2 at (x, s): {A1 1, B1 0}: +-1.  Level 1 at x: {A0 .5, B0 0}: +-1; y is alone (no item).
R2 = 1 / math.sqrt(2)


def test_hand_worked_default():
    d = hgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, history_length=1)
    np.testing.assert_allclose(d.step_returns, [0.5, 0.0, 0.5, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(d.level_adv[:, 0], [1, -1, 0, R2, -2 * R2, R2], rtol=1e-5)
    np.testing.assert_allclose(d.level_adv[:, 1], [0, 0, 0, 1, -1, 0], rtol=1e-5, atol=1e-7)
    assert d.level_size.tolist() == [[2, 0], [2, 0], [1, 0], [3, 2], [3, 2], [3, 1]]
    # weights (k+1)^1: level 1 -> 2, level 2 -> 3; with eps=0 an exact weighted mean
    exact = hgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, history_length=1, eps=0.0)
    np.testing.assert_allclose(exact, [1, -1, 0, (2 * R2 + 3) / 5, (-4 * R2 - 3) / 5, R2], rtol=1e-6)
    # the default eps sits in the std (pair {.5, 0}: std .25) and in the weight normaliser
    e = 1e-6
    assert d.advantage[0].item() == pytest.approx(0.25 / (0.25 + e) * 2 / (2 + e), rel=1e-7)
    torch.testing.assert_close(d.advantage, d.step_adv)  # no base group


def test_hand_worked_alpha_and_base_group():
    adv = hgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, history_length=1, length_weight_alpha=0.0,
                          eps=0.0)
    np.testing.assert_allclose(adv, [1, -1, 0, (R2 + 1) / 2, (-2 * R2 - 1) / 2, R2], rtol=1e-6)
    # base item A_E, pooled over step rows (returns A 1, B 0, C 1 on 2 rows each): mean 2/3, sample std
    std = math.sqrt((4 / 9 + 2 * 4 / 9) / 5)
    win, lose = (1 / 3) / std, (-2 / 3) / std
    d = hgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, history_length=1, base_group=True, eps=0.0)
    np.testing.assert_allclose(d.episode_adv, [win, lose, win, win, lose, win], rtol=1e-5)
    np.testing.assert_allclose(d.advantage, [(win + 2) / 3, (lose - 2) / 3, win, (win + 2 * R2 + 3) / 6,
                                             (lose - 4 * R2 - 3) / 6, (win + 2 * R2) / 3], rtol=1e-5)


def test_options_that_keep_zero_items_and_sample_std():
    # drop_zero_items=False: a group whose returns are all equal adds a 0 item with its weight
    g, t, r, a = ["g"] * 4, ["A", "B", "A", "B"], [0.0, 0.0, 1.0, 1.0], ["x", "x", "s", "s"]
    # level 1 at x: returns .5, .5 (all equal) -> 0; level 1 at s: 1, 1 -> 0; level 2 (x, s): 1, 1 -> 0
    assert hgpo_advantages(g, t, r, a, gamma=0.5, history_length=1).abs().max() == 0
    np.testing.assert_allclose(hgpo_advantages(g, t, r, a, gamma=0.5, drop_zero_items=False), [0.0] * 4)
    # unbiased=True on a pair {1, 0}: sample std 1/sqrt(2) -> +-1/sqrt(2) instead of +-1
    adv = hgpo_advantages(["g"] * 2, ["A", "B"], [1.0, 0.0], ["x", "x"], unbiased=True, eps=0.0)
    np.testing.assert_allclose(adv, [R2, -R2], rtol=1e-5)


# ------------------------------------------------------------------------------------ against the restatement
# rewards and gammas whose returns are exact in binary, so "equal to 0" means the same thing in both codes
EXACT = dict(rewards=[0.0, 0.0, 1.0, -0.5, 2.5])


@settings(max_examples=150, deadline=None)
@given(batch=batches(), gamma=st.sampled_from([0.0, 0.5, 1.0]), k=st.integers(0, 4),
       norm=st.sampled_from(["std", "none"]), alpha=st.sampled_from([0.0, 1.0, 2.0]), base=st.booleans(),
       unbiased=st.booleans(), drop=st.booleans(), weight_eps=st.sampled_from([None, 0.0]),
       stats=st.sampled_from(["step", "trajectory"]))
def test_matches_restatement_on_random_batches(batch, gamma, k, norm, alpha, base, unbiased, drop, weight_eps,
                                               stats):
    g, t, r, a = batch
    r = [EXACT["rewards"][int(abs(x * 7)) % 5] for x in r]  # map the drawn rewards onto exact values
    opts = dict(gamma=gamma, history_length=k, norm=norm, length_weight_alpha=alpha, base_group=base,
                unbiased=unbiased, drop_zero_items=drop, weight_eps=weight_eps, episode_stats=stats)
    np.testing.assert_allclose(hgpo_advantages(g, t, r, a, **opts), reference_hgpo(g, t, r, a, **opts),
                               rtol=1e-4, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(batch=batches(), k=st.integers(0, 3))
def test_matches_restatement_with_gamma_095(batch, k):
    g, t, r, a = batch
    np.testing.assert_allclose(hgpo_advantages(g, t, r, a, history_length=k, drop_zero_items=False),
                               reference_hgpo(g, t, r, a, history_length=k, drop_zero_items=False),
                               rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------------- invariants
@settings(max_examples=60, deadline=None)
@given(batch=batches(), norm=st.sampled_from(["std", "none"]))
def test_history_length_zero_is_gigpo_step_groups_with_its_own_std(batch, norm):
    g, t, r, a = batch
    gi = advantage_details(g, t, r, a, norm=norm)
    # with the n-1 std and an exact weighted mean, one level is GiGPO's A_S
    torch.testing.assert_close(hgpo_advantages(g, t, r, a, history_length=0, norm=norm, unbiased=True,
                                               weight_eps=0.0), gi.step_adv, rtol=1e-4, atol=1e-5)
    # by default: the population std in the same groups, times 2 / (2 + eps) from the weight normaliser
    pop = group_normalize(gi.step_returns.double(), gi.step_group, gi.num_step_groups, norm=norm, eps=1e-6, ddof=0)
    torch.testing.assert_close(hgpo_advantages(g, t, r, a, history_length=0, norm=norm).double(),
                               pop * 2 / (2 + 1e-6), rtol=1e-4, atol=1e-5)
    d = hgpo_details(g, t, r, a, history_length=0)
    assert d.level_group[:, 0].tolist() == gi.step_group.tolist()


@settings(max_examples=60, deadline=None)
@given(batch=batches(), seed=st.integers(0, 1000))
def test_permuting_whole_trajectories_permutes_output(batch, seed):
    g, t, r, a = batch
    base = hgpo_advantages(g, t, r, a, history_length=2).tolist()
    order = sorted(set(t))
    np.random.default_rng(seed).shuffle(order)
    rows = [i for traj in order for i in range(len(t)) if t[i] == traj]
    perm = hgpo_advantages([g[i] for i in rows], [t[i] for i in rows], [r[i] for i in rows], [a[i] for i in rows],
                           history_length=2)
    np.testing.assert_allclose(perm.tolist(), [base[i] for i in rows], rtol=1e-6, atol=1e-6)


def test_groups_never_cross_tasks_and_levels_nest():
    # same anchors and history in two tasks: no shared group
    adv = hgpo_advantages([0, 1], ["A", "B"], [1.0, 0.0], ["x", "x"])
    assert adv.tolist() == [0.0, 0.0]
    d = hgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, history_length=3)
    sizes = d.level_size
    assert bool((sizes[:, 1:] <= sizes[:, :-1]).all())  # G_1 ⊇ G_2 ⊇ ...


def test_registered_and_configurable():
    torch.testing.assert_close(compute_advantages("hgpo", GROUPS, TRAJS, REWARDS, ANCHORS, history_length=1),
                               hgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, history_length=1))
    from gigpo import TrainConfig

    cfg = TrainConfig(estimator="hgpo", estimator_options={"history_length": 3, "base_group": True})
    assert cfg.estimator_kwargs()["history_length"] == 3 and cfg.history_length == 2  # the prompt's own field


# ---------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1.5), "gamma"), (dict(norm="batch"), "norm"), (dict(eps=-1.0), "eps"),
    (dict(history_length=-1), "history_length"), (dict(history_length=1.5), "history_length"),
    (dict(history_length=True), "history_length"), (dict(length_weight_alpha=float("nan")), "length_weight_alpha"),
    (dict(base_group="yes"), "base_group"), (dict(unbiased=1), "unbiased"), (dict(weight_eps=-1.0), "eps"),
    (dict(episode_stats="rows"), "episode_stats"),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, **kwargs)


@pytest.mark.parametrize("args, match", [
    (([0] * 5, TRAJS, REWARDS, ANCHORS), "group_ids"),
    ((GROUPS, TRAJS[:5], REWARDS, ANCHORS), "traj_ids"),
    ((GROUPS, TRAJS, REWARDS, ANCHORS[:5]), "anchors"),
    ((GROUPS, TRAJS, REWARDS[:5] + [float("nan")], ANCHORS), "NaN"),
    (([], [], [], []), "empty"),
    (([0, 1], ["A", "A"], [0.0, 1.0], ["s", "s"]), "trajectory spans"),
    ((GROUPS, TRAJS, REWARDS, [["unhashable"]] * 6), "hashable"),
])
def test_bad_input_raises_naming_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        hgpo_advantages(*args)
