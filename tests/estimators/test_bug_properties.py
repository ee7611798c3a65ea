"""Properties that five advantage bugs shipped by RL frameworks break, tested on the package with hypothesis; each
test beside them shows the property failing on the committed buggy variant (``gigpo.course.bug_variants``), so the
property is one that would have caught the bug.

1. A baseline is subtracted within each task group: with N >= 2 rollouts per task, the episode advantages of a
   group's trajectories sum to 0 (rLLM #605: one member per group, the advantage is the raw return).
2. Each step row's advantage lands on its own response tokens: the masked advantage equals the unmasked one times
   the row's own mask (SkyRL #1492: the last step's mask was broadcast to every step).
3. Turns can be renumbered: prepending a zero-reward step at a new state to some rollouts leaves the advantages of
   the original rows unchanged (verl #7244: grouping by turn index compares different states).
4. A final reward is counted once: with gamma = 1, adding c to the final reward of every rollout of a task leaves
   every advantage unchanged (a step-wise trainer that takes the rows' episode score as the step reward counts it
   on every step).
5. Group members start from the same state: the first rows of one task group share their anchor (verl-agent #82).
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import envs
from envs import GroupRunner
from gigpo.course import bug_variants
from gigpo.estimators import advantage_details, gigpo_advantages, grpo_advantages, rloo_advantages
from gigpo.integrations.verl_dropin import compute_gigpo_outcome_advantage
from gigpo.integrations.verl_registry import package_estimator

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REWARDS = st.sampled_from([0.0, 0.0, 1.0, -0.1, 0.5, 10.0])
ANCHORS = st.sampled_from(["s0", "s1", "s2", "s3"])


@st.composite
def batches(draw, min_rollouts: int = 2, max_tokens: int = 0):
    """1-3 tasks x ``min_rollouts``-4 rollouts of 1-5 steps, rows merged in a drawn order that keeps each
    rollout's steps in time order; trajectory ids are uuid-like strings. With ``max_tokens``, a response mask: each
    row's reply is a span of its own."""
    queues = []
    for g in range(draw(st.integers(1, 3))):
        for n in range(draw(st.integers(min_rollouts, 4))):
            steps = draw(st.lists(st.tuples(REWARDS, ANCHORS), min_size=1, max_size=5))
            queues.append([(f"task{g}", f"{g}-{n}-uuid", r, a) for r, a in steps])
    rows = []
    while any(queues):
        live = [q for q in queues if q]
        rows.append(live[draw(st.integers(0, len(live) - 1))].pop(0))
    batch = {"group_ids": [r[0] for r in rows], "traj_ids": [r[1] for r in rows],
             "rewards": [r[2] for r in rows], "anchors": [r[3] for r in rows]}
    if max_tokens:
        tokens = draw(st.integers(2, max_tokens))
        mask = []
        for _ in rows:
            start = draw(st.integers(0, tokens - 1))
            length = draw(st.integers(1, tokens - start))
            mask.append([1.0 if start <= j < start + length else 0.0 for j in range(tokens)])
        batch["response_mask"] = mask
    return batch


def close(a, b) -> bool:
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=1e-4))


def fails_on(prop, strategy, variant) -> None:
    """Assert that ``prop(variant, example)`` fails for some example hypothesis draws from ``strategy``."""
    @SETTINGS
    @given(strategy)
    def run(example):
        prop(variant, example)

    with pytest.raises(AssertionError):
        run()


# --- 1. a baseline within each task group ----------------------------------------------------------------------------
def baseline_subtracted(estimator, b) -> None:
    adv = [float(a) for a in estimator(b["group_ids"], b["traj_ids"], b["rewards"])]
    per_traj = {t: (g, a) for g, t, a in zip(b["group_ids"], b["traj_ids"], adv)}
    total = defaultdict(float)
    for g, a in per_traj.values():
        total[g] += a
    assert all(abs(s) < 1e-4 for s in total.values()), f"per-group sums of the trajectories' advantages: {total}"


ONE_LEVEL = {"grpo": grpo_advantages, "rloo": rloo_advantages,
             "gigpo A_E": lambda g, t, r: advantage_details(g, t, r, [0] * len(r)).episode_adv}


@pytest.mark.parametrize("name", ONE_LEVEL)
@SETTINGS
@given(b=batches())
def test_episode_advantages_subtract_a_baseline_within_each_task(name, b):
    baseline_subtracted(ONE_LEVEL[name], b)


def test_grouping_by_trajectory_id_breaks_the_baseline():
    fails_on(baseline_subtracted, batches(), bug_variants.outcome_advantages)


# --- 2. each row's advantage on its own tokens -----------------------------------------------------------------------
def own_tokens(token_advantages, b) -> None:
    mask = torch.tensor(b["response_mask"], dtype=torch.float64)
    masked = token_advantages(b["group_ids"], b["traj_ids"], b["rewards"], mask)
    unmasked = token_advantages(b["group_ids"], b["traj_ids"], b["rewards"], torch.ones_like(mask))
    assert close(masked, torch.as_tensor(unmasked, dtype=torch.float64) * mask), "rows trained off their own tokens"


def _dropin(group_ids, traj_ids, rewards, mask):
    """verl-agent's GiGPO call (the package's drop-in): the row's score is its episode return."""
    total = defaultdict(float)
    for t, r in zip(traj_ids, rewards):
        total[t] += r
    scores = torch.zeros(mask.shape, dtype=torch.float64)
    scores[:, 0] = torch.tensor([total[t] for t in traj_ids], dtype=torch.float64)
    adv, _ = compute_gigpo_outcome_advantage(scores, torch.tensor(rewards, dtype=torch.float64), mask,
                                             np.array([0] * len(rewards)), np.array(group_ids),
                                             np.array(traj_ids), mode="mean_std_norm")
    return adv


def _adapter(group_ids, traj_ids, rewards, mask):
    """The package's GRPO through its verl registry adapter."""
    adv, _ = package_estimator("grpo")(torch.zeros(mask.shape, dtype=torch.float64), mask, index=list(group_ids),
                                       non_tensor_batch={"traj_uid": list(traj_ids), "rewards": list(rewards)})
    return adv


@pytest.mark.parametrize("name,fn", [("verl drop-in", _dropin), ("verl registry adapter", _adapter)])
@SETTINGS
@given(b=batches(min_rollouts=1, max_tokens=6))
def test_every_row_gets_its_advantage_on_its_own_tokens(name, fn, b):
    own_tokens(fn, b)


def test_the_last_steps_mask_broadcast_breaks_it():
    fails_on(own_tokens, batches(min_rollouts=1, max_tokens=6), bug_variants.step_token_advantages)


# --- 3. turns can be renumbered ---------------------------------------------------------------------------------------
@st.composite
def batches_and_prefixed(draw):
    """A batch and the rollouts (a nonempty subset) that get a zero-reward first step at a new state."""
    b = draw(batches())
    trajs = sorted(set(b["traj_ids"]))
    chosen = draw(st.lists(st.sampled_from(trajs), min_size=1, unique=True))
    return b, chosen, draw(st.sampled_from([0.0, 0.5, 0.95, 1.0]))


def turn_renumbering(gigpo_fn, example) -> None:
    b, chosen, gamma = example
    before = gigpo_fn(b["group_ids"], b["traj_ids"], b["rewards"], b["anchors"], gamma)
    group_of = dict(zip(b["traj_ids"], b["group_ids"]))
    pre = {k: [group_of[t] for t in chosen] if k == "group_ids" else list(chosen) if k == "traj_ids"
           else [0.0] * len(chosen) if k == "rewards" else ["a new state"] * len(chosen) for k in b}
    after = gigpo_fn(*(pre[k] + b[k] for k in ("group_ids", "traj_ids", "rewards", "anchors")), gamma)
    assert close(torch.as_tensor(after, dtype=torch.float64)[len(chosen):], before), "renumbered turns moved A"


def _gigpo(g, t, r, a, gamma):
    return gigpo_advantages(g, t, r, a, gamma=gamma)


def _gigpo_no_norm(g, t, r, a, gamma):
    return gigpo_advantages(g, t, r, a, gamma=gamma, norm="none", step_weight=0.5)


@pytest.mark.parametrize("fn", [_gigpo, _gigpo_no_norm], ids=["std", "none"])
@SETTINGS
@given(example=batches_and_prefixed())
def test_gigpo_does_not_depend_on_turn_numbers(fn, example):
    turn_renumbering(fn, example)


def test_grouping_by_turn_index_breaks_it():
    fails_on(turn_renumbering, batches_and_prefixed(), bug_variants.multi_turn_gigpo)


# --- 4. a final reward counted once -----------------------------------------------------------------------------------
@st.composite
def batches_and_shift(draw):
    b = draw(batches(min_rollouts=1))
    return b, draw(st.sampled_from(sorted(set(b["group_ids"])))), draw(st.sampled_from([1.0, -2.0, 5.0]))


def final_reward_counted_once(gigpo_fn, example) -> None:
    b, group, c = example
    last = {t: i for i, t in enumerate(b["traj_ids"])}
    shifted = [r + c if g == group and last[t] == i else r
               for i, (g, t, r) in enumerate(zip(b["group_ids"], b["traj_ids"], b["rewards"]))]
    before = gigpo_fn(b["group_ids"], b["traj_ids"], b["rewards"], b["anchors"], 1.0)
    after = gigpo_fn(b["group_ids"], b["traj_ids"], shifted, b["anchors"], 1.0)
    assert close(after, before), "a reward every rollout of the task earns at its end changed the advantages"


FINAL_REWARD = {"gigpo": _gigpo, "gigpo norm none": _gigpo_no_norm,
                "grpo": lambda g, t, r, a, gamma: grpo_advantages(g, t, r),
                "rloo": lambda g, t, r, a, gamma: rloo_advantages(g, t, r)}


@pytest.mark.parametrize("name", FINAL_REWARD)
@SETTINGS
@given(example=batches_and_shift())
def test_a_final_reward_every_rollout_earns_cancels(name, example):
    final_reward_counted_once(FINAL_REWARD[name], example)


def test_counting_the_episode_score_on_every_step_breaks_it():
    fails_on(final_reward_counted_once, batches_and_shift(), bug_variants.stepwise_gigpo)


# --- 5. group members share their initial state ----------------------------------------------------------------------
LAYOUTS = st.tuples(st.lists(st.integers(0, 29), min_size=1, max_size=4, unique=True), st.integers(1, 4))
_ENV = envs.make("household")


def first_states_shared(layout, example) -> None:
    """``layout(task_seeds, group_size) -> (group_ids, initial anchors)`` of the batch's environments."""
    groups, anchors = layout(*example)
    first = {}
    for g, a in zip(groups, anchors):
        assert first.setdefault(g, a) == a, f"group {g} starts from two states"


def package_layout(task_seeds, group_size):
    runner = GroupRunner("household", group_size)
    runner.reset(task_seeds)
    return [runner.group_of(i) for i in range(runner.num_envs)], [info["anchor"] for info in runner.infos]


def buggy_layout(task_seeds, group_size):
    seeds, groups = bug_variants.env_layout(task_seeds, group_size)
    return groups, [_ENV.reset(seed=s)[1]["anchor"] for s in seeds]


@SETTINGS
@given(example=LAYOUTS)
def test_group_runner_members_start_from_one_state(example):
    first_states_shared(package_layout, example)


def test_a_task_major_reset_with_rollout_major_groups_breaks_it():
    fails_on(first_states_shared, LAYOUTS, buggy_layout)


def test_the_buggy_variants_return_finite_values():
    """Each bug is silent: the buggy functions run and return finite numbers on an ordinary batch."""
    b = {"group_ids": ["t"] * 4, "traj_ids": ["a", "b", "a", "b"], "rewards": [0.0, 0.0, 1.0, 0.0],
         "anchors": ["s", "s", "u", "v"]}
    outs = [bug_variants.outcome_advantages(b["group_ids"], b["traj_ids"], b["rewards"]),
            bug_variants.multi_turn_gigpo(*b.values(), 0.95), bug_variants.stepwise_gigpo(*b.values(), 0.95),
            bug_variants.step_token_advantages(b["group_ids"], b["traj_ids"], b["rewards"], torch.eye(4)).flatten()]
    assert all(math.isfinite(float(v)) for out in outs for v in out)
