"""Trainer: config errors, rollouts with a scripted backend, the warm start, exact resume and overwrite, the non-finite
guard, evaluation on the updated weights, no vllm import on CPU paths, and 2 iterations of the tiny preset on each
built-in environment. The PPO update itself is tested in test_update.py."""
import ast
import copy
import importlib.abc
import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import envs
import gigpo
import gigpo.training.trainer as trainer_module
from gigpo.__main__ import build_parser, config_from_args, main
from gigpo.policy.encoding import encode_candidate
from gigpo.policy.replies import Choice, Generation
from gigpo.policy.vllm_backend import VLLMBackend
from gigpo.run_files.metrics import read_metrics, without_measurements
from gigpo.training.checkpoints.checkpoint import list_checkpoints
from gigpo.training.config import TrainConfig
from gigpo.training.rollouts.rollout import collect_rollouts
from gigpo.training.systems.models import load_model_and_tokenizer
from gigpo.training.trainer import train
from gigpo.training.warm_start import expert_examples, saved_warm_start, supervised_finetune
from tests.support.tiny_training import TINY, interrupt_policy_update


# --- config and CLI ------------------------------------------------------------------------------------------------
def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown TrainConfig setting.*'lerning_rate'"):
        TrainConfig.from_dict({"lerning_rate": 1e-3})
    with pytest.raises(ValueError, match="unknown estimator 'ppo'; registered: gigpo, grpo, rloo"):
        TrainConfig(estimator="ppo")
    with pytest.raises(ValueError, match="choice"):
        TrainConfig(backend="vllm", device="cuda", action_mode="choice")
    with pytest.raises(ValueError, match="similarity does not apply to estimator 'grpo'"):
        TrainConfig(estimator="grpo", similarity=0.9)
    with pytest.raises(ValueError, match=r"estimator_options \['gama'\] are not options of 'gigpo'"):
        TrainConfig(estimator_options={"gama": 0.9})
    with pytest.raises(ValueError, match="group_size must be > 0"):
        TrainConfig(group_size=0)


def test_paper_settings_and_field_docs():
    cfg = TrainConfig.paper("household")
    assert (cfg.num_groups, cfg.group_size, cfg.lr, cfg.kl_coef, cfg.max_steps, cfg.finetune) == (16, 8, 1e-6, 0.01,
                                                                                                  50, "full")
    assert TrainConfig.paper("shop").max_steps == 15
    docs = TrainConfig.field_docs()
    assert set(docs) == set(TrainConfig.field_names()) and all(docs.values())


def test_cli_flags_map_to_the_config():
    ns = build_parser().parse_args(["train", "--env", "corridor", "--group-size", "3", "--task_pool", "none",
                                    "--env-options", '{"limit": 5}', "--no-progress", "--preset", "paper"])
    cfg = config_from_args(ns)
    assert (cfg.env, cfg.group_size, cfg.task_pool, cfg.env_options, cfg.progress) == ("corridor", 3, None,
                                                                                        {"limit": 5}, False)
    assert cfg.num_groups == 16  # from the paper preset
    assert main(["train", "--estimator", "nope"]) == 2


class RefuseVllm(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``: records and refuses every import of vllm, installed or not."""

    def __init__(self):
        self.attempts: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] == "vllm":
            self.attempts.append(fullname)
            raise ImportError(f"test: import of {fullname} refused")


def test_cpu_paths_never_import_vllm(tmp_path, monkeypatch):
    finder = RefuseVllm()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for name in [m for m in sys.modules if m.split(".")[0] == "vllm"]:  # where vllm is installed and was imported
        monkeypatch.delitem(sys.modules, name)
    # the hook sees a lazy import: the vllm backend's constructor is refused, and says what to install
    with pytest.raises(ValueError, match="pip install"):
        VLLMBackend("x", None, lora_rank=None, work_dir=".", seed=0, max_prompt_tokens=8, max_new_tokens=8)
    assert finder.attempts == ["vllm"]
    finder.attempts.clear()
    # a whole CPU run (free mode, whose GPU twin is the vllm backend), evaluation included, imports none of it
    train(TrainConfig(**{**TINY, "num_groups": 1, "max_steps": 2, "eval_every": 1}, action_mode="free",
                      max_new_tokens=8, iterations=1, output_dir=str(tmp_path)))
    assert finder.attempts == []


def test_vllm_is_imported_only_inside_the_vllm_backend():
    """Statically, so a module-level ``import vllm`` anywhere in gigpo fails here even on a machine that has vllm."""
    def imports_of_vllm(node, where):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            return [where] if any(n.split(".")[0] == "vllm" for n in names) else []
        inner = where + [node.name] if isinstance(node, (ast.ClassDef, ast.FunctionDef)) else where
        return [w for child in ast.iter_child_nodes(node) for w in imports_of_vllm(child, inner)]

    root = Path(gigpo.__file__).parent
    found = {str(f.relative_to(root)): imports_of_vllm(ast.parse(f.read_text()), [])
             for f in sorted(root.rglob("*.py"))}
    found = {f: w for f, w in found.items() if w}
    assert set(found) == {"policy/vllm_backend.py"}
    assert all(w[0] == "VLLMBackend" and len(w) == 2 for w in found["policy/vllm_backend.py"])


# --- rollouts ------------------------------------------------------------------------------------------------------
class ScriptedBackend:
    """Replies from a script, to check what the rollout records without a model."""

    def __init__(self, tokenizer, replies):
        self.tokenizer, self.replies, self.prompts = tokenizer, list(replies), []

    def generate(self, prompts, **_):
        self.prompts.append(prompts)
        return [Generation([1, 2], [3], self.replies.pop(0)) for _ in prompts]

    def choose(self, prompts, candidates, **_):
        self.prompts.append(prompts)
        return [Choice([1], [encode_candidate(self.tokenizer, a) for a in c], c.index(self.replies.pop(0)))
                for c in candidates]


@pytest.fixture(scope="module")
def tiny():
    return load_model_and_tokenizer("tiny")


def test_free_rollout_penalizes_invalid_replies_and_builds_history(tiny):
    _, tok = tiny
    good = "<think>go</think><action>right</action>"
    backend = ScriptedBackend(tok, [good, "right", good, good, good])  # 2nd reply lacks the tags
    runner = envs.GroupRunner("corridor", 1)
    batch, seconds = collect_rollouts(backend, runner, [0], mode="free", temperature=1.0, max_new_tokens=4,
                                      history_length=2, invalid_penalty=0.1)
    assert batch.valid == [True, False, True, True]
    assert batch.actions[1] != "right"  # the malformed reply reached the env as an invalid action
    assert batch.rewards == pytest.approx([0.0, -0.1, 0.0, 1.0])
    assert batch.anchors == [0, 1, 1, 2] and batch.episode["success_rate"] == 1.0
    assert batch.invalid_rate == pytest.approx(0.25)
    last_prompt = backend.prompts[-1][0]
    assert "[Observation 2: 'You are in cell 1.', Action 2: '(malformed reply)']" in last_prompt
    assert "[Observation 3: 'Nothing happens.', Action 3: 'right']" in last_prompt
    assert "Observation 1:" not in last_prompt and set(seconds) == {"rollout", "env"}


def test_choice_rollout_keeps_groups_and_trajectories_in_record_order(tiny):
    _, tok = tiny
    backend = ScriptedBackend(tok, ["right", "left"] + ["right"] * 10)
    runner = envs.GroupRunner("corridor", 2)
    batch, _ = collect_rollouts(backend, runner, [5], mode="choice", temperature=1.0, max_new_tokens=4,
                                history_length=2, invalid_penalty=0.1)
    assert batch.traj_ids == [r.traj_id for r in runner.records]
    assert batch.chosen[:2] == [1, 0] and all(batch.valid)
    assert [len(c) for c in batch.candidate_ids] == [2] * len(batch)


# --- the warm start ---------------------------------------------------------------------------------------------------
def test_warm_start_teaches_the_expert_action(tiny):
    model, tok = load_model_and_tokenizer("tiny")
    examples = expert_examples(tok, "corridor", {}, [0, 1], max_steps=4, history_length=2, mode="free",
                               max_prompt_tokens=512)
    assert len(examples) == 6  # 3 expert steps per episode
    assert tok.decode(examples[0][1]).startswith("<think>") and tok.decode(examples[0][1]).endswith("<|im_end|>")
    torch.manual_seed(0)
    losses = supervised_finetune(model, tok, examples, steps=8, lr=3e-3, batch_size=4)
    assert losses[-1] < 0.7 * losses[0]


# --- the loop ------------------------------------------------------------------------------------------------------
def comparable(rows):
    return without_measurements(rows)


@pytest.mark.slow  # several resumed trainings; the quick suite keeps the extend-a-run cases
def test_resume_equals_an_uninterrupted_run_and_overwrite_starts_over(tmp_path, monkeypatch):
    # a tuple option: the checkpoint holds it as a JSON list, and resuming must still accept it (issue 17, defect 4)
    cfg = TrainConfig(**TINY, env_options={"cells": (0, 3)}, iterations=3, checkpoint_every=1,
                      output_dir=str(tmp_path / "a"))
    full = train(cfg)
    assert [r["iteration"] for r in full] == [0, 1, 2]

    cfg_b = cfg.replace(output_dir=str(tmp_path / "b"))
    real_update = interrupt_policy_update(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_b)
    monkeypatch.setattr(trainer_module, "policy_update", real_update)
    assert [r["iteration"] for r in read_metrics(cfg_b.output_dir)] == [0]
    with pytest.raises(ValueError, match="already holds a run"):
        train(cfg_b)
    with pytest.raises(ValueError, match="settings differ.*lr"):
        train(cfg_b.replace(lr=1.0), resume=True)
    resumed = train(cfg_b, resume=True)
    assert comparable(resumed) == comparable(full)
    assert comparable(read_metrics(cfg_b.output_dir)) == comparable(read_metrics(cfg.output_dir))
    a = (tmp_path / "a" / "final" / "adapter_model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "final" / "adapter_model.safetensors").read_bytes()

    # overwrite=True starts over: the earlier metrics and checkpoints are gone, not appended to or resumed from
    again = train(cfg_b.replace(iterations=1, eval_every=0), overwrite=True)
    assert comparable(again) == comparable(read_metrics(cfg_b.output_dir))
    assert [without_eval(r) for r in comparable(again)] == [without_eval(comparable(full)[0])]
    assert [p.name for p in list_checkpoints(cfg_b.output_dir)] == ["iter_000001"]


def without_eval(row):
    return {k: v for k, v in row.items() if not k.startswith("eval_")}


def test_a_non_finite_update_stops_the_run_naming_the_iteration_and_saves_none_of_it(tmp_path, monkeypatch):
    real, calls = trainer_module.compute_advantages, []

    def nan_in_the_second_iteration(cfg, batch):
        calls.append(1)
        return real(cfg, batch) * (float("nan") if len(calls) == 2 else 1.0)

    monkeypatch.setattr(trainer_module, "compute_advantages", nan_in_the_second_iteration)
    cfg = TrainConfig(**{**TINY, "num_groups": 1, "max_steps": 3, "eval_every": 0}, iterations=3,
                      checkpoint_every=1, output_dir=str(tmp_path))
    with pytest.raises(FloatingPointError, match="iteration 1: non-finite loss"):
        train(cfg)
    assert [r["iteration"] for r in read_metrics(tmp_path)] == [0]
    assert [p.name for p in list_checkpoints(tmp_path)] == ["iter_000001"]  # iteration 0's, and finite
    weights = load_file(tmp_path / "checkpoints" / "iter_000001" / "trainable.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert not (tmp_path / "final").exists()


class CopyingBackend:
    """Wraps the hf backend but, like vLLM, rolls out with its own copy of the weights, taken at ``sync``."""

    def __init__(self, inner):
        self.inner, self.syncs, self.live = inner, [], None

    def sync(self, model, version):
        self.inner.sync(copy.deepcopy(model), version)
        self.live = model
        self.syncs.append(version)

    def holds_live_weights(self) -> bool:
        return all(torch.equal(a, b) for a, b in zip(self.inner.model.parameters(), self.live.parameters()))

    def __getattr__(self, name):  # tokenizer, policy_version, generate, choose
        return getattr(self.inner, name)


def test_evaluation_runs_on_the_updated_weights_when_the_backend_holds_a_copy(tmp_path, monkeypatch):
    # issue 17 defect 5: with vllm the evaluation after an update ran on the weights synced before it
    made, evaluated = [], []
    real_backend, real_evaluate = trainer_module.make_backend, trainer_module.evaluate

    def copying_backend(*args, **kwargs):
        made.append(CopyingBackend(real_backend(*args, **kwargs)))
        return made[-1]

    def recording_evaluate(cfg, backend, *args, **kwargs):
        evaluated.append((backend.policy_version, backend.holds_live_weights()))
        return real_evaluate(cfg, backend, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "make_backend", copying_backend)
    monkeypatch.setattr(trainer_module, "evaluate", recording_evaluate)
    train(TrainConfig(**{**TINY, "num_groups": 1, "max_steps": 3, "eval_every": 1}, iterations=2,
                      output_dir=str(tmp_path)))
    assert evaluated == [(1, True), (2, True)]  # the weights after iteration i's update are version i + 1
    assert made[0].syncs == [0, 1, 2]  # each version pushed once: the evaluated weights also roll out next


def test_an_interrupted_warm_start_save_is_redone_and_a_complete_one_reused(tmp_path, monkeypatch, tiny):
    _, tok = tiny
    cfg = TrainConfig(**{**TINY, "num_groups": 1, "max_steps": 3, "eval_every": 0}, iterations=1,
                      warm_start_steps=2, warm_start_episodes=2, warm_start_batch=4, output_dir=str(tmp_path))
    real_sft, warm_starts = trainer_module.supervised_finetune, []

    def counted_sft(*args, **kwargs):
        warm_starts.append(1)
        return real_sft(*args, **kwargs)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt("simulated interruption while saving the warm start")

    monkeypatch.setattr(trainer_module, "supervised_finetune", counted_sft)
    with monkeypatch.context() as m:  # the model's files are written, then the save dies before the tokenizer's
        m.setattr(type(tok), "save_pretrained", interrupted)
        with pytest.raises(KeyboardInterrupt):
            train(cfg)
    assert len(warm_starts) == 1
    assert not (tmp_path / "warm_start").exists() and saved_warm_start(tmp_path, cfg) is None
    train(cfg)  # nothing usable was saved: the warm start runs again
    assert len(warm_starts) == 2 and saved_warm_start(tmp_path, cfg) == tmp_path / "warm_start"
    assert not any(p.name.startswith(".warm_start") for p in tmp_path.iterdir())  # no temporary folder left
    assert saved_warm_start(tmp_path, cfg.replace(warm_start_lr=0.5)) is None  # made with other settings
    rows = train(cfg.replace(iterations=2), resume=True)  # a complete save with these settings is reused
    assert len(warm_starts) == 2 and [r["iteration"] for r in rows] == [0, 1]


def test_metrics_rows_have_every_documented_metric(tmp_path):
    rows = train(TrainConfig(**TINY, iterations=2, output_dir=str(tmp_path), estimator="grpo", finetune="full"))
    needed = {"success_rate", "mean_return", "mean_length", "invalid_rate", "entropy", "kl", "clip_frac",
              "adv_episode_abs", "adv_step_abs", "step_groups", "step_group_size_per_group", "step_group_share_grouped",
              "time_rollout", "time_env", "time_advantage", "time_update", "grad_norm"}
    assert needed <= set(rows[0])
    assert {"eval_greedy_success_rate", "eval_sampled_success_rate", "time_eval"} <= set(rows[1])
    assert json.loads((tmp_path / "config.json").read_text())["estimator"] == "grpo"
    assert rows[0]["kl"] == 0.0  # full fine-tuning: the frozen reference is the starting model


BUILTIN = ["sokoban", "household", "shop", "textworld"]


@pytest.mark.parametrize("env", BUILTIN)
def test_tiny_preset_trains_two_iterations_on_each_env(env, tmp_path):
    if env == "textworld":  # the one optional engine; a built-in env module that fails to import is a failure
        pytest.importorskip("textworld", reason="the TextWorld engine is not installed (pip install 'gigpo[envs]')")
    mode = "free" if env == "sokoban" else "choice"  # cover both action modes on real envs
    cfg = TrainConfig(**{**TINY, "env": env, "num_groups": 1, "max_steps": 3, "max_new_tokens": 16,
                         "action_mode": mode, "eval_every": 0}, iterations=2, output_dir=str(tmp_path))
    rows = train(cfg)
    assert len(rows) == 2 and all(r["num_steps"] > 0 for r in rows)
    if mode == "free":  # a random tiny model cannot write the format: invalid actions are counted and penalized
        assert rows[0]["invalid_rate"] > 0.5
