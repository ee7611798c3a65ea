"""``household``: an offline, procedurally generated counterpart of ALFWorld (text household tasks).

ALFWorld (Shridhar et al. 2021, "ALFWorld: Aligning Text and Embodied Environments for Interactive Learning") is the
main benchmark of GiGPO (Feng et al. 2025, Sec. 5.1). This env keeps what the agent sees and does:

- the command grammar: ``go to {recep}``, ``open/close {recep}``, ``take {obj} from {recep}``,
  ``put {obj} in/on {recep}`` (ALFWorld writes "in/on" literally), ``clean {obj} with sinkbasin 1``,
  ``heat {obj} with microwave 1``, ``cool {obj} with fridge 1``, ``use desklamp 1``, ``examine {obj|recep}``,
  ``inventory``, ``look``; the agent holds at most one object;
- the observation wording ("You arrive at countertop 1. On the countertop 1, you see a apple 1, and a mug 2.",
  "The fridge 1 is closed.", "Nothing happens." for anything not admissible, state unchanged);
- the six task types and their success conditions, a sparse reward (``success_reward``, 10 by default as in the
  authors' ALFWorld setting), termination on success and truncation at ``max_steps`` (50, as in the paper).

Scenes come from :mod:`envs.household_world`. The state is a handful of ints and lists (agent location, object
locations, a bitmask of open receptacles, per-object clean/hot/cool bits, lamp on/off), so ``info["anchor"]`` is a
small tuple and the admissible commands are rebuilt only after an action that changes the state.

The expert (``info["expert_action"]``) plays like ALFWorld's planner expert, which reads the true state: it takes
the first matching object in the fixed receptacle order, opening closed receptacles on the way, processes it at the
sink/microwave/fridge, and puts it in the first goal receptacle (look tasks: carry it to the lamp and use the lamp).
It decides from the current state alone, so it also finishes from any state a random policy reached.
"""
from __future__ import annotations

import random
from typing import Any

from envs.household_world import CLEAN, COOL, HOT, PROPERTY_APPLIANCE, TASK_TYPES, Layout, make_layout, validate_options

WELCOME = "-= Welcome to TextWorld, ALFRED! =-\n\n"
NOTHING = "Nothing happens."
LAMP_NAME = "desklamp 1"
USE_LAMP = "use desklamp 1"
_PROPERTY_WORD = ((CLEAN, "clean"), (HOT, "hot"), (COOL, "cool"))

# Action opcodes (the admissible-command table maps each command string to (opcode, argument)).
GO, OPEN, CLOSE, TAKE, PUT, PROCESS, USE, EXAMINE_R, EXAMINE_O, INVENTORY, LOOK = range(11)


def _listing(items: list[str]) -> str:
    """ALFWorld's list wording: "nothing", "a apple 1", "a apple 1, and a mug 2", "a x, a y, and a z"."""
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + ", and " + items[-1]


class _Scene:
    """Tables derived once per layout (strings and indices the env would otherwise rebuild every step)."""

    def __init__(self, layout: Layout):
        self.layout = layout
        rec, objs = layout.receptacles, layout.objects
        n_r = len(rec)
        self.r_types = [layout.receptacle_type(r) for r in range(n_r)]
        self.o_types = [layout.object_type(o) for o in range(len(objs))]
        self.a_obj = ["a " + name for name in objs]
        self.go_cmd = ["go to " + name for name in rec]
        # For each location (index n_r stands for "middle of the room"), the go-to commands to the other receptacles.
        self.go_items = [[(self.go_cmd[t], (GO, t)) for t in range(n_r) if t != r] for r in range(n_r + 1)]
        self.open_mask0 = sum(1 << r for r in range(n_r) if layout.start_open[r])
        # The verb each appliance offers on a held object; ALFWorld allows it at every instance of the type.
        verb = {"sinkbasin": ("clean", CLEAN), "microwave": ("heat", HOT), "fridge": ("cool", COOL)}
        self.process = [verb.get(t) for t in self.r_types]
        goal = layout.goal
        self.goal = goal
        self.goal_objects = [o for o, t in enumerate(self.o_types) if t == goal.obj_type]
        self.goal_receptacles = [r for r, t in enumerate(self.r_types) if t == goal.recep_type]
        self.goal_recep_set = frozenset(self.goal_receptacles)
        self.appliance = (self.r_types.index(PROPERTY_APPLIANCE[goal.prop]) if goal.prop else None)
        self.is_look = goal.kind == "look_at_obj_in_light"
        self.room_text = ("You are in the middle of a room. Looking quickly around you, you see "
                          + _listing(["a " + name for name in rec]) + ".")
        self.first_obs = WELCOME + self.room_text + "\n\nYour task is to: " + goal.text


class HouseholdEnv:
    """ALFWorld-style household tasks, generated from the task seed (see the module docstring).

    Args:
        num_receptacles: receptacles in the room (4..20). ALFWorld rooms hold roughly 10-40; the default 12 keeps
            random rollouts of one task revisiting states, which GiGPO's step groups need.
        num_objects: objects in the room (2..30), goal objects included.
        closed_share: probability that each openable receptacle (cabinet, drawer, fridge, microwave, safe) starts
            closed.
        task_types: which of the six ALFWorld task types to draw from (default: all).
        max_steps: step limit (``truncated`` after it); the paper uses 50 for ALFWorld.
        success_reward: reward of the winning step (sparse, 0 otherwise); the authors use 10.
        layout: a fixed :class:`envs.household_world.Layout` to play instead of generated ones (``reset`` then only
            restarts it); for hand-built scenes and tests.
    """

    def __init__(self, num_receptacles: int = 12, num_objects: int = 12, closed_share: float = 0.5,
                 task_types=TASK_TYPES, max_steps: int = 50, success_reward: float = 10.0,
                 layout: Layout | None = None):
        self.task_types = validate_options(num_receptacles, num_objects, closed_share, task_types)
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        if layout is not None and not isinstance(layout, Layout):
            raise ValueError(f"layout must be an envs.household_world.Layout, got {type(layout).__name__}")
        self.num_receptacles = num_receptacles
        self.num_objects = num_objects
        self.closed_share = float(closed_share)
        self.max_steps = max_steps
        self.success_reward = float(success_reward)
        self._fixed_scene = _Scene(layout) if layout is not None else None
        self._scenes: dict[int, _Scene] = {}
        self._seed_rng = random.Random()
        self._scene: _Scene | None = None

    # -- gym API ---------------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None:
            seed = self._seed_rng.randrange(2**31)
        seed = int(seed)
        scene = self._fixed_scene or self._scene_for(seed)
        self._scene = scene
        self.layout = scene.layout
        self._seed = seed
        self._loc = len(scene.layout.receptacles)  # "middle of the room"
        self._obj_loc = list(scene.layout.start_location)  # receptacle index, or -1 while held
        self._obj_loc_key = tuple(self._obj_loc)
        self._held = -1
        self._open = scene.open_mask0
        self._flags = [0] * len(self._obj_loc)  # CLEAN | HOT | COOL bits per object
        self._flags_key = 0
        self._lamp_on = False
        self._contents = [[] for _ in scene.layout.receptacles]
        for o, r in enumerate(self._obj_loc):  # objects are in canonical order, so every list starts sorted
            self._contents[r].append(o)
        self._t = 0
        self._won = False
        self._refresh()
        return scene.first_obs, self._info(truncated=False)

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self._t += 1
        command = self._commands.get(action) if isinstance(action, str) else None
        reward = 0.0
        if command is None:
            obs = NOTHING  # ALFWorld's answer to anything not admissible; the state is untouched
        else:
            obs = self._apply(*command)
            if command[0] < EXAMINE_R:  # only these opcodes change the state
                if not self._won and self._goal_met():  # won stays won (ALFWorld ends the episode there)
                    self._won = True
                    reward = self.success_reward
                self._refresh()
        truncated = self._t >= self.max_steps and not self._won
        return obs, reward, self._won, truncated, self._info(truncated)

    # -- state -----------------------------------------------------------------------------------------------------
    def _scene_for(self, seed: int) -> _Scene:
        scene = self._scenes.get(seed)
        if scene is None:
            if len(self._scenes) > 4096:  # bound memory over long training runs
                self._scenes.clear()
            layout = make_layout(seed, self.num_receptacles, self.num_objects, self.closed_share, self.task_types)
            scene = self._scenes[seed] = _Scene(layout)
        return scene

    @property
    def anchor(self) -> tuple:
        """Canonical key of the state within its task: (location, open mask, lamp, object locations, object bits).

        The layout is fixed by the task seed and anchors are compared only within one task's group, so the key
        leaves the seed out (the convention of every built-in env, see ``envs/base.py``)."""
        return (self._loc, self._open, self._lamp_on, self._obj_loc_key, self._flags_key)

    def _info(self, truncated: bool) -> dict[str, Any]:
        done = self._won or truncated
        return {
            "anchor": self.anchor,
            "admissible_actions": list(self._admissible),
            "expert_action": None if done else self._expert,
            "won": self._won,
            "task": self._scene.goal.text,
        }

    def _visible(self, r: int) -> bool:
        return bool(self._open >> r & 1)

    def _describe(self, r: int) -> str:
        """What ALFWorld prints for a receptacle on arrival, on opening and on examine."""
        scene = self._scene
        name = scene.layout.receptacles[r]
        items = [scene.a_obj[o] for o in self._contents[r]]
        if scene.layout.lamp == r:
            items.insert(0, "a " + LAMP_NAME)
        if scene.layout.openable[r]:
            if not self._open >> r & 1:
                return f"The {name} is closed."
            return f"The {name} is open. In it, you see {_listing(items)}."
        return f"On the {name}, you see {_listing(items)}."

    def _refresh(self) -> None:
        """Rebuild the admissible-command table and the expert's move for the (changed) current state."""
        scene = self._scene
        loc, held = self._loc, self._held
        items = list(scene.go_items[loc])
        n_r = len(scene.layout.receptacles)
        if loc < n_r:
            name = scene.layout.receptacles[loc]
            visible = self._open >> loc & 1
            if scene.layout.openable[loc]:
                items.append(("close " + name, (CLOSE, loc)) if visible else ("open " + name, (OPEN, loc)))
            if held < 0:
                if visible:
                    objs = scene.layout.objects
                    items.extend((f"take {objs[o]} from {name}", (TAKE, o)) for o in self._contents[loc])
            else:
                held_name = scene.layout.objects[held]
                if visible:
                    items.append((f"put {held_name} in/on {name}", (PUT, held)))
                process = scene.process[loc]
                if process is not None:
                    items.append((f"{process[0]} {held_name} with {name}", (PROCESS, held)))
            if scene.layout.lamp == loc:
                items.append((USE_LAMP, (USE, loc)))
            items.append(("examine " + name, (EXAMINE_R, loc)))
        if held >= 0:
            items.append(("examine " + scene.layout.objects[held], (EXAMINE_O, held)))
        items.append(("inventory", (INVENTORY, 0)))
        items.append(("look", (LOOK, 0)))
        self._commands = dict(items)
        self._admissible = [cmd for cmd, _ in items]
        self._expert = None if self._won else self._expert_action()

    def _apply(self, op: int, arg: int) -> str:
        scene = self._scene
        lay = scene.layout
        if op == GO:
            self._loc = arg
            return f"You arrive at {lay.receptacles[arg]}. {self._describe(arg)}"
        if op == OPEN:
            self._open |= 1 << arg
            return f"You open the {lay.receptacles[arg]}. {self._describe(arg)}"
        if op == CLOSE:
            self._open &= ~(1 << arg)
            return f"You close the {lay.receptacles[arg]}."
        if op == TAKE:
            r = self._obj_loc[arg]
            self._contents[r].remove(arg)
            self._obj_loc[arg] = -1
            self._obj_loc_key = tuple(self._obj_loc)
            self._held = arg
            return f"You pick up the {lay.objects[arg]} from the {lay.receptacles[r]}."
        if op == PUT:
            r = self._loc
            contents = self._contents[r]
            contents.append(arg)
            contents.sort()  # canonical order: the text is a function of the state
            self._obj_loc[arg] = r
            self._obj_loc_key = tuple(self._obj_loc)
            self._held = -1
            return f"You put the {lay.objects[arg]} in/on the {lay.receptacles[r]}."
        if op == PROCESS:
            verb, bit = scene.process[self._loc]
            self._flags[arg] |= bit
            self._flags_key |= bit << (3 * arg)
            return f"You {verb} the {lay.objects[arg]} using the {lay.receptacles[self._loc]}."
        if op == USE:
            self._lamp_on = True
            return f"You turn on the {LAMP_NAME}."
        if op == EXAMINE_R:
            return self._describe(arg)
        if op == EXAMINE_O:
            words = [w for bit, w in _PROPERTY_WORD if self._flags[arg] & bit]
            if not words:
                return f"There's nothing special about {lay.objects[arg]}."
            return f"This is a {', '.join(words)} {lay.objects[arg]}."
        if op == INVENTORY:
            return "You are not carrying anything." if self._held < 0 else \
                f"You are carrying: {scene.a_obj[self._held]}."
        # LOOK
        if self._loc == len(lay.receptacles):
            return scene.room_text
        return f"You are facing the {lay.receptacles[self._loc]}. Next to it, you see nothing."

    # -- goal and expert -------------------------------------------------------------------------------------------
    def _goal_met(self) -> bool:
        """ALFWorld's success conditions (its PDDL goals), evaluated on the current state."""
        scene = self._scene
        if scene.is_look:
            return (self._lamp_on and self._loc == scene.layout.lamp and self._held >= 0
                    and scene.o_types[self._held] == scene.goal.obj_type)
        prop, need = scene.goal.prop, scene.goal.count
        per_recep: dict[int, int] = {}
        for o in scene.goal_objects:
            r = self._obj_loc[o]
            if r in scene.goal_recep_set and self._flags[o] & prop == prop:
                per_recep[r] = per_recep.get(r, 0) + 1
                if per_recep[r] >= need:
                    return True
        return False

    def _expert_action(self) -> str:
        scene = self._scene
        lay = scene.layout
        goal = scene.goal
        held = self._held
        holds_goal_obj = held >= 0 and scene.o_types[held] == goal.obj_type
        if held >= 0 and not holds_goal_obj:
            return self._put_down(held)
        if scene.is_look:
            if holds_goal_obj:
                return USE_LAMP if self._loc == lay.lamp else scene.go_cmd[lay.lamp]
            return self._fetch(min(scene.goal_objects, key=self._obj_loc.__getitem__))
        # Place tasks: for pick_two the goal receptacle already holding most goal objects (first one on a tie).
        target = scene.goal_receptacles[0]
        if goal.count > 1:
            best = 0
            for r in scene.goal_receptacles:
                n = sum(1 for o in scene.goal_objects if self._obj_loc[o] == r)
                if n > best:
                    target, best = r, n
        if holds_goal_obj:
            if self._flags[held] & goal.prop != goal.prop:
                if self._loc != scene.appliance:
                    return scene.go_cmd[scene.appliance]
                return f"{scene.process[scene.appliance][0]} {lay.objects[held]} with {lay.receptacles[self._loc]}"
            if self._loc != target:
                return scene.go_cmd[target]
            return self._put_down(held)
        # Fetch the first goal object (in receptacle order) that does not already count in the target.
        candidates = [o for o in scene.goal_objects
                      if self._obj_loc[o] != target or self._flags[o] & goal.prop != goal.prop]
        return self._fetch(min(candidates, key=self._obj_loc.__getitem__))

    def _put_down(self, held: int) -> str:
        """Put the held object where we stand (the agent is always at a receptacle while holding something)."""
        lay = self._scene.layout
        if not self._open >> self._loc & 1:
            return "open " + lay.receptacles[self._loc]
        return f"put {lay.objects[held]} in/on {lay.receptacles[self._loc]}"

    def _fetch(self, o: int) -> str:
        lay = self._scene.layout
        r = self._obj_loc[o]
        if self._loc != r:
            return self._scene.go_cmd[r]
        if not self._open >> r & 1:
            return "open " + lay.receptacles[r]
        return f"take {lay.objects[o]} from {lay.receptacles[r]}"
