"""GraphGPO: a hand-worked graph, the plain-Python restatement on random batches, invariants, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gigpo import graphgpo_advantages, graphgpo_details, grpo_advantages
from gigpo.estimators import compute_details
from tests.support.reference_advantages import reference_graphgpo
from tests.support.rollout_batches import batches

# One task group, rows interleaved A0 B0 C0 A1 B1 C1 B2:
#   A: s0 -> s1 -> success (rewards 0, 10)    B: s0 -> s2 -> s1 -> success (0, 0, 10)    C: s0 -> s2 -> end (0, 0)
# Edges s0->s1, s1->S, s0->s2, s2->s1, s2->E: d(S)=0, d(s1)=1, d(s2)=2, d(s0)=2, E unreachable -> d_max + 1 = 3.
GROUPS = [7] * 7
TRAJS = ["A", "B", "C", "A", "B", "C", "B"]
REWARDS = [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 10.0]
ANCHORS = ["s0", "s0", "s0", "s1", "s2", "s2", "s1"]


def test_hand_worked_graph():
    d = graphgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5)
    assert d.distance.tolist() == [2, 2, 2, 1, 2, 2, 1]
    assert d.next_distance.tolist() == [1, 2, 2, 0, 1, 3, 0]
    # absolute: 10 * 0.5^d(next)
    np.testing.assert_allclose(d.step_returns, [5, 2.5, 2.5, 10, 5, 1.25, 10])
    # s0: {5, 2.5, 2.5}: mean 10/3, sample std sqrt(150/72); s1: {10, 10} -> 0; s2: {5, 1.25} -> +-1/sqrt(2)
    std = math.sqrt(150 / 72)
    r2 = 1 / math.sqrt(2)
    np.testing.assert_allclose(d.step_adv, [(5 / 3) / std, (-5 / 6) / std, (-5 / 6) / std, 0, r2, -r2, 0],
                               rtol=1e-5, atol=1e-6)
    # the episode level is GiGPO's, over step rows by default
    torch.testing.assert_close(d.episode_adv, grpo_advantages(GROUPS, TRAJS, REWARDS, episode_stats="step"))
    torch.testing.assert_close(d.advantage, d.step_adv + d.episode_adv)


def test_hand_worked_delta_progress():
    d = graphgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, progress="delta", episode_weight=0.0)
    # 10 * 0.5^(d(next) - d(here) + 1): one step closer scores 10, no progress 5, one step away 2.5
    np.testing.assert_allclose(d.step_returns, [10, 5, 5, 10, 10, 2.5, 10])
    torch.testing.assert_close(d.advantage, d.step_adv)


def test_no_success_gives_no_progress_credit():
    rewards = [0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0]  # nobody succeeds (returns <= 0)
    d = graphgpo_details(GROUPS, TRAJS, rewards, ANCHORS)
    assert d.distance.tolist() == [1.0] * 7 and d.next_distance.tolist() == [1.0] * 7
    assert d.step_adv.abs().max() == 0
    torch.testing.assert_close(d.advantage, d.episode_adv)


def test_explicit_next_states_and_success():
    # the same transitions given explicitly: the failed last step leads to a state no one else visits
    nxt = ["s1", "s2", "s2", "won", "s1", "dead end", "won"]
    derived = graphgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS)
    torch.testing.assert_close(graphgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, next_anchors=nxt), derived)
    # a given next state that leads back into the graph changes distances: C's last step to s1 makes s2 closer
    nxt[5] = "s1"
    d = graphgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, next_anchors=nxt)
    assert d.next_distance[5].item() == 1
    # success given per row overrides "return > 0": C counted as a success, its last step reaches success
    won = [t in ("A", "B", "C") for t in TRAJS]
    d = graphgpo_details(GROUPS, TRAJS, REWARDS, ANCHORS, success=won)
    assert d.next_distance[5].item() == 0 and bool(d.success.all())


@settings(max_examples=150, deadline=None)
@given(batch=batches(), gamma=st.sampled_from([0.1, 0.5, 0.95, 1.0]), norm=st.sampled_from(["std", "none"]),
       progress=st.sampled_from(["absolute", "delta"]), stats=st.sampled_from(["step", "trajectory"]),
       w=st.sampled_from([(1.0, 1.0), (1.0, 0.0), (0.5, 2.0)]))
def test_matches_restatement_on_random_batches(batch, gamma, norm, progress, stats, w):
    g, t, r, a = batch
    opts = dict(gamma=gamma, norm=norm, progress=progress, episode_stats=stats, step_weight=w[0], episode_weight=w[1])
    ref = reference_graphgpo(g, t, r, a, **opts)
    d = graphgpo_details(g, t, r, a, **opts)
    np.testing.assert_allclose(d.next_distance, ref["d_next"])
    np.testing.assert_allclose(d.step_returns, ref["R"], rtol=1e-6)
    np.testing.assert_allclose(d.advantage, ref["A"], rtol=1e-4, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(batch=batches(), seed=st.integers(0, 1000))
def test_permuting_whole_trajectories_permutes_output(batch, seed):
    g, t, r, a = batch
    base = graphgpo_advantages(g, t, r, a).tolist()
    order = sorted(set(t))
    np.random.default_rng(seed).shuffle(order)
    rows = [i for traj in order for i in range(len(t)) if t[i] == traj]
    perm = graphgpo_advantages([g[i] for i in rows], [t[i] for i in rows], [r[i] for i in rows], [a[i] for i in rows])
    np.testing.assert_allclose(perm.tolist(), [base[i] for i in rows], rtol=1e-5, atol=1e-5)


def test_registered_with_details():
    d = compute_details("graphgpo", GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5)
    torch.testing.assert_close(d.advantage, graphgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5))


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=1.5), "gamma"), (dict(norm="batch"), "norm"), (dict(eps=-1.0), "eps"),
    (dict(progress="closer"), "progress"), (dict(gamma=0.0, progress="delta"), "gamma"),
    (dict(step_weight=float("nan")), "step_weight"), (dict(episode_weight=float("inf")), "episode_weight"),
    (dict(success_reward=float("nan")), "success_reward"), (dict(episode_stats="rows"), "episode_stats"),
    (dict(success=[True] * 6), "success"), (dict(success=[1] * 7), "bools"),
    (dict(success=[True, True, True, False, True, True, True]), "success differs"),
    (dict(next_anchors=["s"] * 6), "next_anchors"),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        graphgpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, **kwargs)


@pytest.mark.parametrize("args, match", [
    (([0] * 6, TRAJS, REWARDS, ANCHORS), "group_ids"),
    ((GROUPS, TRAJS[:6], REWARDS, ANCHORS), "traj_ids"),
    ((GROUPS, TRAJS, REWARDS, ANCHORS[:6]), "anchors"),
    ((GROUPS, TRAJS, REWARDS[:6] + [float("nan")], ANCHORS), "NaN"),
    (([], [], [], []), "empty"),
    (([0, 1], ["A", "A"], [0.0, 1.0], ["s", "s"]), "trajectory spans"),
    ((GROUPS, TRAJS, REWARDS, [["unhashable"]] * 7), "hashable"),
])
def test_bad_input_raises_naming_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        graphgpo_advantages(*args)
