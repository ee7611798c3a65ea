"""Unit 06 (bug hunt) and the checks' feedback: the unit shows exactly the committed buggy functions, each buggy
function is rejected by its check with a message naming the bug, a student's test is graded on both versions,
a function whose result cannot be read is a failed check (never an exception), a wrong answer that matches a known
mistake is named, and gigpo.course has no import cycle."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import jupytext
import pytest
import torch

from gigpo.course import bug_variants, check, check_test
from gigpo.course.bug_cases import BUG_EXERCISES
from gigpo.course.expected import REFERENCE
from gigpo.course.known_mistakes import EPS_INSIDE, FORWARD, NO_EPS, POPULATION_STD

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "course" / "06_bug_hunt.py"


def unit_functions_outside_questions() -> dict[str, str]:
    """``{name: ast dump}`` of the functions the unit defines outside its questions (what students read)."""
    found, depth = {}, 0
    for cell in jupytext.read(UNIT).cells:
        text = cell.source.strip()
        if cell.cell_type == "raw":
            if "# BEGIN QUESTION" in text:
                depth += 1
            elif "# END QUESTION" in text:
                depth -= 1
            continue
        if cell.cell_type == "code" and depth == 0:
            for node in ast.parse(text).body:
                if isinstance(node, ast.FunctionDef):
                    found[node.name] = ast.dump(node)
    return found


def test_the_unit_shows_the_committed_buggy_functions():
    shown = unit_functions_outside_questions()
    names = [*bug_variants.BUGGY, "returns_to_go", "normalise_within", "episode_advantages"]
    assert set(shown) == set(names)
    for name in names:
        committed = ast.dump(ast.parse(inspect.getsource(getattr(bug_variants, name))).body[0])
        assert shown[name] == committed, f"the unit's {name} differs from gigpo.course.bug_variants.{name}"


@pytest.mark.parametrize("name", BUG_EXERCISES)
def test_each_buggy_function_is_rejected_and_named(name):
    result = check(name, bug_variants.BUGGY[name])
    assert not result.passed
    if name != "env_layout":  # its message says which envs of a group start from different seeds instead
        assert f"the bug itself ({bug_variants.BUG_OF[name]})" in result.message


def test_the_bug_layout_message_names_the_envs():
    result = check("env_layout", bug_variants.env_layout)
    assert "envs 0 and 1 are both in group 0 but are reset with seeds 11 and 22" in result.message


def test_hand_worked_values_of_the_unit():
    # bug 1: four rollouts, returns 1, 0, 1, 0 under four uuids -> raw returns; by task: +-sqrt(3)/2
    adv = bug_variants.outcome_advantages(["t"] * 4, ["u1", "u2", "u3", "u4"], [1.0, 0.0, 1.0, 0.0])
    assert [round(a, 4) for a in adv] == [1.0, 0.0, 1.0, 0.0]
    assert [round(float(a), 4) for a in REFERENCE["outcome_advantages"](["t"] * 4, ["u1", "u2", "u3", "u4"],
                                                                       [1.0, 0.0, 1.0, 0.0])] == [0.866, -0.866] * 2
    # bug 5: seeds [3, 8, 3, 8] in groups [0, 0, 1, 1]: each group a win and a loss -> +-1/sqrt(2)
    assert bug_variants.env_layout([3, 8], 2) == ([3, 8, 3, 8], [0, 0, 1, 1])
    # bug 4, gamma 1, wins in 2 and 3 steps: buggy returns at the start 2 and 3 (counted once per step), correct 1, 1
    rows = (["t"] * 5, ["a", "b", "a", "b", "b"], [0.0, 0.0, 1.0, 0.0, 1.0], ["s", "s", "u", "u", "u"])
    correct = REFERENCE["stepwise_gigpo"](*rows, gamma=1.0)
    assert torch.allclose(correct, torch.zeros(5, dtype=torch.float64), atol=1e-6)  # all equal: no credit at all
    buggy = bug_variants.stepwise_gigpo(*rows, gamma=1.0)
    assert buggy[1] > 0 > buggy[0]  # the longer win is preferred at the start


def test_a_students_test_is_graded_on_both_versions():
    def good(fn):
        mask = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
        out = torch.as_tensor(fn(["t"] * 4, ["a", "b", "a", "b"], [0.0, 0.0, 1.0, 0.0], mask))
        assert out[0, 0] != 0, "row 0 (rollout a, which won) has no advantage on its own reply token"

    def always_passes(fn):
        fn(["t"], ["a"], [1.0], [[1.0]])

    def always_fails(fn):
        raise AssertionError("no")

    def crashes_on_buggy(fn):
        out = fn(["t"] * 4, ["a", "b", "a", "b"], [0.0, 0.0, 1.0, 0.0], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]] * 1
                 + [[0.0, 1.0]])
        assert out[0, 0] != 0 or 1 / 0  # the buggy version leaves row 0's own token at 0: a ZeroDivisionError

    assert check_test("step_token_advantages", good).passed
    assert "passes on the buggy" in check_test("step_token_advantages", always_passes).message
    assert "fails on a correct" in check_test("step_token_advantages", always_fails).message
    assert not check_test("step_token_advantages", 3).passed
    result = check_test("step_token_advantages", crashes_on_buggy)
    assert not result.passed and "your test raised ZeroDivisionError" in result.message
    with pytest.raises(ValueError, match="unknown bug-hunt function"):
        check_test("discounted_returns", good)


# --- reading the result never raises -----------------------------------------------------------------
def test_a_tuple_of_values_and_their_sum_is_a_failed_check():
    def values_and_total(traj_ids, rewards, gamma):
        out = REFERENCE["discounted_returns"](traj_ids, rewards, gamma)
        return out, out.sum()

    result = check("discounted_returns", values_and_total)
    assert not result.passed
    assert "return only the per-row values" in result.message and "a tuple of 2 items" in result.message


@pytest.mark.parametrize("returned", [
    type("Unreadable", (), {"__iter__": lambda self: (_ for _ in ()).throw(RuntimeError("boom"))})(),
    [torch.zeros(2, 2)] * 10, object(), {"a": 1}, ["x"] * 10])
def test_any_result_that_cannot_be_read_is_a_failed_check(returned):
    result = check("discounted_returns", lambda traj_ids, rewards, gamma: returned)
    assert not result.passed and result.message


@pytest.mark.parametrize("name,returned", [("ppo_clip_loss", (1.0, 2.0)), ("ppo_clip_loss", torch.zeros(2)),
                                           ("env_layout", None), ("env_layout", ([1], "x", 3)),
                                           ("step_token_advantages", "text"), ("step_group_labels", [[1]] * 10)])
def test_other_unreadable_results_are_failed_checks(name, returned):
    result = check(name, lambda **inputs: returned)
    assert not result.passed and result.message


# --- a wrong answer that matches a known mistake is named --------------------------------------------
def _std(xs, ddof):
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / (len(xs) - ddof)) ** 0.5


def _episode(group_ids, traj_ids, rewards, eps, scale, *, pooled=False):
    """Plain-Python episode advantage with ``scale(xs, eps)`` as the divisor."""
    total, group_of = {}, {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        total[t] = total.get(t, 0.0) + r
        group_of[t] = g
    members = {}
    for t in (traj_ids if pooled else total):
        members.setdefault(group_of[t], []).append(total[t])
    out = []
    for t in traj_ids:
        xs = members[group_of[t]]
        if len(xs) < 2:
            out.append(0.0)
            continue
        s = scale(xs, eps)
        out.append((total[t] - sum(xs) / len(xs)) / s if s else float("nan"))
    return out


def episode_ddof0(group_ids, traj_ids, rewards, eps=1e-6):
    return _episode(group_ids, traj_ids, rewards, eps, lambda xs, e: _std(xs, 0) + e)


def episode_eps_in_sqrt(group_ids, traj_ids, rewards, eps=1e-6):
    return _episode(group_ids, traj_ids, rewards, eps, lambda xs, e: (_std(xs, 1) ** 2 + e) ** 0.5)


def episode_no_eps(group_ids, traj_ids, rewards, eps=1e-6):
    return _episode(group_ids, traj_ids, rewards, eps, lambda xs, e: _std(xs, 1))


def episode_pooled(group_ids, traj_ids, rewards, eps=1e-6):
    return _episode(group_ids, traj_ids, rewards, eps, lambda xs, e: _std(xs, 1) + e, pooled=True)


def returns_forwards(traj_ids, rewards, gamma):
    out, running = [], {}
    for t, r in zip(traj_ids, rewards):
        running[t] = r + gamma * running.get(t, 0.0)
        out.append(running[t])
    return out


def step_ddof0(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    ret = REFERENCE["discounted_returns"](traj_ids, rewards, gamma).tolist()
    keys = list(zip(group_ids, anchors))
    return [0.0 if keys.count(k) < 2 else
            (r - sum(x for x, kk in zip(ret, keys) if kk == k) / keys.count(k))
            / (_std([x for x, kk in zip(ret, keys) if kk == k], 0) + eps) for k, r in zip(keys, ret)]


def step_pooled_rows(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    ret = REFERENCE["discounted_returns"](traj_ids, rewards, gamma).tolist()
    return [0.0 if group_ids.count(g) < 2 else
            (r - sum(x for x, gg in zip(ret, group_ids) if gg == g) / group_ids.count(g))
            / (_std([x for x, gg in zip(ret, group_ids) if gg == g], 1) + eps) for g, r in zip(group_ids, ret)]


def step_forward(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    ret = returns_forwards(traj_ids, rewards, gamma)
    keys = list(zip(group_ids, anchors))
    return [0.0 if keys.count(k) < 2 else
            (r - sum(x for x, kk in zip(ret, keys) if kk == k) / keys.count(k))
            / (_std([x for x, kk in zip(ret, keys) if kk == k], 1) + eps) for k, r in zip(keys, ret)]


@pytest.mark.parametrize("name,fn,phrase", [
    ("episode_advantages", episode_ddof0, POPULATION_STD),
    ("episode_advantages", episode_eps_in_sqrt, EPS_INSIDE),
    ("episode_advantages", episode_no_eps, NO_EPS),
    ("episode_advantages", episode_pooled, "pooled step rows: every step row counted in its group's mean and std"),
    ("discounted_returns", returns_forwards, FORWARD),
    ("step_advantages", step_ddof0, POPULATION_STD),
    ("step_advantages", step_pooled_rows, "pooled step rows: all rows of a task group normalised together"),
    ("step_advantages", step_forward, FORWARD),
], ids=["ddof0", "eps-in-sqrt", "no-eps", "pooled", "forward", "step-ddof0", "step-pooled", "step-forward"])
def test_a_known_mistake_is_named(name, fn, phrase):
    result = check(name, fn)
    assert not result.passed
    assert f"This matches a known mistake: {phrase}" in result.message, result.message


def test_a_population_std_gets_its_numbers_and_its_name():
    result = check("episode_advantages", episode_ddof0)
    assert "row 0: expected 0.5774, got 0.7071" in result.message and "population std (ddof=0" in result.message


def test_a_wrong_answer_that_matches_no_known_mistake_gets_the_numbers_only():
    result = check("episode_advantages", lambda group_ids, traj_ids, rewards, eps=1e-6: [0.25] * len(rewards))
    assert not result.passed and "known mistake" not in result.message and "expected" in result.message


# --- no import cycle inside gigpo.course --------------------------------------------------------------------
def test_gigpo_course_modules_import_without_a_cycle_and_not_inside_functions():
    folder = ROOT / "gigpo" / "course"
    edges = {}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        top = {n.module.rsplit(".", 1)[-1] for n in tree.body
               if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("gigpo.course.")}
        edges[path.stem] = top
        inner = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)
                 if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("gigpo.")]
        assert not inner, f"{path.name} imports gigpo modules inside a function"

    def visit(node, stack):
        assert node not in stack, f"import cycle: {' -> '.join([*stack, node])}"
        for nxt in edges.get(node, ()):
            visit(nxt, [*stack, node])

    for module in edges:
        visit(module, [])


def test_the_book_shows_the_unit_in_both_builds():
    from book.tools.build import course_units
    from book.tools.exercises import solution_texts, unit_page

    assert UNIT in course_units()
    student, instructor = unit_page(UNIT, solutions=False), unit_page(UNIT, solutions=True)
    assert student.count("::::{exercise}") == instructor.count("::::{solution}") == 16
    assert "::::{solution}" not in student and "uid = list(traj_ids)" in student  # the buggy code, no fixes
    secrets = solution_texts(UNIT)
    assert len(secrets) > 20 and not [s for s in secrets if s in student]
    assert all(s in instructor for s in secrets)


def test_the_buggy_broadcast_is_named_when_it_returns_nested_lists():
    def as_lists(**inputs):
        return bug_variants.step_token_advantages(**inputs).tolist()

    result = check("step_token_advantages", as_lists)
    assert "This matches a known mistake: the bug itself (the broadcast uses the last step's mask)" in result.message
