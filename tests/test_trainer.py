"""Trainer: config errors, rollouts with a scripted backend, one update's direction, KL against itself, exact resume,
and 2 iterations of the tiny preset on each built-in environment."""
import json
import sys

import envs
import pytest
import torch

import gigpo.training.trainer as trainer_module
from gigpo.__main__ import build_parser, config_from_args, main
from gigpo.training.config import TrainConfig
from gigpo.training.models import load_model_and_tokenizer, wrap_lora
from gigpo.training.policy_backends import Choice, Generation, encode_candidate
from gigpo.training.rollout import StepBatch, collect_rollouts
from gigpo.training.trainer import read_metrics, train
from gigpo.training.update import policy_update, unit_log_probs
from gigpo.training.warm_start import expert_examples, supervised_finetune


class Corridor:
    """Walk right from cell 0 to cell 3; the same cells recur across rollouts, so GiGPO finds step groups."""

    GOAL = 3

    def __init__(self, limit: int = 6):
        self.limit = limit

    def _info(self):
        return {"anchor": self.pos, "admissible_actions": ["left", "right"], "won": self.pos == self.GOAL,
                "expert_action": None if self.pos == self.GOAL else "right", "task": "reach cell 3"}

    def reset(self, *, seed=None):
        self.pos, self.t = 0, 0
        return f"You are in cell {self.pos}.", self._info()

    def step(self, action):
        self.t += 1
        if action == "right":
            self.pos += 1
        elif action == "left":
            self.pos = max(0, self.pos - 1)
        done = self.pos == self.GOAL
        return (f"You are in cell {self.pos}." if action in ("left", "right") else "Nothing happens.",
                1.0 if done else 0.0, done, self.t >= self.limit and not done, self._info())


envs.register("corridor", Corridor, overwrite=True)
TINY = dict(env="corridor", num_groups=2, group_size=2, max_steps=4, eval_tasks=1, eval_every=2, progress=False,
            micro_batch_size=8, lr=5e-3)


# --- config and CLI ------------------------------------------------------------------------------------------------
def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown TrainConfig setting.*'lerning_rate'"):
        TrainConfig.from_dict({"lerning_rate": 1e-3})
    with pytest.raises(ValueError, match="unknown estimator 'ppo'; registered: gigpo, grpo, rloo"):
        TrainConfig(estimator="ppo")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        TrainConfig(backend="vllm", device="cpu")
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


def test_cpu_paths_never_import_vllm():
    assert "vllm" not in sys.modules
    from gigpo.training.policy_backends import VLLMBackend
    if "vllm" not in sys.modules:
        with pytest.raises(ValueError, match="pip install"):
            VLLMBackend("x", None, lora_rank=None, work_dir=".", seed=0, max_prompt_tokens=8, max_new_tokens=8)


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


# --- the update ----------------------------------------------------------------------------------------------------
def one_step_batch(tok, mode):
    prompt = tok.apply_chat_template([{"role": "user", "content": "Reach cell 3. Options: left, right."}],
                                     tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    batch = StepBatch(group_ids=[0], traj_ids=[0], anchors=[0], rewards=[1.0], valid=[True], prompt_ids=[ids])
    if mode == "free":
        batch.response_ids = [tok("<think>go</think><action>right</action>", add_special_tokens=False)["input_ids"]
                              + [tok.eos_token_id]]
    else:
        batch.candidate_ids = [[encode_candidate(tok, "left"), encode_candidate(tok, "right")]]
        batch.chosen = [1]
    return batch


@pytest.mark.parametrize("mode", ["free", "choice"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_one_update_moves_the_log_prob_with_the_advantage(mode, sign):
    model, tok = load_model_and_tokenizer("tiny")
    model = wrap_lora(model, rank=4, alpha=8, dropout=0.0, target_modules=["q_proj", "v_proj", "up_proj"])
    cfg = TrainConfig(action_mode=mode, lr=1e-2, kl_coef=0.01)
    batch = one_step_batch(tok, mode)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    with torch.no_grad():
        before = unit_log_probs(model, batch, [0], mode=mode, temperature=1.0, pad_id=tok.pad_token_id)[0].sum()
    stats = policy_update(model, None, batch, torch.tensor([sign]), cfg, opt, pad_id=tok.pad_token_id)
    with torch.no_grad():
        after = unit_log_probs(model, batch, [0], mode=mode, temperature=1.0, pad_id=tok.pad_token_id)[0].sum()
    assert (after - before) * sign > 1e-3
    # the LoRA adapter starts at zero, so the policy equals its reference: the KL before the step is exactly 0
    assert stats["kl"] == 0.0 and stats["clip_frac"] == 0.0


def test_choice_log_probs_are_renormalized_over_the_candidates(tiny):
    model, tok = tiny
    batch = one_step_batch(tok, "choice")
    with torch.no_grad():
        logp, mask, ent = unit_log_probs(model, batch, [0], mode="choice", temperature=1.0, pad_id=tok.pad_token_id,
                                         entropy="detached")
        seq = [unit_log_probs(model, StepBatch(prompt_ids=batch.prompt_ids, response_ids=[c]), [0], mode="free",
                              temperature=1.0, pad_id=tok.pad_token_id)[0].sum() for c in batch.candidate_ids[0]]
    p = torch.softmax(torch.stack(seq), 0)
    assert float(logp) == pytest.approx(float(p[1].log()), abs=1e-5)
    assert float(ent) == pytest.approx(float(-(p * p.log()).sum()), abs=1e-5)
    assert mask.shape == (1, 1)


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
    return [{k: v for k, v in r.items() if not k.startswith("time_")} for r in rows]


def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    cfg = TrainConfig(**TINY, iterations=3, checkpoint_every=1, output_dir=str(tmp_path / "a"))
    full = train(cfg)
    assert [r["iteration"] for r in full] == [0, 1, 2]

    real_update, calls = trainer_module.policy_update, []

    def crash_on_second_call(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated interruption")
        return real_update(*args, **kwargs)

    cfg_b = cfg.replace(output_dir=str(tmp_path / "b"))
    monkeypatch.setattr(trainer_module, "policy_update", crash_on_second_call)
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
