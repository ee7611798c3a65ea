"""Tiny training runs for the checkpoint and run-folder tests, driven through the CLI: the settings of a run that
takes seconds on a CPU on the ``corridor`` env, and the ``train`` flags for them."""
from __future__ import annotations

from gigpo.__main__ import main
from tests.support import corridor  # noqa: F401  (registers the "corridor" env)

# the tests' run: 2 tasks x 2 rollouts of at most 4 steps, LoRA rank 2 on the tiny model, no evaluation
TINY_RUN = {"env": "corridor", "num_groups": 2, "group_size": 2, "max_steps": 4, "eval_tasks": 1, "eval_every": 0,
            "progress": False, "micro_batch_size": 8, "lr": 5e-3, "lora_rank": 2}


def train_flags(**overrides) -> list[str]:
    """``TINY_RUN`` (with ``overrides``) as ``python -m gigpo train`` flags."""
    flags = []
    for name, value in {**TINY_RUN, **overrides}.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            flags += [flag, str(value)]
    return flags


def cli_train(output_dir, *extra: str, **overrides) -> int:
    """Run ``python -m gigpo train`` in this process (the corridor env is registered here) on ``output_dir``."""
    return main(["train", *train_flags(**overrides), "--output-dir", str(output_dir), *extra])
