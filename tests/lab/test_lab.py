"""The credit lab: the tabular policy-gradient update (by hand and against autograd), sampling, the prior
calibration, determinism from the seed, the diagnostics and summary against plain restatements, bad input."""
import math

import numpy as np
import pytest
import torch

from gigpo.estimators import registry
from gigpo.lab import (
    LabConfig,
    TabularPolicy,
    calibrate_beta,
    credit_auc,
    iterations_to,
    nonzero_step_share,
    run_lab,
    train_run,
    zero_spread_rows,
)
from gigpo.lab.prior import prior_success_rate
from gigpo.lab.rollout import make_runner
from gigpo.lab.summary import paired
from tests.support import corridor  # noqa: F401  (registers the corridor envs)

TINY = dict(env="corridor", env_options={}, task_pool=2, num_groups=2, group_size=4, iterations=6,
            seeds=[0, 1], prior_success=None, lr=0.5, output_dir=None)


def info(actions, expert=None):
    return {"admissible_actions": actions, "expert_action": expert}


# --- the policy ------------------------------------------------------------------------------------------------------
def test_policy_gradient_update_on_a_hand_worked_two_state_example():
    # s0: actions (x, y), expert y, beta = ln 3 -> pi(.|s0) = (1/4, 3/4); s1: actions (a, b, c), no expert -> 1/3 each
    pol = TabularPolicy(beta=math.log(3.0))
    s = pol.state_ids([("t", 0), ("t", 1), ("t", 1)], [info(["x", "y"], "y"), info(["a", "b", "c"]), None])
    assert s.tolist() == [0, 1, 1] and pol.num_states == 2
    np.testing.assert_allclose(pol.probs(np.array([0]))[0][0], [0.25, 0.75])
    # rows: (s0, x, A=2), (s1, c, A=-1), (s1, a, A=0.5); lr 0.1; theta += lr * sum_r A_r (onehot(a_r) - pi)
    pol.update(np.array([0, 1, 1]), np.array([0, 2, 0]), np.array([2.0, -1.0, 0.5]), lr=0.1)
    # s0: 0.1 * 2 * ((1, 0) - (1/4, 3/4)) = (0.15, -0.15) on top of (0, ln 3)
    # s1: 0.1 * [-1 * ((0,0,1) - 1/3) + 0.5 * ((1,0,0) - 1/3)] = 0.1 * (2/3, 1/6, -5/6)
    np.testing.assert_allclose(pol.theta, [0.15, math.log(3.0) - 0.15, 2 / 30, 1 / 60, -5 / 60], atol=1e-12)


def test_update_matches_autograd_on_random_rows():
    rng = np.random.default_rng(0)
    pol = TabularPolicy(beta=1.0)
    sizes = [2, 5, 3, 1]
    pol.state_ids([("t", i) for i in range(4)], [info([f"a{j}" for j in range(n)], "a0") for n in sizes])
    pol.update(np.arange(4), np.zeros(4, dtype=int), rng.normal(size=4), lr=0.7)  # make the table non-uniform
    states = rng.integers(0, 4, size=40)
    actions = np.array([rng.integers(0, sizes[s]) for s in states])
    adv = rng.normal(size=40)
    theta = torch.tensor(pol.theta.copy(), requires_grad=True)
    offsets = np.cumsum([0] + sizes)
    objective = sum(adv[r] * torch.log_softmax(theta[offsets[s]:offsets[s + 1]], 0)[actions[r]]
                    for r, s in enumerate(states))
    objective.backward()
    expected = theta.detach().numpy() + 0.3 * theta.grad.numpy()
    pol.update(states, actions, adv, lr=0.3)
    np.testing.assert_allclose(pol.theta, expected, atol=1e-10)


def test_sampling_inverts_the_cdf_and_never_picks_padding():
    pol = TabularPolicy(beta=math.log(3.0))
    pol.state_ids([("t", 0), ("t", 1)], [info(["x", "y"], "y"), info(["only"])])
    s = np.array([0, 0, 0, 1, 1])
    assert pol.sample(s, np.array([0.2, 0.3, 0.999999, 0.0, 0.999999])).tolist() == [0, 1, 1, 0, 0]


def test_state_without_actions_or_with_a_foreign_expert_is_refused():
    pol = TabularPolicy()
    with pytest.raises(ValueError, match="no admissible actions"):
        pol.state_ids([("t", 0)], [info([])])
    with pytest.raises(ValueError, match="not among its admissible actions"):
        pol.state_ids([("t", 1)], [info(["a"], "b")])


# --- the prior -------------------------------------------------------------------------------------------------------
def test_prior_calibration_hits_its_target_within_0_05():
    opts = {"num_receptacles": 6, "num_objects": 4}
    pool = list(range(8))
    beta, measured = calibrate_beta("household", opts, pool, 0.3, rollouts_per_task=32)
    assert abs(measured - 0.3) <= 0.05
    # an independent check: fresh uniforms (another seed), more rollouts
    runner = make_runner("household", 64, opts, None)
    fresh = prior_success_rate(TabularPolicy(), runner, pool, beta, seed=12345)
    assert abs(fresh - 0.3) <= 0.05
    assert prior_success_rate(TabularPolicy(), runner, pool, 0.0, seed=12345) < 0.2  # the prior did the work


# --- determinism and the loop ----------------------------------------------------------------------------------------
def test_same_seed_gives_identical_lab_jsonl_and_another_seed_does_not(tmp_path):
    cfg = LabConfig(**{**TINY, "prior_beta": 0.5})
    a = run_lab(cfg.replace(output_dir=str(tmp_path / "a"))).output_dir / "lab.jsonl"
    b = run_lab(cfg.replace(output_dir=str(tmp_path / "b"))).output_dir / "lab.jsonl"
    assert a.read_bytes() == b.read_bytes()
    c = run_lab(cfg.replace(seeds=[5, 1], output_dir=str(tmp_path / "c"))).output_dir / "lab.jsonl"
    assert a.read_bytes() != c.read_bytes()


def test_the_corridor_is_learned_and_episodes_shorten():
    rows = train_run(LabConfig(**{**TINY, "iterations": 30}), "gigpo", seed=0, lr=0.5, beta=0.0)
    first, last = rows[:5], rows[-5:]
    assert np.mean([r["success_rate"] for r in last]) > np.mean([r["success_rate"] for r in first])
    assert np.mean([r["mean_length"] for r in last]) < np.mean([r["mean_length"] for r in first])


def test_any_registered_estimator_and_its_options_drive_the_lab():
    seen = []

    def scaled(group_ids, traj_ids, rewards, anchors=None, *, scale: float = 1.0):
        seen.append(scale)
        return scale * registry.compute_advantages("grpo", group_ids, traj_ids, rewards)

    registry.register_estimator("lab_test_scaled", scaled, overwrite=True)
    cfg = LabConfig(**{**TINY, "estimators": ["gigpo", "lab_test_scaled"],
                       "estimator_options": {"lab_test_scaled": {"scale": 2.0}}})
    assert cfg.estimator_kwargs("gigpo") == {"gamma": 0.95, "step_weight": 1.0, "norm": "std",
                                             "episode_stats": "trajectory"}
    rows = run_lab(cfg).rows
    assert seen and set(seen) == {2.0}
    assert {r["estimator"] for r in rows} == {"gigpo", "lab_test_scaled"}
    assert all(r["adv_step_abs"] == 0.0 for r in rows if r["estimator"] == "lab_test_scaled")  # episode-level


def test_lr_auto_tunes_on_the_tune_seed_and_records_the_choice():
    s = run_lab(LabConfig(**{**TINY, "lr": "auto", "lr_grid": [0.01, 1.0], "estimators": ["grpo"]})).summary
    assert set(s["lr_tuning"]["grpo"]) == {"0.01", "1"} and s["lr"]["grpo"] in (0.01, 1.0)
    best = max(s["lr_tuning"]["grpo"].items(), key=lambda kv: kv[1])
    assert s["lr"]["grpo"] == float(best[0])


# --- bad input -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, message", [
    ({"estimators": ["gigpo", "nope"]}, "unknown estimator 'nope'"),
    ({"prior_success": 0.0}, r"prior_success must be in \(0, 1\)"),
    ({"prior_success": 1.0}, r"prior_success must be in \(0, 1\)"),
    ({"prior_success": 1.5}, r"prior_success must be in \(0, 1\)"),
    ({"prior_success": 0.3, "prior_beta": 1.0}, "not both"),
    ({"lr": "fast"}, "lr must be a positive number or 'auto'"),
    ({"lr": -1.0}, "lr must be a positive number or 'auto'"),
    ({"lr": "auto", "tune_seed": 0}, "tune on a separate seed"),
    ({"estimator_options": {"grpo": {"gamma": 0.9}}}, r"estimator_options\['grpo'\]"),
    ({"seeds": [0, 0]}, "distinct"),
    ({"bogus": 1}, "unknown LabConfig setting"),
])
def test_bad_settings_raise_a_clear_error(change, message):
    with pytest.raises(ValueError, match=message):
        LabConfig.from_dict({**TINY, **change})


def test_a_prior_on_an_env_without_an_expert_is_refused():
    for prior in ({"prior_success": 0.3}, {"prior_beta": 1.0}):
        with pytest.raises(ValueError, match="gives no expert_action"):
            run_lab(LabConfig(**{**TINY, "env": "corridor_no_expert", **prior}))
    run_lab(LabConfig(**{**TINY, "env": "corridor_no_expert"}))  # from scratch needs no expert


# --- diagnostics and summary -----------------------------------------------------------------------------------------
def test_credit_auc_equals_the_pairwise_definition():
    rng = np.random.default_rng(3)
    adv = rng.integers(-2, 3, size=30).astype(float)  # many ties
    expert = rng.random(30) < 0.4
    pos, neg = adv[expert], adv[~expert]
    pairwise = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert credit_auc(adv, expert) == pytest.approx(pairwise)
    assert math.isnan(credit_auc(adv, np.zeros(30, dtype=bool)))


def test_zero_spread_rows_and_the_step_artefact_share():
    # group 0: trajectories 0, 1 both return -0.2 (zero spread); group 1: returns 1 and 0
    group = np.array([0, 0, 0, 0, 1, 1, 1])
    traj = np.array([0, 0, 1, 1, 2, 3, 3])
    rew = np.array([-0.1, -0.1, -0.2, 0.0, 1.0, 0.0, 0.0])
    zero = zero_spread_rows(group, traj, rew)
    assert zero.tolist() == [True, True, True, True, False, False, False]
    assert nonzero_step_share(np.array([0.5, 0.0, -0.5, 0.0, 1.0, 1.0, 1.0]), zero) == 0.5
    assert nonzero_step_share(None, zero) is None


def test_iterations_to_threshold_uses_a_full_trailing_window():
    s = [1.0, 0.0, 0.0, 0.8, 0.9, 1.0, 1.0]
    # trailing 3-means: [1/3, 0.8/3, 1.7/3, 2.7/3 = 0.9, 2.9/3]; 0.9 first reached by the window ending at index 5
    assert iterations_to(s, 0.9, window=3) == 6
    assert iterations_to(s, 0.3, window=3) == 3
    assert iterations_to(s, 0.99, window=3) is None
    assert iterations_to([1.0], 0.5, window=3) is None


def test_paired_comparison():
    p = paired([10, 20, 30], [20, 20, 50])
    assert p["differences"] == [10, 0, 20] and p["ratio_of_means"] == pytest.approx(90 / 60)
    assert (p["first_faster"], p["ties"], p["first_slower"]) == (2, 1, 0)
    assert p["std_difference"] == pytest.approx(np.std([10, 0, 20], ddof=1))


def test_similarity_groups_observation_texts_and_matches_exact_grouping_at_threshold_1():
    # the corridor's observation text names the position, so similarity 1.0 groups exactly like the anchors
    exact = train_run(LabConfig(**TINY), "gigpo", seed=0, lr=0.5, beta=0.0)
    similar = train_run(LabConfig(**{**TINY, "similarity": 1.0}), "gigpo", seed=0, lr=0.5, beta=0.0)
    assert [r["adv_step_abs"] for r in similar] == pytest.approx([r["adv_step_abs"] for r in exact])
    assert [r["success_rate"] for r in similar] == [r["success_rate"] for r in exact]
