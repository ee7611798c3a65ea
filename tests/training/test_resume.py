"""Resume is exact: extending a finished run, or resuming an interrupted one (twice), reproduces the uninterrupted run
byte for byte (metrics rows and final weights), with and without an evaluation at the boundary (issue 12).

The trainer's random draws are keyed by (seed, iteration, task group, purpose), so an evaluation that happened only
in the shorter run, or a checkpoint, cannot shift the rollouts that follow.
"""
import pytest

import gigpo.training.trainer as trainer_module
from gigpo.run_files.metrics import read_metrics
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train
from tests.support.tiny_training import TINY, final_bytes, interrupt_policy_update, training_rows


def without_eval(row):
    return {k: v for k, v in row.items() if not k.startswith("eval_")}


@pytest.mark.parametrize("finetune", ["lora", "full"])
@pytest.mark.parametrize("eval_every", [0, 2])
def test_extending_a_finished_run_equals_the_uninterrupted_run(tmp_path, finetune, eval_every):
    """``train --iterations 1`` then ``train --resume --iterations 3`` equals ``train --iterations 3``.

    With ``eval_every=2`` the short run evaluates after its last iteration (iteration 0), which the long run does not
    do: that extra evaluation must not change anything that follows.
    """
    # small learning rates keep the policy stochastic: a policy made deterministic by large steps samples the same
    # actions from any random numbers, and the test would then prove nothing (full fine-tuning moves every weight)
    lr = 1e-3 if finetune == "lora" else 1e-5
    base = TrainConfig(**{**TINY, "eval_every": eval_every, "finetune": finetune, "lr": lr}, iterations=3,
                       output_dir=str(tmp_path / "straight"))
    straight = train(base)
    short = base.replace(iterations=1, output_dir=str(tmp_path / "extended"))
    first = train(short)
    if eval_every:
        assert "eval_sampled_success_rate" in first[0]  # the boundary evaluation happened
        assert "eval_sampled_success_rate" not in straight[0]
    extended = train(short.replace(iterations=3), resume=True)
    assert [r["iteration"] for r in extended] == [0, 1, 2]
    ext, ref = training_rows(extended), training_rows(straight)
    assert without_eval(ext[0]) == ref[0]  # row 0 of the extended run also holds its boundary evaluation
    assert ext[1:] == ref[1:]
    assert training_rows(read_metrics(short.output_dir))[1:] == ref[1:]
    assert final_bytes(short) == final_bytes(base)


@pytest.mark.slow  # several resumed trainings; the quick suite keeps the extend-a-run cases
def test_a_run_resumed_twice_equals_the_uninterrupted_run(tmp_path, monkeypatch):
    """Three lives: ``--iterations 2`` finishes (and evaluates at its end, which the 4-iteration run does not do);
    ``--resume --iterations 4`` is interrupted in the update of iteration 3; ``--resume`` again runs to the end."""
    cfg = TrainConfig(**{**TINY, "eval_every": 3, "lr": 1e-3}, iterations=4, checkpoint_every=1,
                      output_dir=str(tmp_path / "a"))
    straight = train(cfg)
    assert [("eval_sampled_success_rate" in r) for r in straight] == [False, False, True, True]

    resumed_cfg = cfg.replace(output_dir=str(tmp_path / "b"))
    first = train(resumed_cfg.replace(iterations=2))  # first life: finished, with a boundary evaluation at iteration 1
    assert "eval_sampled_success_rate" in first[1]
    real_update = interrupt_policy_update(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):  # second life: iteration 2 completes, iteration 3's update is interrupted
        train(resumed_cfg, resume=True)
    assert [r["iteration"] for r in read_metrics(resumed_cfg.output_dir)] == [0, 1, 2]
    monkeypatch.setattr(trainer_module, "policy_update", real_update)
    resumed = train(resumed_cfg, resume=True)  # third life: to the end
    got, ref = training_rows(resumed), training_rows(straight)
    assert got[0] == ref[0] and without_eval(got[1]) == ref[1] and got[2:] == ref[2:]
    assert training_rows(read_metrics(resumed_cfg.output_dir))[2:] == ref[2:]
    assert final_bytes(resumed_cfg) == final_bytes(cfg)
