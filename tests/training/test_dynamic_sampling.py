"""Dynamic sampling (issue 30): the group filters against hand-worked batches, the update-batch rule (trim, cap), the
trainer's update batches and metrics with filtering on, exact resume with filtering on, the lab's filters, the
``dynamic`` preset."""
from pathlib import Path

import numpy as np
import pytest
import torch

import gigpo.training.trainer as trainer_module
from gigpo import gigpo_advantages, grpo_advantages
from gigpo.__main__ import build_parser, config_from_args
from gigpo.estimators.group_filter import kept_dropped_counts, kept_dropped_shares, passing_groups, update_groups
from gigpo.lab import LabConfig
from gigpo.lab.diagnostics import advantage_parts
from gigpo.lab.dynamic_sampling import sample_lab_batch
from gigpo.lab.policy import TabularPolicy
from gigpo.lab.rollout import ACTIONS, Uniforms, draw_tasks, make_runner, play
from gigpo.run_files.metrics import read_metrics, without_measurements
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train, train_task_seeds
from tests.support.tiny_training import TINY, interrupt_policy_update

# Two groups of two rollouts. Group 0: both win (returns 10 and 10), one in 1 step from s0, one in 2 steps via s1:
# no outcome spread, but the two visits of s0 have discounted returns 10 and 0.95 * 10, so A_S != 0 there.
# Group 1: one rollout wins in 1 step (10), one loses in 1 step (0): outcome spread.
GROUPS = [0, 0, 0, 1, 1]
TRAJS = [0, 1, 1, 2, 3]
REWARDS = [10.0, 0.0, 10.0, 10.0, 0.0]
ANCHORS = ["s0", "s0", "s1", "t0", "t0"]


def test_outcome_filter_drops_equal_return_groups_and_advantage_keeps_all_won_groups_with_step_credit():
    assert passing_groups("outcome", GROUPS, TRAJS, REWARDS, num_groups=2).tolist() == [False, True]
    a = gigpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.95)
    assert a[0].abs() > 0.5 and a[1].abs() > 0.5  # the two visits of s0 differ: +-1/sqrt(2) after std norm
    assert passing_groups("advantage", GROUPS, TRAJS, REWARDS, a, num_groups=2).tolist() == [True, True]
    g = grpo_advantages(GROUPS, TRAJS, REWARDS)  # episode-level: the all-won group has A = 0 on every row
    assert passing_groups("advantage", GROUPS, TRAJS, REWARDS, g, num_groups=2).tolist() == [False, True]
    assert passing_groups("none", GROUPS, TRAJS, REWARDS, num_groups=2).tolist() == [True, True]
    # returns that differ only by an invalid-action penalty are a spread; a group without rows never passes
    assert passing_groups("outcome", [0, 0], [0, 1], [10.0, 9.9], num_groups=3).tolist() == [True, False, False]


def test_kept_and_dropped_rows_are_counted_per_side_by_hand():
    # the hand batch under outcome: group 0 (rows 0-2, all won) dropped, group 1 (rows 3-4) kept. A_E = 0 on every
    # row of group 0 (equal returns) and on none of group 1 (returns 10 and 0 around their mean 5); A_S != 0 on the
    # two visits of s0 (10 vs 9.5) and nowhere else (s1 is alone; t0's two visits have returns 10 and 0: A_S != 0).
    a, e, st = (torch.tensor(x) for x in ([0.0, 0.0, 0.0, 1.0, -1.0], [0.0, 0.0, 0.0, 1.0, -1.0],
                                          [0.7, -0.7, 0.0, 1.0, -1.0]))
    counts = kept_dropped_counts(torch.tensor([False, True]), GROUPS, e, st)
    assert counts == {"kept_rows": 2, "kept_zero_episode": 0, "kept_nonzero_step": 2,
                      "dropped_rows": 3, "dropped_zero_episode": 3, "dropped_nonzero_step": 2}
    assert kept_dropped_counts(torch.tensor([False, True]), GROUPS, e, None)["dropped_nonzero_step"] == 0  # no A_S
    shares = kept_dropped_shares(counts)
    assert shares["dropped_zero_episode_share"] == 1.0 and shares["dropped_nonzero_step_share"] == 2 / 3
    assert shares["kept_zero_episode_share"] == 0.0 and shares["kept_rows"] == 2
    every = kept_dropped_shares(kept_dropped_counts(torch.tensor([True, True]), GROUPS, e, st))
    assert every["dropped_rows"] == 0 and every["dropped_zero_episode_share"] is None


def test_filter_errors_name_the_problem():
    with pytest.raises(ValueError, match="filter_groups must be one of"):
        passing_groups("dapo", GROUPS, TRAJS, REWARDS, num_groups=2)
    with pytest.raises(ValueError, match="needs the estimator's advantages"):
        passing_groups("advantage", GROUPS, TRAJS, REWARDS, num_groups=2)
    with pytest.raises(ValueError, match=r"group ids must lie in \[0, num_groups=1\)"):
        passing_groups("outcome", GROUPS, TRAJS, REWARDS, num_groups=1)
    with pytest.raises(ValueError, match="filter_groups must be one of"):
        TrainConfig(filter_groups="dapo")
    with pytest.raises(ValueError, match="max_gen_batches must be an int >= 1"):
        TrainConfig(max_gen_batches=0)
    with pytest.raises(ValueError, match="filter_groups must be one of"):
        LabConfig(filter_groups="dapo")


def test_update_groups_trims_in_generation_order_and_fills_from_the_last_batch_at_the_cap():
    # enough passed: the first 3 in generation order, excess of the last batch dropped
    assert update_groups([[True, False, False], [False, True, True]], 3) == ([(0, 0), (1, 1), (1, 2)], 0)
    assert update_groups([[True, True, True]], 3) == ([(0, 0), (0, 1), (0, 2)], 0)
    # cap hit with 2 of 3 passed: the last batch's first failing group fills in, all in generation order
    assert update_groups([[False, True, False], [False, False, True]], 3) == ([(0, 1), (1, 0), (1, 2)], 1)
    assert update_groups([[False, False]], 2) == ([(0, 0), (0, 1)], 2)


def test_refills_continue_the_iterations_task_draw():
    for pool in (None, 3):
        cfg = TrainConfig(**TINY, task_pool=pool)  # num_groups 2
        assert train_task_seeds(cfg, 4, 6)[:2] == train_task_seeds(cfg, 4)
    cfg = TrainConfig(**TINY, task_pool=3)
    assert sorted(train_task_seeds(cfg, 0, 6)[:3]) == [0, 1, 2]  # shuffled passes: no repeat before the pool is done


def episode_returns(batch):
    """Plain Python: {group: [return of each of its rollouts]}."""
    per_traj = {}
    for g, t, r in zip(batch.group_ids, batch.traj_ids, batch.rewards):
        per_traj.setdefault((g, t), 0.0)
        per_traj[(g, t)] += r
    groups = {}
    for (g, _), ret in sorted(per_traj.items()):
        groups.setdefault(g, []).append(ret)
    return groups


FILTERED = dict(TINY, group_size=4, num_groups=2, iterations=3, eval_every=0, filter_groups="outcome",
                max_gen_batches=3)


def test_outcome_filter_trains_only_on_groups_with_outcome_spread_unless_the_cap_was_hit(tmp_path, monkeypatch):
    real, seen = trainer_module.policy_update, []

    def capture(model, reference, batch, advantages, *args, **kwargs):
        seen.append(batch)
        return real(model, reference, batch, advantages, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_update", capture)
    rows = train(TrainConfig(**FILTERED, output_dir=str(tmp_path / "f")))
    plain = train(TrainConfig(**{**FILTERED, "filter_groups": "none"}, output_dir=str(tmp_path / "n")))
    assert rows[0]["success_rate"] == plain[0]["success_rate"]  # batch 0 is what an unfiltered run plays
    assert sum(r["gen_batches"] for r in rows) > len(rows)  # the scenario refills at least once
    for row, batch in zip(rows, seen):
        groups = episode_returns(batch)
        assert sorted(groups) == [0, 1] and all(len(v) == 4 for v in groups.values())
        flat = [g for g, rets in groups.items() if max(rets) - min(rets) <= 1e-9]
        assert len(flat) == row["groups_unfiltered"] and row["filter_capped"] == int(bool(flat))
        assert row["groups_generated"] == 2 * row["gen_batches"]
        assert row["episodes_generated"] == 8 * row["gen_batches"]
        assert row["filter_capped"] or row["groups_kept"] >= 2
        assert row["filter_capped"] == (row["groups_kept"] < 2) and row["gen_batches"] <= 3
        if row["filter_capped"]:
            assert row["gen_batches"] == 3
        # what the filter removed: groups without spread, A_E = 0 on every row; the rows add up to every batch's
        spread_rows = sum(1 for g in batch.group_ids if g not in flat)
        assert row["kept_rows"] >= spread_rows and row["dropped_rows"] >= len(batch.rewards) - spread_rows
        if row["gen_batches"] == 1 and not row["filter_capped"]:  # every group of batch 0 passed
            assert (row["kept_rows"], row["dropped_rows"]) == (len(batch.rewards), 0)
        if row["dropped_rows"]:
            assert row["dropped_zero_episode_share"] == 1.0
        assert 0 <= row["groups_with_spread"] <= row["groups_with_signal"] <= 2  # GiGPO: spread implies signal
    documented = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    missing = sorted({k for r in rows + plain for k in r if f"`{k}`" not in documented})
    assert not missing, f"docs/metrics.md does not explain {missing}"
    for row in plain:
        assert (row["gen_batches"], row["groups_generated"], row["groups_kept"], row["episodes_generated"],
                row["filter_capped"]) == (1, 2, 2, 8, 0)


@pytest.mark.slow  # three trainings with refills; the trainer's quick resume cases run without filters
def test_a_run_with_filtering_resumes_exactly(tmp_path, monkeypatch):
    cfg = TrainConfig(**{**FILTERED, "iterations": 3, "filter_groups": "advantage"}, checkpoint_every=1,
                      output_dir=str(tmp_path / "a"))
    full = train(cfg)
    cfg_b = cfg.replace(output_dir=str(tmp_path / "b"))
    real = interrupt_policy_update(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_b)
    monkeypatch.setattr(trainer_module, "policy_update", real)
    with pytest.raises(ValueError, match="settings differ.*filter_groups"):
        train(cfg_b.replace(filter_groups="outcome"), resume=True)
    resumed = train(cfg_b, resume=True)
    assert without_measurements(resumed) == without_measurements(full)
    assert without_measurements(read_metrics(cfg_b.output_dir)) == without_measurements(full)
    a = (tmp_path / "a" / "final" / "adapter_model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "final" / "adapter_model.safetensors").read_bytes()


def test_the_dynamic_preset_is_the_paper_recipe_with_dynamic_sampling_and_clip_higher():
    cfg = config_from_args(build_parser().parse_args(["train", "--preset", "dynamic", "--env", "shop"]))
    paper = TrainConfig.paper("shop")
    assert (cfg.filter_groups, cfg.max_gen_batches, cfg.clip_ratio_low, cfg.clip_ratio_high) == ("outcome", 10, 0.2,
                                                                                                 0.28)
    assert cfg.clip_range() == (0.2, 0.28)
    assert cfg.replace(filter_groups="none", clip_ratio_low=None, clip_ratio_high=None,
                       output_dir=paper.output_dir) == paper
    assert TrainConfig.dynamic("household", max_gen_batches=4).max_gen_batches == 4


# --- the lab -------------------------------------------------------------------------------------------------------
HOUSE = dict(env="household", env_options={"num_receptacles": 6, "num_objects": 4})


def lab_sample(filter_groups, estimator="gigpo", beta=3.0, iteration=0, seed=0, max_gen_batches=4):
    """One lab iteration's update batch from a strong prior (most groups all-won), 4 tasks x 4 rollouts."""
    runner = make_runner("household", 4, HOUSE["env_options"], None)
    policy = TabularPolicy(beta)
    cfg = LabConfig(**HOUSE, estimators=[estimator], num_groups=4, group_size=4, output_dir=None)

    def generate(b):
        return play(runner, policy, draw_tasks(seed, iteration, 4, 16, gen_batch=b),
                    Uniforms(seed, ACTIONS, iteration, 4, 4, group_offset=b * 4))

    parts = lambda batch: advantage_parts(estimator, batch, cfg.estimator_kwargs(estimator))  # noqa: E731
    return sample_lab_batch(filter_groups, max_gen_batches, 4, 4, generate, parts), generate, parts


def test_lab_outcome_filter_keeps_only_groups_with_return_spread_and_advantage_keeps_step_credit():
    out, generate, parts = lab_sample("outcome")
    adv, _, _ = lab_sample("advantage")
    none, _, _ = lab_sample("none")
    first = generate(0)
    assert np.array_equal(out.first.state_ids, first.state_ids)  # batch 0 is the unfiltered draw
    assert np.array_equal(none.batch.state_ids, first.state_ids)
    for s in (out, adv):
        rets = {}
        for g, t, r in zip(s.batch.group_ids.tolist(), s.batch.traj_ids.tolist(), s.batch.rewards.tolist()):
            rets.setdefault(g, {}).setdefault(t, 0.0)
            rets[g][t] += r
        flat = sum(max(v.values()) - min(v.values()) <= 1e-9 for v in rets.values())
        assert len(rets) == 4
        if s is out:
            assert s.metrics["groups_unfiltered"] == flat
        # the update batch's advantages are the estimator's on its rows (recomputed on the assembled batch)
        assert torch.allclose(s.advantage.float(), parts(s.batch)[0].float(), atol=1e-5)
    # from this prior nearly every group is all-won: outcome drops them; advantage keeps those where A_S != 0
    assert out.metrics["dropped_rows"] > 0 and out.metrics["dropped_zero_episode_share"] == 1.0
    assert out.metrics["kept_zero_episode_share"] in (0.0, None) or out.metrics["filter_capped"]
    assert adv.metrics["kept_zero_episode_share"] > 0.5 and adv.metrics["kept_nonzero_step_share"] > 0
    assert adv.metrics["dropped_nonzero_step_share"] in (0.0, None)  # A = 0 everywhere there, so A_S = 0 too
    assert adv.metrics["gen_batches"] <= out.metrics["gen_batches"]
    for s in (out, adv, none):
        m = s.metrics
        assert m["groups_generated"] == 4 * m["gen_batches"] and m["episodes_generated"] == 16 * m["gen_batches"]
        assert m["kept_rows"] + m["dropped_rows"] == sum(generate(b).num_rows for b in range(m["gen_batches"]))


def test_lab_runs_log_the_sampling_metrics_and_grpo_advantage_equals_outcome():
    base = dict(**HOUSE, task_pool=16, num_groups=4, group_size=4, iterations=3, seeds=[0], prior_beta=3.0,
                prior_success=None, output_dir=None, estimators=["grpo"])
    from gigpo.lab import run_lab

    out = run_lab(LabConfig(**base, filter_groups="outcome", max_gen_batches=3)).rows
    adv = run_lab(LabConfig(**base, filter_groups="advantage", max_gen_batches=3)).rows
    keys = ("gen_batches", "groups_kept", "episodes_generated", "filter_capped", "success_rate")
    assert [[r[k] for k in keys] for r in out] == [[r[k] for k in keys] for r in adv]
    for r in out:
        assert r["filter_capped"] or r["zero_spread_share"] == 0.0  # the update batch has spread in every group
