"""Writes a tiny run with gigpo v0.2 (commit 8634dbc): PYTHONPATH=/tmp/v02 python make_v02.py OUT"""
import sys

import envs
import gigpo
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train


class Corridor:
    def __init__(self, limit: int = 6, cells=(0, 3)):
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
print(gigpo.__file__)
cfg = TrainConfig(env="corridor", num_groups=2, group_size=2, max_steps=4, eval_tasks=1, eval_every=0, progress=False,
                  micro_batch_size=8, lr=5e-3, lora_rank=2, iterations=2, checkpoint_every=1, keep_checkpoints=1,
                  output_dir=sys.argv[1])
rows = train(cfg)
print(len(rows))
