"""gigpo.integrations.verl, the verl-agent drop-in: ``compute_gigpo_outcome_advantage`` and
``compute_step_discounted_returns`` against a plain-Python restatement of the authors' semantics
(tests/support/verl_reference.py) on random batches with str uuids and padded masks, both modes, similarity on and
off."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from gigpo.integrations import verl as gv
from tests.support.verl_reference import Batch, random_batch, ref_gigpo, ref_returns, ref_step_groups


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("mode", ["mean_norm", "mean_std_norm"])
@pytest.mark.parametrize("similarity", [False, True])
def test_dropin_matches_authors_semantics(seed, mode, similarity):
    tlr, step, mask, anchors, index, traj, _ = random_batch(seed, texts_alike=similarity)
    w = 0.5 + seed / 10
    adv, ret = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, step_advantage_w=w,
                                                  mode=mode, enable_similarity=similarity, similarity_thresh=0.97)
    expected = torch.tensor(ref_gigpo(tlr, step, mask, anchors, index, w=w, mode=mode, similarity=similarity,
                                      thresh=0.97))
    assert adv.shape == tlr.shape and adv.dtype == torch.float32
    torch.testing.assert_close(adv, expected, atol=1e-5, rtol=0)
    assert ret is adv  # the authors return the same tensor as advantages and returns
    assert (adv[mask == 0] == 0).all()


def test_similarity_batches_do_merge_texts():
    """The near-duplicate texts of random_batch(texts_alike=True) really exercise similarity grouping."""
    _, _, _, anchors, index, _, _ = random_batch(3, texts_alike=True)
    exact = set(ref_step_groups(list(anchors), list(index), False, 0.97))
    fuzzy = set(ref_step_groups(list(anchors), list(index), True, 0.97))
    assert len(fuzzy) < len(exact)


def test_hand_worked_groups():
    """Task 'a' has one row (keeps its score), task 'b' three rows; step group of one gets 0."""
    tlr = torch.tensor([[0.0, 4.0], [1.0, 0.0], [2.0, 0.0], [6.0, 0.0]])
    mask = torch.tensor([[1, 1], [1, 0], [1, 1], [1, 1]])
    step = torch.tensor([7.0, 1.0, 3.0, 5.0])
    anchors = np.array(["s", "x", "x", "y"], dtype=object)
    index = np.array(["a", "b", "b", "b"], dtype=object)
    traj = np.array(["t0", "t1", "t2", "t2"], dtype=object)
    adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_norm")
    # episode: a -> 4 (alone); b scores 1, 2, 6, mean 3 -> -2, -1, 3. step: x = {1, 3} mean 2 -> -1, 1; s, y alone -> 0
    torch.testing.assert_close(adv, torch.tensor([[4.0, 4.0], [-3.0, 0.0], [0.0, 0.0], [3.0, 3.0]]))
    adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_std_norm",
                                                step_advantage_w=2.0)
    # std of (1, 2, 6) = sqrt(7); std of (1, 3) = sqrt(2)
    e = [4 / (1 + 1e-6), -2 / (7**0.5 + 1e-6), -1 / (7**0.5 + 1e-6), 3 / (7**0.5 + 1e-6)]
    s = [0.0, -1 / (2**0.5 + 1e-6), 1 / (2**0.5 + 1e-6), 0.0]
    per_row = torch.tensor([a + 2 * b for a, b in zip(e, s)])
    torch.testing.assert_close(adv, per_row[:, None] * mask, atol=1e-6, rtol=0)


def test_equal_values_give_exactly_zero():
    """Step groups whose returns are all equal get 0 (the authors' float32 mean can miss by an ulp; see docs)."""
    n = 5
    step = torch.full((n,), 10 * 0.95**3)
    adv, _ = gv.compute_gigpo_outcome_advantage(torch.zeros(n, 2), step, torch.ones(n, 2), np.array(["s"] * n),
                                                np.array(["g"] * n), np.arange(n), mode="mean_std_norm")
    assert (adv == 0).all()


def test_array_and_structured_anchors_compare_by_value():
    """Images (rows x H x W), arrays and dicts in an object array group by value, as their to_hashable."""
    rng = np.random.default_rng(0)
    grids = rng.integers(0, 3, size=(8, 3, 3))
    grids[4] = grids[0]
    grids[6] = grids[2]
    index = np.array(["g"] * 8)
    tlr, mask, step = torch.zeros(8, 1), torch.ones(8, 1), torch.arange(8.0)
    expected = torch.tensor(ref_gigpo(tlr, step, mask, list(grids), index))
    boxed = np.empty(8, dtype=object)  # verl keeps non-tensor fields as object arrays: here one array per row
    for i, g in enumerate(grids):
        boxed[i] = g
    for anchors in (grids, torch.from_numpy(grids), boxed, [g.tolist() for g in grids],
                    [{"grid": g.tolist(), "t": 1} for g in grids]):
        adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, index, mode="mean_norm")
        torch.testing.assert_close(adv, expected)
    assert expected[0, 0] == -2.0 and expected[1, 0] == 0.0  # rows 0 and 4 share a state, row 1 is alone


@pytest.mark.parametrize("seed", range(6))
def test_step_discounted_returns(seed):
    *_, traj, rewards = random_batch(seed)
    data = Batch({"input_ids": torch.zeros(len(traj), 3, dtype=torch.long)},
                 {"rewards": rewards, "traj_uid": traj, "active_masks": np.ones(len(traj), dtype=bool)})
    got = gv.compute_step_discounted_returns(data, 0.9)
    assert got.dtype == torch.float32 and got.device == data.batch["input_ids"].device
    torch.testing.assert_close(got, torch.tensor(ref_returns(rewards, list(traj), 0.9), dtype=torch.float32))


def test_returns_refuse_inactive_rows_and_bad_gamma():
    data = Batch({"input_ids": torch.zeros(2, 1)}, {"rewards": np.zeros(2), "traj_uid": np.array(["a", "a"]),
                                                     "active_masks": np.array([True, False])})
    with pytest.raises(ValueError, match="active_masks"):
        gv.compute_step_discounted_returns(data, 0.9)
    data.non_tensor_batch["active_masks"] = np.ones(2)
    with pytest.raises(ValueError, match="gamma"):
        gv.compute_step_discounted_returns(data, 1.5)
    with pytest.raises(ValueError, match="non_tensor_batch"):
        gv.compute_step_discounted_returns(Batch({}, {"rewards": np.zeros(2)}), 0.9)


def test_bad_input_raises():
    tlr, step, mask, anchors, index, traj, _ = random_batch(0)
    args = (tlr, step, mask, anchors, index, traj)
    with pytest.raises(ValueError, match="Unknown mode"):
        gv.compute_gigpo_outcome_advantage(*args, mode="std")
    with pytest.raises(ValueError, match="similarity_thresh"):
        gv.compute_gigpo_outcome_advantage(*args, enable_similarity=True, similarity_thresh=1.0)
    with pytest.raises(ValueError, match="index has"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index[:-1], traj)
    with pytest.raises(ValueError, match="response_mask"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask[:, :-1], anchors, index, traj)
    with pytest.raises(ValueError, match="step_rewards"):
        gv.compute_gigpo_outcome_advantage(tlr, step[:-1], mask, anchors, index, traj)
    with pytest.raises(ValueError, match="strings"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask, np.arange(len(traj)), index, traj, enable_similarity=True)


def test_import_does_not_import_verl():
    code = ("import sys, gigpo.integrations.verl as v; "
            "assert not [m for m in sys.modules if m == 'verl' or m.startswith('verl.')], 'verl imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_id_and_anchor_types_do_not_change_the_result():
    """uuid strings, int ids and numpy unicode arrays group the same way (only equality matters)."""
    tlr, step, mask, anchors, index, traj, _ = random_batch(7)
    as_str, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_std_norm")
    codes = {g: i for i, g in enumerate(dict.fromkeys(index))}
    as_int, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, np.array(anchors.tolist()),
                                                   np.array([codes[g] for g in index]), torch.arange(len(traj)),
                                                   mode="mean_std_norm")
    torch.testing.assert_close(as_int, as_str)
