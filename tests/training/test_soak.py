"""Soak test (issue 22): a training run killed with SIGKILL ten times, at seeded moments that include a checkpoint
write and a prune, and resumed each time, ends byte-equal in its weights and row-equal in its metrics (without the
time and memory keys) to an uninterrupted run.

The checkpoint code sleeps inside its write and its prune when ``GIGPO_TEST_CHECKPOINT_PAUSE`` is set (only here),
so those windows last long enough to be hit: the test kills when it sees ``.tmp_iter_*`` (a write under way) or
``.trash_iter_*`` (a prune under way) in the checkpoints folder, or at a random moment.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gigpo.run_files.metrics import read_metrics, without_measurements
from gigpo.training.checkpoints.checkpoint import PAUSE_ENV
from gigpo.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = dict(env="sokoban", model="tiny-mini", finetune="full", num_groups=1, group_size=2, max_steps=2,
                lr=1e-3, iterations=30, checkpoint_every=1, keep_checkpoints=2, eval_every=0, progress=False)
DRIVER = ("import json, sys; from gigpo.training.config import TrainConfig; from gigpo.training.trainer import train; "
          "train(TrainConfig.from_dict(json.loads(sys.argv[1])), resume=True)")


def launch(out: Path, pause: bool) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    if pause:
        env[PAUSE_ENV] = "write=0.4,prune=0.4"
    cfg = json.dumps({**SETTINGS, "output_dir": str(out)})
    return subprocess.Popen([sys.executable, "-c", DRIVER, cfg], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def in_window(out: Path, kind: str) -> bool:
    root = out / "checkpoints"
    return root.exists() and any(p.name.startswith(".tmp_iter_" if kind == "write" else ".trash_iter_")
                                 for p in root.iterdir())


def one_life(out: Path, kind: str, rng: random.Random) -> bool:
    """Run until killed in the ``kind`` window (or at a random moment); returns whether it was killed."""
    proc = launch(out, pause=True)
    deadline = time.monotonic() + (rng.uniform(2.0, 12.0) if kind == "random" else 600)
    while proc.poll() is None:
        if (kind == "random" and time.monotonic() > deadline) or (kind != "random" and in_window(out, kind)):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
    return False


@pytest.mark.slow
def test_a_run_killed_ten_times_and_resumed_equals_the_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight"
    reference = launch(straight, pause=False)
    assert reference.wait() == 0, reference.stderr.read().decode()[-3000:]

    rng = random.Random(2205)
    kinds = ["prune", "write"] + rng.choices(["write", "prune", "random"], k=8)
    killed = tmp_path / "killed"
    kills = [kind for kind in kinds if one_life(killed, kind, rng)]
    final = launch(killed, pause=False)  # the last life runs to the end
    assert final.wait() == 0, final.stderr.read().decode()[-3000:]

    # Every life must end in a kill: 30 iterations outlast them (a prune kill advances the run by one iteration, a
    # write kill by none, each of the two random ones by at most ~12 s of training), so ten kills are certain.
    assert kills == kinds, f"killed {kills} of {kinds}: the run finished before its ten lives were used"
    got, want = read_metrics(killed), read_metrics(straight)
    assert [r["iteration"] for r in got] == list(range(SETTINGS["iterations"]))
    assert without_measurements(got) == without_measurements(want)
    name = "model.safetensors"
    assert (killed / "final" / name).read_bytes() == (straight / "final" / name).read_bytes()
    assert TrainConfig.from_dict(json.loads((killed / "config.json").read_text())).iterations == SETTINGS["iterations"]
