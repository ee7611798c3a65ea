"""Runs that lose nothing (issue 22, items 1-2): extending a run keeps its learning-rate schedule (the horizon is
fixed at the run's start and stored in its checkpoints; a decaying schedule is not run past it), and ``--overwrite``
deletes only a folder that holds a run (one with the ``.gigpo_run`` marker a run writes)."""
import math
from pathlib import Path

import pytest

from gigpo.run_files.run_folder import RUN_MARKER
from gigpo.training.checkpoints.checkpoint import list_checkpoints, read_state
from gigpo.training.config import TrainConfig
from gigpo.training.lr_schedule import lr_factor, schedule_horizon
from gigpo.training.trainer import train
from tests.support.tiny_training import TINY, final_bytes, training_rows


def cosine(i, horizon, warmup):  # the schedule restated by hand: warmup (i+1)/(W+1), then (1 + cos(pi p)) / 2
    return (i + 1) / (warmup + 1) if i < warmup else 0.5 * (1 + math.cos(math.pi * (i - warmup) / (horizon - warmup)))


def test_the_horizon_is_the_runs_first_one_and_a_decay_is_not_extended_past_it():
    # the case: cosine, warmup 2, a 20-iteration run extended to 40
    assert schedule_horizon("cosine", 20) == 20
    with pytest.raises(ValueError, match=r"iterations=40 goes past .*cosine.* 20 iterations.*--lr-horizon"):
        schedule_horizon("cosine", 40, 0, saved=20)
    with pytest.raises(ValueError, match="linear"):
        schedule_horizon("linear", 21, 0, saved=20)
    assert schedule_horizon("cosine", 20, 40) == 40  # planned ahead: --lr-horizon 40 --iterations 20
    assert schedule_horizon("cosine", 40, 0, saved=40) == 40  # ... then --resume --iterations 40 keeps it
    assert schedule_horizon("cosine", 10, 0, saved=40) == 40  # stopping earlier changes nothing either
    assert schedule_horizon("constant", 40, 0, saved=20) == 40  # nothing decays: free to extend
    rates = [lr_factor(i, 40, "cosine", 2) for i in (5, 10, 19)]  # what the 40-iteration run uses (issue: .985 ...)
    assert rates == pytest.approx([cosine(i, 40, 2) for i in (5, 10, 19)])
    assert rates == pytest.approx([0.985, 0.895, 0.582], abs=5e-4)
    with pytest.raises(ValueError, match="lr_horizon=3 is shorter than iterations=4"):
        TrainConfig(lr_schedule="cosine", iterations=4, lr_horizon=3)
    with pytest.raises(ValueError, match="lr_horizon must be an int >= 0"):
        TrainConfig(lr_horizon=-1)


@pytest.mark.parametrize("epochs, minibatch_size", [(1, None), (2, 4)])
@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_extending_a_run_within_its_horizon_equals_the_uninterrupted_run(tmp_path, schedule, epochs, minibatch_size):
    settings = {**TINY, "model": "tiny-mini", "finetune": "full", "eval_every": 0, "lr": 1e-3, "lr_schedule": schedule,
                "warmup_iterations": 1, "ppo_epochs": epochs, "minibatch_size": minibatch_size}
    straight_cfg = TrainConfig(**settings, iterations=3, output_dir=str(tmp_path / "straight"))
    straight = train(straight_cfg)
    assert [r["lr"] for r in straight] == pytest.approx(
        [1e-3 * f for f in ([0.5, 1, 1] if schedule == "constant" else
                            [0.5, 1, 0.5] if schedule == "linear" else [cosine(i, 3, 1) for i in range(3)])])
    assert read_state(list_checkpoints(straight_cfg.output_dir)[-1])["lr_horizon"] == 3
    if schedule != "constant":  # the default horizon is the first start's iterations: extending past it is refused
        with pytest.raises(ValueError, match="goes past this run's"):
            train(straight_cfg.replace(iterations=4), resume=True)

    short = TrainConfig(**settings, iterations=2, lr_horizon=3, output_dir=str(tmp_path / "extended"))
    train(short)
    extended = train(short.replace(iterations=3), resume=True)
    assert training_rows(extended) == training_rows(straight)  # lr and every other metric, row for row
    assert final_bytes(short) == final_bytes(straight_cfg)


def test_overwrite_refuses_a_folder_that_holds_no_run_and_deletes_nothing(tmp_path):
    model_dir = tmp_path / "my-model"  # a Hugging Face model folder
    model_dir.mkdir()
    (model_dir / "config.json").write_text('{"model_type": "qwen2"}')
    (model_dir / "model.safetensors").write_bytes(b"weights")
    cfg = TrainConfig(**TINY, iterations=1, output_dir=str(model_dir))
    with pytest.raises(ValueError, match=rf"overwrite: '{model_dir}' has no \.gigpo_run marker.*config\.json"):
        train(cfg, overwrite=True)
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.safetensors"]
    assert (model_dir / "config.json").read_text() == '{"model_type": "qwen2"}'


def test_a_run_marks_its_folder_and_overwrite_then_starts_it_over(tmp_path):
    cfg = TrainConfig(**{**TINY, "eval_every": 0}, iterations=1, output_dir=str(tmp_path))
    (tmp_path / "notes.txt").write_text("mine")
    train(cfg)
    assert (tmp_path / RUN_MARKER).exists()
    (tmp_path / "final" / "stale").write_text("x")
    train(cfg, overwrite=True)
    assert not (tmp_path / "final" / "stale").exists()  # the run's own folder was deleted and rewritten
    assert (tmp_path / "notes.txt").read_text() == "mine"  # what the run did not write stays
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000001"]
    assert Path(tmp_path / "metrics.jsonl").read_text().count("\n") == 1
