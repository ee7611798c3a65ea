"""gigpo.integrations.verl.register() against verl 0.9's advantage-estimator registry: a stand-in written from verl
0.9.1's ``verl/trainer/ppo/core_algos.py`` (always), and verl itself where it is importable (skipped, with the reason,
elsewhere)."""
from __future__ import annotations

import sys
import types
from collections import defaultdict
from enum import Enum

import pytest
import torch

from gigpo import grpo_advantages
from gigpo.integrations import verl as gv
from tests.support.verl_reference import Batch, ref_gigpo, ref_returns, verl_agent_batch


# --- register(): verl 0.9's registry, restated from verl 0.9.1 verl/trainer/ppo/core_algos.py ---------------------
def verl_standin() -> types.ModuleType:
    """``register_adv_est`` / ``get_adv_estimator_fn`` exactly as verl 0.9.1 defines them, and the generic branch of
    its ``ray_trainer.compute_advantage`` (the kwargs it passes to a registered estimator)."""
    core = types.ModuleType("verl.trainer.ppo.core_algos")

    class AdvantageEstimator(str, Enum):
        GAE = "gae"
        GRPO = "grpo"
        RLOO = "rloo"

    registry: dict = {}

    def register_adv_est(name_or_enum):
        def decorator(fn):
            name = name_or_enum.value if isinstance(name_or_enum, Enum) else name_or_enum
            if name in registry and registry[name] != fn:
                raise ValueError(f"Adv estimator {name} has already been registered: {registry[name]} vs {fn}")
            registry[name] = fn
            return fn
        return decorator

    def get_adv_estimator_fn(name_or_enum):
        name = name_or_enum.value if isinstance(name_or_enum, Enum) else name_or_enum
        if name not in registry:
            raise ValueError(f"Unknown advantage estimator simply: {name}")
        return registry[name]

    def compute_advantage(data, adv_estimator, gamma=1.0, lam=1.0, num_repeat=1, norm_adv_by_std_in_grpo=True,
                          config=None):
        adv_kwargs = {"token_level_rewards": data.batch["token_level_rewards"],
                      "response_mask": data.batch["response_mask"], "config": config}
        if "uid" in data.non_tensor_batch:
            adv_kwargs["index"] = data.non_tensor_batch["uid"]
        advantages, returns = get_adv_estimator_fn(adv_estimator)(**adv_kwargs)
        data.batch["advantages"], data.batch["returns"] = advantages, returns
        return data

    register_adv_est(AdvantageEstimator.RLOO)(lambda **kw: None)  # a built-in of verl's, which must stay
    core.AdvantageEstimator, core.ADV_ESTIMATOR_REGISTRY = AdvantageEstimator, registry
    core.register_adv_est, core.get_adv_estimator_fn, core.compute_advantage = (register_adv_est,
                                                                                 get_adv_estimator_fn,
                                                                                 compute_advantage)
    return core


@pytest.fixture
def fake_verl(monkeypatch):
    """The stand-in registry as ``verl.trainer.ppo.core_algos``, and verl 0.9's two trainer modules that look
    ``compute_advantage`` up by name: ``ray_trainer`` (legacy) and ``v1.utils`` (which imported it by name)."""
    core = verl_standin()
    for name in ["verl", "verl.trainer", "verl.trainer.ppo", "verl.trainer.ppo.v1"]:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "verl.trainer.ppo.core_algos", core)
    monkeypatch.setattr(sys.modules["verl.trainer.ppo"], "core_algos", core, raising=False)
    trainer = types.ModuleType("verl.trainer.ppo.ray_trainer")
    trainer.compute_advantage = core.compute_advantage
    v1_utils = types.ModuleType("verl.trainer.ppo.v1.utils")
    v1_utils.compute_advantage = core.compute_advantage

    def compute_advantage_for_multi_trajectories(data, batch_keys, adv_estimator, config=None, **kwargs):
        return v1_utils.compute_advantage(data, adv_estimator=adv_estimator, config=config)  # non-GRPO branch

    v1_utils.compute_advantage_for_multi_trajectories = compute_advantage_for_multi_trajectories
    monkeypatch.setitem(sys.modules, trainer.__name__, trainer)
    monkeypatch.setitem(sys.modules, v1_utils.__name__, v1_utils)
    core.trainer_modules = (trainer, v1_utils)
    return core


def test_register_adds_every_estimator(fake_verl):
    from gigpo import estimator_names

    names = gv.register()
    assert names == ["gigpo"] + [f"gigpo.{n}" for n in estimator_names()]
    assert fake_verl.get_adv_estimator_fn("gigpo") is gv.verl_gigpo
    assert {"gigpo.gigpo", "gigpo.grpo", "gigpo.rloo", "rloo"} <= set(fake_verl.ADV_ESTIMATOR_REGISTRY)
    assert gv.register() == names  # idempotent: the same function objects again
    fake_verl.ADV_ESTIMATOR_REGISTRY["gigpo"] = lambda **kw: None  # the name taken by someone else: verl refuses
    with pytest.raises(ValueError, match="already been registered"):
        gv.register()


@pytest.mark.parametrize("mode", ["mean_norm", "mean_std_norm"])
@pytest.mark.parametrize("with_step_rewards", [True, False])
def test_registered_gigpo_through_verls_generic_call(fake_verl, mode, with_step_rewards):
    gv.register()
    data = verl_agent_batch(1, with_step_rewards)
    nt, t = data.non_tensor_batch, data.batch
    config = {"gamma": 0.9, "gigpo": {"mode": mode, "step_advantage_w": 0.7, "enable_similarity": False,
                                      "similarity_thresh": 0.95, "history_replay": {"enable": False}}}
    step = (t["step_rewards"] if with_step_rewards
            else torch.tensor(ref_returns(nt["rewards"], list(nt["traj_uid"]), 0.9)))
    expected = torch.tensor(ref_gigpo(t["token_level_rewards"], step, t["response_mask"], nt["anchor_obs"],
                                      nt["uid"], w=0.7, mode=mode))
    compute_advantage = gv.wrap_compute_advantage(fake_verl.compute_advantage)
    out = compute_advantage(data, adv_estimator="gigpo", gamma=0.9, config=config)
    torch.testing.assert_close(out.batch["advantages"], expected, atol=1e-5, rtol=0)
    with gv.step_batch(data):  # the context manager form, same numbers
        again = fake_verl.compute_advantage(data, adv_estimator="gigpo", config=config).batch["advantages"]
    torch.testing.assert_close(again, expected, atol=1e-5, rtol=0)


def test_hook_makes_both_trainers_pass_the_step_batch(fake_verl):
    gv.register()
    trainer, v1_utils = fake_verl.trainer_modules
    assert gv.hook_compute_advantage() == ["verl.trainer.ppo.ray_trainer", "verl.trainer.ppo.v1.utils"]
    assert gv.hook_compute_advantage() == ["verl.trainer.ppo.ray_trainer", "verl.trainer.ppo.v1.utils"]
    assert trainer.compute_advantage.__wrapped__ is fake_verl.compute_advantage  # wrapped once, not twice
    data = verl_agent_batch(6, True)
    t, nt = data.batch, data.non_tensor_batch
    expected = torch.tensor(ref_gigpo(t["token_level_rewards"], t["step_rewards"], t["response_mask"],
                                      nt["anchor_obs"], nt["uid"]))
    legacy = trainer.compute_advantage(data, adv_estimator="gigpo", config={}).batch["advantages"]
    v1 = v1_utils.compute_advantage_for_multi_trajectories(data, [], "gigpo", config={}).batch["advantages"]
    torch.testing.assert_close(legacy, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(v1, expected, atol=1e-5, rtol=0)


def test_registered_gigpo_needs_the_step_fields(fake_verl):
    gv.register()
    data = verl_agent_batch(2, True)
    with pytest.raises(ValueError, match="step_batch"):  # verl alone passes no traj_uid / anchor_obs
        fake_verl.compute_advantage(data, adv_estimator="gigpo", config={})
    stale = Batch(data.batch, {k: v[:-1] for k, v in data.non_tensor_batch.items()})
    with gv.step_batch(stale), pytest.raises(ValueError, match="rows"):  # another batch is refused, not misread
        fake_verl.compute_advantage(data, adv_estimator="gigpo", config={})
    other = Batch({**data.batch, "token_level_rewards": data.batch["token_level_rewards"] + 1}, data.non_tensor_batch)
    with gv.step_batch(other), pytest.raises(ValueError, match="other token_level_rewards"):  # same size, other data
        fake_verl.compute_advantage(data, adv_estimator="gigpo", config={})
    # a custom trainer may pass the fields itself, as verl does for GDPO
    adv, _ = gv.verl_gigpo(data.batch["token_level_rewards"], data.batch["response_mask"],
                           index=data.non_tensor_batch["uid"], config=None, non_tensor_batch=data.non_tensor_batch,
                           batch=data.batch)
    direct, _ = gv.compute_gigpo_outcome_advantage(
        data.batch["token_level_rewards"], data.batch["step_rewards"], data.batch["response_mask"],
        data.non_tensor_batch["anchor_obs"], data.non_tensor_batch["uid"], data.non_tensor_batch["traj_uid"])
    torch.testing.assert_close(adv, direct)


def test_registered_package_estimators(fake_verl):
    gv.register()
    data = verl_agent_batch(4, False)
    nt, mask = data.non_tensor_batch, data.batch["response_mask"]
    with gv.step_batch(data):
        grpo = fake_verl.compute_advantage(data, adv_estimator="gigpo.grpo",
                                           config={"gigpo_options": {"norm": "none"}}).batch["advantages"]
    # per step rows: the episode return is the sum of the trajectory's per-step rewards (this package's GRPO)
    episode = defaultdict(float)
    for tr, r in zip(nt["traj_uid"], nt["rewards"]):
        episode[tr] += float(r)
    per_group = defaultdict(list)
    for g, tr in dict(zip(nt["traj_uid"], nt["uid"])).items():
        per_group[tr].append(episode[g])
    means = {g: sum(v) / len(v) for g, v in per_group.items()}
    expected = [(episode[tr] - means[g]) if len(per_group[g]) > 1 else 0.0
                for g, tr in zip(nt["uid"], nt["traj_uid"])]
    torch.testing.assert_close(grpo, torch.tensor(expected, dtype=torch.float32)[:, None] * mask, atol=1e-5, rtol=0)
    torch.testing.assert_close(grpo[:, 0], grpo_advantages(nt["uid"], nt["traj_uid"], nt["rewards"], norm="none")
                               * mask[:, 0])
    with gv.step_batch(data), pytest.raises(ValueError, match="does not take"):
        fake_verl.compute_advantage(data, adv_estimator="gigpo.rloo", config={"gigpo_options": {"norm": "std"}})


def test_plugin_module_registers_on_import(fake_verl, monkeypatch):
    """verl imports the modules named in VERL_USE_EXTERNAL_MODULES at ``import verl``; ours registers then."""
    import importlib

    monkeypatch.delitem(sys.modules, "gigpo.integrations.verl_plugin", raising=False)
    plugin = importlib.import_module("gigpo.integrations.verl_plugin")
    assert fake_verl.get_adv_estimator_fn("gigpo") is gv.verl_gigpo
    assert "gigpo.grpo" in plugin.REGISTERED


def test_register_without_verl_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "verl", None)  # import verl -> ImportError, as when it is not installed
    with pytest.raises(ImportError, match=r"gigpo\[verl\]"):
        gv.register()


def test_register_with_real_verl(monkeypatch):
    """Against verl's own registry and trainer function; skipped (reason printed with -rs) without verl."""
    core = pytest.importorskip("verl.trainer.ppo.core_algos",
                               reason="verl is not importable here (verl 0.9 pins transformers < 5.11, which this "
                                      "project's environment does not have); install it in a separate venv to run")
    names = gv.register()
    assert all(core.get_adv_estimator_fn(n) is not None for n in names)
    assert core.get_adv_estimator_fn("gigpo") is gv.verl_gigpo
    from verl import DataProto
    from verl.trainer.ppo import ray_trainer

    b = verl_agent_batch(5, True)
    data = DataProto.from_dict(tensors=dict(b.batch), non_tensors=dict(b.non_tensor_batch))
    from omegaconf import OmegaConf  # verl passes config.algorithm, an OmegaConf node (+algorithm.gigpo.* on the CLI)

    config = OmegaConf.create({"gamma": 0.95, "adv_estimator": "gigpo",
                               "gigpo": {"mode": "mean_std_norm", "step_advantage_w": 1.0}})
    expected = torch.tensor(ref_gigpo(b.batch["token_level_rewards"], b.batch["step_rewards"],
                                      b.batch["response_mask"], b.non_tensor_batch["anchor_obs"],
                                      b.non_tensor_batch["uid"], mode="mean_std_norm"))
    out = gv.wrap_compute_advantage(ray_trainer.compute_advantage)(data, adv_estimator="gigpo", config=config)
    torch.testing.assert_close(out.batch["advantages"], expected, atol=1e-5, rtol=0)

    from verl.trainer.ppo.v1 import utils as v1_utils

    for module in (ray_trainer, v1_utils):  # undo the hook after the test
        monkeypatch.setattr(module, "compute_advantage", module.compute_advantage)
    assert gv.hook_compute_advantage() == list(gv.TRAINER_MODULES)
    for data_out in (ray_trainer.compute_advantage(data, adv_estimator="gigpo", config=config),
                     v1_utils.compute_advantage_for_multi_trajectories(data, batch_keys=[], adv_estimator="gigpo",
                                                                       config=config)):
        torch.testing.assert_close(data_out.batch["advantages"], expected, atol=1e-5, rtol=0)
