"""The side-by-side heatmaps of notebook 02: one panel per estimator, values placed at (trajectory, step)."""
from __future__ import annotations

import numpy as np
import pytest

from gigpo import advantage_details, graphgpo_advantages, hgpo_advantages
from gigpo.notebook import plots

G, T, R, A = [0] * 5, [0, 1, 0, 1, 1], [0.0, 0.0, 1.0, 0.0, 0.0], ["a", "a", "b", "b", "c"]


def test_one_panel_per_estimator_on_one_scale():
    d = advantage_details(G, T, R, A)
    advs = {"gigpo": d.advantage, "hgpo": hgpo_advantages(G, T, R, A), "graphgpo": graphgpo_advantages(G, T, R, A)}
    fig = plots.estimator_heatmaps(d, advs, params={"gamma": 0.95})
    assert [t.text for t in fig.layout.annotations] == list(advs)
    assert "gamma=0.95" in fig.layout.title.text
    zmax = {trace.zmax for trace in fig.data}
    assert len(zmax) == 1 and zmax.pop() == pytest.approx(max(float(v.abs().max()) for v in advs.values()))
    # trajectory 1 has steps at rows 1, 3, 4: its grid row holds those values in time order
    np.testing.assert_allclose(np.asarray(fig.data[1].z)[1], advs["hgpo"][[1, 3, 4]].numpy(), rtol=1e-6)
    assert np.isnan(np.asarray(fig.data[0].z)[0, 2])  # trajectory 0 ended after 2 steps


def test_empty_mapping_raises():
    with pytest.raises(ValueError, match="empty"):
        plots.estimator_heatmaps(advantage_details(G, T, R, A), {})
