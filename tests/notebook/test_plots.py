"""The notebook figures: what each one draws, checked on a two-rollout batch worked out by hand."""
import math
import statistics

import numpy as np
import plotly.graph_objects as go
import pytest

from envs import StepRecord
from gigpo import grpo_advantages
from gigpo.notebook import plots
from gigpo.notebook.scripted_rollouts import records_details


def rec(traj, step, state, action, reward=0.0, won=False, truncated=False, obs=None):
    return StepRecord(group_id=0, traj_id=traj, step=step, observation=obs or f"you are in {state}", anchor=state,
                      admissible_actions=(action,), action=action, valid=True, reward=reward,
                      terminated=won, truncated=truncated, won=won)


# rollout 0: A -go-> B -take-> won (reward 1); rollout 1: A -go-> B -drop-> C -wait-> step limit
RECORDS = [rec(0, 0, "A", "go"), rec(1, 0, "A", "go"), rec(0, 1, "B", "take", 1.0, won=True),
           rec(1, 1, "B", "drop"), rec(1, 2, "C", "wait", truncated=True)]
LABELS = [0, 0, 1, 1, 2]  # A, B, C in order of first appearance


def node_trace(fig):
    return next(t for t in fig.data if t.name == "step groups")


def test_rollout_graph_nodes_are_step_groups_sized_and_coloured_by_visits():
    fig = plots.rollout_graph(RECORDS, LABELS)
    nodes = node_trace(fig)
    assert list(nodes.x) == [0.0, 1.0, 2.0]  # first step at which A, B, C are reached
    assert list(nodes.marker.size) == pytest.approx([8 + 6 * math.sqrt(2), 8 + 6 * math.sqrt(2), 8 + 6])
    assert list(nodes.marker.color) == pytest.approx([0.5, 0.5, 0.0])  # share of visits from the won rollout
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_rollout_graph_edges_are_weighted_by_rollouts_and_end_in_outcomes():
    fig = plots.rollout_graph(RECORDS, LABELS)
    lines = {t.line.width: t for t in fig.data if t.mode == "lines"}
    # A->B taken by both rollouts; B->C, B->won, C->failed by one each
    assert set(lines) == {1 + 1.5 * 1, 1 + 1.5 * 2}
    assert list(lines[4.0].x) == [0.0, 1.0, None]
    assert list(lines[2.5].x).count(None) == 3
    ends = next(t for t in fig.data if t.marker.symbol == "square")
    assert list(ends.text) == ["won (1)", "failed (1)"]


def test_rollout_graph_highlights_the_states_of_one_step():
    fig = plots.rollout_graph(RECORDS, LABELS, highlight_step=2)
    nodes = node_trace(fig)
    assert list(nodes.marker.line.width) == [0.5, 0.5, 3]
    assert list(nodes.marker.opacity) == [0.35, 0.35, 1.0]
    assert list(nodes.text) == ["", "", "1"]
    assert "step t = 2" in fig.layout.title.text


def test_rollout_graph_rejects_labels_of_the_wrong_length():
    with pytest.raises(ValueError, match="one step-group label per record"):
        plots.rollout_graph(RECORDS, LABELS[:-1])


def test_side_by_side_has_one_panel_per_labelling():
    fig = plots.rollout_graphs_side_by_side(RECORDS, {"state": LABELS, "one group": [0] * 5})
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["state: 3 step groups", "one group: 1 step groups"]


def test_step_snapshot_lists_who_shares_a_state_and_who_is_done():
    at1 = plots.step_snapshot_html(RECORDS, LABELS, 1)
    assert "step t = 1: 2 of 2 rollouts still running, in 1 distinct anchor states" in at1
    assert "rollouts sharing a state now: 2" in at1
    at2 = plots.step_snapshot_html(RECORDS, LABELS, 2)
    assert "step t = 2: 1 of 2 rollouts still running, in 1 distinct anchor states" in at2
    assert "done: won at t = 1" in at2 and "<code>wait</code>" in at2


def test_advantage_grid_places_interleaved_rows_by_trajectory_and_time():
    grid = plots.advantage_grid([1, 2, 3, 4, 5], [0, 1, 0, 1, 1])
    np.testing.assert_array_equal(grid, [[1, 3, np.nan], [2, 4, 5]])


def test_advantage_heatmaps_show_the_three_levels_and_the_parameters():
    details = records_details(RECORDS, gamma=0.5, step_weight=2.0)
    fig = plots.advantage_heatmaps(details, params={"gamma": 0.5, "step_weight": 2.0})
    a_e, a_s, a = (np.array(t.z, dtype=float) for t in fig.data)
    # returns 1 and 0: A_E = +-0.5 / std(1, 0) = +-0.7071 on every step of the rollout
    np.testing.assert_allclose(a_e[0, :2], [0.70710, 0.70710], atol=1e-4)
    np.testing.assert_allclose(a_e[1], [-0.70710] * 3, atol=1e-4)
    assert np.isnan(a_e[0, 2])
    np.testing.assert_allclose(a, a_e + 2.0 * a_s, atol=1e-5)
    assert "gamma=0.5" in fig.layout.title.text and "step_weight=2.0" in fig.layout.title.text
    assert all(t.zmid == 0 for t in fig.data)


def test_gigpo_vs_grpo_left_panel_is_constant_along_each_rollout():
    details = records_details(RECORDS)
    grpo = grpo_advantages([0] * 5, [r.traj_id for r in RECORDS], [r.reward for r in RECORDS])
    left, right = (np.array(t.z, dtype=float) for t in plots.gigpo_vs_grpo_heatmaps(details, grpo).data)
    assert np.nanstd(left[1]) == 0 and np.nanstd(left[0]) == 0
    np.testing.assert_allclose(right, plots.advantage_grid(details.advantage, details.traj_index))


def test_step_group_credit_picks_the_state_where_actions_differ():
    details = records_details(RECORDS)
    assert plots.largest_decision_group(RECORDS, details) == 1  # B: "take" vs "drop"; A: "go" twice
    grpo = grpo_advantages([0] * 5, [r.traj_id for r in RECORDS], [r.reward for r in RECORDS])
    fig = plots.step_group_credit(RECORDS, details, grpo)
    grpo_bars = next(t for t in fig.data if t.name == "GRPO (A_E)")
    assert list(grpo_bars.x) == pytest.approx([0.70710, -0.70710], abs=1e-4)
    assert "take" in grpo_bars.y[0] and "drop" in grpo_bars.y[1]
    with pytest.raises(ValueError, match="no step group 7"):
        plots.step_group_credit(RECORDS, details, grpo, group=7)


def test_learning_curves_draw_one_panel_per_logged_metric():
    records = [{"iteration": 0, "a": 1.0}, {"iteration": 1, "a": 2.0, "b": 5}, {"iteration": 2, "a": float("nan")}]
    fig = plots.learning_curves(records, ["a", "b", "never_logged"])
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    assert list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == [1.0, 2.0]
    assert "no metrics yet" in plots.learning_curves([], ["a"]).layout.title.text
    with pytest.raises(ValueError):
        plots.learning_curves(records, [])


def test_curves_with_spread_mean_and_std_band_over_seeds():
    seeds = [[{"iteration": 0, "s": v}, {"iteration": 1, "s": v + 0.25}] for v in (0.0, 0.5, 0.25)]
    fig = plots.curves_with_spread({"gigpo": seeds}, "s")
    band, mean = fig.data
    assert list(mean.y) == pytest.approx([0.25, 0.5])
    sd = statistics.stdev([0.0, 0.5, 0.25])
    assert list(band.y) == pytest.approx([0.25 + sd, 0.5 + sd, 0.5 - sd, 0.25 - sd])  # upper, then lower reversed
    two = plots.curves_with_spread({"grpo": seeds[:2]}, "s")
    assert list(two.data[0].y) == pytest.approx([0.5, 0.75, 0.25, 0.0])  # min-max band with two seeds
    assert "seed" in two.data[0].name


def test_grouping_comparison_and_similarity_sweep_are_labelled():
    stats = {"state key": {"step_groups": 3, "step_group_size_per_group": 5 / 3, "step_group_size_per_row": 2.2,
                           "step_group_share_grouped": 0.8},
             "text": {"step_groups": 2, "step_group_size_per_group": 2.5, "step_group_size_per_row": 2.6,
                      "step_group_share_grouped": 1.0}}
    bars = plots.grouping_comparison(stats)
    assert [list(t.y) for t in bars.data] == [[3, 2], [2.2, 2.6], [0.8, 1.0]]  # the size a step sees
    sweep = plots.similarity_sweep([1.0, 0.8], [stats["state key"], stats["text"]], references={"exact": stats["text"]})
    assert list(sweep.data[0].y) == [3, 2] and sweep.layout.xaxis.title.text == "similarity threshold"
    with pytest.raises(ValueError, match="one stats entry per threshold"):
        plots.similarity_sweep([1.0], [])


def test_save_figures_writes_html_with_a_local_plotly(tmp_path):
    paths = plots.save_figures({"one": go.Figure(), "two": go.Figure()}, tmp_path / "figs")
    assert [p.name for p in paths] == ["one.html", "two.html"]
    assert (tmp_path / "figs" / "plotly.min.js").exists()
    assert 'src="plotly.min.js"' in paths[0].read_text()
