"""gigpo.integrations.verl: the verl-agent drop-in against a plain-Python restatement of the authors' semantics, and
``register()`` against verl 0.9's advantage-estimator registry (a stand-in written from verl 0.9.1's core_algos.py,
plus the real one when verl is importable)."""
from __future__ import annotations

import math
import subprocess
import sys
import types
import uuid
from collections import defaultdict
from difflib import SequenceMatcher
from enum import Enum

import numpy as np
import pytest
import torch

from gigpo import grpo_advantages
from gigpo.integrations import verl as gv


# --- the authors' semantics restated (verl-agent gigpo/core_gigpo.py), loops and dicts, float64 -----------------
def ref_hashable(x):
    if isinstance(x, np.ndarray):
        return tuple(x.flatten().tolist())
    if isinstance(x, (list, tuple)):
        return tuple(ref_hashable(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((k, ref_hashable(v)) for k, v in x.items()))
    return x


def ref_normalize(values: list[float], keys: list, eps: float, divide: bool, alone) -> list[float]:
    """Per row: (x - mean) [/ (unbiased std + eps)] over the rows sharing its key; ``alone(x)`` for a key of one."""
    members = defaultdict(list)
    for x, k in zip(values, keys):
        members[k].append(x)
    out = []
    for x, k in zip(values, keys):
        xs = members[k]
        if len(xs) == 1:
            out.append(alone(x))
            continue
        mean = sum(xs) / len(xs)
        std = math.sqrt(sum((v - mean) ** 2 for v in xs) / (len(xs) - 1))
        out.append((x - mean) / (std + eps) if divide else x - mean)
    return out


def ref_step_groups(anchors, index, similarity: bool, thresh: float) -> list:
    if not similarity:
        return [(g, ref_hashable(a)) for g, a in zip(index, anchors)]
    label, heads = [None] * len(index), defaultdict(list)  # per task group: [(head text, cluster id)]
    for i, (g, a) in enumerate(zip(index, anchors)):
        for head, cid in heads[g]:
            if SequenceMatcher(None, a, head).ratio() >= thresh:
                label[i] = cid
                break
        else:
            label[i] = (g, len(heads[g]))
            heads[g].append((a, label[i]))
    return label


def ref_gigpo(tlr, step_rewards, mask, anchors, index, eps=1e-6, w=1.0, mode="mean_norm", similarity=False,
              thresh=0.95) -> list[list[float]]:
    divide = mode == "mean_std_norm"
    scores = [sum(row) for row in tlr.tolist()]
    # episode: every row of the task group counts; a group of one keeps its score (mean 0, std 1)
    a_e = ref_normalize(scores, list(index), eps, divide, alone=lambda x: x / (1 + eps) if divide else x)
    keys = ref_step_groups(list(anchors), list(index), similarity, thresh)
    a_s = ref_normalize(step_rewards.tolist(), keys, eps, divide, alone=lambda x: 0.0)
    return [[(e + w * s) * m for m in row] for e, s, row in zip(a_e, a_s, mask.tolist())]


def ref_returns(rewards, traj, gamma) -> list[float]:
    out = [0.0] * len(rewards)
    running = {}
    for i in reversed(range(len(rewards))):  # rows of a trajectory are in time order
        running[traj[i]] = float(rewards[i]) + gamma * running.get(traj[i], 0.0)
        out[i] = running[traj[i]]
    return out


# --- random verl-agent-shaped batches ------------------------------------------------------------------------------
def random_batch(seed: int, texts_alike: bool = False):
    """Task groups of 1-4 rollouts x 1-6 steps, str uuids, interleaved rows, repeated (or near-duplicate) anchors,
    padded masks, rewards beyond the mask (the authors sum every token), ties in the step rewards."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(int(rng.integers(1, 5))):
        gid = str(uuid.UUID(int=int(rng.integers(2**62))))
        for _ in range(int(rng.integers(1, 5))):
            tid = str(uuid.UUID(int=int(rng.integers(2**62))))
            for t in range(int(rng.integers(1, 7))):
                k = int(rng.integers(0, 4))
                text = (f"you are in room {g} and see a mug, a plate and a knife on the table {k}" if texts_alike
                        else f"task {g} state {k}")
                rows.append((t, gid, tid, text))
    rows.sort(key=lambda r: r[0])  # step t of every rollout, then t + 1 (stable: keeps trajectory order)
    n, length = len(rows), 5
    lens = torch.from_numpy(rng.integers(1, length + 1, size=n))
    mask = (torch.arange(length)[None, :] < lens[:, None]).long()
    tlr = torch.from_numpy(rng.choice([0.0, 0.0, 1.0, 10.0, -0.1], size=(n, length))).float()
    step = torch.from_numpy(rng.choice([0.0, 0.9025, 9.5, 10.0, 3.3], size=n)).float()
    def obj(xs):
        return np.array(xs, dtype=object)

    return (tlr, step, mask, obj([r[3] for r in rows]), obj([r[1] for r in rows]), obj([r[2] for r in rows]),
            rng.choice([0.0, 1.0, 10.0], size=n).astype(np.float32))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("mode", ["mean_norm", "mean_std_norm"])
@pytest.mark.parametrize("similarity", [False, True])
def test_dropin_matches_authors_semantics(seed, mode, similarity):
    tlr, step, mask, anchors, index, traj, _ = random_batch(seed, texts_alike=similarity)
    w = 0.5 + seed / 10
    adv, ret = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, step_advantage_w=w,
                                                  mode=mode, enable_similarity=similarity, similarity_thresh=0.97)
    expected = torch.tensor(ref_gigpo(tlr, step, mask, anchors, index, w=w, mode=mode, similarity=similarity,
                                      thresh=0.97))
    assert adv.shape == tlr.shape and adv.dtype == torch.float32
    torch.testing.assert_close(adv, expected, atol=1e-5, rtol=0)
    assert ret is adv  # the authors return the same tensor as advantages and returns
    assert (adv[mask == 0] == 0).all()


def test_similarity_batches_do_merge_texts():
    """The near-duplicate texts of random_batch(texts_alike=True) really exercise similarity grouping."""
    _, _, _, anchors, index, _, _ = random_batch(3, texts_alike=True)
    exact = set(ref_step_groups(list(anchors), list(index), False, 0.97))
    fuzzy = set(ref_step_groups(list(anchors), list(index), True, 0.97))
    assert len(fuzzy) < len(exact)


def test_hand_worked_groups():
    """Task 'a' has one row (keeps its score), task 'b' three rows; step group of one gets 0."""
    tlr = torch.tensor([[0.0, 4.0], [1.0, 0.0], [2.0, 0.0], [6.0, 0.0]])
    mask = torch.tensor([[1, 1], [1, 0], [1, 1], [1, 1]])
    step = torch.tensor([7.0, 1.0, 3.0, 5.0])
    anchors = np.array(["s", "x", "x", "y"], dtype=object)
    index = np.array(["a", "b", "b", "b"], dtype=object)
    traj = np.array(["t0", "t1", "t2", "t2"], dtype=object)
    adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_norm")
    # episode: a -> 4 (alone); b scores 1, 2, 6, mean 3 -> -2, -1, 3. step: x = {1, 3} mean 2 -> -1, 1; s, y alone -> 0
    torch.testing.assert_close(adv, torch.tensor([[4.0, 4.0], [-3.0, 0.0], [0.0, 0.0], [3.0, 3.0]]))
    adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_std_norm",
                                                step_advantage_w=2.0)
    # std of (1, 2, 6) = sqrt(7); std of (1, 3) = sqrt(2)
    e = [4 / (1 + 1e-6), -2 / (7**0.5 + 1e-6), -1 / (7**0.5 + 1e-6), 3 / (7**0.5 + 1e-6)]
    s = [0.0, -1 / (2**0.5 + 1e-6), 1 / (2**0.5 + 1e-6), 0.0]
    per_row = torch.tensor([a + 2 * b for a, b in zip(e, s)])
    torch.testing.assert_close(adv, per_row[:, None] * mask, atol=1e-6, rtol=0)


def test_equal_values_give_exactly_zero():
    """Step groups whose returns are all equal get 0 (the authors' float32 mean can miss by an ulp; see docs)."""
    n = 5
    step = torch.full((n,), 10 * 0.95**3)
    adv, _ = gv.compute_gigpo_outcome_advantage(torch.zeros(n, 2), step, torch.ones(n, 2), np.array(["s"] * n),
                                                np.array(["g"] * n), np.arange(n), mode="mean_std_norm")
    assert (adv == 0).all()


def test_array_and_structured_anchors_compare_by_value():
    """Images (rows x H x W), arrays and dicts in an object array group by value, as their to_hashable."""
    rng = np.random.default_rng(0)
    grids = rng.integers(0, 3, size=(8, 3, 3))
    grids[4] = grids[0]
    grids[6] = grids[2]
    index = np.array(["g"] * 8)
    tlr, mask, step = torch.zeros(8, 1), torch.ones(8, 1), torch.arange(8.0)
    expected = torch.tensor(ref_gigpo(tlr, step, mask, list(grids), index))
    boxed = np.empty(8, dtype=object)  # verl keeps non-tensor fields as object arrays: here one array per row
    for i, g in enumerate(grids):
        boxed[i] = g
    for anchors in (grids, torch.from_numpy(grids), boxed, [g.tolist() for g in grids],
                    [{"grid": g.tolist(), "t": 1} for g in grids]):
        adv, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, index, mode="mean_norm")
        torch.testing.assert_close(adv, expected)
    assert expected[0, 0] == -2.0 and expected[1, 0] == 0.0  # rows 0 and 4 share a state, row 1 is alone


class Batch:
    def __init__(self, batch, non_tensor_batch):
        self.batch, self.non_tensor_batch = batch, non_tensor_batch


@pytest.mark.parametrize("seed", range(6))
def test_step_discounted_returns(seed):
    *_, traj, rewards = random_batch(seed)
    data = Batch({"input_ids": torch.zeros(len(traj), 3, dtype=torch.long)},
                 {"rewards": rewards, "traj_uid": traj, "active_masks": np.ones(len(traj), dtype=bool)})
    got = gv.compute_step_discounted_returns(data, 0.9)
    assert got.dtype == torch.float32 and got.device == data.batch["input_ids"].device
    torch.testing.assert_close(got, torch.tensor(ref_returns(rewards, list(traj), 0.9), dtype=torch.float32))


def test_returns_refuse_inactive_rows_and_bad_gamma():
    data = Batch({"input_ids": torch.zeros(2, 1)}, {"rewards": np.zeros(2), "traj_uid": np.array(["a", "a"]),
                                                     "active_masks": np.array([True, False])})
    with pytest.raises(ValueError, match="active_masks"):
        gv.compute_step_discounted_returns(data, 0.9)
    data.non_tensor_batch["active_masks"] = np.ones(2)
    with pytest.raises(ValueError, match="gamma"):
        gv.compute_step_discounted_returns(data, 1.5)
    with pytest.raises(ValueError, match="non_tensor_batch"):
        gv.compute_step_discounted_returns(Batch({}, {"rewards": np.zeros(2)}), 0.9)


def test_bad_input_raises():
    tlr, step, mask, anchors, index, traj, _ = random_batch(0)
    args = (tlr, step, mask, anchors, index, traj)
    with pytest.raises(ValueError, match="Unknown mode"):
        gv.compute_gigpo_outcome_advantage(*args, mode="std")
    with pytest.raises(ValueError, match="similarity_thresh"):
        gv.compute_gigpo_outcome_advantage(*args, enable_similarity=True, similarity_thresh=1.0)
    with pytest.raises(ValueError, match="index has"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index[:-1], traj)
    with pytest.raises(ValueError, match="response_mask"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask[:, :-1], anchors, index, traj)
    with pytest.raises(ValueError, match="step_rewards"):
        gv.compute_gigpo_outcome_advantage(tlr, step[:-1], mask, anchors, index, traj)
    with pytest.raises(ValueError, match="strings"):
        gv.compute_gigpo_outcome_advantage(tlr, step, mask, np.arange(len(traj)), index, traj, enable_similarity=True)


def test_import_does_not_import_verl():
    code = ("import sys, gigpo.integrations.verl as v; "
            "assert not [m for m in sys.modules if m == 'verl' or m.startswith('verl.')], 'verl imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


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


def verl_agent_batch(seed: int, with_step_rewards: bool) -> Batch:
    tlr, step, mask, anchors, index, traj, rewards = random_batch(seed)
    tensors = {"token_level_rewards": tlr, "response_mask": mask, "input_ids": torch.zeros(len(traj), 2)}
    if with_step_rewards:
        tensors["step_rewards"] = step
    return Batch(tensors, {"uid": index, "traj_uid": traj, "anchor_obs": anchors, "rewards": rewards,
                           "active_masks": np.ones(len(traj), dtype=bool)})


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


def test_id_and_anchor_types_do_not_change_the_result():
    """uuid strings, int ids and numpy unicode arrays group the same way (only equality matters)."""
    tlr, step, mask, anchors, index, traj, _ = random_batch(7)
    as_str, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, anchors, index, traj, mode="mean_std_norm")
    codes = {g: i for i, g in enumerate(dict.fromkeys(index))}
    as_int, _ = gv.compute_gigpo_outcome_advantage(tlr, step, mask, np.array(anchors.tolist()),
                                                   np.array([codes[g] for g in index]), torch.arange(len(traj)),
                                                   mode="mean_std_norm")
    torch.testing.assert_close(as_int, as_str)
