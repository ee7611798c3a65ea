"""Random rollout batches for the estimators' property tests (hypothesis strategies)."""
from hypothesis import strategies as st


@st.composite
def batches(draw, text_anchors=False):
    """Random rollout batches: G groups x N rollouts of random length, interleaved keeping each rollout's order."""
    pool = ["room", "rooms", "a room", "kitchen", "the kitchen", "hall", "", "x"] if text_anchors else list("abcd")
    rollouts = []
    for g in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(1, 4))):
            length = draw(st.integers(1, 6))
            rollouts.append([(g, len(rollouts), draw(st.sampled_from([0.0, 0.0, 1.0, -0.1, 2.5])),
                              draw(st.sampled_from(pool))) for _ in range(length)])
    rows = []
    cursors = [0] * len(rollouts)
    while any(c < len(r) for c, r in zip(cursors, rollouts)):
        live = [i for i, r in enumerate(rollouts) if cursors[i] < len(r)]
        i = draw(st.sampled_from(live))
        rows.append(rollouts[i][cursors[i]])
        cursors[i] += 1
    g, t, r, a = (list(c) for c in zip(*rows))
    return g, t, r, a
