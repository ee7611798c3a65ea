"""The TRL integration's pure parts: turns from tool masks, per-turn states and rewards, per-token advantages, the
environment adapter and the config checks (values worked out by hand)."""
from __future__ import annotations

import pytest

pytest.importorskip("trl")

import torch  # noqa: E402

import envs  # noqa: E402
from gigpo.integrations.trl import GiGPOConfig, TextEnvironment, environment_factory, task_dataset  # noqa: E402
from gigpo.integrations.trl.environments import GAME_OVER  # noqa: E402
from gigpo.integrations.trl.trainer import observations_before_turns  # noqa: E402
from gigpo.integrations.trl.turns import Turn, rollout_turns, state_at_turns, token_advantages, turn_rewards, turn_spans  # noqa: E402


def test_turn_spans_are_the_runs_of_model_tokens():
    assert turn_spans([1, 1, 0, 0, 1, 0, 1, 1, 1]) == [(0, 2), (4, 5), (6, 9)]
    assert turn_spans([1, 1, 1]) == [(0, 3)]
    assert turn_spans([0, 0]) == []
    assert turn_spans([]) == []


def test_state_at_turns_takes_the_next_snapshot_or_the_final_state():
    # turn 1's calls failed before reaching the env: it starts where turn 2 does; turn 3 made no call
    snaps = {0: ("a", 0.0), 2: ("b", 1.0)}
    assert state_at_turns(snaps, ("c", 3.0), 4) == [("a", 0.0), ("b", 1.0), ("b", 1.0), ("c", 3.0)]
    assert state_at_turns({}, ("z", 0.5), 1) == [("z", 0.5)]


def test_rollout_turns_and_turn_rewards():
    turns = rollout_turns([(0, 3), (5, 7), (9, 10)], [("a", 0.0), ("b", 1.0), ("c", 1.5)], final_reward=4.0)
    assert turns == [Turn(0, 3, "a", 1.0), Turn(5, 7, "b", 0.5), Turn(9, 10, "c", 2.5)]
    # the episode reward 5.0 includes 1.0 the env did not hand out turn by turn: it goes to the last turn
    assert turn_rewards(turns, 5.0) == [1.0, 0.5, 3.5]
    assert turn_rewards([Turn(0, 1, "a", 0.0)], -2.0) == [-2.0]
    with pytest.raises(ValueError, match="disagree"):
        rollout_turns([(0, 1)], [("a", 0.0), ("b", 0.0)], 0.0)
    with pytest.raises(ValueError, match="without turns"):
        turn_rewards([], 1.0)


def test_token_advantages_fill_each_turn_and_leave_the_rest_zero():
    turns = [[Turn(0, 2, "a", 0.0), Turn(4, 5, "b", 0.0)], [Turn(1, 3, "a", 0.0)]]
    out = token_advantages(turns, [torch.tensor([0.5, -1.0]), torch.tensor([2.0])], 6)
    assert out.tolist() == [[0.5, 0.5, 0.0, 0.0, -1.0, 0.0], [0.0, 2.0, 2.0, 0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="past the completion"):
        token_advantages([[Turn(0, 7, "a", 0.0)]], [torch.tensor([1.0])], 6)


def test_observations_before_turns():
    prompt = [{"role": "user", "content": "Solve.\nobs0"}]
    messages = [{"role": "assistant", "content": ""}, {"role": "tool", "content": "obs1"},
                {"role": "assistant", "content": ""}, {"role": "tool", "content": "obs2a"},
                {"role": "tool", "content": "obs2b"}, {"role": "assistant", "content": "done"}]
    assert observations_before_turns(prompt, messages, 3) == ["Solve.\nobs0", "obs1", "obs2a\nobs2b"]


def test_text_environment_plays_the_gigpo_env_and_exposes_its_anchor():
    options = dict(num_receptacles=4, num_objects=2, max_steps=3)
    env = environment_factory("household", **options)()
    reference = envs.make("household", **options)
    obs0, info0 = reference.reset(seed=5)
    text = env.reset(seed=5, prompt=[{"role": "user", "content": "x"}])
    assert obs0 in text and info0["task"] in text and ", ".join(info0["admissible_actions"]) in text
    assert env.anchor == info0["anchor"] and env.reward == 0.0 and env.get_reward() == 0.0
    total, info, done = 0.0, info0, False
    for _ in range(3):
        action = info["expert_action"]
        obs, r, term, trunc, info = reference.step(action)
        total += r
        reply = env.act(action)
        assert obs in reply and env.anchor == info["anchor"] and env.reward == total == env.get_reward()
        done = term or trunc
        if done:
            assert GAME_OVER in reply
            break
    assert done  # won, or the step limit of 3
    with pytest.raises(ValueError, match="over"):
        env.act(action)
    with pytest.raises(ValueError, match="seed"):
        env.reset(prompt="no seed")


def test_text_environment_has_one_tool_and_a_reward():
    import inspect

    public = [n for n, _ in inspect.getmembers(TextEnvironment, predicate=inspect.isfunction)
              if not n.startswith("_")]
    assert sorted(public) == ["act", "get_reward", "reset"]  # TRL's tools are the public methods but these two
    from transformers.utils import get_json_schema
    schema = get_json_schema(TextEnvironment("sokoban").act)
    assert schema["function"]["name"] == "act"
    assert schema["function"]["parameters"]["required"] == ["action"]


def test_environment_factory_and_dataset_fail_early_on_bad_input():
    with pytest.raises(ValueError, match="unknown env"):
        environment_factory("nope")
    for name in ("household", "shop", "sokoban"):
        assert isinstance(environment_factory(name)(), TextEnvironment)
    ds = task_dataset(3, first_seed=10)
    assert ds["seed"] == [10, 11, 12] and ds[0]["prompt"][0]["role"] == "user"
    with pytest.raises(ValueError):
        task_dataset(0)


def test_config_checks(tmp_path):
    cfg = GiGPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    assert (cfg.gamma, cfg.step_weight, cfg.step_norm, cfg.anchor_source) == (0.95, 1.0, None, "auto")
    assert cfg.episode_norm == "std"
    assert GiGPOConfig(output_dir=str(tmp_path), use_cpu=True, scale_rewards=False).episode_norm == "none"
    for bad in (dict(gamma=1.5), dict(step_norm="l2"), dict(anchor_source="x"), dict(scale_rewards="batch"),
                dict(multi_objective_aggregation="normalize_then_sum")):
        with pytest.raises(ValueError):
            GiGPOConfig(output_dir=str(tmp_path), use_cpu=True, **bad)


def test_warm_start_targets_parse_back_to_the_expert_actions():
    from transformers import AutoTokenizer
    from trl.chat_template_utils import add_response_schema

    from gigpo.integrations.trl import tool_chat_model
    from gigpo.integrations.trl.warm_start import expert_tool_examples

    tokenizer = add_response_schema(AutoTokenizer.from_pretrained(tool_chat_model("tiny-mini")))
    options = dict(num_receptacles=4, num_objects=2, max_steps=4)
    examples = expert_tool_examples(tokenizer, "household", options, [7], "Play.", max_turns=4)
    reference = envs.make("household", **options)
    _, info = reference.reset(seed=7)
    expert = []
    while info["expert_action"] is not None and len(expert) < 4:
        expert.append(info["expert_action"])
        _, _, term, trunc, info = reference.step(expert[-1])
        if term or trunc:
            break
    assert len(examples) == len(expert) >= 2
    for (prompt, target), action in zip(examples, expert):
        parsed = tokenizer.parse_response(target, prefix=prompt)
        assert parsed["tool_calls"][0]["function"] == {"name": "act", "arguments": {"action": action}}
        assert '"name": "act"' in tokenizer.decode(prompt)  # the tool schema TRL renders is in the prompt
    # each later prompt extends the previous one by the expert's call and the env's reply, as TRL's rollout does
    assert tokenizer.decode(examples[1][0]).startswith(tokenizer.decode(examples[0][0])[:-len("assistant\n")])


def test_trainer_refuses_what_it_cannot_train(tmp_path):
    from trl import GRPOConfig

    from gigpo.integrations.trl import GiGPOTrainer

    factory = environment_factory("sokoban")
    with pytest.raises(TypeError, match="GiGPOConfig"):
        GiGPOTrainer(model="unused", args=GRPOConfig(output_dir=str(tmp_path), use_cpu=True),
                     environment_factory=factory)
    args = GiGPOConfig(output_dir=str(tmp_path), use_cpu=True)
    with pytest.raises(ValueError, match="environment_factory"):
        GiGPOTrainer(model="unused", args=args)
    with pytest.raises(ValueError, match="rollout_func"):
        GiGPOTrainer(model="unused", args=args, environment_factory=factory, rollout_func=lambda p, t: {})
