"""``check(name, fn)``: run a student's implementation of an exercise on fixed cases and random batches and say, in
words a student can act on, where it differs from the library; ``check_test(name, test)``: run a student's test
against the buggy and the fixed version of a bug-hunt function.

It never raises for a wrong, crashing or half-written ``fn`` or ``test`` (that is the student's feedback, in
``message``): an exception from the function, or from reading what it returned, is a failed check. Only an unknown
exercise name raises ``ValueError``. Where a wrong answer equals a known mistake (``known_mistakes``), the message
says which. Inputs reach ``fn`` as fresh copies, so an implementation that modifies its arguments cannot spoil the
next case. Ids and anchors arrive as Python lists (strings or ints), rewards as a list of floats; the loss gets
float64 tensors, ``logp_new`` with ``requires_grad``.
"""
from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from gigpo.course.bug_cases import BUG_EXERCISES, fixed_bug_cases, random_bug_cases
from gigpo.course.bug_variants import BUG_OF, BUGGY
from gigpo.course.cases import Case, fixed_cases, random_cases
from gigpo.course.expected import REFERENCE
from gigpo.course.known_mistakes import MISTAKES

EXERCISES = ("discounted_returns", "episode_advantages", "step_group_labels", "step_advantages", "ppo_clip_loss",
             *BUG_EXERCISES)
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
    bug = name in BUG_EXERCISES
    fixed = fixed_bug_cases(name) if bug else fixed_cases(name)
    randoms = random_bug_cases(name, random_batches, seed) if bug else random_cases(name, random_batches, seed)
    for case in [*fixed, *randoms]:
        problem = _compare(name, fn, case)
        if problem is not None:
            return CheckResult(name, False, f"case '{case.label}': {problem}\n\ninputs:\n{_show_inputs(case)}",
                               case.label)
    return CheckResult(name, True, f"{name}: all {len(fixed)} fixed cases and {random_batches} random batches "
                                   f"agree with the library.", None)


def check_test(name: str, test: Callable[[Callable[..., Any]], Any]) -> CheckResult:
    """Grade a student's test of bug-hunt function ``name``: ``test(fn)`` must fail (raise ``AssertionError``) when
    ``fn`` is the buggy version and pass when it is a correct one (the library's values, as a plain function)."""
    if name not in BUG_EXERCISES:
        raise ValueError(f"unknown bug-hunt function {name!r}; they are {', '.join(BUG_EXERCISES)}")
    if not callable(test):
        return CheckResult(name, False, f"check_test({name!r}, test) needs a function, got {type(test).__name__}")
    reference = REFERENCE[name]

    def fixed(*args: Any, **kwargs: Any) -> Any:
        out = reference(*args, **kwargs)
        return out.tolist() if isinstance(out, torch.Tensor) and out.dim() == 1 else out

    try:
        test(fixed)
    except Exception as exc:
        return CheckResult(name, False, f"your test fails on a correct {name} ({type(exc).__name__}: {exc}); it "
                                        f"must pass there", "correct version")
    try:
        test(BUGGY[name])
    except AssertionError:
        return CheckResult(name, True, f"your test fails on the buggy {name} ({BUG_OF[name]}) and passes on a "
                                       f"correct one.")
    except Exception as exc:
        return CheckResult(name, False, f"on the buggy {name} your test raised {type(exc).__name__}: {exc}; a test "
                                        f"should fail with an assert that says what is wrong", "buggy version")
    return CheckResult(name, False, f"your test passes on the buggy {name} ({BUG_OF[name]}): it must fail there",
                       "buggy version")


def _compare(name: str, fn: Callable[..., Any], case: Case) -> str | None:
    inputs = copy.deepcopy(case.inputs)
    if name == "ppo_clip_loss":
        inputs["logp_new"].requires_grad_(True)
    try:
        got = fn(**inputs)
    except Exception as exc:  # the student's bug is the feedback, not a crash of the check
        return f"your function raised {type(exc).__name__}: {exc}"
    expected = REFERENCE[name](**copy.deepcopy(case.inputs))
    try:
        problem = _compare_result(name, got, expected, inputs, case)
    except Exception as exc:  # whatever the function returned, reading it must not crash the check
        return (f"reading what your function returned failed ({type(exc).__name__}: {exc}); "
                f"{_what_to_return(name)}, got {_describe(got)}")
    if problem is None:
        return None
    hint = _known_mistake(name, got, case)
    return problem + (f"\n\nThis matches a known mistake: {hint}." if hint else "")


def _compare_result(name: str, got: Any, expected: Any, inputs: dict[str, Any], case: Case) -> str | None:
    if name == "ppo_clip_loss":
        return _compare_loss(got, expected, inputs, case)
    if name == "env_layout":
        return _compare_layout(got, case)
    if name == "step_token_advantages":
        return _compare_tokens(got, expected)
    values, problem = _as_vector(got, len(case.inputs["traj_ids" if "traj_ids" in case.inputs else "group_ids"]))
    if problem:
        return problem
    if name == "step_group_labels":
        return _compare_partition(values, expected.tolist(), case)
    return _compare_values(values, expected.double())


def _what_to_return(name: str) -> str:
    if name == "ppo_clip_loss":
        return "return one number, the batch's loss, as a torch tensor"
    if name == "env_layout":
        return "return two lists, (seeds, group_ids), one entry per environment"
    if name == "step_token_advantages":
        return "return one advantage per row and token: a (rows, tokens) tensor"
    return "return one value per row: a list or a 1-D tensor"


def _describe(got: Any) -> str:
    if isinstance(got, tuple):
        return f"a tuple of {len(got)} items ({', '.join(type(x).__name__ for x in got)})"
    if isinstance(got, torch.Tensor):
        return f"a tensor of shape {tuple(got.shape)}"
    return type(got).__name__


def _known_mistake(name: str, got: Any, case: Case) -> str | None:
    """The description of the first known mistake whose output on ``case`` equals ``got`` and differs from the
    library's, or None."""
    try:
        expected = _as_tensor(REFERENCE[name](**copy.deepcopy(case.inputs)))
        mine = _as_tensor(got)
    except Exception:
        return None
    for description, variant in MISTAKES.get(name, []):
        try:
            theirs = _as_tensor(variant(**copy.deepcopy(case.inputs)))
        except Exception:  # a variant that cannot run on this case is not the student's mistake here
            continue
        if theirs.shape != mine.shape or theirs.shape != expected.shape:
            continue
        if _close(theirs, expected) or not _close(theirs, mine):
            continue
        return description
    return None


def _as_tensor(values: Any) -> torch.Tensor:
    """Numbers as a float64 tensor: a tensor, nested lists (token advantages, layouts) or a list of 0-d tensors."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double()
    try:
        return torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return torch.tensor([float(v) for v in values], dtype=torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


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
            items = list(got)
        except TypeError:
            return None, f"expected a list or 1-D tensor with one value per row, got {type(got).__name__}"
        for i, v in enumerate(items):
            if isinstance(v, torch.Tensor) and v.numel() != 1:
                return None, (f"expected one number per row, but item {i} of what you returned is a tensor of shape "
                              f"{tuple(v.shape)}: return only the per-row values, not {_describe(got)}")
        values = [v.item() if isinstance(v, torch.Tensor) else v for v in items]
    if len(values) != rows:
        return None, f"expected {rows} values (one per row), got {len(values)}"
    return values, None


def _compare_tokens(got: Any, expected: torch.Tensor) -> str | None:
    """A (rows, tokens) advantage tensor against the library's: each row's advantage on its own response tokens."""
    if got is None:
        return "your function returned None (is a `return` missing?)"
    try:
        values = torch.as_tensor(got.detach().cpu() if isinstance(got, torch.Tensor) else got, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return f"{_what_to_return('step_token_advantages')}, got {_describe(got)}"
    if values.shape != expected.shape:
        return f"expected a tensor of shape {tuple(expected.shape)} (rows, tokens), got shape {tuple(values.shape)}"
    bad = ~torch.isclose(values, expected, rtol=RTOL, atol=ATOL)
    if not bad.any():
        return None
    row, token = (int(i) for i in torch.nonzero(bad)[0])
    return (f"row {row}, token {token}: expected {expected[row, token]:.4f}, got {values[row, token]:.4f} "
            f"({int(bad.sum())} of {bad.numel()} entries differ)\n  expected row {row}: {_fmt(expected[row])}\n"
            f"  got row {row}:      {_fmt(values[row])}")


def _compare_layout(got: Any, case: Case) -> str | None:
    """``(seeds, group_ids)`` of the envs: any order of envs will do, as long as each group is ``group_size`` envs
    reset with one task seed and every task seed is played ``group_size`` times per time it is listed."""
    task_seeds, n = case.inputs["task_seeds"], case.inputs["group_size"]
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        return f"{_what_to_return('env_layout')}, got {_describe(got)}"
    seeds, groups = list(got[0]), list(got[1])
    if len(seeds) != len(task_seeds) * n or len(groups) != len(seeds):
        return (f"expected {len(task_seeds) * n} envs ({len(task_seeds)} tasks x {n}), got {len(seeds)} seeds and "
                f"{len(groups)} group ids")
    if Counter(seeds) != Counter(list(task_seeds) * n):
        return f"every task seed must be played {n} times; got seeds {seeds}"
    first: dict[Any, int] = {}
    for i, g in enumerate(groups):
        j = first.setdefault(g, i)
        if seeds[j] != seeds[i]:
            return (f"envs {j} and {i} are both in group {g!r} but are reset with seeds {seeds[j]} and {seeds[i]}: "
                    f"the members of a group must play the same task (start from the same state)\n"
                    f"  seeds:     {seeds}\n  group ids: {groups}")
    sizes = Counter(groups)
    wrong = [g for g, k in sizes.items() if k != n]
    if wrong:
        return f"group {wrong[0]!r} has {sizes[wrong[0]]} envs, expected {n} (the group size)\n  group ids: {groups}"
    return None


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
