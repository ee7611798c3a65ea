"""GiGPO/GRPO/RLOO advantages: hand-worked cases, an independent oracle on random batches, invariants, bad input."""
from __future__ import annotations

import math
import uuid

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gigpo import advantage_details, gigpo_advantages, grpo_advantages, rloo_advantages
from tests.support.reference_advantages import reference_gigpo, reference_rloo
from tests.support.rollout_batches import batches

# One task group, three rollouts interleaved as a batched rollout appends them (step t of every live env, then t+1):
#   A: s0 -> s1, rewards 0, 1 (wins)      B: s0 -> s2 -> s1, rewards 0, 0, 1 (wins)      C: s0 -> s2, rewards 0, 0
GROUPS = [0] * 7
TRAJS = ["A", "B", "C", "A", "B", "C", "B"]
REWARDS = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
ANCHORS = ["s0", "s0", "s0", "s1", "s2", "s2", "s1"]
S3 = 1 / math.sqrt(3)  # episode returns 1, 1, 0: mean 2/3, unbiased std sqrt(1/3)


def test_hand_worked_gigpo():
    d = advantage_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5)
    # A_E = (R - 2/3) / sqrt(1/3): A and B -> (1/3)/0.57735 = 0.57735, C -> -1.15470
    np.testing.assert_allclose(d.episode_adv, [S3, S3, -2 * S3, S3, S3, -2 * S3, S3], rtol=1e-5)
    # gamma 0.5: A: [0.5, 1]; B: [0.25, 0.5, 1]; C: [0, 0]
    np.testing.assert_allclose(d.step_returns, [0.5, 0.25, 0.0, 1.0, 0.5, 0.0, 1.0])
    # s0: {0.5, 0.25, 0} -> mean 0.25, std 0.25 -> 1, 0, -1;  s1: {1, 1} -> 0, 0;  s2: {0.5, 0} -> +-1/sqrt(2)
    r2 = 1 / math.sqrt(2)
    np.testing.assert_allclose(d.step_adv, [1, 0, -1, 0, r2, -r2, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.advantage, [S3 + 1, S3, -2 * S3 - 1, S3, S3 + r2, -2 * S3 - r2, S3], rtol=1e-5)
    assert d.step_group.tolist() == [0, 0, 0, 1, 2, 2, 1]  # labels in order of first appearance
    assert d.step_group_size.tolist() == [3, 3, 3, 2, 2, 2, 2]
    assert d.num_step_groups == 3 and d.num_trajectories == 3 and d.num_groups == 1
    # sizes 3, 2, 2: per group (3 + 2 + 2) / 3; per row, each row counts its own group's size: (3*3 + 2*2 + 2*2) / 7
    assert d.step_group_stats() == pytest.approx({"step_groups": 3.0, "step_group_size_per_group": 7 / 3,
                                                  "step_group_size_per_row": 17 / 7, "step_group_share_grouped": 1.0})


def test_hand_worked_step_weighted_episode_stats():
    # authors' default: the 7 rows are the samples: returns [1,1,0,1,1,0,1], mean 5/7, var (5*(2/7)^2+2*(5/7)^2)/6
    a_e = grpo_advantages(GROUPS, TRAJS, REWARDS, episode_stats="step")
    std = math.sqrt((5 * (2 / 7) ** 2 + 2 * (5 / 7) ** 2) / 6)
    win, lose = (2 / 7) / std, (-5 / 7) / std
    np.testing.assert_allclose(a_e, [win, win, lose, win, win, lose, win], rtol=1e-5)


def test_hand_worked_norm_none_and_rloo():
    d = advantage_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, norm="none", step_weight=2.0)
    np.testing.assert_allclose(d.episode_adv, [1 / 3, 1 / 3, -2 / 3, 1 / 3, 1 / 3, -2 / 3, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(d.step_adv, [0.25, 0, -0.25, 0, 0.25, -0.25, 0], atol=1e-7)
    np.testing.assert_allclose(d.advantage, d.episode_adv + 2.0 * d.step_adv, rtol=1e-6)
    # RLOO: A: 1 - (1 + 0)/2, B: same, C: 0 - (1 + 1)/2
    np.testing.assert_allclose(rloo_advantages(GROUPS, TRAJS, REWARDS), [0.5, 0.5, -1, 0.5, 0.5, -1, 0.5])


def test_groups_of_one_get_zero():
    # group 1 has a single rollout; its anchors are singletons too -> 0 at both levels
    g = [0, 0, 1, 1]
    t = [0, 1, 2, 2]
    r = [1.0, 0.0, 5.0, 3.0]
    d = advantage_details(g, t, r, ["x", "x", "y", "z"])
    assert d.episode_adv[2:].tolist() == [0.0, 0.0] and d.step_adv[2:].tolist() == [0.0, 0.0]
    assert rloo_advantages(g, t, r)[2:].tolist() == [0.0, 0.0]
    # group 0: returns 1 and 0 -> +-1/sqrt(2) (std of {1, 0} is sqrt(1/2)); step group "x" the same
    np.testing.assert_allclose(d.episode_adv[:2], [1 / math.sqrt(2), -1 / math.sqrt(2)], rtol=1e-5)


def test_step_groups_never_cross_tasks():
    d = advantage_details([0, 1], [0, 1], [1.0, 0.0], ["same", "same"])
    assert d.num_step_groups == 2 and d.step_adv.tolist() == [0.0, 0.0]


def test_discounted_returns_edge_gammas_and_long_trajectory():
    rng = np.random.default_rng(0)
    r = rng.normal(size=1000).tolist()
    ids = [0] * 1000
    np.testing.assert_allclose(advantage_details(ids, ids, r, ids, gamma=0.0).step_returns, r, rtol=1e-6)
    np.testing.assert_allclose(advantage_details(ids, ids, r, ids, gamma=1.0).step_returns,
                               np.cumsum(r[::-1])[::-1], rtol=1e-4, atol=1e-4)
    ref = reference_gigpo(ids, ids, r, ids, gamma=0.99)["R_t"]
    np.testing.assert_allclose(advantage_details(ids, ids, r, ids, gamma=0.99).step_returns, ref, rtol=1e-5, atol=1e-5)


def test_key_types_give_identical_results():
    base = gigpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS)
    uu = {k: uuid.UUID(int=i) for i, k in enumerate("ABC")}
    codes = {"s0": 10, "s1": -4, "s2": 99}
    same = [
        gigpo_advantages(torch.tensor(GROUPS), [uu[t] for t in TRAJS], torch.tensor(REWARDS), ANCHORS),
        gigpo_advantages(np.array(GROUPS), np.array(TRAJS), np.array(REWARDS),
                         torch.tensor([codes[a] for a in ANCHORS])),
        gigpo_advantages(["task"] * 7, TRAJS, REWARDS, [(a, 1) for a in ANCHORS]),
    ]
    for other in same:
        torch.testing.assert_close(other, base)
    assert base.dtype == torch.float32 and base.shape == (7,)


# ---------------------------------------------------------------- random batches against the plain-Python oracle
@settings(max_examples=150, deadline=None)
@given(batch=batches(), gamma=st.sampled_from([0.0, 0.5, 0.95, 1.0]), norm=st.sampled_from(["std", "none"]),
       stats=st.sampled_from(["trajectory", "step"]), w=st.sampled_from([0.0, 1.0, 0.5]))
def test_matches_reference_on_random_batches(batch, gamma, norm, stats, w):
    g, t, r, a = batch
    ref = reference_gigpo(g, t, r, a, gamma=gamma, step_weight=w, norm=norm, episode_stats=stats)
    d = advantage_details(g, t, r, a, gamma=gamma, step_weight=w, norm=norm, episode_stats=stats)
    np.testing.assert_allclose(d.step_returns, ref["R_t"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.episode_adv, ref["A_E"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(d.step_adv, ref["A_S"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(d.advantage, ref["A"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rloo_advantages(g, t, r), reference_rloo(g, t, r), rtol=1e-5, atol=1e-5)


def _same_partition(x, y):
    pairs = set(zip(x, y))
    return len(pairs) == len(set(x)) == len(set(y))


@settings(max_examples=150, deadline=None)
@given(batch=batches(text_anchors=True), threshold=st.sampled_from([0.3, 0.5, 0.7, 0.8, 0.95, 1.0]))
def test_similarity_clusters_match_the_authors_rule(batch, threshold):
    g, t, r, a = batch
    ref = reference_gigpo(g, t, r, a, similarity=threshold)
    d = advantage_details(g, t, r, a, similarity=threshold)
    assert _same_partition(d.step_group.tolist(), ref["label"])
    np.testing.assert_allclose(d.advantage, ref["A"], rtol=1e-4, atol=1e-4)


def test_similarity_argument_order_matters():
    # ratio is not symmetric: ratio("tide", "diet") = 0.25 but ratio("diet", "tide") = 0.5. The rule compares the
    # new row (seq1) to the cluster's head (seq2), so "tide" arriving after head "diet" does not join at 0.4.
    d = advantage_details([0, 0], [0, 1], [0.0, 1.0], ["diet", "tide"], similarity=0.4)
    assert d.num_step_groups == 2
    d = advantage_details([0, 0], [0, 1], [0.0, 1.0], ["tide", "diet"], similarity=0.4)
    assert d.num_step_groups == 1  # new "diet" vs head "tide": ratio 0.5


# ---------------------------------------------------------------------------------------------------- invariants
@settings(max_examples=60, deadline=None)
@given(batch=batches())
def test_invariants(batch):
    g, t, r, a = batch
    # norm="none": the episode advantages of each group sum to zero over its trajectories
    d = advantage_details(g, t, r, a, norm="none")
    per_traj = {}
    for gi, ti, e in zip(g, t, d.episode_adv.tolist()):
        per_traj[ti] = (gi, e)
    for group in set(g):
        assert abs(sum(e for gi, e in per_traj.values() if gi == group)) < 1e-5
    # step_weight 0, or all-distinct anchors, is GRPO
    grpo = grpo_advantages(g, t, r)
    torch.testing.assert_close(gigpo_advantages(g, t, r, a, step_weight=0.0), grpo)
    torch.testing.assert_close(gigpo_advantages(g, t, r, list(range(len(r)))), grpo)
    # similarity=1.0 is exact grouping (on text anchors)
    texts = [f"state {x}" for x in a]
    torch.testing.assert_close(gigpo_advantages(g, t, r, texts, similarity=1.0), gigpo_advantages(g, t, r, texts))


@settings(max_examples=60, deadline=None)
@given(batch=batches(), seed=st.integers(0, 1000))
def test_permuting_whole_trajectories_permutes_output(batch, seed):
    g, t, r, a = batch
    base = gigpo_advantages(g, t, r, a).tolist()
    # lay the rows out trajectory after trajectory, trajectories in a random order, each keeping its time order
    order = sorted(set(t))
    np.random.default_rng(seed).shuffle(order)
    rows = [i for traj in order for i in range(len(t)) if t[i] == traj]
    perm = gigpo_advantages([g[i] for i in rows], [t[i] for i in rows], [r[i] for i in rows], [a[i] for i in rows])
    np.testing.assert_allclose(perm.tolist(), [base[i] for i in rows], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1.5), "gamma"), (dict(gamma=-0.1), "gamma"),
    (dict(similarity=0.0), "similarity"), (dict(similarity=1.2), "similarity"),
    (dict(norm="batch"), "norm"), (dict(episode_stats="rows"), "episode_stats"),
    (dict(eps=-1.0), "eps"), (dict(step_weight=float("nan")), "step_weight"),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gigpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, **kwargs)


@pytest.mark.parametrize("args, match", [
    (([0] * 6, TRAJS, REWARDS, ANCHORS), "group_ids"),
    ((GROUPS, TRAJS[:6], REWARDS, ANCHORS), "traj_ids"),
    ((GROUPS, TRAJS, REWARDS, ANCHORS[:6]), "anchors"),
    ((GROUPS, TRAJS, REWARDS[:6] + [float("nan")], ANCHORS), "NaN"),
    ((GROUPS, TRAJS, REWARDS[:6] + [float("inf")], ANCHORS), "rewards"),
    (([], [], [], []), "empty"),
    (([0, 1], ["A", "A"], [0.0, 1.0], ["s", "s"]), "trajectory spans"),
    ((torch.zeros(7, 2, dtype=torch.long), TRAJS, REWARDS, ANCHORS), "1-D"),
    ((GROUPS, TRAJS, torch.zeros(7, 1), ANCHORS), "rewards must be 1-D"),
    ((torch.zeros(7), TRAJS, REWARDS, ANCHORS), "integer ids"),
    (("0000000", TRAJS, REWARDS, ANCHORS), "single str"),
    ((GROUPS, TRAJS, ["a"] * 7, ANCHORS), "rewards must be numbers"),
    ((GROUPS, TRAJS, REWARDS, [["unhashable"]] * 7), "hashable"),
])
def test_bad_input_raises_naming_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        gigpo_advantages(*args)


def test_similarity_needs_text_anchors():
    with pytest.raises(ValueError, match="strings"):
        gigpo_advantages(GROUPS, TRAJS, REWARDS, torch.arange(7), similarity=0.9)
    with pytest.raises(ValueError, match="NaN"):
        grpo_advantages(GROUPS, TRAJS, [float("nan")] * 7)
