"""gigpo.course.check: the reference and independent correct implementations pass, every committed wrong one is
rejected with a message naming the case, and the library values it checks against agree with plain Python."""
from __future__ import annotations

import math

import pytest
import torch

from gigpo.course import EXERCISES, check
from gigpo.course.cases import fixed_cases, random_cases
from gigpo.course.expected import REFERENCE
from tests.support import course_implementations as impl

PLAIN = {"discounted_returns": impl.returns_py, "episode_advantages": impl.episode_py,
         "step_advantages": impl.step_py}


@pytest.mark.parametrize("name", EXERCISES)
def test_the_library_reference_passes(name):
    result = check(name, REFERENCE[name])
    assert result.passed, result.message
    assert result.case is None and "agree with the library" in result.message


@pytest.mark.parametrize("name,fn", [(n, f) for n, fs in impl.CORRECT.items() for f in fs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_independent_correct_implementations_pass(name, fn):
    result = check(name, fn)
    assert result.passed, result.message


@pytest.mark.parametrize("name,fn", [(n, f) for n, fs in impl.WRONG.items() for f in fs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_every_wrong_implementation_is_rejected(name, fn):
    result = check(name, fn)
    assert not result.passed
    assert result.case and f"case '{result.case}'" in result.message


def test_at_least_three_wrong_implementations_per_exercise():
    assert set(impl.WRONG) == set(EXERCISES)
    assert all(len(fns) >= 3 for fns in impl.WRONG.values())


@pytest.mark.parametrize("name", ["discounted_returns", "episode_advantages", "step_advantages"])
def test_library_values_agree_with_plain_python(name):
    for case in [*fixed_cases(name), *random_cases(name, 40)]:
        expected = REFERENCE[name](**case.inputs).tolist()
        plain = PLAIN[name](**case.inputs)
        assert all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) for a, b in zip(expected, plain)), case.label


def test_library_step_groups_partition_like_plain_python():
    for case in [*fixed_cases("step_group_labels"), *random_cases("step_group_labels", 40)]:
        got = REFERENCE["step_group_labels"](**case.inputs).tolist()
        plain = impl.labels_py(**case.inputs)
        assert len(set(zip(got, plain))) == len(set(got)) == len(set(plain)), case.label


def test_library_loss_agrees_with_a_hand_value():
    # one row, two tokens, A = 1: token 1 ratio e^0.5 = 1.6487 clipped to 1.2, token 2 ratio 1 -> loss -(1.2 + 1)/2
    new = torch.tensor([[0.0, -1.0]], dtype=torch.float64)
    old = torch.tensor([[-0.5, -1.0]], dtype=torch.float64)
    loss = REFERENCE["ppo_clip_loss"](new, old, torch.tensor([1.0], dtype=torch.float64), torch.ones(1, 2))
    assert float(loss) == pytest.approx(-1.1)
    # A = -1 with ratio e^-0.5 = 0.6065: the pessimistic bound keeps the unclipped -0.6065 * -1 vs clipped 0.8:
    # loss = max(0.6065, 0.8) = 0.8 on token 1; token 2 ratio 1 -> 1; mean 0.9
    loss = REFERENCE["ppo_clip_loss"](old, new, torch.tensor([-1.0], dtype=torch.float64), torch.ones(1, 2))
    assert float(loss) == pytest.approx(0.9)


def test_hand_worked_values_of_the_interleaved_case():
    (case,) = [c for c in fixed_cases("discounted_returns") if c.label.startswith("interleaved")]
    # a0 rows 0, 3, 6 with rewards 0, 0, 10: 9.025, 9.5, 10; a2 never wins: 0
    got = REFERENCE["discounted_returns"](**case.inputs).tolist()
    assert [round(got[i], 4) for i in (0, 3, 6, 2, 5)] == [9.025, 9.5, 10.0, 0.0, 0.0]
    (case,) = [c for c in fixed_cases("episode_advantages") if c.label.startswith("interleaved")]
    # returns 10, 10, 0: mean 20/3, sample std sqrt(100/3) = 5.7735 -> A_E = 0.5774, 0.5774, -1.1547
    got = REFERENCE["episode_advantages"](**case.inputs).tolist()
    assert [round(got[i], 4) for i in (0, 1, 2)] == [0.5774, 0.5774, -1.1547]


def test_messages_say_what_differs():
    result = check("discounted_returns", impl.returns_across_trajectories)
    assert "expected" in result.message and "got" in result.message and "traj_ids =" in result.message
    result = check("step_group_labels", impl.labels_ignore_groups)
    assert "task group" in result.message and result.case == "the same anchor in two task groups"
    result = check("ppo_clip_loss", impl.loss_detached)
    assert "gradient" in result.message


def test_a_crashing_or_unfinished_function_is_feedback_not_an_error():
    def unfinished(traj_ids, rewards, gamma):
        ...

    def crashing(traj_ids, rewards, gamma):
        raise ZeroDivisionError("oops")

    assert "returned None" in check("discounted_returns", unfinished).message
    assert "ZeroDivisionError: oops" in check("discounted_returns", crashing).message
    assert "values (one per row), got 1" in check("discounted_returns", lambda traj_ids, rewards, gamma: [0.0]).message
    assert not check("ppo_clip_loss", 3).passed


def test_an_unknown_name_raises():
    with pytest.raises(ValueError, match="unknown exercise 'returns'.*discounted_returns"):
        check("returns", impl.returns_py)


def test_inputs_are_copied_for_each_call():
    def mutating(traj_ids, rewards, gamma):
        out = impl.returns_py(traj_ids, rewards, gamma)
        rewards.clear()
        return out

    assert check("discounted_returns", mutating).passed


def test_random_batches_are_fixed_by_their_seed():
    a, b = random_cases("step_advantages", 5), random_cases("step_advantages", 5)
    assert [c.inputs for c in a] == [c.inputs for c in b]
    assert random_cases("step_advantages", 5, seed=1)[0].inputs != a[0].inputs
