"""``python -m gigpo inspect`` on a table written by hand: advantages.csv against values worked out by hand and by a
plain-Python restatement of Eq. 3, 7, 8 and RLOO, the other estimators against the library, and the page."""
import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gigpo.estimators import compute_advantages

ROOT = Path(__file__).resolve().parents[2]
# (group, traj, step, anchor, reward): group A has three rollouts through states s0, s1, s2; group B two that
# both start in s0, which is a different step group from A's s0 (step groups never cross task groups).
ROWS = [("A", "a1", 0, "s0", 0), ("A", "a2", 0, "s0", 0), ("A", "a3", 0, "s0", 0), ("A", "a1", 1, "s1", 1),
        ("A", "a2", 1, "s2", 0), ("A", "a3", 1, "s2", 0), ("A", "a2", 2, "s1", 1), ("B", "b1", 0, "s0", 0),
        ("B", "b2", 0, "s0", 1)]
GAMMA = 0.5
S3, S2 = math.sqrt(3), math.sqrt(2)
# Worked out by hand (eps = 1e-6 is below the 1e-5 tolerance): returns A: a1 1, a2 1, a3 0 (mean 2/3, std 1/sqrt 3);
# B: 0, 1 (std 1/sqrt 2). Discounted returns: a1 (0.5, 1), a2 (0.25, 0.5, 1), a3 (0, 0), b1 0, b2 1; step groups
# A/s0 (0.5, 0.25, 0) -> (1, 0, -1), A/s1 (1, 1) -> 0, A/s2 (0.5, 0) -> +-1/sqrt 2, B/s0 (0, 1) -> -+1/sqrt 2.
HAND_A_E = [1 / S3, 1 / S3, -2 / S3, 1 / S3, 1 / S3, -2 / S3, 1 / S3, -1 / S2, 1 / S2]
HAND_A_S = [1, 0, -1, 0, 1 / S2, -1 / S2, 0, -1 / S2, 1 / S2]
HAND_RLOO = [0.5, 0.5, -1, 0.5, 0.5, -1, 0.5, -1, 1]


def plain_gigpo(rows, gamma, eps=1e-6):
    """Eq. 3 (each trajectory once), Eq. 7 (exact anchors within a task group), unbiased std + eps, in loops."""
    def norm(values):
        if len(values) == 1:
            return [0.0]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        return [(v - mean) / (std + eps) for v in values]

    total, group_of = {}, {}
    for g, t, _, _, r in rows:
        total[t] = total.get(t, 0.0) + r
        group_of[t] = g
    a_e_traj = {}
    for g in dict.fromkeys(group_of.values()):
        trajs = [t for t in total if group_of[t] == g]
        a_e_traj.update(zip(trajs, norm([total[t] for t in trajs])))
    ret = [0.0] * len(rows)
    for t in total:  # backwards through each trajectory
        later = 0.0
        for i in sorted((i for i, row in enumerate(rows) if row[1] == t), key=lambda i: -rows[i][2]):
            later = rows[i][4] + gamma * later
            ret[i] = later
    a_s = [0.0] * len(rows)
    for key in dict.fromkeys((row[0], row[3]) for row in rows):
        members = [i for i, row in enumerate(rows) if (row[0], row[3]) == key]
        for i, v in zip(members, norm([ret[i] for i in members])):
            a_s[i] = v
    a_e = [a_e_traj[row[1]] for row in rows]
    return a_e, a_s, [e + s for e, s in zip(a_e, a_s)]


def write_table(path):
    lines = [json.dumps({"group_id": g, "traj_id": t, "step": s, "anchor": a, "observation": f"you are in {a}",
                         "action": "act", "reward": r}) for g, t, s, a, r in ROWS]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def inspected(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inspect")
    table = write_table(tmp / "rollouts.jsonl")
    done = subprocess.run([sys.executable, "-m", "gigpo", "inspect", str(table), "--out", str(tmp / "out"),
                           "--gamma", str(GAMMA)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(tmp / "out" / "advantages.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return tmp / "out", rows, done.stdout


def column(rows, name):
    return [float(r[name]) for r in rows]


def test_csv_has_one_row_per_step_in_table_order_and_the_named_columns(inspected):
    _, rows, _ = inspected
    assert list(rows[0]) == ["group_id", "traj_id", "step", "anchor", "A_E", "A_S", "gigpo", "grpo", "rloo", "hgpo",
                             "graphgpo"]
    assert [(r["group_id"], r["traj_id"], int(r["step"]), r["anchor"]) for r in rows] == [x[:4] for x in ROWS]


def test_csv_matches_values_worked_out_by_hand(inspected):
    _, rows, _ = inspected
    assert column(rows, "A_E") == pytest.approx(HAND_A_E, abs=1e-5)
    assert column(rows, "A_S") == pytest.approx(HAND_A_S, abs=1e-5)
    assert column(rows, "gigpo") == pytest.approx([e + s for e, s in zip(HAND_A_E, HAND_A_S)], abs=1e-5)
    assert column(rows, "grpo") == pytest.approx(HAND_A_E, abs=1e-5)  # GRPO is the episode level alone
    assert column(rows, "rloo") == pytest.approx(HAND_RLOO, abs=1e-6)


def test_csv_matches_a_plain_python_restatement(inspected):
    _, rows, _ = inspected
    a_e, a_s, a = plain_gigpo(ROWS, GAMMA)
    assert column(rows, "A_E") == pytest.approx(a_e, abs=1e-6)
    assert column(rows, "A_S") == pytest.approx(a_s, abs=1e-6)
    assert column(rows, "gigpo") == pytest.approx(a, abs=1e-6)


def test_hgpo_and_graphgpo_columns_are_the_library_functions_with_the_given_gamma(inspected):
    _, rows, _ = inspected
    g, t, _, anchors, r = zip(*ROWS)
    for name in ("hgpo", "graphgpo"):
        expected = compute_advantages(name, list(g), list(t), list(r), list(anchors), gamma=GAMMA).tolist()
        assert column(rows, name) == pytest.approx(expected, abs=1e-6)
    default = compute_advantages("hgpo", list(g), list(t), list(r), list(anchors)).tolist()
    assert column(rows, "hgpo") != pytest.approx(default, abs=1e-3)  # --gamma reached it


def test_page_is_self_contained_and_shows_the_counts_and_largest_groups(inspected):
    out, _, stdout = inspected
    page = (out / "index.html").read_text()
    assert "wrote" in stdout and "index.html" in stdout
    assert re.search(r"<script[^>]+src=", page) is None  # nothing fetched: plotly.js is inlined
    assert len(page) > 3_000_000 and page.count("Plotly.newPlot") == 3  # the bundle itself is in the page
    summary = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>",
                              page[page.index('id="summary"'):page.index("</table>", page.index('id="summary"'))]))
    assert summary["rows (environment steps)"] == "9" and summary["step groups (task group x anchor)"] == "4"
    assert summary["step groups of 2+ rows"] == "4" and summary["largest step group (rows)"] == "3"
    # every row is in a step group of 2+ except none: share 1.0
    assert summary["share of rows in a step group of 2+ (only these get A_S != 0)"] == "1.000"
    largest = page[page.index('id="largest-step-groups"'):]
    first = re.search(r"<tbody><tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", largest).groups()
    assert first == ("A", "s0", "3")


def test_estimator_options_and_unknown_estimators(tmp_path):
    table = write_table(tmp_path / "t.jsonl")
    from gigpo.__main__ import main

    assert main(["inspect", str(table), "--out", str(tmp_path / "o"), "--estimators", "gigpo", "rloo",
                 "--estimator-options", json.dumps({"gigpo": {"step_weight": 0.0}})]) == 0
    with open(tmp_path / "o" / "advantages.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[6:] == ["gigpo", "rloo"]
    assert column(rows, "gigpo") == pytest.approx(HAND_A_E, abs=1e-5)  # w = 0: the episode level alone
    assert main(["inspect", str(table), "--out", str(tmp_path / "p"), "--estimators", "nope"]) == 2
    assert main(["inspect", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "q")]) == 2


def test_a_large_table_draws_capped_figures_shows_progress_and_keeps_every_row_in_the_csv(tmp_path, capsys):
    from gigpo.inspect.cli import inspect_rollouts
    from gigpo.run_files.rollout_table import RolloutTable, write_rollout_table

    groups, rollouts, steps = 10, 30, 60  # 18,000 rows; rollout r of group g walks states (r + t) // 7
    rows = [{"group_id": g, "traj_id": g * rollouts + r, "step": t, "anchor": f"g{g} room {(r + t) // 7}",
             "observation": "x" * 80, "action": "go", "reward": float(t == steps - 1 and r % 2)}
            for g in range(groups) for r in range(rollouts) for t in range(steps)]
    table = write_rollout_table(RolloutTable.from_rows(rows), tmp_path / "big.jsonl")
    csv_path, page = inspect_rollouts(table, tmp_path / "out", estimators=["gigpo", "grpo"], progress=True)
    assert "gigpo inspect" in capsys.readouterr().err  # the tqdm bar
    assert sum(1 for _ in open(csv_path)) == groups * rollouts * steps + 1
    assert page.stat().st_size < 5_500_000
    from gigpo.inspect import inspect_table
    from gigpo.inspect.figures import advantage_heatmaps, step_through_figure
    from gigpo.run_files.rollout_table import read_rollout_table

    batch = inspect_table(read_rollout_table(table), ["gigpo", "grpo"])
    fig = step_through_figure(batch)
    assert [f.name for f in fig.frames] == [str(t) for t in range(40)]  # the first 40 steps
    assert sum(1 for t in fig.data if t.mode == "lines") == 16  # 16 of the group's 30 rollouts
    heat = advantage_heatmaps(batch)
    assert [t.z.shape if hasattr(t.z, "shape") else (len(t.z), len(t.z[0])) for t in heat.data] == [(16, 40)] * 2
