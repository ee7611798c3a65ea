"""The credit lab's figures: the numbers they draw come from the rows and summaries as stated."""
import numpy as np
import pytest

from gigpo.notebook import plots


def rows():
    out = []
    for est in ("gigpo", "grpo"):
        for seed, offset in ((0, 0.0), (1, 0.2)):
            for it in range(3):
                out.append({"estimator": est, "seed": seed, "iteration": it, "success_rate": 0.1 * it + offset,
                            "adv_episode_abs": 1.0, "adv_step_abs": 0.5 if est == "gigpo" else 0.0,
                            "credit_auc": float("nan") if it == 0 and seed == 0 else 0.6})
    return out


def test_lab_curves_draw_the_mean_over_seeds_with_a_std_band():
    fig = plots.lab_curves({"a": rows(), "b": rows()}, "success_rate")
    means = [t for t in fig.data if t.mode == "lines" and t.fill is None]
    assert len(means) == 4 and [t.name for t in means[:2]] == ["gigpo", "grpo"]
    np.testing.assert_allclose(means[0].y, [0.1, 0.2, 0.3])  # mean of (0.1 i, 0.1 i + 0.2)
    band = fig.data[0]
    np.testing.assert_allclose(band.y[:3], np.array([0.1, 0.2, 0.3]) + np.std([0.0, 0.2], ddof=1))
    with pytest.raises(ValueError, match="panels is empty"):
        plots.lab_curves({})


def test_nan_values_are_skipped_not_averaged():
    fig = plots.lab_curves({"a": rows()}, "credit_auc")
    assert list(fig.data[1].y) == [0.6, 0.6, 0.6]


def test_iterations_to_bars_and_advantage_magnitudes():
    summary = {"estimators": {"gigpo": {"iterations_to": {"0.9": {"mean": 20.0, "std": 2.0, "reached": 3,
                                                                  "per_seed": [18, 20, 22]}}},
                              "grpo": {"iterations_to": {"0.9": {"mean": 40.0, "std": 5.0, "reached": 2,
                                                                 "per_seed": [35, 40, None]}}}}}
    fig = plots.iterations_to_bars({"prior": summary})
    assert [(t.name, list(t.y), list(t.error_y.array)) for t in fig.data] == [("gigpo", [20.0], [2.0]),
                                                                           ("grpo", [40.0], [5.0])]
    fig = plots.advantage_magnitudes(rows())
    step = [t for t in fig.data if t.xaxis == "x2"]
    assert [list(t.y) for t in step] == [[0.5] * 3, [0.0] * 3]


def test_save_static_writes_pngs_and_names_what_it_skipped(tmp_path):
    figures = {"curve": plots.lab_curves({"a": rows()}),
               "bars": plots.metric_bars({"env": {"gigpo": 0.5}}, title="t", y_title="y")}
    paths, note = plots.save_static(figures, tmp_path)
    try:
        import kaleido  # noqa: F401
    except ImportError:
        assert [p.name for p in paths] == ["curve.png"] and "bars" in note
    else:
        assert note is not None or [p.name for p in paths] == ["curve.png", "bars.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
