"""Batched multi-turn rollouts: G tasks x N rollouts in lock step, every live env answered by one batched model call.

The result is a flat :class:`~gigpo.policy.step_batch.StepBatch`, one row per environment step in the order of
``GroupRunner.records`` (trajectories interleaved, each in time order), holding what the advantage functions need
(group, trajectory, reward, anchor) and what the update needs (the exact prompt and response token ids).
"""
from __future__ import annotations

import time

from envs import GroupRunner
from gigpo.policy.prompts import chat_text, format_prompt, parse_reply
from gigpo.policy.step_batch import StepBatch
from gigpo.training.systems.seeds import SamplingStreams


def collect_rollouts(backend, runner: GroupRunner, task_seeds: list[int], *, mode: str, temperature: float,
                     max_new_tokens: int, history_length: int, invalid_penalty: float, greedy: bool = False,
                     streams: SamplingStreams | None = None) -> tuple[StepBatch, dict[str, float]]:
    """Play ``runner``'s G x N envs to the end with the backend's policy.

    ``streams`` keys the sampling: task group ``g`` draws at turn ``t`` from ``streams.key(g, t)``, so its rollouts
    do not depend on the other groups in the batch, nor on anything sampled before (None: the global torch RNG).

    Returns the step batch and the seconds spent generating (``rollout``) and in the envs plus prompt building
    (``env``). An invalid reply reaches the env as such (it answers e.g. "Nothing happens.") and its step is charged
    ``invalid_penalty`` (paper: 0.1).
    """
    tokenizer = backend.tokenizer
    runner.reset(task_seeds)
    histories: list[list[tuple[str, str]]] = [[] for _ in range(runner.num_envs)]
    batch = StepBatch()
    seconds = {"rollout": 0.0, "env": 0.0}
    turn = 0
    while runner.live:
        t0 = time.perf_counter()
        live = runner.live
        keys = None if streams is None else [streams.key(runner.group_of(i), turn) for i in live]
        turn += 1
        infos = [runner.infos[i] for i in live]
        observations = [runner.obs[i] for i in live]
        prompts = [chat_text(tokenizer, format_prompt(info["task"], obs, info["admissible_actions"], histories[i],
                                                      history_length=history_length, mode=mode))
                   for i, obs, info in zip(live, observations, infos)]
        t1 = time.perf_counter()
        if mode == "free":
            outs = backend.generate(prompts, temperature=temperature, max_new_tokens=max_new_tokens, greedy=greedy,
                                    sample_keys=keys)
            replies = [o.text for o in outs]
            parsed = [parse_reply(r, info["admissible_actions"]) for r, info in zip(replies, infos)]
            actions = [p.action for p in parsed]
            well_formed = [p.reason in ("ok", "not_admissible") for p in parsed]  # both tags present
        else:
            cands = [list(info["admissible_actions"]) for info in infos]
            outs = backend.choose(prompts, cands, temperature=temperature, greedy=greedy, sample_keys=keys)
            actions = [c[o.index] for c, o in zip(cands, outs)]
            replies = actions
            well_formed = [True] * len(live)
        t2 = time.perf_counter()
        n_before = len(runner.records)
        runner.step(actions)
        for k, (i, obs, action, reply, out) in enumerate(zip(live, observations, actions, replies, outs)):
            rec = runner.records[n_before + k]
            assert rec.traj_id == i, "GroupRunner records must follow the order of runner.live"
            histories[i].append((obs, action))
            batch.group_ids.append(rec.group_id)
            batch.traj_ids.append(rec.traj_id)
            batch.anchors.append(rec.anchor)
            # Valid = a well-formed reply whose action the env accepted (rec.valid is the env's own verdict, so a
            # free-text search that the page does not list is valid); a malformed reply stays invalid even when the
            # text it sent was accepted.
            valid = rec.valid and well_formed[k]
            batch.valid.append(valid)
            batch.rewards.append(rec.reward - (0.0 if valid else invalid_penalty))
            batch.env_rewards.append(rec.reward)
            batch.observations.append(obs)
            batch.actions.append(action)
            batch.replies.append(reply)
            batch.prompt_ids.append(out.prompt_ids)
            if mode == "free":
                batch.response_ids.append(out.response_ids)
                batch.sampler_logprobs.append(out.sampler_logprobs)
            else:
                batch.candidate_ids.append(out.candidate_ids)
                batch.chosen.append(out.index)
        t3 = time.perf_counter()
        seconds["env"] += (t1 - t0) + (t3 - t2)
        seconds["rollout"] += t2 - t1
    batch.episode = runner.episode_stats()
    return batch, seconds
