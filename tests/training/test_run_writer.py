"""RunWriter: only rank 0 writes into the output folder; every rank gets the same history and checkpoint schedule."""
from __future__ import annotations

import json

from gigpo.run_files.metrics import METRICS_FILE, read_metrics
from gigpo.run_files.run_folder import CONFIG_FILE, RUN_MARKER
from gigpo.training.config import TrainConfig
from gigpo.training.run_writer import RunWriter
from gigpo.training.systems.distributed import Distributed


def test_rank_zero_writes_the_run_and_another_rank_writes_nothing(tmp_path):
    out = tmp_path / "run"
    cfg = TrainConfig(output_dir=str(out), iterations=4, checkpoint_every=3, progress=False)
    main = RunWriter.open(cfg, Distributed(), resume=False, overwrite=False)
    assert main.resume_from is None and (out / RUN_MARKER).exists()
    assert main.start(0) == [] and json.loads((out / CONFIG_FILE).read_text())["iterations"] == 4
    main.log({"iteration": 0, "success_rate": 0.5})
    assert read_metrics(out) == [{"iteration": 0, "success_rate": 0.5}]

    other = RunWriter(cfg, Distributed(rank=1), None)  # a second rank of the same run (no process group needed)
    before = (out / METRICS_FILE).read_bytes()
    assert other.start(1) == [{"iteration": 0, "success_rate": 0.5}]  # it reads the rows, it does not rewrite them
    other.log({"iteration": 1, "success_rate": 1.0})
    assert (out / METRICS_FILE).read_bytes() == before
    assert not other.tracking  # trackers are opened by rank 0 only
    # iterations done 3 (every 3) and 4 (the last) are checkpointed, on every rank alike
    assert [d for d in range(1, 5) if main.checkpoint_due(d)] == [3, 4] == \
        [d for d in range(1, 5) if other.checkpoint_due(d)]


def test_start_drops_rows_of_iterations_after_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / METRICS_FILE).write_text("".join(json.dumps({"iteration": i}) + "\n" for i in range(3)))
    cfg = TrainConfig(output_dir=str(out), iterations=4, progress=False)
    writer = RunWriter(cfg, Distributed(), None, resume=True)
    assert writer.start(2) == [{"iteration": 0}, {"iteration": 1}]
    assert read_metrics(out) == [{"iteration": 0}, {"iteration": 1}]  # iteration 2 never reached a checkpoint
