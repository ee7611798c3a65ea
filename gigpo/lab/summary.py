"""From ``lab.jsonl`` rows to ``summary.json``: iterations to a success threshold, paired comparisons, spread.

- Iterations to threshold ``t``: ``i + 1`` for the first iteration ``i >= window - 1`` whose trailing
  ``window``-iteration mean success reaches ``t``; None if the run never gets there. For means and paired
  figures a run that never reaches ``t`` counts as ``iterations + 1`` (censored, so the figure is a lower
  bound on its true value) and ``reached`` says how many did.
- Paired against the first estimator listed, on the same seeds: per-seed differences (other - first), their mean
  and std, the ratio of mean iterations (other / first: 2 means the first got there in half the iterations), and
  on how many seeds the first was strictly faster, tied or slower.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def iterations_to(success: Sequence[float], threshold: float, window: int = 5) -> int | None:
    """Iterations until the trailing ``window``-mean of ``success`` first reaches ``threshold`` (None: never)."""
    s = np.asarray(success, dtype=np.float64)
    if len(s) < window:
        return None
    c = np.concatenate([[0.0], np.cumsum(s)])
    trailing = (c[window:] - c[:-window]) / window  # trailing[j] = mean of s[j .. j + window - 1]
    hit = np.flatnonzero(trailing >= threshold - 1e-12)
    return None if len(hit) == 0 else int(hit[0]) + window


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample std (ddof 1; 0 for a single value), NaNs dropped."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v))}


def curves(rows: Sequence[Mapping[str, Any]], key: str = "success_rate") -> dict[str, dict[int, list[float]]]:
    """``{estimator: {seed: [value per iteration]}}`` from lab.jsonl rows (iterations in order)."""
    out: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        out[r["estimator"]][r["seed"]].append((r["iteration"], r[key]))
    return {e: {s: [v for _, v in sorted(pts)] for s, pts in by_seed.items()} for e, by_seed in out.items()}


def paired(first: Sequence[float], other: Sequence[float]) -> dict[str, Any]:
    """Paired comparison of per-seed iteration counts (``other`` against ``first``, same seed order)."""
    a, b = np.asarray(first, dtype=np.float64), np.asarray(other, dtype=np.float64)
    diff = b - a
    return {
        "differences": diff.tolist(),
        "mean_difference": float(diff.mean()),
        "std_difference": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
        "ratio_of_means": float(b.mean() / a.mean()) if a.mean() > 0 else float("nan"),
        "first_faster": int((a < b).sum()), "ties": int((a == b).sum()), "first_slower": int((a > b).sum()),
    }


def summarize(rows: Sequence[Mapping[str, Any]], estimators: Sequence[str], seeds: Sequence[int],
              thresholds: Sequence[float], window: int, iterations: int, final: int = 10) -> dict[str, Any]:
    """The ``summary.json`` body: per estimator, per threshold and paired against ``estimators[0]``.

    ``final``: the last this-many iterations give ``final_success`` and ``final_length`` per seed.
    """
    success = curves(rows, "success_rate")
    length = curves(rows, "mean_length")
    per_est: dict[str, Any] = {}
    censored: dict[str, dict[str, list[int]]] = {}
    for est in estimators:
        entry: dict[str, Any] = {"iterations_to": {}}
        censored[est] = {}
        for t in thresholds:
            raw = [iterations_to(success[est][s], t, window) for s in seeds]
            filled = [iterations + 1 if x is None else x for x in raw]
            censored[est][_key(t)] = filled
            entry["iterations_to"][_key(t)] = {"per_seed": raw, "reached": sum(x is not None for x in raw),
                                               **mean_std(filled)}
        entry["final_success"] = mean_std([float(np.mean(success[est][s][-final:])) for s in seeds])
        entry["final_length"] = mean_std([float(np.mean(length[est][s][-final:])) for s in seeds])
        entry["mean_success"] = mean_std([float(np.mean(success[est][s])) for s in seeds])
        per_est[est] = entry
    first = estimators[0]
    pairs = {est: {_key(t): paired(censored[first][_key(t)], censored[est][_key(t)]) for t in thresholds}
             for est in estimators[1:]}
    return {"reference": first, "seeds": list(seeds), "thresholds": list(thresholds), "window": window,
            "iterations": iterations, "estimators": per_est, "paired": pairs}


def _key(t: float) -> str:
    return f"{t:g}"


def comparison_table(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per estimator (for a pandas DataFrame / markdown): mean +- std iterations to each threshold,
    seeds that reached it, the ratio to the reference and the reference's wins, final success and length."""
    ref = summary["reference"]
    table = []
    for est, e in summary["estimators"].items():
        row: dict[str, Any] = {"estimator": est}
        for t, it in e["iterations_to"].items():
            row[f"iters_to_{t}"] = f"{it['mean']:.1f} ± {it['std']:.1f} ({it['reached']}/{len(it['per_seed'])})"
            if est != ref:
                p = summary["paired"][est][t]
                row[f"ratio_to_{ref}_{t}"] = round(p["ratio_of_means"], 2)
                row[f"{ref}_faster_{t}"] = f"{p['first_faster']}/{len(p['differences'])}"
        row["final_success"] = round(e["final_success"]["mean"], 3)
        row["final_length"] = round(e["final_length"]["mean"], 2)
        table.append(row)
    return table
