"""Nothing is downloaded at run time: with the ``kernels`` package installed and the hub offline, a training step runs
and transformers never kernelizes the model (which fetches kernels from the hub), unless the user opts in.

Each run is a fresh interpreter, since transformers may read ``USE_HUB_KERNELS`` when it is imported. On CPU the hub
has no kernels to fetch, so the runs count ``kernels.kernelize`` calls (every hub-kernel path goes through it)
instead of waiting for the download error a GPU machine gets.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kernels")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, os, sys
import kernels

calls = []
real = kernels.kernelize
kernels.kernelize = lambda *a, **k: calls.append(1) or real(*a, **k)  # before transformers binds it

from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train
train(TrainConfig(env="sokoban", model="tiny", action_mode="free", finetune="full", num_groups=1, group_size=2,
                  max_steps=2, max_new_tokens=4, iterations=1, eval_every=0, checkpoint_every=0, progress=False,
                  output_dir=sys.argv[1]), overwrite=True)
print(json.dumps({"kernelize_calls": len(calls), "switch": os.environ.get("USE_HUB_KERNELS")}))
"""


def run_step(tmp_path, **env_overrides) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "USE_HUB_KERNELS"}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", **env_overrides)
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "run")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count("\n") == 1  # the iteration ran to its end
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_offline_training_step_never_asks_for_hub_kernels(tmp_path):
    assert run_step(tmp_path) == {"kernelize_calls": 0, "switch": "NO"}


def test_an_explicit_user_value_is_kept(tmp_path):
    got = run_step(tmp_path, USE_HUB_KERNELS="YES")
    assert got["switch"] == "YES"
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) >= Version("5.25"):  # kernelizes by default when allowed
        assert got["kernelize_calls"] > 0
