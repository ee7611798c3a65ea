"""The learning-rate schedule (warmup, then constant / linear / cosine) against values worked out by hand, its
config validation, and the trainer applying it (the ``lr`` column of metrics.jsonl)."""
import math

import pytest

from gigpo.training.config import TrainConfig
from gigpo.training.lr_schedule import lr_factor


def factors(schedule, iterations=6, warmup=2):
    return [lr_factor(i, iterations, schedule, warmup) for i in range(iterations)]


def test_warmup_then_constant():
    # warmup W=2: (i+1)/(W+1) = 1/3, 2/3; then 1
    assert factors("constant") == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])


def test_warmup_then_linear_decay():
    # after warmup p = (i-2)/(6-2) = 0, 1/4, 1/2, 3/4 -> 1 - p
    assert factors("linear") == pytest.approx([1 / 3, 2 / 3, 1, 0.75, 0.5, 0.25])


def test_warmup_then_cosine_decay():
    # (1 + cos(pi p)) / 2 at p = 0, 1/4, 1/2, 3/4: 1, (1 + sqrt(2)/2)/2, 1/2, (1 - sqrt(2)/2)/2
    h = math.sqrt(2) / 2
    assert factors("cosine") == pytest.approx([1 / 3, 2 / 3, 1, (1 + h) / 2, 0.5, (1 - h) / 2])


def test_no_warmup_starts_at_the_full_rate():
    assert lr_factor(0, 4, "constant", 0) == 1.0
    assert [lr_factor(i, 4, "linear", 0) for i in range(4)] == pytest.approx([1, 0.75, 0.5, 0.25])


@pytest.mark.parametrize("args, match", [((0, 4, "step", 0), "lr_schedule"), ((4, 4, "constant", 0), "iteration"),
                                         ((0, 4, "constant", 4), "warmup_iterations")])
def test_bad_schedule_arguments_raise(args, match):
    with pytest.raises(ValueError, match=match):
        lr_factor(*args)


@pytest.mark.parametrize("changes, match", [({"lr_schedule": "exp"}, "lr_schedule"),
                                            ({"warmup_iterations": 10, "iterations": 10}, "warmup_iterations"),
                                            ({"warmup_iterations": -1}, "warmup_iterations"),
                                            ({"target_kl": 0.0}, "target_kl"), ({"target_kl": True}, "target_kl")])
def test_config_rejects_bad_guard_settings(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**changes)


def test_trainer_logs_the_scheduled_lr(tmp_path):
    from gigpo.training.trainer import train
    cfg = TrainConfig(env="sokoban", model="tiny-mini", finetune="full", kl_coef=0.0, num_groups=1, group_size=2,
                      max_steps=2, iterations=3, lr=1e-3, lr_schedule="linear", warmup_iterations=1, eval_every=0,
                      checkpoint_every=0, progress=False, output_dir=str(tmp_path / "run"))
    history = train(cfg)
    # warmup 1/2; then p = (i-1)/2 = 0, 1/2 -> 1, 1/2
    assert [row["lr"] for row in history] == pytest.approx([0.5e-3, 1e-3, 0.5e-3])
