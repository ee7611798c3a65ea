"""``check(name, fn)``: run a student's implementation of one of the five exercises on fixed cases and random
batches and say, in words a student can act on, where it differs from the library.

It never raises for a wrong, crashing or half-written ``fn`` (that is the student's feedback, in ``message``); only
an unknown exercise name raises ``ValueError``. Inputs reach ``fn`` as fresh copies, so an implementation that
modifies its arguments cannot spoil the next case. Ids and anchors arrive as Python lists (strings or ints),
rewards as a list of floats; the loss gets float64 tensors, ``logp_new`` with ``requires_grad``.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from gigpo.course.cases import Case, fixed_cases, random_cases
from gigpo.course.expected import REFERENCE

EXERCISES = ("discounted_returns", "episode_advantages", "step_group_labels", "step_advantages", "ppo_clip_loss")
RANDOM_BATCHES = 25
# float32 implementations are welcome: returns reach ~10, so 1e-4 absolute and relative is far above rounding
# and far below every mistake the checks target (a population std alone changes values by 5-40 %)
ATOL = RTOL = 1e-4


@dataclass(frozen=True)
class CheckResult:
    """``passed``; ``message`` for the student; ``case``, the label of the first failing case (None if passed)."""

    name: str
    passed: bool
    message: str
    case: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:  # what a notebook shows when the result is a cell's last line
        mark = "**passed**" if self.passed else "**not yet**"
        return f"`{self.name}`: {mark}\n\n```\n{self.message}\n```"


def check(name: str, fn: Callable[..., Any], *, random_batches: int = RANDOM_BATCHES, seed: int = 0) -> CheckResult:
    """Compare ``fn`` with the library on ``name``'s fixed cases, then on ``random_batches`` random batches drawn
    from ``seed`` (the autograder's hidden tests use other seeds than the notebook's own check)."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; the checks are {', '.join(EXERCISES)}")
    if not callable(fn):
        return CheckResult(name, False, f"check({name!r}, fn) needs a function, got {type(fn).__name__}", None)
    fixed = fixed_cases(name)
    for case in [*fixed, *random_cases(name, random_batches, seed)]:
        problem = _compare(name, fn, case)
        if problem is not None:
            return CheckResult(name, False, f"case '{case.label}': {problem}\n\ninputs:\n{_show_inputs(case)}",
                               case.label)
    return CheckResult(name, True, f"{name}: all {len(fixed)} fixed cases and {random_batches} random batches "
                                   f"agree with the library.", None)


def _compare(name: str, fn: Callable[..., Any], case: Case) -> str | None:
    inputs = copy.deepcopy(case.inputs)
    if name == "ppo_clip_loss":
        inputs["logp_new"].requires_grad_(True)
    try:
        got = fn(**inputs)
    except Exception as exc:  # the student's bug is the feedback, not a crash of the check
        return f"your function raised {type(exc).__name__}: {exc}"
    expected = REFERENCE[name](**copy.deepcopy(case.inputs))
    if name == "ppo_clip_loss":
        return _compare_loss(got, expected, inputs, case)
    values, problem = _as_vector(got, len(case.inputs["group_ids" if "group_ids" in case.inputs else "traj_ids"]))
    if problem:
        return problem
    if name == "step_group_labels":
        return _compare_partition(values, expected.tolist(), case)
    return _compare_values(values, expected.double())


def _as_vector(got: Any, rows: int) -> tuple[Any, str | None]:
    """``got`` as one value per row, or a sentence saying why it is not."""
    if got is None:
        return None, "your function returned None (is a `return` missing?)"
    if isinstance(got, torch.Tensor):
        got = got.detach().cpu()
        if got.dim() != 1:
            return None, f"expected a 1-D result (one value per row), got a tensor of shape {tuple(got.shape)}"
        values = got.tolist()
    else:
        try:
            values = [v.item() if isinstance(v, torch.Tensor) else v for v in list(got)]
        except TypeError:
            return None, f"expected a list or 1-D tensor with one value per row, got {type(got).__name__}"
    if len(values) != rows:
        return None, f"expected {rows} values (one per row), got {len(values)}"
    return values, None


def _compare_values(values: list, expected: torch.Tensor) -> str | None:
    try:
        got = torch.tensor([float(v) for v in values], dtype=torch.float64)
    except (TypeError, ValueError):
        return f"expected numbers, got {values!r}"
    bad = ~torch.isclose(got, expected, rtol=RTOL, atol=ATOL)  # NaN is never close: it is reported too
    if not bad.any():
        return None
    row = int(torch.nonzero(bad)[0])
    return (f"row {row}: expected {expected[row]:.4f}, got {got[row]:.4f} ({int(bad.sum())} of {len(values)} "
            f"rows differ)\n  expected: {_fmt(expected)}\n  got:      {_fmt(got)}")


def _compare_partition(values: list, expected: list[int], case: Case) -> str | None:
    """Labels only have to split the rows the same way: any label values will do."""
    try:
        hash(tuple(values))
    except TypeError:
        return f"expected one hashable label (an int) per row, got {values!r}"
    groups, anchors = case.inputs["group_ids"], case.inputs["anchors"]
    for i in range(len(values)):
        for j in range(i):
            same_expected, same_got = expected[i] == expected[j], values[i] == values[j]
            if same_expected and not same_got:
                return (f"rows {j} and {i} are both in task group {groups[i]!r} at anchor {anchors[i]!r}, so they "
                        f"belong to one step group, but got labels {values[j]!r} and {values[i]!r}\n"
                        f"  got labels: {values}")
            if same_got and not same_expected:
                why = (f"task groups {groups[j]!r} and {groups[i]!r}" if groups[i] != groups[j]
                       else f"anchors {anchors[j]!r} and {anchors[i]!r}")
                return (f"rows {j} and {i} differ ({why}), so they belong to different step groups, but both got "
                        f"label {values[i]!r}\n  got labels: {values}")
    return None


def _compare_loss(got: Any, expected: torch.Tensor, inputs: dict[str, Any], case: Case) -> str | None:
    if got is None:
        return "your function returned None (is a `return` missing?)"
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            return f"expected one number (the batch's loss), got a tensor of shape {tuple(got.shape)}"
        value = float(got.detach())
    else:
        try:
            value = float(got)
        except (TypeError, ValueError):
            return f"expected one number (the batch's loss), got {type(got).__name__}"
    if not torch.isclose(torch.tensor(value, dtype=torch.float64), expected.detach(), rtol=RTOL, atol=ATOL):
        return f"expected loss {float(expected):.5f}, got {value:.5f}"
    if not (isinstance(got, torch.Tensor) and got.requires_grad):
        return ("the value is right, but it carries no gradient to logp_new: keep the loss a torch tensor built "
                "from logp_new (no .item(), float(), .detach() or numpy on the way) so an optimizer can minimise it")
    (grad,) = torch.autograd.grad(got.reshape(()), inputs["logp_new"], allow_unused=True)
    ref_new = case.inputs["logp_new"].clone().requires_grad_(True)
    ref = REFERENCE["ppo_clip_loss"](ref_new, *(case.inputs[k] for k in ("logp_old", "advantages", "mask")),
                                     **({"clip": case.inputs["clip"]} if "clip" in case.inputs else {}))
    (ref_grad,) = torch.autograd.grad(ref, ref_new)
    if grad is None or not torch.allclose(grad.double(), ref_grad, rtol=RTOL, atol=ATOL):
        return (f"the value is right but its gradient with respect to logp_new is not:\n"
                f"  expected: {_fmt(ref_grad.flatten())}\n"
                f"  got:      {'none' if grad is None else _fmt(grad.double().flatten())}")
    return None


def _fmt(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in t.tolist()) + "]"


def _show_inputs(case: Case) -> str:
    lines = []
    for key, value in case.inputs.items():
        if isinstance(value, torch.Tensor):
            value = [[round(v, 4) for v in r] for r in value.tolist()] if value.dim() == 2 else \
                [round(v, 4) for v in value.tolist()]
        lines.append(f"  {key} = {value!r}")
    return "\n".join(lines)
