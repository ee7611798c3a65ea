"""Tiny training runs for the checkpoint and run-folder tests: the ``corridor`` env (registered on import), the
settings of a run that takes seconds on a CPU, and the CLI's ``train`` flags for them."""
from __future__ import annotations

import envs
from gigpo.__main__ import main


class Corridor:
    """Walk right from cell 0 to cell 3; the same cells recur across rollouts, so GiGPO finds step groups."""

    def __init__(self, limit: int = 6, cells: tuple[int, int] = (0, 3)):
        self.limit = limit
        self.start, self.goal = cells

    def _info(self):
        return {"anchor": self.pos, "admissible_actions": ["left", "right"], "won": self.pos == self.goal,
                "expert_action": None if self.pos == self.goal else "right", "task": f"reach cell {self.goal}"}

    def reset(self, *, seed=None):
        self.pos, self.t = self.start, 0
        return f"You are in cell {self.pos}.", self._info()

    def step(self, action):
        self.t += 1
        if action == "right":
            self.pos += 1
        elif action == "left":
            self.pos = max(0, self.pos - 1)
        done = self.pos == self.goal
        return (f"You are in cell {self.pos}." if action in ("left", "right") else "Nothing happens.",
                1.0 if done else 0.0, done, self.t >= self.limit and not done, self._info())


envs.register("corridor", Corridor, overwrite=True)

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
