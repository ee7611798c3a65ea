"""The corridor: walk right from cell ``start`` to cell ``goal``; 'left' walks back (not below cell 0), any other
reply leaves the agent where it is. The same cells recur across rollouts, so GiGPO finds step groups, and an
untrained tiny model sometimes reaches the goal. Importing this module registers it as ``corridor`` (every expert
move given) and ``corridor_no_expert`` (no expert move: what a prior that needs one refuses)."""
import envs


class Corridor:
    """``cells``: (start, goal), a tuple option like sokoban's ``num_boxes`` range (JSON turns it into a list);
    ``limit``: steps before the episode is cut; ``expert``: whether ``info`` names the expert's move ('right')."""

    def __init__(self, limit: int = 6, cells: tuple[int, int] = (0, 3), expert: bool = True):
        self.limit, self.expert = limit, expert
        self.start, self.goal = cells

    def _info(self):
        won = self.pos == self.goal
        return {"anchor": self.pos, "admissible_actions": ["left", "right"], "won": won,
                "expert_action": "right" if self.expert and not won else None, "task": f"reach cell {self.goal}"}

    def reset(self, *, seed=None, options=None):
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
envs.register("corridor_no_expert", lambda **kw: Corridor(expert=False, **kw), overwrite=True)
