"""Sokoban as a text game: push every box onto a target.

The puzzle rules, shaped rewards and generator follow gym-sokoban (Schrader 2018), the version the GiGPO paper's
Sokoban experiments use through verl-agent (Feng et al. 2025, Sec. 5); the text rendering uses verl-agent's symbols.

- Room: a random walk carves floor out of a walled ``size x size`` grid (gym-sokoban ``room_topology_generation``).
- Start state: reverse play. Boxes sit on their targets and the player *pulls* them backwards
  (gym-sokoban ``reverse_playing``). We run that reverse play exhaustively, as a breadth-first search over every
  pull sequence, so it also yields the exact number of moves that solves the puzzle from every solvable state.
  The start is drawn (seeded) among the states whose shortest solution has between ``min_solution_moves`` and
  ``max_solution_moves`` moves, so every task is solvable within the step limit by construction, and the same
  table is the expert.
- Rewards (gym-sokoban defaults): -0.1 every step, +1 for pushing a box onto a target, -1 for pushing one off,
  +10 when all boxes are on targets (the episode then terminates, won).
- Actions: "up", "down", "left", "right", always all admissible. Walking into a wall or into a box that cannot move
  leaves the state unchanged (gym-sokoban returns the same state). Any other text is invalid: the state is
  unchanged and the step still counts (like gym-sokoban's no-op action).

States are small integers internally: cell index ``row * size + col``, and the boxes as a bit mask over cells.
"""
from __future__ import annotations

import random
from typing import Any

from envs.sokoban_levels import ACTIONS, SokobanTask, cached_task, move_deltas, parse_level, push

LEGEND = "Legend: # wall, _ floor, O target, X box, √ box on target, P player, S player on target."

# -- the environment ---------------------------------------------------------------------------------------------
class SokobanEnv:
    """Text Sokoban following the gigpo env contract (``envs.base``).

    Args:
        size: side of the square grid, walls included (verl-agent's GiGPO runs use 6).
        num_boxes: an int, or an inclusive range ``(lo, hi)`` drawn per task seed.
        max_steps: step limit; the episode is truncated after this many steps.
        min_solution_moves, max_solution_moves: difficulty band of the start state (length of a shortest solution);
            ``max_solution_moves`` defaults to ``min(15, max_steps)``.
        step_penalty, box_on_target_reward, box_off_target_penalty, solved_reward: gym-sokoban's reward values.
        level: a fixed hand-made puzzle (see :func:`parse_level`); every reset then starts it, whatever the seed,
            and ``size``/``num_boxes``/the difficulty band are taken from it.

    ``info["anchor"]`` is ``(player (row, col), sorted box (row, col)s)``: walls and targets are fixed per task.
    ``info["expert_action"]`` is the first move of a shortest solution from the current state, or ``None`` once the
    episode is over or when no solution exists any more (a box pushed into a corner).
    """

    def __init__(self, size: int = 6, num_boxes: int | tuple[int, int] = (1, 2), max_steps: int = 30,
                 min_solution_moves: int = 3, max_solution_moves: int | None = None, step_penalty: float = -0.1,
                 box_on_target_reward: float = 1.0, box_off_target_penalty: float = -1.0, solved_reward: float = 10.0,
                 level: str | None = None):
        self.level = parse_level(level) if level is not None else None
        if self.level is not None:
            size, num_boxes = self.level.size, self.level.num_boxes
        if self.level is None and not (isinstance(size, int) and 5 <= size <= 10):
            raise ValueError(f"sokoban: size must be an int in 5..10 (walls included), got {size!r}")
        lo, hi = (num_boxes, num_boxes) if isinstance(num_boxes, int) else tuple(num_boxes)
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= 4):
            raise ValueError(f"sokoban: num_boxes must be an int or a range (lo, hi) with 1 <= lo <= hi <= 4, "
                             f"got {num_boxes!r}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"sokoban: max_steps must be a positive int, got {max_steps!r}")
        if max_solution_moves is None:
            max_solution_moves = min(15, max_steps)
        if not 1 <= min_solution_moves <= max_solution_moves <= max_steps:
            raise ValueError(
                f"sokoban: need 1 <= min_solution_moves <= max_solution_moves <= max_steps, got "
                f"{min_solution_moves}, {max_solution_moves}, {max_steps}")
        self.size = size
        self.num_boxes = num_boxes if isinstance(num_boxes, int) else (lo, hi)
        self.max_steps = max_steps
        self.min_solution_moves = min_solution_moves
        self.max_solution_moves = max_solution_moves
        self.step_penalty = step_penalty
        self.box_on_target_reward = box_on_target_reward
        self.box_off_target_penalty = box_off_target_penalty
        self.solved_reward = solved_reward
        self._deltas = move_deltas(size)
        self._coords = tuple((i // size, i % size) for i in range(size * size))
        self._seed_rng = random.Random()  # only for reset(seed=None)
        self.task: SokobanTask | None = None

    # -- contract ----------------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None:
            seed = self._seed_rng.randrange(2**31)
        if self.level is not None:
            self.task = self.level
        else:
            self.task = cached_task(int(seed), self.size, self.num_boxes, self.min_solution_moves,
                                    self.max_solution_moves)
        self._task_text = (f"Push every box (X) onto a target (O): {self.task.num_boxes} "
                           f"box{'es' if self.task.num_boxes > 1 else ''} in this room.")
        self._walls_and_targets = [
            ("O" if self.task.targets >> i & 1 else "_") if f else "#" for i, f in enumerate(self.task.floor)]
        self.player, self.boxes = self.task.start_player, self.task.start_boxes
        self.steps = 0
        self.done = False
        return self.render(), self._info(won=False)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise ValueError("sokoban: call reset() before step()")
        if self.done:
            raise ValueError("sokoban: the episode is over; call reset()")
        self.steps += 1
        reward = self.step_penalty
        delta = self._deltas.get(action) if isinstance(action, str) else None
        if delta is not None:
            targets = self.task.targets
            before = bin(self.boxes & targets).count("1")
            self.player, self.boxes = push(self.task.floor, self.player, self.boxes, delta)
            after = bin(self.boxes & targets).count("1")
            if after > before:
                reward += self.box_on_target_reward
            elif after < before:
                reward += self.box_off_target_penalty
        won = self.boxes == self.task.targets
        if won:
            reward += self.solved_reward
        terminated = won
        truncated = not terminated and self.steps >= self.max_steps
        self.done = terminated or truncated
        return self.render(), reward, terminated, truncated, self._info(won=won)

    # -- views -------------------------------------------------------------------------------------------------------
    def render(self) -> str:
        """The grid in verl-agent's symbols, a legend and how many boxes are placed (a pure function of the state,
        so the observation text and the anchor group steps identically)."""
        cells = self._walls_and_targets.copy()
        targets = self.task.targets
        on_target = 0
        for i in self._box_cells():
            if targets >> i & 1:
                cells[i] = "√"
                on_target += 1
            else:
                cells[i] = "X"
        cells[self.player] = "S" if targets >> self.player & 1 else "P"
        n = self.size
        grid = "\n".join(" ".join(cells[r * n:(r + 1) * n]) for r in range(n))
        return f"{LEGEND}\n{grid}\nBoxes on targets: {on_target}/{self.task.num_boxes}."

    def anchor(self) -> tuple:
        coords = self._coords
        return coords[self.player], tuple(coords[i] for i in self._box_cells())

    def expert_action(self) -> str | None:
        """First move of a shortest solution from the current state (ties broken in ``ACTIONS`` order)."""
        if self.done:
            return None
        ncells = self.size * self.size
        table = self.task.moves_to_solve
        d = table.get(self.boxes * ncells + self.player)
        if d is None:  # dead end: some box can no longer reach a target
            return None
        for name in ACTIONS:
            player, boxes = push(self.task.floor, self.player, self.boxes, self._deltas[name])
            if table.get(boxes * ncells + player) == d - 1:
                return name
        raise AssertionError("unreachable: a solvable state always has a move one step closer to the goal")

    def _box_cells(self) -> list[int]:
        boxes, cells, i = self.boxes, [], 0
        while boxes:
            if boxes & 1:
                cells.append(i)
            boxes >>= 1
            i += 1
        return cells

    def _info(self, won: bool) -> dict[str, Any]:
        return {
            "anchor": self.anchor(),
            "admissible_actions": list(ACTIONS),
            "expert_action": self.expert_action(),
            "won": won,
            "task": self._task_text,
        }
