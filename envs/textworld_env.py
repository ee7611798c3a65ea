"""TextWorld (Côté et al. 2018) behind the gigpo env contract: the real engine, games generated offline from a seed.

TextWorld ships with its own Inform 7 compiler, so ``textworld.make`` builds a playable ``.z8`` game from a seed
without network access (about 1-2 s a game). Games are cached on disk (default ``~/.cache/gigpo/textworld``), keyed
by seed and generation options, so each game is compiled once per machine.

The engine is slow: a few hundred steps per second, against tens of thousands for the pure-Python envs. Use it for
realism, not for throughput (``benchmarks/env_speed.py`` prints the figure).

What the contract keys hold here:

- ``anchor``: the engine's logical state, not its text: ``(location, frozenset of the state facts as strings)``
  (TextWorld's ``GameState.facts``, e.g. ``"in(key: k, I: I)"``). Two rollouts that reach the same world state by
  different routes share the anchor even when the game's prose differs.
- ``admissible_actions``: TextWorld's ``admissible_commands`` (sorted by the engine).
- ``expert_action``: the first command of TextWorld's ``policy_commands``. The engine re-plans that policy after
  every step: when the agent deviates with a reversible action, the policy is extended with the reverse action
  (``ActionDependencyTree``). When the engine gives up tracking (an irreversible deviation), we re-plan ourselves
  with a breadth-first search over the engine's logical game state (``GameProgression.copy`` / ``update``), bounded
  by ``replan_budget`` expanded states; ``None`` if that finds nothing or the episode is over.
- ``won``: TextWorld's ``won``. ``lost`` (the game's failure facts) also terminates the episode.

Non-admissible commands are *not* sent to the Inform 7 interpreter: it understands commands TextWorld's logic does not
track (``take all``), which would let the two drift apart. The env answers "Nothing happens." (as ALFWorld, built on
TextWorld, does) and the state is unchanged; the step still counts.

Reward: the change of the game's score (a point per quest milestone, TextWorld's own scoring).
The observation is the engine's feedback with the status bar (which shows the move counter, and so would make every
step's text unique) and the title banner removed.
"""
from __future__ import annotations

import os
import random
import re
import tempfile
import warnings
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Any

NOTHING_HAPPENS = "Nothing happens."
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "gigpo" / "textworld"
# Inform 7's status line (">  ...  -= Room =-0/3": room, score/moves) that follows the command prompt.
_STATUS_LINE = re.compile(r"\n>\s*-=.*=-[\d/]*\s*$|\n>\s*$")
_BANNER_LINE = re.compile(r"^[\s$|\\/_<>]+$")


@contextmanager
def _quiet_engine():
    """Silence jericho's "unsupported game" warning: TextWorld asks the Z-machine for valid actions on every step,
    gets none for its own games, and then derives them from its logic layer, which is what we use."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to find valid actions in an unsupported game")
        yield


def _import_textworld():
    try:
        import textworld  # noqa: F401  (heavy; imported on first use only)
        from textworld.generator.inform7 import Inform7Game  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the 'textworld' env needs the TextWorld engine: pip install 'gigpo[envs]'") from exc
    return textworld


def game_path(cache_dir: Path, seed: int, world_size: int, nb_objects: int, quest_length: int) -> Path:
    return Path(cache_dir) / f"tw-r{world_size}-o{nb_objects}-q{quest_length}-s{seed}.z8"


def make_game_file(seed: int, world_size: int, nb_objects: int, quest_length: int, cache_dir: Path) -> Path:
    """Generate and compile the game for ``seed`` unless it is cached; returns the ``.z8`` path.

    Compilation happens in a private temp folder and the files are moved into place afterwards, so parallel
    processes never see a half-written game.
    """
    path = game_path(cache_dir, seed, world_size, nb_objects, quest_length)
    if path.exists() and path.with_suffix(".json").exists():
        return path
    textworld = _import_textworld()
    path.parent.mkdir(parents=True, exist_ok=True)
    options = textworld.GameOptions()
    options.seeds = int(seed)  # an int seeds the map, objects, quest and text generators together
    options.nb_rooms = world_size
    options.nb_objects = nb_objects
    options.quest_length = quest_length
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        options.path = os.path.join(tmp, path.name)
        options.force_recompile = True
        compiled, _ = textworld.make(options)
        compiled = Path(compiled)
        os.replace(compiled.with_suffix(".json"), path.with_suffix(".json"))
        os.replace(compiled, path)  # the .z8 last: its presence with the .json marks a complete entry
    return path


def clean_feedback(text: str) -> str:
    """Drop the title banner, the prompt and the status bar; squeeze blank lines."""
    text = _STATUS_LINE.sub("", text)
    lines = [ln.rstrip() for ln in text.splitlines() if not (_BANNER_LINE.match(ln) and ln.strip())]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class TextWorldEnv:
    """A seeded TextWorld game following the gigpo env contract (``envs.base``).

    Args:
        world_size: number of rooms (TextWorld ``nb_rooms``).
        nb_objects: number of objects in the world.
        quest_length: number of actions of the generated quest.
        max_steps: step limit; the episode is truncated after this many steps.
        cache_dir: where compiled games are kept (default ``~/.cache/gigpo/textworld``).
        replan_budget: most logical states the fallback re-planner expands (see module docstring).
    """

    def __init__(self, world_size: int = 3, nb_objects: int = 6, quest_length: int = 3, max_steps: int = 50,
                 cache_dir: str | os.PathLike | None = None, replan_budget: int = 2000):
        for name, value, low in (("world_size", world_size, 1), ("nb_objects", nb_objects, 0),
                                 ("quest_length", quest_length, 1), ("max_steps", max_steps, 1),
                                 ("replan_budget", replan_budget, 0)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"textworld: {name} must be an int >= {low}, got {value!r}")
        self.world_size = world_size
        self.nb_objects = nb_objects
        self.quest_length = quest_length
        self.max_steps = max_steps
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self.replan_budget = replan_budget
        self._textworld = _import_textworld()
        self._infos = self._textworld.EnvInfos(
            feedback=True, admissible_commands=True, policy_commands=True, won=True, lost=True, facts=True,
            objective=True, score=True)
        self._seed_rng = random.Random()  # only for reset(seed=None)
        self._engine = None
        self._engine_path: Path | None = None
        self._inform7 = None
        self.state = None  # the engine's GameState after the last step
        self.steps = 0
        self.done = False

    # -- contract ----------------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None:
            seed = self._seed_rng.randrange(2**31)
        path = make_game_file(int(seed), self.world_size, self.nb_objects, self.quest_length, self.cache_dir)
        if path != self._engine_path:
            self.close()
            self._engine = self._textworld.start(str(path), request_infos=self._infos)
            self._engine_path = path
            self._inform7 = None
        with _quiet_engine():
            self.state = self._engine.reset()
        self.steps = 0
        self.done = False
        return clean_feedback(self.state.feedback), self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise ValueError("textworld: call reset() before step()")
        if self.done:
            raise ValueError("textworld: the episode is over; call reset()")
        self.steps += 1
        reward = 0.0
        if isinstance(action, str) and action in self.state.admissible_commands:
            score_before = self.state.score
            with _quiet_engine():
                self.state, _, _ = self._engine.step(action)
            reward = float(self.state.score - score_before)
            obs = clean_feedback(self.state.feedback)
        else:
            obs = NOTHING_HAPPENS
        terminated = bool(self.state.won or self.state.lost)
        truncated = not terminated and self.steps >= self.max_steps
        self.done = terminated or truncated
        return obs, reward, terminated, truncated, self._info()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
            self._engine_path = None

    # -- views -------------------------------------------------------------------------------------------------------
    def anchor(self) -> tuple[str, frozenset[str]]:
        facts = frozenset(map(str, self.state.facts))
        location = next((f[len("at(P, "):].split(":")[0] for f in facts if f.startswith("at(P, ")), "")
        return location, facts

    def expert_action(self) -> str | None:
        if self.done or self.state.won or self.state.lost:
            return None
        if self.state.policy_commands:
            return self.state.policy_commands[0]
        plan = self.replan()
        return plan[0] if plan else None

    def replan(self) -> list[str] | None:
        """Shortest command sequence to a won state, by breadth-first search over TextWorld's logical game state.

        Used only when the engine stopped tracking the quest. Explores at most ``replan_budget`` states.
        """
        if self._inform7 is None:
            from textworld.generator.inform7 import Inform7Game
            self._inform7 = Inform7Game(self._textworld.Game.load(str(self._engine_path.with_suffix(".json"))))
        start = self.state["_game_progression"]
        seen = {frozenset(start.state.facts)}
        queue = deque([(start, [])])
        while queue and len(seen) <= self.replan_budget:
            progression, plan = queue.popleft()
            for action in progression.valid_actions:
                nxt = progression.copy()
                nxt.update(action)
                if nxt.completed:
                    return self._inform7.gen_commands_from_actions(plan + [action])
                key = frozenset(nxt.state.facts)
                if nxt.failed or key in seen:
                    continue
                seen.add(key)
                queue.append((nxt, plan + [action]))
        return None

    def _info(self) -> dict[str, Any]:
        return {
            "anchor": self.anchor(),
            "admissible_actions": list(self.state.admissible_commands),
            "expert_action": self.expert_action(),
            "won": bool(self.state.won),
            "task": self.state.objective,
        }
