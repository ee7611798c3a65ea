"""The skill study: GiGPO vs GRPO (and RLOO) on :meth:`TrainConfig.skill`, judged on held-out tasks.

    python results/skill_study.py all      # the three below in one command (resumable)
    python results/skill_study.py study    # runs (resumable): settings x estimators x seeds 300-309
    python results/skill_study.py collect  # the finished runs -> results/skill_study.csv (long form)
    python results/skill_study.py report   # results/skill_study.csv -> results/skill_study.md
    python results/skill_study.py notebook # notebook 04 over the finished runs of a setting (papermill)

The pilot of results/README.md ("A benchmark that measures a skill"): ``study --settings recipe --seeds 300 301``,
then ``collect --csv results/skill_study_pilot.csv`` and ``report --csv results/skill_study_pilot.csv --md
results/skill_study_pilot.md --title "Skill study: pilot"``.

The protocol of ``results/llm_study.py`` (whose run launcher, flags and statistics this imports) on a recipe whose
training tasks are drawn fresh every iteration, so training success cannot come from memorising a pool: paired seeds
(every estimator of a seed starts from the same warm start and plays the same task draws), held-out success on 64
unseen tasks as the primary measure, percentile-bootstrap intervals and exact sign tests over the seeds. Two
optimisation settings: ``recipe`` (the preset as it is: minibatches of 64 in one pass, PPO's target-KL stop at 0.1,
no KL loss) and ``paper`` (one pass, no target-KL stop, the k3 KL loss at the paper's 0.01).

Runs go to ``<runs>/<setting>/<estimator>-seed<k>/``; the warm start of seed k is trained once in
``<runs>/warm-seed<k>/`` (it depends on the seed only) and copied into each run, and its own held-out evaluation is
``<runs>/warm-seed<k>/heldout.json``: the CSV's iteration 0, the baseline every run of the seed starts from.
Running ``study`` again continues interrupted runs from their checkpoints and skips finished ones.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import sys
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gigpo.training.config import TrainConfig  # noqa: E402
from results.llm_paired import fmt  # noqa: E402
from results.llm_paired_stats import bootstrap_mean_interval, sign_test  # noqa: E402
from results.llm_study import run_all  # noqa: E402

RESULTS = ROOT / "results"
SEEDS, ESTIMATORS = tuple(range(300, 310)), ("gigpo", "grpo")
# The two optimisation settings, as changes to the preset.
SETTINGS = {"recipe": {}, "paper": {"target_kl": None, "kl_coef": 0.01}}
# The long-form CSV: one row per (setting, estimator, seed, evaluation); iteration = updates done (0: the warm start).
# train_success / early_stop_share / adv_*: means over the iterations since the previous evaluation.
COLUMNS = ("setting", "estimator", "seed", "iteration", "heldout_greedy", "heldout_sampled", "train_success",
           "early_stop_share", "adv_abs", "adv_episode_abs", "adv_step_abs", "approx_kl", "seconds_per_iteration")
WINDOW_KEYS = {"train_success": "success_rate", "early_stop_share": "early_stopped", "adv_abs": "adv_abs",
               "adv_episode_abs": "adv_episode_abs", "adv_step_abs": "adv_step_abs", "approx_kl": "approx_kl",
               "seconds_per_iteration": "time_iteration"}


def recipe_settings(**changes) -> dict:
    """The skill preset's fields that differ from ``TrainConfig()``'s defaults, then ``changes`` (the CLI flags of a
    run; ``output_dir`` is set per run)."""
    skill, default = dataclasses.asdict(TrainConfig.skill()), dataclasses.asdict(TrainConfig())
    out = {k: v for k, v in skill.items() if v != default[k] and k != "output_dir"}
    return {**out, **changes}


def run_settings(setting: str, estimator: str, seed: int, iterations: int) -> dict:
    """One run's settings: the preset, the optimisation setting, its estimator, seed and length."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; expected one of {tuple(SETTINGS)}")
    return recipe_settings(**SETTINGS[setting], estimator=estimator, seed=seed, iterations=iterations)


def warm_start(root: Path, seed: int) -> Path:
    """Train seed ``seed``'s warm start once (``<root>/warm-seed<k>``), evaluate it on the held-out tasks once
    (``heldout.json``) and return the folder runs copy it from."""
    from gigpo.training.trainer import build_policy
    from gigpo.training.warm_start import saved_warm_start

    out = root / f"warm-seed{seed}"
    cfg = TrainConfig.skill(seed=seed, output_dir=str(out))
    if saved_warm_start(out, cfg) is None:  # only a complete save with these settings counts as done
        out.mkdir(parents=True, exist_ok=True)
        build_policy(cfg, out, "cpu")  # seeds its own draws: the same weights as an unshared run
    if not (out / "heldout.json").exists():
        tmp = out / "heldout.json.tmp"
        tmp.write_text(json.dumps(evaluate_saved(cfg, out / "warm_start")))
        tmp.replace(out / "heldout.json")
    return out / "warm_start"


def evaluate_saved(cfg: TrainConfig, model_dir: Path) -> dict[str, float]:
    """The trainer's held-out evaluation (greedy and sampled, ``cfg.eval_tasks`` tasks) of the model in
    ``model_dir``; the sampled one draws from the evaluation stream of iteration 0, which no run evaluates at (runs
    evaluate after iterations eval_every - 1, 2 eval_every - 1, ...)."""
    from gigpo.policy.hf_backend import HFBackend
    from gigpo.training.rank_metrics import evaluate
    from gigpo.training.systems.models import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(str(model_dir), device="cpu", dtype="float32")
    backend = HFBackend(model.eval(), tokenizer, max_prompt_tokens=cfg.max_prompt_tokens,
                        token_budget=cfg.scoring_token_budget)
    return evaluate(cfg, backend, 0)


def jobs_for(root: Path, settings, estimators, seeds, iterations: int) -> list:
    """``run_all``'s jobs, seed by seed (a seed's warm start trains just before its first run)."""
    jobs = []
    for seed in seeds:
        warm = partial(warm_start, root, seed)
        jobs += [(root / setting / f"{est}-seed{seed}", run_settings(setting, est, seed, iterations), warm)
                 for setting in settings for est in estimators]
    return jobs


def notebook_parameters(root: Path, setting: str, estimators, seeds, iterations: int) -> dict:
    """Notebook 04's papermill parameters that read back the finished runs of ``setting`` (its ``reuse_runs``) and,
    for a run not there, train it through notebook 03 with the study's own settings."""
    fixed = ("env", "estimator", "seed", "iterations", "output_dir", "progress")  # notebook 04 sets these per run
    every_field = dataclasses.asdict(TrainConfig.from_dict(run_settings(setting, estimators[0], seeds[0], iterations)))
    overrides = {k: v for k, v in every_field.items() if k not in fixed}  # all of them: 03's defaults are the demo's
    return {"output_dir": str(root / setting), "env": "household", "estimators": list(estimators),
            "seeds": list(seeds), "iterations": iterations, "last_k": 1, "train_overrides": overrides}


# --- the long-form CSV ------------------------------------------------------------------------------------------------
def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def run_rows(setting: str, estimator: str, seed: int, warm: dict, records: list[dict]) -> list[dict]:
    """A finished run's CSV rows: iteration 0 (the warm start's held-out evaluation ``warm``), then one row per
    evaluation after ``iteration`` updates, with the training figures averaged over the iterations since the
    previous evaluation."""
    base = {"setting": setting, "estimator": estimator, "seed": seed}
    rows = [{**base, "iteration": 0, "heldout_greedy": warm["eval_greedy_success_rate"],
             "heldout_sampled": warm["eval_sampled_success_rate"], **{k: None for k in WINDOW_KEYS}}]
    start = 0
    for i, rec in enumerate(records):
        if "eval_greedy_success_rate" not in rec:
            continue
        window = records[start:i + 1]
        rows.append({**base, "iteration": rec["iteration"] + 1, "heldout_greedy": rec["eval_greedy_success_rate"],
                     "heldout_sampled": rec["eval_sampled_success_rate"],
                     **{k: _mean([r.get(key) for r in window]) for k, key in WINDOW_KEYS.items()}})
        start = i + 1
    return rows


def collect(root: Path, settings=tuple(SETTINGS), estimators=ESTIMATORS + ("rloo",)) -> list[dict]:
    """The CSV rows of every finished run under ``root`` (a run still going or cut short is left out)."""
    from results.llm_report import load

    rows = []
    for setting in settings:
        runs = load(root / setting, estimators) if (root / setting).is_dir() else {}
        for est in estimators:
            for seed, records in sorted(runs.get(est, {}).items()):
                warm = json.loads((root / f"warm-seed{seed}" / "heldout.json").read_text())
                rows += run_rows(setting, est, seed, warm, records)
    return rows


def write_rows(rows: list[dict], path: Path) -> Path:
    if not rows:
        raise ValueError("no finished run: nothing to write")
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: ("" if row[k] is None else row[k]) for k in COLUMNS} for row in rows)
    return path


def read_rows(path: Path) -> list[dict]:
    """The CSV back, numbers as numbers (empty cells: None)."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for k in COLUMNS[2:]:
            row[k] = None if row[k] == "" else (int(row[k]) if k in ("seed", "iteration") else float(row[k]))
    return rows


# --- the report (from the CSV alone) ----------------------------------------------------------------------------------
def last_rows(rows: list[dict], setting: str) -> dict[str, dict[int, dict]]:
    """estimator -> seed -> its row at the last evaluation of the setting's runs."""
    out: dict[str, dict[int, dict]] = {}
    for row in rows:
        if row["setting"] != setting:
            continue
        best = out.setdefault(row["estimator"], {}).get(row["seed"])
        if best is None or row["iteration"] > best["iteration"]:
            out[row["estimator"]][row["seed"]] = row
    return out


def warm_rows(rows: list[dict]) -> dict[int, dict]:
    """seed -> its warm start's row (iteration 0; the same for every run of the seed)."""
    return {r["seed"]: r for r in rows if r["iteration"] == 0}


def estimator_table(rows: list[dict], setting: str) -> list[dict]:
    """Per estimator: seeds, the warm start's and the last evaluation's held-out success (means over seeds), the
    gain over the warm start with its bootstrap 95% interval over seeds, the last window's training success and wall
    seconds per iteration (the update's diagnostics over whole runs: :func:`diagnostics_table`)."""
    last, warm = last_rows(rows, setting), warm_rows(rows)
    out = []
    for est, by_seed in last.items():
        seeds = sorted(by_seed)
        lasts = [by_seed[s] for s in seeds]
        gains = {key: [r[key] - warm[s][key] for s, r in zip(seeds, lasts)]
                 for key in ("heldout_greedy", "heldout_sampled")}
        low, high = bootstrap_mean_interval(gains["heldout_greedy"])[1:] if len(seeds) > 1 else (None, None)
        out.append({"estimator": est, "seeds": len(seeds), "iteration": max(r["iteration"] for r in lasts),
                    "warm held-out greedy": _mean([warm[s]["heldout_greedy"] for s in seeds]),
                    "held-out greedy": _mean([r["heldout_greedy"] for r in lasts]),
                    "gain greedy": _mean(gains["heldout_greedy"]),
                    "gain greedy 95% interval": None if low is None else f"[{low:.3f}, {high:.3f}]",
                    "warm held-out sampled": _mean([warm[s]["heldout_sampled"] for s in seeds]),
                    "held-out sampled": _mean([r["heldout_sampled"] for r in lasts]),
                    "gain sampled": _mean(gains["heldout_sampled"]),
                    "train success": _mean([r["train_success"] for r in lasts]),
                    "wall s/iteration": _mean([r["seconds_per_iteration"] for r in lasts])})
    return out


def curve_table(rows: list[dict], setting: str) -> list[dict]:
    """Per estimator and evaluation: seeds, mean held-out success (greedy, sampled) and the last window's training
    success, iteration 0 being the warm start of the same seeds."""
    cells: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        if row["setting"] == setting:
            cells.setdefault((row["estimator"], row["iteration"]), []).append(row)
    return [{"estimator": est, "iteration": it, "seeds": len(group),
             "held-out greedy": _mean([r["heldout_greedy"] for r in group]),
             "held-out sampled": _mean([r["heldout_sampled"] for r in group]),
             "train success": _mean([r["train_success"] for r in group])}
            for (est, it), group in sorted(cells.items())]


def paired_table(rows: list[dict], setting: str, a: str = "gigpo", b: str = "grpo") -> list[dict]:
    """``a`` minus ``b`` over the seeds both finished, at the last evaluation: means, the mean difference, its
    bootstrap 95% interval and the sign test, for held-out greedy / sampled success and training success."""
    last = last_rows(rows, setting)
    seeds = sorted(set(last.get(a, {})) & set(last.get(b, {})))
    if len(seeds) < 2:
        return []
    out = []
    for name, key in (("held-out greedy", "heldout_greedy"), ("held-out sampled", "heldout_sampled"),
                      ("train success", "train_success")):
        va, vb = [last[a][s][key] for s in seeds], [last[b][s][key] for s in seeds]
        diffs = [x - y for x, y in zip(va, vb)]
        mean, low, high = bootstrap_mean_interval(diffs)
        wins, losses, ties, p = sign_test(diffs)
        out.append({"measure": name, "seeds": len(seeds), a: statistics.mean(va), b: statistics.mean(vb),
                    "diff": mean, "95% interval": f"[{low:.3f}, {high:.3f}]",
                    "sign test": f"{wins}/{losses}/{ties}, p = {p:.3g}"})
    return out


def runs_of(rows: list[dict], setting: str) -> dict[str, dict[int, list[dict]]]:
    """estimator -> seed -> the setting's rows of that run, by iteration (0: the warm start)."""
    runs: dict[str, dict[int, list[dict]]] = {}
    for r in sorted((r for r in rows if r["setting"] == setting), key=lambda r: r["iteration"]):
        runs.setdefault(r["estimator"], {}).setdefault(r["seed"], []).append(r)
    return runs


def per_seed_table(rows: list[dict], setting: str, a: str = "gigpo", b: str = "grpo") -> list[dict]:
    """Per seed (both ``a`` and ``b`` finished): the warm start's held-out greedy success, each estimator's at the last
    evaluation and its gain over the warm start, and ``a`` minus ``b``."""
    last, warm = last_rows(rows, setting), warm_rows(rows)
    out = []
    for seed in sorted(set(last.get(a, {})) & set(last.get(b, {}))):
        ga, gb = (last[e][seed]["heldout_greedy"] for e in (a, b))
        w = warm[seed]["heldout_greedy"]
        out.append({"seed": seed, "warm held-out greedy": w, a: ga, b: gb, f"{a} gain": ga - w, f"{b} gain": gb - w,
                    f"{a} - {b}": ga - gb})
    return out


def diagnostics_table(rows: list[dict], setting: str, a: str = "gigpo", b: str = "grpo") -> list[dict]:
    """Per estimator, over whole runs (every evaluation window; windows are equally long, so their mean is the run's
    mean): the share of iterations PPO's target-KL stop cut short, mean |A|, |A_E|, |A_S| and the approximate KL.
    For ``a``, the early-stop share again on the seeds where it ends ahead of ``b`` and where it ends behind
    (held-out greedy at the last evaluation), the split the earlier LLM study's diagnostics looked at."""
    last, runs = last_rows(rows, setting), runs_of(rows, setting)

    def run_mean(windows, key):  # iteration 0 (the warm start) has no window figures: _mean skips its None
        return _mean([w[key] for w in windows])

    def over_seeds(est, key, seeds=None):
        by_seed = runs[est]
        return _mean([run_mean(by_seed[s], key) for s in (by_seed if seeds is None else seeds)])

    out = []
    for est in runs:
        row = {"estimator": est, "seeds": len(runs[est]), "early-stop share": over_seeds(est, "early_stop_share"),
               "mean abs A": over_seeds(est, "adv_abs"), "mean abs A_E": over_seeds(est, "adv_episode_abs"),
               "mean abs A_S": over_seeds(est, "adv_step_abs"), "approx KL": over_seeds(est, "approx_kl"),
               "early-stop share, seeds ahead": None, "early-stop share, seeds behind": None}
        if est == a and b in last:
            diff = {s: last[a][s]["heldout_greedy"] - last[b][s]["heldout_greedy"] for s in set(last[a]) & set(last[b])}
            ahead, behind = [s for s, d in diff.items() if d > 0], [s for s, d in diff.items() if d < 0]
            row["early-stop share, seeds ahead"] = over_seeds(a, "early_stop_share", ahead) if ahead else None
            row["early-stop share, seeds behind"] = over_seeds(a, "early_stop_share", behind) if behind else None
        out.append(row)
    return out


def _cells(table: list[dict]) -> list[dict]:
    return [{k: "-" if v is None else fmt(v) for k, v in r.items()} for r in table]


def report(rows: list[dict], title: str = "Skill study") -> str:
    """The markdown report of the CSV rows: per setting, the estimator table and the paired GiGPO - GRPO table."""
    from gigpo.notebook.metrics_io import to_markdown

    text = [f"# {title}\n",
            "Computed from the long-form CSV alone (`results/skill_study.py report`). Held-out: 64 unseen tasks, one "
            "greedy and one sampled (T = 0.4) episode each; iteration 0 is the warm start. Paired differences: "
            "GiGPO minus GRPO at the last evaluation; interval: percentile bootstrap over seeds (10k resamples, "
            "seed 29); sign test: GiGPO ahead / behind / tied, exact two-sided binomial, ties dropped.\n"]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        table = estimator_table(rows, setting)
        text += [f"\n## Setting `{setting}`\n", to_markdown(_cells(table))]
        paired = paired_table(rows, setting)
        if paired:
            text += ["\n", to_markdown(_cells(paired))]
            text += [f"\n### `{setting}`: held-out greedy success per seed, at the last evaluation\n",
                     to_markdown(_cells(per_seed_table(rows, setting)))]
        else:
            text += ["\nNo paired comparison: fewer than 2 seeds with both gigpo and grpo finished.\n"]
        text += [f"\n### `{setting}`: the update over whole runs (means over seeds)\n",
                 to_markdown(_cells(diagnostics_table(rows, setting)))]
        text += [f"\n### `{setting}`: held-out success at each evaluation (means over seeds)\n",
                 to_markdown(_cells(curve_table(rows, setting)))]
    return "\n".join(text)


def heldout_figure(rows: list[dict], setting: str):
    """Held-out success, greedy and sampled, at each evaluation of ``setting`` (iteration 0: the warm start): per
    estimator the mean over its seeds with a band of +-1 std, from the CSV rows."""
    from plotly.subplots import make_subplots

    from gigpo.notebook import plots

    fig = make_subplots(rows=1, cols=2, subplot_titles=["held-out, greedy", "held-out, sampled (T=0.4)"],
                        shared_yaxes=True)
    runs = {est: list(by_seed.values()) for est, by_seed in runs_of(rows, setting).items()}
    for col, key in enumerate(("heldout_greedy", "heldout_sampled"), start=1):
        part = plots.curves_with_spread(runs, key)
        for trace in part.data:
            trace.showlegend = col == 1
            fig.add_trace(trace, row=1, col=col)
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_xaxes(title_text="updates (0: the warm start)")
    seeds = len({r["seed"] for r in rows if r["setting"] == setting})
    fig.update_layout(height=420, title=dict(text=f"skill recipe, setting {setting!r}: success on 64 unseen tasks, "
                                                  f"mean and spread over {seeds} seeds"))
    return fig


def save_figures(rows: list[dict], out: Path) -> list[Path]:
    """``<out>/skill_study_<setting>_heldout.png`` (static, offline) for every setting in the rows."""
    from gigpo.notebook.plots.static import save_pngs

    out.mkdir(parents=True, exist_ok=True)
    return save_pngs({f"skill_study_{setting}_heldout": heldout_figure(rows, setting)
                      for setting in dict.fromkeys(r["setting"] for r in rows)}, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("all", "study", "collect", "report", "notebook"),
                        help="all: study, then collect, then report")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--iterations", type=int, default=TrainConfig.skill().iterations)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    parser.add_argument("--runs", default="runs/skill-study", help="where the runs go")
    parser.add_argument("--csv", default="results/skill_study.csv", help="collect writes it, report reads it")
    parser.add_argument("--md", default="results/skill_study.md", help="report writes it")
    parser.add_argument("--title", default="Skill study", help="report: the markdown's title")
    parser.add_argument("--figures", default="results/figures", help="report: where the PNG figures go ('': none)")
    ns = parser.parse_args(argv)
    root = ROOT / ns.runs
    if ns.mode in ("all", "study"):
        run_all(jobs_for(root, ns.settings, ns.estimators, ns.seeds, ns.iterations), ns.jobs)
        if ns.mode == "study":
            return 0
    if ns.mode == "notebook":  # one setting: the first of --settings
        from gigpo.notebook.runner import run_notebook

        run_notebook(ROOT / "notebooks" / "04_gigpo_vs_grpo.ipynb",
                     notebook_parameters(root, ns.settings[0], ns.estimators, ns.seeds, ns.iterations),
                     name=f"skill-study-{ns.settings[0]}-notebook", runs_dir=root, overwrite=True)
        return 0
    if ns.mode in ("all", "collect"):
        print(write_rows(collect(root, ns.settings), ROOT / ns.csv))
        if ns.mode == "collect":
            return 0
    rows = read_rows(ROOT / ns.csv)
    text = report(rows, ns.title)
    (ROOT / ns.md).write_text(text)
    print(text)
    if ns.figures:
        print("wrote", *save_figures(rows, ROOT / ns.figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
