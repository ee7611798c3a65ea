"""Sokoban puzzles: rooms carved as in gym-sokoban, start states by exhaustive reverse play, exact solution lengths.

The generator behind :mod:`envs.sokoban` (see its docstring for the rules). States are small integers: cell index
``row * size + col``, and the boxes as a bit mask over cells.
"""
from __future__ import annotations

import random
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

ACTIONS = ("up", "down", "left", "right")

# gym-sokoban's carving masks (3x3 stamps laid along the random walk).
_CARVE_MASKS = (
    ((0, 0, 0), (1, 1, 1), (0, 0, 0)),
    ((0, 1, 0), (0, 1, 0), (0, 1, 0)),
    ((0, 0, 0), (1, 1, 0), (0, 1, 0)),
    ((0, 0, 0), (1, 1, 0), (1, 1, 0)),
    ((0, 0, 0), (0, 1, 1), (0, 1, 0)),
)
_MAX_GENERATION_TRIES = 200
_TASK_CACHE_SIZE = 256  # solved tasks kept per process; each holds a small distance table


@dataclass(frozen=True)
class SokobanTask:
    """One generated puzzle: the fixed layout, the start state and the moves-to-solve of every solvable state."""

    size: int
    floor: tuple[bool, ...]  # floor[cell]: not a wall
    targets: int  # bit mask of target cells
    start_player: int
    start_boxes: int  # bit mask of box cells
    moves_to_solve: dict[int, int]  # state code (boxes * size**2 + player) -> length of a shortest solution

    @property
    def num_boxes(self) -> int:
        return bin(self.targets).count("1")


# -- rules -------------------------------------------------------------------------------------------------------
def push(floor: tuple[bool, ...], player: int, boxes: int, delta: int) -> tuple[int, int]:
    """One move of the player by ``delta`` cells; a box ahead is pushed if the cell beyond it is free.

    Returns the new ``(player, boxes)``; a blocked move returns the state unchanged (as gym-sokoban does).
    """
    ahead = player + delta
    if not floor[ahead]:
        return player, boxes
    if boxes >> ahead & 1:
        beyond = ahead + delta
        if not floor[beyond] or boxes >> beyond & 1:
            return player, boxes
        boxes = boxes ^ (1 << ahead) | (1 << beyond)
    return ahead, boxes


def move_deltas(size: int) -> dict[str, int]:
    return {"up": -size, "down": size, "left": -1, "right": 1}


def solve_all(floor: tuple[bool, ...], targets: int, size: int) -> dict[int, int]:
    """Exhaustive reverse play: moves-to-solve for every state from which all boxes can reach the targets.

    Breadth-first search backwards from the solved states (boxes on targets, player on any free cell). A backward
    step undoes a forward move: the player steps back, and may pull along a box that sat in front of it.
    """
    ncells = size * size
    deltas = tuple(move_deltas(size).values())
    dist: dict[int, int] = {}
    queue: deque[int] = deque()
    for cell in range(ncells):
        if floor[cell] and not targets >> cell & 1:
            code = targets * ncells + cell
            dist[code] = 0
            queue.append(code)
    while queue:
        code = queue.popleft()
        boxes, player = divmod(code, ncells)
        d = dist[code] + 1
        for delta in deltas:
            back = player - delta
            if not floor[back] or boxes >> back & 1:
                continue
            walked = boxes * ncells + back  # undo a plain step
            if walked not in dist:
                dist[walked] = d
                queue.append(walked)
            ahead = player + delta
            if boxes >> ahead & 1:  # undo a push: the box ahead came from the player's cell
                pulled = (boxes ^ (1 << ahead) | (1 << player)) * ncells + back
                if pulled not in dist:
                    dist[pulled] = d
                    queue.append(pulled)
    return dist


# -- generation --------------------------------------------------------------------------------------------------
def carve_room(size: int, rng: random.Random) -> tuple[bool, ...]:
    """gym-sokoban ``room_topology_generation``: stamp 3x3 masks along a random walk; the border stays wall."""
    directions = ((1, 0), (0, 1), (-1, 0), (0, -1))
    num_steps = int(1.7 * (size + size))  # gym-sokoban's SokobanEnv default
    direction = rng.choice(directions)
    r, c = rng.randint(1, size - 1), rng.randint(1, size - 1)
    grid = [[0] * size for _ in range(size)]
    for _ in range(num_steps):
        if rng.random() < 0.35:
            direction = rng.choice(directions)
        r = max(min(r + direction[0], size - 2), 1)
        c = max(min(c + direction[1], size - 2), 1)
        mask = rng.choice(_CARVE_MASKS)
        for i in range(3):
            for j in range(3):
                grid[r - 1 + i][c - 1 + j] += mask[i][j]
    return tuple(
        grid[i][j] > 0 and 0 < i < size - 1 and 0 < j < size - 1 for i in range(size) for j in range(size)
    )


def generate_task(seed: int, size: int, num_boxes: int | tuple[int, int], min_solution_moves: int,
                  max_solution_moves: int) -> SokobanTask:
    """Deterministic puzzle for ``seed``: carve a room, place targets, reverse-play, draw a start state.

    A room that is too small, or whose reverse play reaches no state in the wanted difficulty band, is discarded
    and the same random stream draws another one, so the result depends on the seed only.
    """
    rng = random.Random(seed)
    for _ in range(_MAX_GENERATION_TRIES):
        k = num_boxes if isinstance(num_boxes, int) else rng.randint(num_boxes[0], num_boxes[1])
        floor = carve_room(size, rng)
        cells = [i for i, f in enumerate(floor) if f]
        if len(cells) < k + 2:
            continue
        targets = 0
        for cell in rng.sample(cells, k):
            targets |= 1 << cell
        dist = solve_all(floor, targets, size)
        by_moves: dict[int, list[int]] = {}
        for code, d in dist.items():
            if min_solution_moves <= d <= max_solution_moves:
                by_moves.setdefault(d, []).append(code)
        if not by_moves:
            continue
        d = rng.choice(sorted(by_moves))  # uniform over difficulties first, so short and long puzzles both occur
        code = rng.choice(sorted(by_moves[d]))
        boxes, player = divmod(code, size * size)
        return SokobanTask(size, floor, targets, player, boxes, dist)
    raise ValueError(
        f"sokoban: no puzzle with a {min_solution_moves}..{max_solution_moves}-move solution found for seed {seed} "
        f"(size={size}, num_boxes={num_boxes}) after {_MAX_GENERATION_TRIES} rooms; widen the band or the room"
    )


def parse_level(text: str) -> SokobanTask:
    """A hand-made puzzle from its picture, in the observation's symbols (cells may be separated by spaces).

    The grid must be square, walled all round, hold one player and as many boxes as targets.
    """
    rows = [ln.replace(" ", "") for ln in text.strip().splitlines() if ln.strip()]
    size = len(rows)
    if size < 3 or any(len(r) != size for r in rows):
        raise ValueError("sokoban level: need a square grid of at least 3x3, "
                         f"got rows of lengths {[len(r) for r in rows]}")
    unknown = set("".join(rows)) - set("#_OX√PS")
    if unknown:
        raise ValueError(f"sokoban level: unknown symbols {sorted(unknown)}; use # _ O X √ P S")
    cells = "".join(rows)
    if any(cells[i] != "#" for i in range(size * size) if i // size in (0, size - 1) or i % size in (0, size - 1)):
        raise ValueError("sokoban level: the border must be all walls (#)")
    players = [i for i, ch in enumerate(cells) if ch in "PS"]
    if len(players) != 1:
        raise ValueError(f"sokoban level: need exactly one player (P or S), found {len(players)}")
    boxes = sum(1 << i for i, ch in enumerate(cells) if ch in "X√")
    targets = sum(1 << i for i, ch in enumerate(cells) if ch in "O√S")
    if boxes == 0 or bin(boxes).count("1") != bin(targets).count("1"):
        raise ValueError("sokoban level: need at least one box and as many targets (O, √, S) as boxes (X, √)")
    floor = tuple(ch != "#" for ch in cells)
    return SokobanTask(size, floor, targets, players[0], boxes, solve_all(floor, targets, size))


_TASKS: OrderedDict[tuple, SokobanTask] = OrderedDict()


def cached_task(seed: int, *options: Any) -> SokobanTask:
    """``generate_task`` with a small per-process LRU cache: the N copies of one task (and re-used task seeds during
    training) pay for generation and the solver once."""
    key = (seed, *options)
    task = _TASKS.get(key)
    if task is None:
        task = generate_task(seed, *options)
        _TASKS[key] = task
        if len(_TASKS) > _TASK_CACHE_SIZE:
            _TASKS.popitem(last=False)
    else:
        _TASKS.move_to_end(key)
    return task
