"""Files a run writes and reads back: metrics, run markers, durable writes, rollout tables."""
