"""The estimator registry: built-ins by name, a user's own estimator everywhere a name is accepted, clear errors."""
import pytest
import torch

import gigpo
from gigpo.estimators import registry
from gigpo.training.config import TrainConfig

GROUPS = [0, 0, 0, 0, 0, 0, 0]
TRAJS = ["a", "a", "b", "b", "b", "c", "c"]
REWARDS = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
ANCHORS = ["s0", "s1", "s0", "s2", "s1", "s0", "s2"]


@pytest.fixture
def restore_registry():
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


def test_builtins_by_name_equal_the_direct_functions():
    assert gigpo.estimator_names()[:3] == ["gigpo", "grpo", "rloo"]
    got = gigpo.compute_advantages("gigpo", GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, norm="none")
    assert torch.equal(got, gigpo.gigpo_advantages(GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.5, norm="none"))
    # GRPO ignores anchors; returns 1, 1, 0 -> A_E = R - 2/3 with norm none
    grpo = gigpo.compute_advantages("grpo", GROUPS, TRAJS, REWARDS, ANCHORS, norm="none")
    assert grpo.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, -2 / 3, -2 / 3])
    # RLOO: 1 - (1 + 0) / 2 = 0.5 for a and b; 0 - 1 = -1 for c
    assert gigpo.compute_advantages("rloo", GROUPS, TRAJS, REWARDS).tolist() == [0.5, 0.5, 0.5, 0.5, 0.5, -1, -1]
    assert registry.get_estimator("grpo").options == ("norm", "eps", "episode_stats")
    assert registry.get_estimator("rloo").options == ()


def test_options_an_estimator_does_not_take_raise_and_applicable_options_filters():
    with pytest.raises(ValueError, match=r"'grpo' does not take option\(s\) \['gamma'\]"):
        gigpo.compute_advantages("grpo", GROUPS, TRAJS, REWARDS, ANCHORS, gamma=0.9)
    with pytest.raises(ValueError, match="unknown estimator 'ppo'; registered: gigpo, grpo, rloo"):
        gigpo.compute_advantages("ppo", GROUPS, TRAJS, REWARDS, ANCHORS)
    shared = dict(gamma=0.9, norm="none", similarity=None, step_weight=2.0)
    assert registry.applicable_options("grpo", shared) == {"norm": "none"}
    assert registry.applicable_options("gigpo", shared) == shared


def test_a_registered_estimator_is_accepted_by_the_config_and_the_trainer(restore_registry):
    from gigpo.policy.step_batch import StepBatch
    from gigpo.training.trainer import compute_advantages
    def last_step_bonus(group_ids, traj_ids, rewards, anchors, *, bonus: float = 1.0):
        """Reward-to-go of nothing: the raw reward plus a bonus (a test estimator)."""
        return torch.as_tensor(rewards, dtype=torch.float32) + bonus

    gigpo.register_estimator("bonus", last_step_bonus)
    with pytest.raises(ValueError, match="already registered"):
        gigpo.register_estimator("bonus", last_step_bonus)
    cfg = TrainConfig(estimator="bonus", estimator_options={"bonus": 2.0})
    assert cfg.estimator_kwargs() == {"bonus": 2.0}  # gamma, norm, ... are not options of this estimator
    batch = StepBatch.__new__(StepBatch)
    batch.group_ids, batch.traj_ids, batch.rewards, batch.anchors = GROUPS, TRAJS, REWARDS, ANCHORS
    assert compute_advantages(cfg, batch).tolist() == [r + 2.0 for r in REWARDS]
    with pytest.raises(ValueError, match="similarity does not apply to estimator 'bonus'"):
        TrainConfig(estimator="bonus", similarity=0.9)


def test_bad_registrations_name_the_problem(restore_registry):
    with pytest.raises(ValueError, match="must be callable"):
        gigpo.register_estimator("x", 3)
    with pytest.raises(ValueError, match=r"must take \(group_ids, traj_ids, rewards, anchors"):
        gigpo.register_estimator("x", lambda group_ids, rewards: rewards)
    with pytest.raises(ValueError, match="non-empty string"):
        gigpo.register_estimator(" x", lambda a, b, c, d: c)
    with pytest.raises(ValueError, match="registered no detailed form"):
        registry.compute_details("grpo", GROUPS, TRAJS, REWARDS)
