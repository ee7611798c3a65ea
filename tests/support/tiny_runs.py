"""Tiny training runs for the checkpoint and run-folder tests, driven through the CLI: the settings of a run that
takes seconds on a CPU on the ``corridor`` env, and the ``train`` flags for them."""
from __future__ import annotations

from gigpo.__main__ import main
from tests.support.tiny_training import TINY  # registers the "corridor" env too

# the tests' run through the CLI: TINY without evaluation, LoRA rank 2
TINY_RUN = {**TINY, "eval_every": 0, "lora_rank": 2}


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
