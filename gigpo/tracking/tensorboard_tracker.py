"""TensorBoard: event files in ``<output_dir>/tensorboard`` (``tensorboard --logdir runs``).

Scalars are written as float64 tensors (``double_precision``), so a value reads back equal to the jsonl file rather
than rounded to float32. A resumed run restarts the event stream at its first iteration with TensorBoard's purge:
steps a crashed try logged after its last checkpoint are dropped when the logs are read, not shown twice.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gigpo.tracking.rows import flat_params
from gigpo.tracking.tracker import Tracker


class TensorBoardTracker(Tracker):
    name = "tensorboard"

    def __init__(self, run_dir: Path, *, project: str, run_name: str, config: dict[str, Any],
                 saved: dict[str, Any] | None, start: int = 0):
        from torch.utils.tensorboard import SummaryWriter

        self.first_step = self._step = start
        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), purge_step=start)
        # the config as text (a JSON block, indented so Markdown shows it verbatim) and in the HParams tab
        text = "\n".join("    " + line for line in json.dumps(config, indent=1, sort_keys=True).splitlines())
        self.writer.add_text("config", text, global_step=start)
        self.writer.add_hparams(flat_params(config), {}, run_name=".")
        self.writer.flush()

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step, new_style=True, double_precision=True)
        self.writer.flush()  # a tensorboard open beside a long run shows each iteration as it ends
        self._step = step

    def log_artifact(self, path: Path) -> None:
        if path.suffix.lower() == ".png":
            import matplotlib.image

            image = matplotlib.image.imread(path)[..., :3]  # RGB of the PNG, floats in [0, 1]
            self.writer.add_image(path.stem, image, self._step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()
