"""GiGPOTrainer inside TRL (`make test-trl` runs these alone; skipped where TRL is not installed).

The policy is the package's tiny random model, which cannot yet write tool calls, so generation is scripted: a test
double of TRL's ``_generate_single_turn`` that answers each prompt with a tool call naming a random admissible
action read from the prompt, or with a final text reply once the episode is over. Everything after generation (TRL's
tool loop, rewards, masks, log-probs of the scripted tokens under the real model, the loss, checkpoints) is TRL's and
the trainer's own code.
"""
from __future__ import annotations

import json
import random

import pytest

trl = pytest.importorskip("trl")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from gigpo.estimators import gigpo_advantages  # noqa: E402
from gigpo.integrations.trl import GiGPOConfig, GiGPOTrainer, TextEnvironment, task_dataset, tool_chat_model  # noqa: E402
from gigpo.integrations.trl.environments import GAME_OVER  # noqa: E402

ENV_OPTIONS = dict(num_receptacles=4, num_objects=2, max_steps=5, task_types=("pick_and_place",))
G = 4


class RecordingHousehold(TextEnvironment):
    """Household with a shaped reward (+1 for each expert action taken; random play never wins the real task),
    recording the anchor before each step and the step's reward, independently of the trainer's bookkeeping."""

    def __init__(self):
        super().__init__("household", **ENV_OPTIONS)
        self._record: list[tuple] = []
        self._replies: list[str] = []

    def reset(self, seed=None, **row):
        self._record, self._replies = [], []
        return super().reset(seed=seed, **row)

    def act(self, action: str) -> str:
        """Take one action in the environment and return what happens next.

        Args:
            action: one of the admissible actions, written exactly as listed.
        """
        before, expert = self.anchor, self._info["expert_action"]
        text = super().act(action)
        self._return += float(action == expert)
        self._record.append((before, self._return))
        self._replies.append(text)
        return text


def scripted(base):
    class Scripted(base):
        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations,
                                  has_tool_images=False):
            if not hasattr(self, "script_rng"):
                self.script_rng = random.Random(0)
            out = []
            for p in prompt_ids:
                text = self.processing_class.decode(p)
                last = text[text.rfind("Admissible actions:"):]
                if GAME_OVER in last or self.script_rng.random() < 0.15:
                    reply = "I am done.<|im_end|>"
                else:
                    action = self.script_rng.choice(last.split("\n")[0][len("Admissible actions: "):].split(", "))
                    reply = ('<tool_call>\n{"name": "act", "arguments": {"action": "%s"}}\n</tool_call><|im_end|>'
                             % action)
                out.append(self.processing_class(reply, add_special_tokens=False)["input_ids"])
            return out, None
    return Scripted


def brevity(completions, **kwargs):
    """A second reward function (TRL's usual kind): -0.1 per message, so episode rewards differ within a group."""
    return [-0.1 * len(c) for c in completions]


def make_trainer(tmp_path, base, config_cls, **overrides):
    path = tool_chat_model("tiny-mini")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    options = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=G, num_generations=G,
                   max_completion_length=1024, max_tool_calling_iterations=6, use_cpu=True, report_to="none",
                   logging_steps=1, save_steps=1, seed=0, beta=0.0, max_steps=2)
    options.update(overrides)
    return scripted(base)(model=model, processing_class=tokenizer, args=config_cls(**options),
                          reward_funcs=[brevity], train_dataset=task_dataset(4),
                          environment_factory=RecordingHousehold)


def one_batch(trainer, seeds=(0, 1)):
    """Score one generation batch of len(seeds) tasks x G rollouts, as TRL's training step does."""
    trainer.model.train()
    inputs = [row for s in seeds for row in [{"prompt": [{"role": "user", "content": "Solve the task."}],
                                              "seed": s}] * G]
    return trainer._generate_and_score_completions(inputs)


def spans(mask_row):
    """Runs of 1s, restated independently of gigpo.integrations.trl.turns."""
    out, i, m = [], 0, mask_row.tolist()
    while i < len(m):
        if m[i]:
            j = i
            while j < len(m) and m[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def test_per_token_advantages_equal_gigpo_advantages_on_the_same_turns(tmp_path):
    trainer = make_trainer(tmp_path, GiGPOTrainer, GiGPOConfig, gamma=0.9, step_weight=0.7)
    out = one_batch(trainer)
    adv = out["advantages"]
    assert adv.shape == out["completion_ids"].shape
    # The rows the estimator should see, rebuilt from the environments' own records and the completions.
    group_ids, traj_ids, rewards, anchors, token_spans = [], [], [], [], []
    multi_turn = 0
    for i, env in enumerate(trainer.environments):
        valid = (out["completion_mask"][i] * out["tool_mask"][i])
        row_spans = spans(valid)
        record = env._record
        messages_end_with_text = len(row_spans) == len(record) + 1
        assert messages_end_with_text or len(row_spans) == len(record)  # a final reply, or cut at the call limit
        turn_anchors = [a for a, _ in record] + ([env.anchor] if messages_end_with_text else [])
        running = [r for _, r in record] + ([record[-1][1] if record else 0.0] if messages_end_with_text else [])
        turn_r = [b - a for a, b in zip([0.0] + running[:-1], running)]
        episode = env.get_reward() + brevity([[None] * (2 * len(record) + int(messages_end_with_text))])[0]
        turn_r[-1] += episode - sum(turn_r)
        multi_turn += len(row_spans) > 1
        group_ids += [i // G] * len(row_spans)
        traj_ids += [i] * len(row_spans)
        rewards += turn_r
        anchors += turn_anchors
        token_spans.append(row_spans)
    assert multi_turn >= 4
    expected = gigpo_advantages(group_ids, traj_ids, torch.tensor(rewards, dtype=torch.float64), anchors,
                                gamma=0.9, step_weight=0.7, eps=1e-4)
    got = []
    for i, row_spans in enumerate(token_spans):
        for a, b in row_spans:
            values = adv[i, a:b]
            assert torch.all(values == values[0])  # one advantage per turn, on all its tokens
            got.append(float(values[0]))
        tool_tokens = (out["tool_mask"][i] == 0) & (out["completion_mask"][i] == 1)
        assert torch.all(adv[i][tool_tokens] == 0)
    torch.testing.assert_close(torch.tensor(got), expected, rtol=0, atol=1e-6)
    assert expected.abs().sum() > 0 and len(set(anchors)) > 2
    # the step-level statistics reached TRL's metric store
    for key in ("adv_episode_abs", "adv_step_abs", "step_groups", "step_group_share_grouped", "turns_per_episode"):
        assert key in trainer._metrics["train"], key


def test_observation_anchors_are_the_text_read_before_each_turn(tmp_path):
    trainer = make_trainer(tmp_path, GiGPOTrainer, GiGPOConfig, anchor_source="observation")
    one_batch(trainer)
    for turns, env in zip(trainer._rollout_turns, trainer.environments, strict=True):
        anchors = [t.anchor for t in turns]
        assert anchors[0].startswith("Solve the task.\nTask: ")  # the prompt's last message after reset
        assert anchors[1:] == env._replies[:len(turns) - 1]  # then the env's reply to the previous turn


def loss_and_grads(trainer, batch):
    trainer.model.zero_grad(set_to_none=True)
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop; the loss divides by it
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in trainer.model.parameters()]


@pytest.mark.slow
def test_step_weight_zero_gives_grpo_loss_and_gradients(tmp_path):
    grpo_trainer = make_trainer(tmp_path / "grpo", trl.GRPOTrainer, trl.GRPOConfig)
    gigpo_trainer = make_trainer(tmp_path / "gigpo", GiGPOTrainer, GiGPOConfig, step_weight=0.0)
    grpo, gigpo = one_batch(grpo_trainer), one_batch(gigpo_trainer)
    assert torch.equal(grpo["completion_ids"], gigpo["completion_ids"])  # the same batch
    assert torch.equal(grpo["tool_mask"], gigpo["tool_mask"])
    mask = (gigpo["completion_mask"] * gigpo["tool_mask"]).bool()
    broadcast = grpo["advantages"].unsqueeze(1).expand_as(gigpo["advantages"])
    assert grpo["advantages"].abs().sum() > 0
    # A_E from the library (float64 statistics) equals TRL's float32 advantage to rounding.
    torch.testing.assert_close(gigpo["advantages"][mask], broadcast[mask], rtol=0, atol=1e-6)
    loss_grpo, grads_grpo = loss_and_grads(grpo_trainer, grpo)
    loss_gigpo, grads_gigpo = loss_and_grads(gigpo_trainer, gigpo)
    torch.testing.assert_close(loss_gigpo, loss_grpo, rtol=1e-5, atol=1e-7)
    # A gradient is a sum of advantage-weighted token gradients whose advantages cancel within each group, so the
    # ~1e-7 rounding differences above show up relatively larger there: compare each tensor by its norm.
    for g_gigpo, g_grpo in zip(grads_gigpo, grads_grpo, strict=True):
        assert float((g_gigpo - g_grpo).norm()) <= 5e-3 * float(g_grpo.norm()) + 1e-9
    # With TRL's very advantage values on every token, the per-token path through TRL's loss is bit-identical.
    exact = dict(gigpo, advantages=torch.where(mask, broadcast, gigpo["advantages"]))
    loss_exact, grads_exact = loss_and_grads(gigpo_trainer, exact)
    assert torch.equal(loss_exact, loss_grpo)
    assert all(torch.equal(a, b) for a, b in zip(grads_exact, grads_grpo, strict=True))


@pytest.mark.slow
def test_two_training_steps_on_household_then_resume_from_the_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, GiGPOTrainer, GiGPOConfig, max_steps=2)
    trainer.train()
    out = tmp_path / "out"
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    logged = [h for h in state["log_history"] if "loss" in h]
    assert [h["step"] for h in logged] == [1, 2]
    for h in logged:
        for key in ("adv_episode_abs", "adv_step_abs", "step_groups", "step_group_size_per_row",
                    "step_group_share_grouped", "turns_per_episode"):
            assert key in h and h[key] == h[key], key  # present and not NaN
        assert h["turns_per_episode"] > 1
    assert any(h["adv_step_abs"] > 0 for h in logged)
    # The weights moved, and training resumes from TRL's checkpoint to step 3.
    resumed = make_trainer(tmp_path, GiGPOTrainer, GiGPOConfig, max_steps=3)
    saved = AutoModelForCausalLM.from_pretrained(out / "checkpoint-2")
    fresh = AutoModelForCausalLM.from_pretrained(tool_chat_model("tiny-mini"))
    moved = any(not torch.equal(a, b) for a, b in zip(saved.parameters(), fresh.parameters()))
    assert moved
    resumed.train(resume_from_checkpoint=str(out / "checkpoint-2"))
    assert resumed.state.global_step == 3
    state3 = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    steps = [h["step"] for h in state3["log_history"] if "loss" in h]
    assert steps == [1, 2, 3]
