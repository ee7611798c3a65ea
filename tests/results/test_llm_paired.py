"""The LLM study's paired statistics (results/llm_paired_stats.py, results/llm_paired.py) and its held-out tasks."""
import math

import numpy as np
import pytest

from results.llm_paired import paired_rows, run_measures, summary_rows
from results.llm_paired_stats import bootstrap_mean_interval, excludes_zero, sign_test


# --- sign test: exact binomial values worked out by hand --------------------------------------------------------------
@pytest.mark.parametrize("diffs, expected", [
    ([6, 20, 14], (3, 0, 0, 0.25)),                      # 2 * (1/2)^3
    ([1] * 9 + [-1], (9, 1, 0, 2 * 11 / 1024)),           # 2 * (C(10,0) + C(10,1)) / 2^10
    ([1] * 10, (10, 0, 0, 2 / 1024)),
    ([1] * 5 + [-1] * 5, (5, 5, 0, 1.0)),                 # 2 * P(X <= 5) > 1: capped
    ([2, -3, 0, 0], (1, 1, 2, 1.0)),                      # ties dropped
    ([1] * 7 + [-1] * 2 + [0], (7, 2, 1, 2 * (1 + 9 + 36) / 512)),
    ([0, 0], (0, 0, 2, 1.0)),
])
def test_sign_test_matches_hand_worked_binomial_tails(diffs, expected):
    pos, neg, ties, p = sign_test(diffs)
    assert (pos, neg, ties) == expected[:3]
    assert p == pytest.approx(expected[3], rel=1e-12)


# --- bootstrap: against a plain-Python restatement and cases with known answers ---------------------------------------
def plain_bootstrap(values, resamples, seed, level):
    """The percentile bootstrap written out with loops: same index draws, means by hand, numpy's default linear
    quantile restated (position q * (n - 1) between the sorted neighbours)."""
    idx = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values))).tolist()
    means = sorted(sum(values[i] for i in row) / len(row) for row in idx)

    def quantile(q):
        pos = q * (len(means) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(means) - 1)
        return means[lo] + (means[hi] - means[lo]) * (pos - lo)

    tail = (1 - level) / 2
    return sum(values) / len(values), quantile(tail), quantile(1 - tail)


def test_bootstrap_interval_equals_its_plain_restatement():
    values = [0.12, -0.05, 0.3, 0.0, -0.2, 0.07, 0.15, -0.11, 0.02, 0.25]
    got = bootstrap_mean_interval(values, resamples=2000, seed=7)
    want = plain_bootstrap(values, 2000, 7, 0.95)
    assert got == pytest.approx(want, abs=1e-12)
    assert bootstrap_mean_interval(values, resamples=2000, seed=7) == got  # seeded: reproduced exactly


def test_bootstrap_interval_of_constant_and_two_point_samples():
    assert bootstrap_mean_interval([0.4] * 6) == pytest.approx((0.4, 0.4, 0.4))
    # two values {0, 1}: resampled means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    mean, low, high = bootstrap_mean_interval([0.0, 1.0])
    assert (mean, low, high) == (0.5, 0.0, 1.0)


def test_bootstrap_interval_is_close_to_the_normal_one_for_a_large_sample():
    values = np.random.default_rng(1).normal(0.3, 1.0, size=400)
    mean, low, high = bootstrap_mean_interval(values)
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert low == pytest.approx(mean - half, abs=0.02) and high == pytest.approx(mean + half, abs=0.02)
    assert excludes_zero(low, high) and not excludes_zero(-0.1, 0.2) and excludes_zero(-0.3, -0.1)


@pytest.mark.parametrize("bad, match", [([1.0], "at least 2"), ([1.0, float("nan")], "not finite")])
def test_bootstrap_refuses_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_mean_interval(bad)


# --- paired measures on hand-made runs --------------------------------------------------------------------------------
def run(success, held=None):
    recs = [{"iteration": i, "success_rate": s} for i, s in enumerate(success)]
    for i, v in (held or {}).items():
        recs[i]["eval_greedy_success_rate"] = v
        recs[i]["eval_sampled_success_rate"] = v / 2
    return recs


def test_run_measures_threshold_censoring_and_held_out():
    # trailing-3 means: .2, .4, .5, .6 (reaches 0.6 at index 3: (.6 + .6 + .6) / 3)
    m = run_measures(run([0.2, 0.6, 0.6, 0.6, 0.9], {1: 0.25, 4: 0.75}), 5)
    assert m["iters to 0.6"] == 3 and not m["censored"]
    assert m["pool mean"] == pytest.approx(0.58) and m["pool last3"] == pytest.approx(0.7)
    assert m["held-out greedy"] == pytest.approx(0.5) and m["held-out sampled"] == pytest.approx(0.25)
    never = run_measures(run([0.1, 0.9, 0.1, 0.9]), 4)  # trailing means .1, .5, .367, .633: reaches at 3
    assert never["iters to 0.6"] == 3
    censored = run_measures(run([0.5] * 6), 6)
    assert censored["censored"] and censored["iters to 0.6"] == 6


def test_paired_rows_orient_differences_towards_gigpo_and_use_common_seeds():
    runs = {"gigpo": {1: run([0.6] * 4, {3: 1.0}), 2: run([0.1] * 4, {3: 0.0}), 9: run([0.5] * 4)},
            "grpo": {1: run([0.1] * 4 + [0.9], {3: 0.5}), 2: run([0.6] * 4, {3: 0.5})}}
    rows, length = paired_rows(runs)
    assert length == 4 and [r["seed"] for r in rows] == [1, 2]  # seed 9 has no GRPO run; GRPO's 5th iteration cut
    one, two = rows
    # the trailing mean of the first iterations is over those there are: GiGPO's 0.6 at index 0 counts
    assert one["diff iters to 0.6"] == 4 - 0  # GRPO censored at the length 4: positive = GiGPO sooner
    assert one["diff pool mean"] == pytest.approx(0.5) and one["diff held-out greedy"] == pytest.approx(0.5)
    assert two["diff iters to 0.6"] == 0 - 4 and two["diff pool mean"] == pytest.approx(-0.5)
    table = {r["measure"]: r for r in summary_rows(rows)}
    assert table["pool mean"]["sign test +/-/tie"] == "1/1/0" and table["pool mean"]["p"] == 1.0
    assert table["iters to 0.6"]["censored"] == "gigpo 1, grpo 1"


# --- held-out tasks of the study: never in the training pool --------------------------------------------------------
def test_study_held_out_tasks_are_disjoint_from_the_pool_in_seed_and_layout():
    import dataclasses

    import envs
    from envs.household_world import make_layout
    from gigpo.training.demo import demo_config
    from gigpo.training.rank_metrics import eval_task_seeds
    from gigpo.training.trainer import train_task_seeds
    from results.llm_study import EVAL_TASKS, STUDY_SEEDS

    cfg = demo_config(eval_tasks=EVAL_TASKS, eval_every=5)
    pool = {s for seed in STUDY_SEEDS for it in range(20)
            for s in train_task_seeds(dataclasses.replace(cfg, seed=seed), it)}
    held = eval_task_seeds(cfg)
    assert pool == set(range(8)) and len(held) == EVAL_TASKS and not pool & set(held)

    env = envs.make(cfg.env, **cfg.env_options)

    def scene(seed):  # the layout without its seed: two seeds could still draw the same room, objects and goal
        d = dataclasses.asdict(make_layout(seed, env.num_receptacles, env.num_objects, env.closed_share,
                                           env.task_types))
        d.pop("seed")
        return repr(d)

    assert not {scene(s) for s in pool} & {scene(s) for s in held}


# --- the report from run folders: finished runs only, files and figures written ---------------------------------------
def test_write_paired_reports_finished_runs_with_intervals(tmp_path):
    import json

    from results.llm_paired import write_paired

    rng = np.random.default_rng(0)
    for est, shift in (("gigpo", 0.05), ("grpo", 0.0)):
        for seed in range(200, 204):
            run_dir = tmp_path / "runs" / f"{est}-seed{seed}"
            run_dir.mkdir(parents=True)
            iterations = 3 if (est, seed) == ("grpo", 203) else 6  # grpo-seed203 still running: 2 rows of 3
            (run_dir / "config.json").write_text(json.dumps({"iterations": iterations}))
            rows = []
            for i in range(2 if iterations == 3 else 6):
                row = {"iteration": i, "success_rate": float(min(1, 0.3 + 0.08 * i + shift + rng.normal(0, .02))),
                       "mean_length": 8.0, "entropy": 0.6, "approx_kl": 0.02, "early_stopped": 1.0, "update_steps": 4,
                       "adv_episode_abs": 0.2, "adv_step_abs": 0.1, "step_group_share_grouped": 0.9}
                if i % 3 == 2:
                    row.update(eval_greedy_success_rate=0.25, eval_sampled_success_rate=0.125)
                rows.append(row)
            (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    out.mkdir()
    text = write_paired(tmp_path / "runs", prefix="t", out=out, earlier=None)
    assert "3 paired seeds (200, 201, 202), 6 iterations" in text  # the unfinished pair is left out
    assert "| pool mean | 3 |" in text and "3/0/0" in text  # GiGPO ahead on every finished seed
    assert (out / "t_per_seed.csv").read_text().count("\n") == 4
    assert (out / "figures" / "t_seeds.png").stat().st_size > 0 and (out / "figures" / "t_heldout.png").exists()


# --- the dynamic-sampling LLM report (results/llm_dynamic.py): measures worked out by hand ----------------------------
def test_llm_dynamic_counts_episodes_to_the_threshold_and_pools_the_kept_and_dropped_rows():
    from results.llm_dynamic import run_measures as dynamic_measures

    # success 0.5, 0.7, 0.8: trailing-3 means 0.5, 0.6, 0.667 -> the threshold 0.6 at iteration 1; episodes
    # 64 + 192 = 256 by then. Kept rows: 100 with 10% A_E = 0, then 300 with 30% -> (10 + 90) / 400 = 0.25.
    recs = [{"success_rate": 0.5, "episodes_generated": 64, "gen_batches": 1, "filter_capped": 0, "mean_length": 5,
             "kept_rows": 100, "kept_zero_episode_share": 0.1, "kept_nonzero_step_share": 0.5, "dropped_rows": 0,
             "dropped_zero_episode_share": None, "dropped_nonzero_step_share": None},
            {"success_rate": 0.7, "episodes_generated": 192, "gen_batches": 3, "filter_capped": 1, "mean_length": 4,
             "kept_rows": 300, "kept_zero_episode_share": 0.3, "kept_nonzero_step_share": 0.5, "dropped_rows": 50,
             "dropped_zero_episode_share": 1.0, "dropped_nonzero_step_share": 0.2,
             "eval_sampled_success_rate": 0.25},
            {"success_rate": 0.8, "episodes_generated": 64, "gen_batches": 1, "filter_capped": 0, "mean_length": 3,
             "kept_rows": 0, "kept_zero_episode_share": None, "kept_nonzero_step_share": None, "dropped_rows": 0,
             "dropped_zero_episode_share": None, "dropped_nonzero_step_share": None}]
    m = dynamic_measures(recs, 64)
    assert (m["iters to 0.6"], m["censored"], m["episodes to 0.6"], m["episodes"]) == (1, False, 256, 320)
    assert m["kept: A_E = 0"] == pytest.approx(0.25) and m["dropped: A_S != 0"] == pytest.approx(0.2)
    assert m["gen batches / it"] == pytest.approx(5 / 3) and m["capped its"] == pytest.approx(1 / 3)
    assert m["held-out sampled"] == 0.25 and m["length last3"] == 4
    # an unfiltered run of 3 iterations plays 3 x 64 = 192 episodes; this one had played 256 by iteration 1, so its
    # success at that budget is the trailing mean at iteration 0: 0.5
    assert m["success at the unfiltered budget"] == 0.5
    # a run that never reaches 0.6, logged before the sampling metrics: one 64-episode batch per iteration,
    # censored at its length and its episodes plus one batch
    old = dynamic_measures([{"success_rate": 0.1, "mean_length": 9}] * 4, 64)
    assert (old["iters to 0.6"], old["censored"], old["episodes to 0.6"], old["kept: A_E = 0"]) == (4, True, 320, None)
