"""``GiGPOTrainer``: TRL's ``GRPOTrainer`` with GiGPO's per-turn advantages in multi-turn environments.

TRL plays an episode as one completion (assistant turns, tool results between them) and trains every assistant token
on the episode's one advantage. This subclass keeps TRL's rollout, reward functions, loss and logging, and changes
only what the loss multiplies: a (B, T) advantage whose value on each turn's tokens is that turn's
``A = A_E + w * A_S`` (paper Eq. 8), from ``gigpo.estimators.advantage_details``.

Four overrides, each calling TRL's own method:

- ``_tool_call_loop``: the environment's tools are wrapped so that, before a turn's first call, the environment's
  ``anchor`` and running ``reward`` are read (the state the turn acts from);
- ``_generate``: after the episode, the final state is read and each completion is split into its turns
  (``tool_mask`` runs) and paired with those states;
- ``_calculate_rewards``: keeps the per-function rewards TRL gathered, to rebuild TRL's episode reward;
- ``_generate_and_score_completions``: replaces TRL's per-episode ``advantages`` by the per-token ones and logs the
  step-level statistics into ``self._metrics`` (so ``trainer_state.json``, TensorBoard, W&B show them).
"""
from __future__ import annotations

import functools
import inspect

import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer

from gigpo.estimators import advantage_details
from gigpo.integrations.trl.config import GiGPOConfig
from gigpo.integrations.trl.turns import Turn, rollout_turns, state_at_turns, token_advantages, turn_rewards, turn_spans

TRL_EPS = 1e-4  # GRPOTrainer's epsilon in (R - mean) / (std + eps); the same here keeps step_weight=0 equal to GRPO


class GiGPOTrainer(GRPOTrainer):
    """A ``trl.GRPOTrainer`` taking the same arguments, with ``args`` a :class:`GiGPOConfig` and an
    ``environment_factory`` whose environments play the turns (see ``docs/trl.md`` for what they must provide)."""

    _tag_names = ["trl", "grpo", "gigpo"]
    _name = "GiGPO"

    def __init__(self, *args, **kwargs):
        training_args = kwargs.get("args", args[2] if len(args) > 2 else None)
        if not isinstance(training_args, GiGPOConfig):
            raise TypeError(f"GiGPOTrainer needs args=GiGPOConfig(...), got {type(training_args).__name__}")
        if kwargs.get("environment_factory") is None:
            raise ValueError("GiGPOTrainer needs an environment_factory: the step level groups the turns of "
                             "multi-turn episodes by the environment's state")
        if kwargs.get("rollout_func") is not None:
            raise ValueError("GiGPOTrainer does not support rollout_func: it reads turns from TRL's own tool loop")
        super().__init__(*args, **kwargs)
        self._snapshots: list[dict[int, tuple]] = []
        self._rollout_turns: list[list[Turn]] = []
        self._rewards_per_func: torch.Tensor | None = None

    # -- reading the environment between turns --------------------------------------------------------------------
    def _env_state(self, env) -> tuple:
        """(anchor, reward so far) of ``env`` now; the anchor is None when it comes from the observation text."""
        source = self.args.anchor_source
        has_anchor = hasattr(type(env), "anchor") or hasattr(env, "anchor")
        if source == "environment" and not has_anchor:
            raise ValueError(f"anchor_source='environment' but {type(env).__name__} has no `anchor` attribute")
        anchor = env.anchor if has_anchor and source != "observation" else None
        if anchor is not None:
            try:
                hash(anchor)
            except TypeError as exc:
                raise ValueError(f"{type(env).__name__}.anchor must be hashable, got {type(anchor).__name__}") from exc
        reward = getattr(env, "reward", 0.0)
        return anchor, float(reward() if callable(reward) else reward)

    def _note_turn(self, row: int, messages: list) -> None:
        turn = sum(m.get("role") == "assistant" for m in messages) - 1
        if turn not in self._snapshots[row]:
            self._snapshots[row][turn] = self._env_state(self.environments[row])

    def _watched(self, tool, row: int, messages: list):
        if inspect.iscoroutinefunction(tool):
            @functools.wraps(tool)
            async def watched_async(*a, **kw):
                self._note_turn(row, messages)
                return await tool(*a, **kw)
            return watched_async

        @functools.wraps(tool)
        def watched(*a, **kw):
            self._note_turn(row, messages)
            return tool(*a, **kw)
        return watched

    def _tool_call_loop(self, prompts, prompt_ids, completion_ids, completions, logprobs, images, multimodal_fields):
        originals = (self._sync_tool_dicts, self._async_tool_dicts)
        self._sync_tool_dicts = [{n: self._watched(f, i, completions[i]) for n, f in d.items()}
                                 for i, d in enumerate(originals[0])]
        self._async_tool_dicts = [{n: self._watched(f, i, completions[i]) for n, f in d.items()}
                                  for i, d in enumerate(originals[1])]
        try:
            return super()._tool_call_loop(prompts, prompt_ids, completion_ids, completions, logprobs, images,
                                           multimodal_fields)
        finally:
            self._sync_tool_dicts, self._async_tool_dicts = originals

    def _generate(self, prompts: list):
        self._snapshots = [{} for _ in prompts]
        result = super()._generate(prompts)
        _, completion_ids, tool_mask, completions, *_ = result
        self._rollout_turns = []
        for row, ids in enumerate(completion_ids):
            env = self.environments[row]
            final = self._env_state(env)
            spans = turn_spans(tool_mask[row] if tool_mask is not None else [1] * len(ids))
            if not spans:  # an empty completion: one turn without tokens, so the episode still counts in A_E
                spans = [(0, 0)]
            states = state_at_turns(self._snapshots[row], final, len(spans))
            if final[0] is None:  # anchors from the text the model read before each turn
                texts = observations_before_turns(prompts[row], completions[row], len(spans))
                states = [(text, reward) for text, (_, reward) in zip(texts, states)]
                final = (texts[-1], final[1])
            self._rollout_turns.append(rollout_turns(spans, states, final[1]))
        return result

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._rewards_per_func

    # -- advantages -----------------------------------------------------------------------------------------------
    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        mode = "train" if self.model.training else "eval"
        num_generations = self.num_generations if mode == "train" else self.num_generations_eval
        rpf = self._rewards_per_func
        episode_reward = (rpf * self.reward_weights.to(rpf.device).unsqueeze(0)).nansum(dim=1)
        scorable = ~torch.isnan(rpf).all(dim=1)  # TRL leaves rows no reward function scored out of its baseline
        all_turns = gather_object(self._rollout_turns)  # every process's rollouts, in TRL's gathered order
        if len(all_turns) != len(episode_reward):
            raise RuntimeError(f"{len(all_turns)} rollouts with turns but {len(episode_reward)} rewards")

        group_ids, traj_ids, rewards, anchors, owner = [], [], [], [], []
        for j, turns in enumerate(all_turns):
            if not scorable[j]:
                continue
            rs = turn_rewards(turns, float(episode_reward[j]))
            group_ids += [j // num_generations] * len(turns)
            traj_ids += [j] * len(turns)
            rewards += rs
            anchors += [t.anchor for t in turns]
            owner += [(j, k) for k in range(len(turns))]
        turn_adv = {j: torch.zeros(len(turns)) for j, turns in enumerate(all_turns)}
        if owner:
            d = advantage_details(group_ids, traj_ids, torch.tensor(rewards, dtype=torch.float64), anchors,
                                  gamma=self.args.gamma, step_weight=self.args.step_weight,
                                  norm=self.args.episode_norm, eps=TRL_EPS, episode_stats="trajectory")
            a_e, a_s = d.episode_adv, d.step_adv
            if self.args.step_norm is not None and self.args.step_norm != self.args.episode_norm:
                a_s = advantage_details(group_ids, traj_ids, torch.tensor(rewards, dtype=torch.float64), anchors,
                                        gamma=self.args.gamma, norm=self.args.step_norm, eps=TRL_EPS).step_adv
            advantage = a_e + self.args.step_weight * a_s
            for (j, k), a in zip(owner, advantage.tolist()):
                turn_adv[j][k] = a
            self._log_step_level(mode, d, a_e, a_s, all_turns)

        start = self.accelerator.process_index * len(self._rollout_turns)
        local = [turn_adv[start + i] for i in range(len(self._rollout_turns))]
        length = output["completion_ids"].size(1)
        output["advantages"] = token_advantages(self._rollout_turns, local, length).to(output["completion_ids"].device)
        return output

    def _log_step_level(self, mode: str, details, a_e: torch.Tensor, a_s: torch.Tensor, all_turns) -> None:
        """The step-level statistics, one value per generation batch, averaged by TRL's ``log`` like its own."""
        m = self._metrics[mode]
        m["adv_episode_abs"].append(float(a_e.abs().mean()))
        m["adv_step_abs"].append(float(a_s.abs().mean()))
        for name, value in details.step_group_stats().items():
            m[name].append(value)
        m["turns_per_episode"].append(sum(len(t) for t in all_turns) / max(len(all_turns), 1))


def observations_before_turns(prompt: list, messages: list, num_turns: int) -> list[str]:
    """The text the model read before each turn: the prompt's last message for the first turn, then the tool
    results that followed the previous assistant message."""
    first = prompt[-1]["content"]
    texts = [first if isinstance(first, str) else str(first)]
    current: list[str] | None = None
    for m in messages:
        if m.get("role") == "assistant":
            if current is not None:
                texts.append("\n".join(current))
            current = []
        elif m.get("role") == "tool" and current is not None:
            current.append(str(m.get("content")))
    if current:
        texts.append("\n".join(current))
    return (texts + [texts[-1]] * num_turns)[:num_turns]
