"""Procedural scenes and goals for the ``household`` environment (an offline counterpart of ALFWorld).

ALFWorld (Shridhar et al. 2021) renders ALFRED's AI2-THOR scenes as TextWorld games: a room is a set of numbered
receptacles ("cabinet 3", "fridge 1"), objects lie in/on them, and a goal is one of six task types. The paper GiGPO
is evaluated on (Feng et al. 2025, Sec. 5) trains on those games. We cannot ship the AI2-THOR scenes, so this module
draws a comparable scene from a seed: a room kind (kitchen, living room, bedroom, bathroom) with its usual
receptacles and objects, a task type, and a goal that is solvable in the scene and not already met at the start.

Everything here is pure: :func:`make_layout` maps ``(seed, options)`` to an immutable :class:`Layout`, cached because
GiGPO resets N copies of the same task.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

TASK_TYPES = (
    "pick_and_place",
    "pick_clean_then_place",
    "pick_heat_then_place",
    "pick_cool_then_place",
    "look_at_obj_in_light",
    "pick_two_obj",
)

# Object property each task type asks for, as the bit stored per object in the env state.
CLEAN, HOT, COOL = 1, 2, 4
TASK_PROPERTY = {"pick_clean_then_place": CLEAN, "pick_heat_then_place": HOT, "pick_cool_then_place": COOL}
# Receptacle type that gives that property (ALFWorld: "clean X with sinkbasin 1", "heat X with microwave 1", ...).
PROPERTY_APPLIANCE = {CLEAN: "sinkbasin", HOT: "microwave", COOL: "fridge"}

# type -> (openable, most instances in one room). Openable ones are ALFWorld's: they hide their contents when closed.
RECEPTACLE_KINDS: dict[str, tuple[bool, int]] = {
    "armchair": (False, 2), "bathtubbasin": (False, 1), "bed": (False, 1), "cabinet": (True, 8),
    "cart": (False, 1), "coffeemachine": (False, 1), "coffeetable": (False, 1), "countertop": (False, 3),
    "desk": (False, 2), "diningtable": (False, 1), "drawer": (True, 8), "dresser": (False, 1),
    "fridge": (True, 1), "garbagecan": (False, 1), "handtowelholder": (False, 2), "laundryhamper": (False, 1),
    "microwave": (True, 1), "ottoman": (False, 1), "safe": (True, 1), "shelf": (False, 4),
    "sidetable": (False, 2), "sinkbasin": (False, 2), "sofa": (False, 1), "stoveburner": (False, 4),
    "toaster": (False, 1), "toilet": (False, 1), "towelholder": (False, 1), "tvstand": (False, 1),
}

# The desk lamp is an object standing on one of these (as in ALFWorld, where it is listed among a table's contents
# and is switched on with "use desklamp 1" but cannot be picked up).
LAMP_HOLDERS = ("desk", "dresser", "sidetable")


@dataclass(frozen=True)
class RoomKind:
    core: tuple[str, ...]  # receptacle types always present
    pool: tuple[str, ...]  # receptacle types that fill the room up to the requested size
    objects: tuple[str, ...]  # object types found in such a room
    has_lamp: bool


ROOMS: dict[str, RoomKind] = {
    "kitchen": RoomKind(
        core=("countertop", "fridge", "microwave", "sinkbasin"),
        pool=("cabinet", "cabinet", "drawer", "drawer", "countertop", "stoveburner", "coffeemachine", "toaster",
              "garbagecan", "diningtable", "shelf"),
        objects=("apple", "bowl", "bread", "butterknife", "cup", "dishsponge", "egg", "fork", "kettle", "knife",
                 "ladle", "lettuce", "mug", "pan", "peppershaker", "plate", "pot", "potato", "saltshaker",
                 "soapbottle", "spatula", "spoon", "tomato", "winebottle"),
        has_lamp=False),
    "livingroom": RoomKind(
        core=("sofa", "coffeetable", "sidetable"),
        pool=("armchair", "cabinet", "drawer", "drawer", "shelf", "garbagecan", "tvstand", "dresser", "sidetable",
              "ottoman", "diningtable"),
        objects=("book", "box", "cellphone", "creditcard", "keychain", "laptop", "newspaper", "pillow",
                 "remotecontrol", "statue", "vase", "watch"),
        has_lamp=True),
    "bedroom": RoomKind(
        core=("bed", "desk", "dresser"),
        pool=("drawer", "drawer", "shelf", "sidetable", "garbagecan", "safe", "laundryhamper", "armchair",
              "cabinet", "desk"),
        objects=("alarmclock", "baseballbat", "basketball", "book", "cd", "cellphone", "creditcard", "keychain",
                 "laptop", "mug", "pen", "pencil", "pillow"),
        has_lamp=True),
    "bathroom": RoomKind(
        core=("sinkbasin", "toilet", "countertop"),
        pool=("cabinet", "cabinet", "drawer", "shelf", "garbagecan", "towelholder", "handtowelholder",
              "bathtubbasin", "cart"),
        objects=("candle", "cloth", "dishsponge", "handtowel", "plunger", "soapbar", "soapbottle", "spraybottle",
                 "toiletpaper", "towel"),
        has_lamp=False),
}

# Object types ALFWorld's task lists use for each task type (restricted here to what our rooms hold).
TASK_OBJECTS: dict[str, frozenset[str]] = {
    "pick_clean_then_place": frozenset({"apple", "bowl", "butterknife", "cloth", "cup", "dishsponge", "egg", "fork",
                                        "kettle", "knife", "ladle", "lettuce", "mug", "pan", "plate", "pot",
                                        "potato", "soapbar", "spatula", "spoon", "tomato"}),
    "pick_heat_then_place": frozenset({"apple", "bread", "cup", "egg", "mug", "plate", "potato", "tomato"}),
    "pick_cool_then_place": frozenset({"apple", "bowl", "bread", "cup", "egg", "lettuce", "mug", "pan", "plate",
                                       "pot", "potato", "tomato", "winebottle"}),
    "look_at_obj_in_light": frozenset({"alarmclock", "book", "box", "cd", "cellphone", "creditcard", "keychain",
                                       "laptop", "mug", "newspaper", "pen", "pencil", "pillow", "remotecontrol",
                                       "statue", "vase", "watch"}),
}

# ALFWorld's goal phrasings (two per task type); "{o}" is the object type, "{r}" the receptacle type.
GOAL_TEMPLATES: dict[str, tuple[str, ...]] = {
    "pick_and_place": ("put a {o} in {r}.", "put some {o} on {r}."),
    "pick_clean_then_place": ("put a clean {o} in {r}.", "clean some {o} and put it in {r}."),
    "pick_heat_then_place": ("put a hot {o} in {r}.", "heat some {o} and put it in {r}."),
    "pick_cool_then_place": ("put a cool {o} in {r}.", "cool some {o} and put it in {r}."),
    "look_at_obj_in_light": ("look at {o} under the desklamp.", "examine the {o} with the desklamp."),
    "pick_two_obj": ("put two {o} in {r}.", "find two {o} and put them in {r}."),
}

MIN_RECEPTACLES, MAX_RECEPTACLES = 4, 20
MIN_OBJECTS, MAX_OBJECTS = 2, 30
MAX_PER_OBJECT_TYPE = 3


@dataclass(frozen=True)
class Goal:
    """What the task asks for. ``recep_type`` is None for the look task; ``prop`` is 0 when no property is needed."""

    kind: str
    obj_type: str
    recep_type: str | None
    prop: int
    count: int  # objects that must end up in one receptacle (2 for pick_two_obj)
    text: str  # "put a clean mug in coffeemachine."


@dataclass(frozen=True)
class Layout:
    """A scene and its goal. Receptacles and objects are in a fixed canonical order (type name, then number).

    ``start_location[o]`` is the receptacle index object ``o`` starts in; ``start_open[r]`` whether receptacle
    ``r`` starts open (always True for receptacles that cannot be opened); ``lamp`` is the index of the receptacle
    the desk lamp stands on, or None.
    """

    seed: int
    room: str
    receptacles: tuple[str, ...]
    openable: tuple[bool, ...]
    objects: tuple[str, ...]
    start_location: tuple[int, ...]
    start_open: tuple[bool, ...]
    lamp: int | None
    goal: Goal

    def __post_init__(self):
        n_r = len(self.receptacles)
        if len(self.openable) != n_r or len(self.start_open) != n_r:
            raise ValueError("Layout: receptacles, openable and start_open must have the same length")
        if len(self.start_location) != len(self.objects):
            raise ValueError("Layout: objects and start_location must have the same length")
        if any(not 0 <= r < n_r for r in self.start_location):
            raise ValueError("Layout: start_location holds a receptacle index out of range")
        if any(not o and not op for o, op in zip(self.start_open, self.openable)):
            raise ValueError("Layout: only openable receptacles may start closed")
        if self.lamp is not None and not 0 <= self.lamp < n_r:
            raise ValueError("Layout: lamp index out of range")
        if self.goal.kind not in TASK_TYPES:
            raise ValueError(f"Layout: unknown task type {self.goal.kind!r}; known: {TASK_TYPES}")
        if self.goal.kind == "look_at_obj_in_light" and self.lamp is None:
            raise ValueError("Layout: a look_at_obj_in_light task needs a desk lamp")

    def receptacle_type(self, r: int) -> str:
        return self.receptacles[r].rsplit(" ", 1)[0]

    def object_type(self, o: int) -> str:
        return self.objects[o].rsplit(" ", 1)[0]


def _rooms_for(kind: str) -> list[str]:
    """Room kinds in which a task of this type can be posed (it needs its appliance or the lamp)."""
    if kind in TASK_PROPERTY:
        appliance = PROPERTY_APPLIANCE[TASK_PROPERTY[kind]]
        rooms = [name for name, room in ROOMS.items() if appliance in room.core]
    elif kind == "look_at_obj_in_light":
        rooms = [name for name, room in ROOMS.items() if room.has_lamp]
    else:
        rooms = list(ROOMS)
    wanted = TASK_OBJECTS.get(kind)
    return [name for name in rooms if wanted is None or wanted.intersection(ROOMS[name].objects)]


def _fill_receptacles(rng: random.Random, room: RoomKind, size: int) -> list[str]:
    """Receptacle types of the room: its core, then draws from its pool up to ``size`` (respecting max counts)."""
    types = list(room.core)
    while len(types) < size:
        choices = [t for t in room.pool if types.count(t) < RECEPTACLE_KINDS[t][1]]
        types.append(rng.choice(choices))
    return types


def _numbered(types: list[str]) -> list[str]:
    """["cabinet", "cabinet", "bed"] -> ["bed 1", "cabinet 1", "cabinet 2"] (sorted as ALFWorld lists them)."""
    counts: dict[str, int] = {}
    names = []
    for t in sorted(types):
        counts[t] = counts.get(t, 0) + 1
        names.append(f"{t} {counts[t]}")
    return names


def generate_layout(seed: int, num_receptacles: int, num_objects: int, closed_share: float,
                    task_types: tuple[str, ...]) -> Layout:
    """Draw a scene and goal from ``seed`` (see the module docstring). Arguments are assumed validated."""
    rng = random.Random(seed)
    kind = rng.choice(task_types)
    room_name = rng.choice(_rooms_for(kind))
    room = ROOMS[room_name]
    obj_pool = sorted(TASK_OBJECTS[kind].intersection(room.objects)) if kind in TASK_OBJECTS else list(room.objects)
    obj_type = rng.choice(obj_pool)

    receptacles = _numbered(_fill_receptacles(rng, room, num_receptacles))
    r_types = [name.rsplit(" ", 1)[0] for name in receptacles]
    openable = tuple(RECEPTACLE_KINDS[t][0] for t in r_types)

    prop = TASK_PROPERTY.get(kind, 0)
    recep_type = None
    if kind != "look_at_obj_in_light":
        excluded = {PROPERTY_APPLIANCE[prop]} if prop else set()
        recep_type = rng.choice(sorted(set(r_types) - excluded))
    count = 2 if kind == "pick_two_obj" else 1
    text = rng.choice(GOAL_TEMPLATES[kind]).format(o=obj_type, r=recep_type)
    goal = Goal(kind=kind, obj_type=obj_type, recep_type=recep_type, prop=prop, count=count, text=text)

    # Objects: the goal's type appears count..3 times (ALFWorld scenes often hold several mugs), the rest is clutter.
    n_task = min(num_objects, rng.randint(count, MAX_PER_OBJECT_TYPE))
    object_types = [obj_type] * n_task
    while len(object_types) < num_objects:
        choices = [t for t in room.objects if object_types.count(t) < MAX_PER_OBJECT_TYPE]
        object_types.append(rng.choice(choices))
    objects = _numbered(object_types)

    # The goal's objects never start in a goal receptacle, so the task is not solved before the first step.
    away = [r for r, t in enumerate(r_types) if t != recep_type]
    start_location = tuple(
        rng.choice(away) if name.rsplit(" ", 1)[0] == obj_type else rng.randrange(len(receptacles))
        for name in objects)
    start_open = tuple(not op or rng.random() >= closed_share for op in openable)
    lamp = None
    if room.has_lamp:
        lamp = rng.choice([r for r, t in enumerate(r_types) if t in LAMP_HOLDERS])
    return Layout(seed=seed, room=room_name, receptacles=tuple(receptacles), openable=openable,
                  objects=tuple(objects), start_location=start_location, start_open=start_open, lamp=lamp, goal=goal)


@lru_cache(maxsize=4096)
def make_layout(seed: int, num_receptacles: int, num_objects: int, closed_share: float,
                task_types: tuple[str, ...]) -> Layout:
    """Cached :func:`generate_layout` (GiGPO resets N copies of every task; the scene is immutable)."""
    return generate_layout(seed, num_receptacles, num_objects, closed_share, task_types)


def validate_options(num_receptacles: int, num_objects: int, closed_share: float,
                     task_types) -> tuple[str, ...]:
    """Check the difficulty options; returns ``task_types`` as a tuple. Raises ValueError naming the problem."""
    if not isinstance(num_receptacles, int) or not MIN_RECEPTACLES <= num_receptacles <= MAX_RECEPTACLES:
        raise ValueError(f"num_receptacles must be an int in [{MIN_RECEPTACLES}, {MAX_RECEPTACLES}], "
                         f"got {num_receptacles!r}")
    if not isinstance(num_objects, int) or not MIN_OBJECTS <= num_objects <= MAX_OBJECTS:
        raise ValueError(f"num_objects must be an int in [{MIN_OBJECTS}, {MAX_OBJECTS}], got {num_objects!r}")
    if not 0.0 <= float(closed_share) <= 1.0:
        raise ValueError(f"closed_share must be in [0, 1], got {closed_share!r}")
    if isinstance(task_types, str):
        task_types = (task_types,)
    task_types = tuple(task_types)
    unknown = [t for t in task_types if t not in TASK_TYPES]
    if not task_types or unknown:
        raise ValueError(f"task_types must be a non-empty subset of {TASK_TYPES}; unknown: {unknown}")
    return task_types
