"""examples/trl_gigpo_household.py runs on CPU and TRL's output folder carries the step-level statistics."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trl_gigpo_household.py"


@pytest.mark.slow
def test_example_trains_one_step_and_logs_the_step_level_statistics(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("trl_gigpo_household", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    out = tmp_path / "run"
    example.main(["--max-steps", "1", "--output-dir", str(out), "--tasks-per-step", "1", "--env-steps", "3"])
    state = json.loads((out / "trainer_state.json").read_text())
    assert (out / "checkpoint-1" / "trainer_state.json").exists() and (out / "model.safetensors").exists()
    (row,) = [h for h in state["log_history"] if "loss" in h]
    for key in ("adv_episode_abs", "adv_step_abs", "step_groups", "step_group_size_per_row",
                "step_group_share_grouped", "turns_per_episode", "reward"):
        assert key in row, key
    assert row["turns_per_episode"] >= 1 and row["step_groups"] >= 1
    assert '"adv_step_abs"' in capsys.readouterr().out
