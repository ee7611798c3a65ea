"""The environment contract every gigpo environment follows (gymnasium style, text in and out).

An environment is any object with::

    obs, info = env.reset(seed=task_seed)          # same seed -> same task, same first observation
    obs, reward, terminated, truncated, info = env.step(action_text)

``obs`` is the text the agent reads. ``info`` always carries the keys in :data:`INFO_KEYS`:

- ``"anchor"``: a hashable canonical key of the environment state *within its task*, equal iff two states of the
  same task are equal. GiGPO groups steps on it (paper Sec. 4.2, "anchor states"). Anchors are only ever compared
  between rollouts of the same task (the estimators group by (task group, anchor)), so the convention is that a key
  leaves out everything fixed per task: no task seed, no layout, no instruction. Two different tasks may therefore
  produce equal anchors; that is expected and harmless. Every built-in env follows it (household: location, open
  receptacles, lamp, object locations and bits; sokoban: player and boxes; shop: page, query, page number, product,
  options; textworld: location and state facts).
- ``"admissible_actions"``: ``list[str]``, the actions valid now, as the prompt lists them (an env may accept more,
  see ``"action_valid"``).
- ``"expert_action"``: the next action of a built-in expert that solves the task (``None`` once done).
- ``"won"``: ``bool``.
- ``"task"``: the goal text.

One optional key, in the ``info`` that ``step`` returns:

- ``"action_valid"``: ``bool``, the env's own verdict on the action just taken: did it accept the action (True,
  even when the action changed nothing, like a sokoban push into a wall) or answer it as an invalid one (False)?
  An env that accepts actions beyond its listed ``admissible_actions`` must report it: free-form text (shop's
  ``search[<any text>]``), other spellings of a listed action. When the key is absent the verdict is "the action
  was one of the admissible actions listed before the step" (:func:`action_verdict`), which is exact for an env that
  accepts only its listed actions (household, sokoban, textworld). The group runner records this verdict as
  ``StepRecord.valid``; the trainer charges its invalid-action penalty and counts ``invalid_rate`` on it.

An action the env does not accept never raises: the env answers as the original game does (ALFWorld: "Nothing
happens.") and the state is unchanged. ``truncated`` becomes true at the step limit, and ``expert_action`` is then
``None``.

Why two anchor keys: the authors' code groups on the raw observation text. Text can merge different states
("Nothing happens." reads the same everywhere) or split equal ones (a message that mentions the last action).
The canonical ``info["anchor"]`` is the default; the observation text is kept beside it by the group runner so the
notebooks can compare both.
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

INFO_KEYS = ("anchor", "admissible_actions", "expert_action", "won", "task")
VERDICT_KEY = "action_valid"  # optional, in the info returned by step (see the module docstring)


@runtime_checkable
class TextEnv(Protocol):
    """Structural type of a gigpo environment; any object with these two methods qualifies."""

    def reset(self, *, seed: int | None = None) -> tuple[str, dict[str, Any]]: ...

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]: ...


def check_info(info: dict[str, Any], where: str) -> None:
    """Raise a clear error when an environment's ``info`` lacks a contract key (user envs get this check too)."""
    missing = [k for k in INFO_KEYS if k not in info]
    if missing:
        raise ValueError(f"{where}: info is missing required key(s) {missing}; the contract needs {list(INFO_KEYS)}")
    try:
        hash(info["anchor"])
    except TypeError as exc:
        raise ValueError(f"{where}: info['anchor'] must be hashable, got {type(info['anchor']).__name__}") from exc
    if VERDICT_KEY in info and not isinstance(info[VERDICT_KEY], bool):
        raise ValueError(f"{where}: info[{VERDICT_KEY!r}] must be a bool, got {info[VERDICT_KEY]!r}")


def action_verdict(action: str, admissible_before: Sequence[str], info_after: dict[str, Any]) -> bool:
    """Whether the env accepted ``action``: its own ``info_after["action_valid"]`` when it reports one, else whether
    ``action`` was among the admissible actions listed before the step (exact for envs that accept only those)."""
    verdict = info_after.get(VERDICT_KEY)
    return action in admissible_before if verdict is None else verdict
