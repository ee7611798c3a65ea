"""The skill study (results/skill_study.py): its held-out tasks are unseen in seed and layout, its settings are the
preset's, and its report's tables follow the long-form CSV (numbers worked out by hand)."""
import dataclasses
import math

import pytest

from gigpo.training.config import TrainConfig
from results import skill_study


# --- the recipe ------------------------------------------------------------------------------------------------------
def test_study_runs_are_the_preset_plus_their_setting():
    for setting, changes in (("recipe", {}), ("paper", {"target_kl": None, "kl_coef": 0.01})):
        settings = skill_study.run_settings(setting, "grpo", 301, 4)
        cfg = TrainConfig.from_dict(settings)
        want = TrainConfig.skill(estimator="grpo", seed=301, iterations=4, output_dir=cfg.output_dir, **changes)
        assert cfg == want
    assert skill_study.run_settings("paper", "gigpo", 0, 4)["target_kl"] is None
    with pytest.raises(ValueError, match="setting"):
        skill_study.run_settings("fast", "gigpo", 0, 4)


def test_held_out_tasks_are_disjoint_from_training_in_seed_and_layout():
    """Every task the study trains on (each seed's iteration draws and its warm start's expert episodes, at the
    default length and at twice it) against the 64 held-out tasks: no seed and no layout (room, receptacles,
    objects, placements, goal; the seed left out) in common."""
    import envs
    from envs.household_world import make_layout
    from gigpo.training.rank_metrics import eval_task_seeds
    from gigpo.training.trainer import train_task_seeds

    cfg = TrainConfig.skill()
    train = set()
    for seed in skill_study.SEEDS:
        run = dataclasses.replace(cfg, seed=seed)
        train |= {s for it in range(2 * cfg.iterations) for s in train_task_seeds(run, it)}
        train |= set(train_task_seeds(run, 0, count=cfg.warm_start_episodes, stream=1))
    held = eval_task_seeds(cfg)
    assert len(held) == 64 and len(train) > 2 * len(skill_study.SEEDS) * cfg.iterations * cfg.num_groups * 0.9
    assert max(train) < cfg.eval_seed_offset <= min(held) and not train & set(held)

    env = envs.make(cfg.env, **cfg.env_options)

    def scene(seed):
        d = dataclasses.asdict(make_layout(seed, env.num_receptacles, env.num_objects, env.closed_share,
                                           env.task_types))
        d.pop("seed")
        return repr(d)

    held_scenes = {scene(s) for s in held}
    assert len(held_scenes) == 64  # 64 different held-out tasks
    assert not {scene(s) for s in train} & held_scenes


# --- the CSV and the report ------------------------------------------------------------------------------------------
WARM = {300: (0.25, 0.20), 301: (0.10, 0.15), 302: (0.30, 0.30)}
LAST = {  # (setting, estimator, seed) -> (held-out greedy, sampled, train success) at iteration 20
    ("recipe", "gigpo", 300): (0.50, 0.40, 0.60), ("recipe", "grpo", 300): (0.40, 0.35, 0.50),
    ("recipe", "gigpo", 301): (0.30, 0.30, 0.40), ("recipe", "grpo", 301): (0.35, 0.30, 0.45),
    ("recipe", "gigpo", 302): (0.45, 0.40, 0.55), ("recipe", "grpo", 302): (0.30, 0.25, 0.50),
    ("paper", "gigpo", 300): (0.20, 0.20, 0.30), ("paper", "grpo", 300): (0.20, 0.25, 0.30),
    ("paper", "gigpo", 301): (0.15, 0.10, 0.20),  # paper/grpo/301 did not finish: one paired seed only
}


def fake_records(greedy_mid, last, iterations=20, every=10):
    """Metrics rows of a finished run: success 0.1 x (iteration mod 3), evaluations after iterations 10 and 20."""
    recs = []
    for i in range(iterations):
        rec = {"iteration": i, "success_rate": 0.1 * (i % 3), "early_stopped": float(i % 4 == 0),
               "adv_abs": 0.5, "adv_episode_abs": 0.4, "adv_step_abs": 0.1 * (i % 2), "approx_kl": 0.01,
               "time_iteration": 10.0 + i}
        if (i + 1) % every == 0:
            g, s = (greedy_mid, greedy_mid) if i + 1 < iterations else last[:2]
            rec.update(eval_greedy_success_rate=g, eval_sampled_success_rate=s)
        recs.append(rec)
    return recs


def test_run_rows_average_each_window_by_hand():
    rows = skill_study.run_rows("recipe", "gigpo", 300, {"eval_greedy_success_rate": 0.25,
                                                         "eval_sampled_success_rate": 0.2},
                                fake_records(0.3, (0.5, 0.4)))
    assert [r["iteration"] for r in rows] == [0, 10, 20]
    assert rows[0]["heldout_greedy"] == 0.25 and rows[0]["train_success"] is None
    assert (rows[1]["heldout_greedy"], rows[2]["heldout_greedy"], rows[2]["heldout_sampled"]) == (0.3, 0.5, 0.4)
    # iterations 0-9: success 0,.1,.2,0,.1,.2,0,.1,.2,0 -> 0.9/10; early stops at 0,4,8 -> 3/10; seconds 10..19
    assert rows[1]["train_success"] == pytest.approx(0.09) and rows[1]["early_stop_share"] == pytest.approx(0.3)
    assert rows[1]["seconds_per_iteration"] == pytest.approx(14.5) and rows[1]["adv_step_abs"] == pytest.approx(0.05)
    # iterations 10-19: success .1,.2,0,.1,.2,0,.1,.2,0,.1 -> 1.0/10; early stops at 12,16 -> 2/10
    assert rows[2]["train_success"] == pytest.approx(0.1) and rows[2]["early_stop_share"] == pytest.approx(0.2)


def write_fake_csv(path):
    rows = []
    for (setting, est, seed), last in LAST.items():
        warm = {"eval_greedy_success_rate": WARM[seed][0], "eval_sampled_success_rate": WARM[seed][1]}
        recs = fake_records(0.0, last)
        recs[-1]["success_rate"] = last[2]  # the last window's training success is then (sum of 9 + last) / 10
        rows += skill_study.run_rows(setting, est, seed, warm, recs)
    skill_study.write_rows(rows, path)
    return rows


def test_report_tables_follow_the_csv(tmp_path):
    path = tmp_path / "skill.csv"
    written = write_fake_csv(path)
    rows = skill_study.read_rows(path)
    assert len(rows) == len(written) == 3 * len(LAST)
    assert rows[0]["seed"] == 300 and rows[0]["train_success"] is None and rows[1]["iteration"] == 10

    table = {r["estimator"]: r for r in skill_study.estimator_table(rows, "recipe")}
    g = table["gigpo"]
    assert g["seeds"] == 3 and g["iteration"] == 20
    assert g["warm held-out greedy"] == pytest.approx((0.25 + 0.10 + 0.30) / 3)
    assert g["held-out greedy"] == pytest.approx((0.50 + 0.30 + 0.45) / 3)
    assert g["gain greedy"] == pytest.approx(((0.50 - 0.25) + (0.30 - 0.10) + (0.45 - 0.30)) / 3)
    assert table["grpo"]["held-out sampled"] == pytest.approx((0.35 + 0.30 + 0.25) / 3)
    # last window, iterations 10-19: success .1,.2,0,.1,.2,0,.1,.2,0 (sum 0.9) then the run's last value
    assert g["train success"] == pytest.approx(sum((0.9 + v[2]) / 10 for k, v in LAST.items()
                                                   if k[:2] == ("recipe", "gigpo")) / 3)
    assert g["gain sampled"] == pytest.approx(((0.40 - 0.20) + (0.30 - 0.15) + (0.40 - 0.30)) / 3)
    low, high = (float(x) for x in g["gain greedy 95% interval"].strip("[]").split(", "))
    assert 0.15 <= low <= g["gain greedy"] <= high <= 0.25  # a bootstrap of the mean of 0.25, 0.20, 0.15

    paired = {r["measure"]: r for r in skill_study.paired_table(rows, "recipe")}
    greedy = paired["held-out greedy"]  # diffs 0.10, -0.05, 0.15
    assert greedy["seeds"] == 3 and greedy["diff"] == pytest.approx(0.2 / 3)
    assert greedy["gigpo"] == pytest.approx(1.25 / 3) and greedy["grpo"] == pytest.approx(1.05 / 3)
    assert greedy["sign test"] == "2/1/0, p = 1"
    low, high = (float(x) for x in greedy["95% interval"].strip("[]").split(", "))
    assert -0.05 <= low <= 0.2 / 3 <= high <= 0.15  # a bootstrap of the mean lies within the sample's range
    sampled = paired["held-out sampled"]  # diffs 0.05, 0, 0.15: one tie
    assert sampled["diff"] == pytest.approx(0.2 / 3) and sampled["sign test"] == "2/0/1, p = 0.5"
    assert skill_study.paired_table(rows, "paper") == []  # one paired seed: no interval

    curve = {(r["estimator"], r["iteration"]): r for r in skill_study.curve_table(rows, "paper")}
    assert sorted(curve) == [("gigpo", 0), ("gigpo", 10), ("gigpo", 20), ("grpo", 0), ("grpo", 10), ("grpo", 20)]
    assert curve[("gigpo", 0)]["seeds"] == 2 and curve[("gigpo", 0)]["held-out greedy"] == pytest.approx(0.35 / 2)
    assert curve[("gigpo", 20)]["held-out sampled"] == pytest.approx(0.15) and curve[("grpo", 10)]["seeds"] == 1
    assert curve[("gigpo", 0)]["train success"] is None and curve[("grpo", 10)]["held-out greedy"] == 0.0

    text = skill_study.report(rows)
    assert "## Setting `recipe`" in text and "## Setting `paper`" in text and "fewer than 2 seeds" in text
    assert "| held-out greedy | 3 | 0.417 | 0.350 | 0.067 |" in text
    assert "| gigpo | 0 | 2 | 0.175 | 0.175 | - |" in text  # paper's curve: the warm starts of 300 and 301
    assert math.isclose(float(text.split("| gigpo | 3 | 20 | ")[1].split(" |")[0]), 0.65 / 3, abs_tol=5e-4)


def write_fake_study(root, runs):
    """A study folder: the warm starts' held-out figures (WARM) and, per ``(estimator, seed) -> (iterations in its
    config, its last evaluation)``, a ``recipe`` run whose metrics are ``fake_records(0.2, last)`` (20 rows)."""
    import json

    for seed in sorted({seed for _, seed in runs}):
        (root / f"warm-seed{seed}").mkdir(parents=True)
        (root / f"warm-seed{seed}" / "heldout.json").write_text(json.dumps(
            {"eval_greedy_success_rate": WARM[seed][0], "eval_sampled_success_rate": WARM[seed][1]}))
    for (est, seed), (iterations, last) in runs.items():
        run = root / "recipe" / f"{est}-seed{seed}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"iterations": iterations}))
        with open(run / "metrics.jsonl", "w") as f:
            for rec in fake_records(0.2, last):
                f.write(json.dumps(rec) + "\n")


def test_collect_keeps_finished_runs_only(tmp_path):
    root = tmp_path / "runs"
    write_fake_study(root, {(est, seed): (30 if (est, seed) == ("grpo", 301) else 20, (0.4, 0.3))  # 20 of 30 done
                            for est in ("gigpo", "grpo") for seed in (300, 301)})
    rows = skill_study.collect(root)
    assert sorted({(r["estimator"], r["seed"]) for r in rows}) == [("gigpo", 300), ("gigpo", 301), ("grpo", 300)]
    assert [r["heldout_greedy"] for r in rows if (r["estimator"], r["seed"]) == ("gigpo", 301)] == [0.10, 0.2, 0.4]


def test_notebook_04_trains_the_study_runs_exactly():
    """Notebook 04 passes ``train_overrides`` plus env, estimator, seed and iterations to notebook 03, whose other
    parameters default to the demo's: the overrides must name every other field, and give each run's config."""
    params = skill_study.notebook_parameters(skill_study.ROOT / "runs" / "s", "paper", ["gigpo", "grpo"], [300, 301], 7)
    assert params["output_dir"].endswith("runs/s/paper") and params["iterations"] == 7
    over = params["train_overrides"]
    assert set(over) | {"env", "estimator", "seed", "iterations", "output_dir", "progress"} == set(
        TrainConfig.field_names())
    for est in params["estimators"]:
        for seed in params["seeds"]:
            nb = TrainConfig.from_dict({**over, "env": params["env"], "estimator": est, "seed": seed,
                                        "iterations": 7, "progress": False, "output_dir": "x"})
            run = TrainConfig.from_dict({**skill_study.run_settings("paper", est, seed, 7), "progress": False,
                                         "output_dir": "x"})
            assert nb == run and nb.kl_coef == 0.01 and nb.target_kl is None


def test_the_figure_draws_the_csv(tmp_path):
    """The held-out figure's mean curves are the CSV's means by evaluation (worked out from WARM and LAST)."""
    write_fake_csv(tmp_path / "s.csv")
    rows = skill_study.read_rows(tmp_path / "s.csv")
    fig = skill_study.heldout_figure(rows, "recipe")
    means = {(t.name, t.xaxis): list(t.y) for t in fig.data if t.name.endswith(" mean")}
    assert list(next(t for t in fig.data if t.name == "gigpo mean").x) == [0, 10, 20]
    assert means["gigpo mean", "x"] == pytest.approx([(0.25 + 0.10 + 0.30) / 3, 0.0, (0.50 + 0.30 + 0.45) / 3])
    assert means["grpo mean", "x2"] == pytest.approx([(0.20 + 0.15 + 0.30) / 3, 0.0, (0.35 + 0.30 + 0.25) / 3])
    assert [p.name for p in skill_study.save_figures(rows, tmp_path)] == ["skill_study_recipe_heldout.png",
                                                                         "skill_study_paper_heldout.png"]


def test_diagnostics_cover_whole_runs_and_split_by_outcome(tmp_path):
    """fake_records: early stops at iterations 0, 4, 8, 12, 16 of 20 -> 0.25 per run; |A_S| 0.1 on odd iterations
    -> 0.05; GiGPO leads GRPO on seeds 300 and 302 (0.50 vs 0.40, 0.45 vs 0.30) and trails on 301 (0.30 vs 0.35)."""
    write_fake_csv(tmp_path / "s.csv")
    rows = skill_study.read_rows(tmp_path / "s.csv")
    for r in rows:  # GiGPO's seed 301 stopped early in every iteration of its second window
        if (r["setting"], r["estimator"], r["seed"], r["iteration"]) == ("recipe", "gigpo", 301, 20):
            r["early_stop_share"] = 1.0
    table = {r["estimator"]: r for r in skill_study.diagnostics_table(rows, "recipe")}
    g, p = table["gigpo"], table["grpo"]
    assert g["seeds"] == p["seeds"] == 3
    assert p["early-stop share"] == pytest.approx(0.25) and p["mean abs A_S"] == pytest.approx(0.05)
    assert g["early-stop share"] == pytest.approx((0.25 + 0.25 + (0.3 + 1.0) / 2) / 3)
    assert g["early-stop share, seeds ahead"] == pytest.approx(0.25)
    assert g["early-stop share, seeds behind"] == pytest.approx(0.65)
    assert p["early-stop share, seeds ahead"] is None and g["mean abs A"] == pytest.approx(0.5)
    assert "the update over whole runs" in skill_study.report(rows)


def test_one_command_collects_and_reports_finished_runs(tmp_path):
    """``all`` over a study whose runs are finished trains nothing (no warm start is built) and writes the CSV, the
    report and the figure; the CSV's held-out figures are the runs' own."""
    root = tmp_path / "runs"
    write_fake_study(root, {(est, seed): (20, LAST["recipe", est, seed])
                            for est in ("gigpo", "grpo") for seed in (300, 301)})
    csv_path, md = tmp_path / "s.csv", tmp_path / "s.md"
    assert skill_study.main(["all", "--settings", "recipe", "--seeds", "300", "301", "--iterations", "20", "--runs",
                             str(root), "--csv", str(csv_path), "--md", str(md), "--figures", str(tmp_path)]) == 0
    rows = skill_study.read_rows(csv_path)
    assert {(r["estimator"], r["seed"], r["iteration"], r["heldout_greedy"]) for r in rows if r["iteration"] == 20} \
        == {("gigpo", 300, 20, 0.50), ("grpo", 300, 20, 0.40), ("gigpo", 301, 20, 0.30), ("grpo", 301, 20, 0.35)}
    assert "| held-out greedy | 2 |" in md.read_text() and (tmp_path / "skill_study_recipe_heldout.png").exists()
    assert not (root / "warm-seed300" / "warm_start").exists()


def test_per_seed_table_follows_the_csv(tmp_path):
    write_fake_csv(tmp_path / "s.csv")
    rows = skill_study.read_rows(tmp_path / "s.csv")
    table = skill_study.per_seed_table(rows, "recipe")
    assert [r["seed"] for r in table] == [300, 301, 302]
    assert table[1] == pytest.approx({"seed": 301, "warm held-out greedy": 0.10, "gigpo": 0.30, "grpo": 0.35,
                                      "gigpo gain": 0.20, "grpo gain": 0.25, "gigpo - grpo": -0.05})
    assert skill_study.per_seed_table(rows, "paper") == [{"seed": 300, "warm held-out greedy": 0.25, "gigpo": 0.20,
                                                          "grpo": 0.20, "gigpo gain": pytest.approx(-0.05),
                                                          "grpo gain": pytest.approx(-0.05), "gigpo - grpo": 0.0}]
    assert "held-out greedy success per seed" in skill_study.report(rows)


@pytest.mark.parametrize("stem, title", [("skill_study", "Skill study"),
                                         ("skill_study_pilot", "Skill study: pilot (not the study)")])
def test_the_committed_reports_are_their_csvs(stem, title):
    """results/<stem>.md is exactly what ``report`` computes from results/<stem>.csv: no number was typed in."""
    rows = skill_study.read_rows(skill_study.RESULTS / f"{stem}.csv")
    assert skill_study.report(rows, title) == (skill_study.RESULTS / f"{stem}.md").read_text()
