"""GroupRunner with Sokoban: group layout, record order, drop-out of finished rollouts, batch columns, errors.

Expected values come from replaying each rollout's actions on a fresh, independent env.
"""
import random

import pytest

import envs
from envs.sokoban import SokobanEnv

SEEDS = [4, 9, 17]
N = 4


def random_policy(seed):
    rng = random.Random(seed)
    return lambda live, obs, infos: [rng.choice(info["admissible_actions"]) for info in infos]


def test_copies_share_first_anchor_within_group_only():
    runner = envs.GroupRunner("sokoban", group_size=N)
    live = runner.reset(SEEDS)
    assert live == list(range(len(SEEDS) * N))
    for g, seed in enumerate(SEEDS):
        _, expected = SokobanEnv().reset(seed=seed)
        assert [runner.infos[g * N + k]["anchor"] for k in range(N)] == [expected["anchor"]] * N
        assert [runner.group_of(g * N + k) for k in range(N)] == [g] * N
    assert len({runner.infos[g * N]["anchor"] for g in range(len(SEEDS))}) == len(SEEDS)


def test_records_interleaved_in_time_order_and_match_replay():
    runner = envs.GroupRunner("sokoban", group_size=N)
    runner.reset(SEEDS)
    records = runner.run(random_policy(0))
    n_envs = len(SEEDS) * N
    # step 0 of every rollout comes first, in rollout order: all were live at the first call
    assert [(r.traj_id, r.step) for r in records[:n_envs]] == [(i, 0) for i in range(n_envs)]
    # within a call the rollouts appear in ascending order; time never goes backwards for a rollout
    last_step = {}
    for r in records:
        assert r.step == last_step.get(r.traj_id, -1) + 1
        last_step[r.traj_id] = r.step
    for traj in range(n_envs):
        rows = [r for r in records if r.traj_id == traj]
        assert len(rows) == runner.steps[traj]
        assert rows[-1].terminated or rows[-1].truncated
        assert not any(r.terminated or r.truncated for r in rows[:-1])
        env = SokobanEnv()  # independent replay of the same actions
        obs, info = env.reset(seed=SEEDS[traj // N])
        for r in rows:
            assert r.group_id == traj // N
            assert (r.observation, r.anchor) == (obs, info["anchor"])
            obs, reward, term, trunc, info = env.step(r.action)
            assert (r.reward, r.terminated, r.truncated, r.won) == (pytest.approx(reward), term, trunc, info["won"])


def test_finished_rollouts_drop_out():
    runner = envs.GroupRunner("sokoban", group_size=2)
    runner.reset([0, 1])
    rng = random.Random(3)

    def policy(live, obs, infos):  # group 0 plays the expert (finishes fast), group 1 wanders
        return [info["expert_action"] if runner.group_of(i) == 0 else rng.choice(["up", "down"])
                for i, info in zip(live, infos)]

    solution = 0
    env = SokobanEnv()
    _, info = env.reset(seed=0)
    while True:
        _, _, term, trunc, info = env.step(info["expert_action"])
        solution += 1
        if term or trunc:
            break
    for t in range(solution):
        runner.step(policy(runner.live, None, [runner.infos[i] for i in runner.live]))
    assert runner.live == [2, 3] and runner.done[:2] == [True, True]
    assert runner.steps[:2] == [solution, solution]
    before = len(runner.records)
    runner.step(policy(runner.live, None, [runner.infos[i] for i in runner.live]))
    assert [r.traj_id for r in runner.records[before:]] == [2, 3]
    assert runner.steps[:2] == [solution, solution]


def test_batch_columns_line_up_with_records():
    runner = envs.GroupRunner("sokoban", group_size=3, max_steps=5)
    runner.reset([2, 5])
    records = runner.run(random_policy(1))
    batch = runner.batch()
    assert {len(col) for col in batch.values()} == {len(records)}
    assert all(1 <= s <= 5 for s in runner.steps)
    for k, r in enumerate(records):
        assert (batch["group_ids"][k], batch["traj_ids"][k], batch["rewards"][k], batch["anchors"][k],
                batch["observations"][k], batch["actions"][k], batch["valid"][k]) == (
            r.group_id, r.traj_id, r.reward, r.anchor, r.observation, r.action, r.action in r.admissible_actions)


def test_runner_cap_truncates_exactly_at_max_steps():
    runner = envs.GroupRunner("sokoban", group_size=2, max_steps=3)  # the env's own limit is 30
    runner.reset([0])
    for t in range(3):
        assert runner.live == [0, 1]
        runner.step(["fly", "left"] if t % 2 == 0 else ["left", "fly"])  # never solves the level
    assert runner.live == [] and runner.steps == [3, 3] and runner.done == [True, True]
    for traj in (0, 1):
        flags = [(r.terminated, r.truncated) for r in runner.records if r.traj_id == traj]
        assert flags == [(False, False), (False, False), (False, True)]
    with pytest.raises(ValueError, match="no live envs"):
        runner.step([])


def test_env_limit_below_the_cap_truncates_and_a_win_on_the_cap_step_is_not_truncated():
    runner = envs.GroupRunner("sokoban", group_size=1, env_options={"max_steps": 3}, max_steps=5)
    runner.reset([0])
    runner.run(lambda live, obs, infos: ["fly"] * len(live))
    assert [(r.terminated, r.truncated) for r in runner.records] == [(False, False)] * 2 + [(False, True)]
    # the sokoban expert solves seed 0 in `solution` moves; capping the runner there must report a win, not a cut
    env = SokobanEnv()
    _, info = env.reset(seed=0)
    solution, terminated = 0, False
    while not terminated:
        _, _, terminated, _, info = env.step(info["expert_action"])
        solution += 1
    runner = envs.GroupRunner("sokoban", group_size=2, max_steps=solution)
    runner.reset([0])
    runner.run(lambda live, obs, infos: [i["expert_action"] for i in infos])
    last = [r for r in runner.records if r.step == solution - 1]
    assert [(r.terminated, r.truncated, r.won) for r in last] == [(True, False, True)] * 2


def test_invalid_actions_are_recorded_as_invalid():
    runner = envs.GroupRunner("sokoban", group_size=2)
    runner.reset([0])
    runner.step(["up", "fly"])
    assert [r.valid for r in runner.records] == [True, False]
    assert runner.infos[1]["anchor"] == runner.records[1].anchor  # the invalid action changed nothing


def test_wrong_number_of_actions_and_misuse_raise():
    runner = envs.GroupRunner("sokoban", group_size=2)
    with pytest.raises(ValueError, match="no live envs"):
        runner.step([])
    runner.reset([0, 1])
    with pytest.raises(ValueError, match="expected one per live env \\(4\\), got 3"):
        runner.step(["up"] * 3)
    with pytest.raises(ValueError, match="expected str"):
        runner.step(["up", "up", "up", 7])
    assert runner.records == [] and runner.steps == [0, 0, 0, 0]  # a rejected batch steps no env
    with pytest.raises(ValueError, match="group_size"):
        envs.GroupRunner("sokoban", group_size=0)
    with pytest.raises(ValueError, match="unknown env name"):
        envs.GroupRunner("sokobann", group_size=2)


# -- validity is the env's verdict ---------------------------------------------------------------------------------
class EchoEnv:
    """A user env that accepts free-form ``say[<any text>]`` and says so through ``info["action_valid"]``; it lists
    one suggestion as admissible. The episode is won by saying "hello"."""

    def __init__(self, max_steps: int = 5, report: bool = True, verdict_type=bool):
        self.max_steps, self.report, self.verdict_type = max_steps, report, verdict_type

    def reset(self, *, seed=None):
        self.said, self.t = (), 0
        return "Say something.", self._info()

    def step(self, action):
        self.t += 1
        accepted = action.startswith("say[") and action.endswith("]")
        if accepted:
            self.said += (action[4:-1],)
        won = "hello" in self.said
        info = self._info()
        if self.report:
            info["action_valid"] = self.verdict_type(accepted)
        return f"You said {list(self.said)}.", float(won), won, not won and self.t >= self.max_steps, info

    def _info(self):
        won = "hello" in self.said
        return {"anchor": self.said, "admissible_actions": ["say[hi]"], "expert_action": None if won else "say[hello]",
                "won": won, "task": "Say hello."}


def test_user_env_verdict_overrides_the_admissible_list():
    runner = envs.GroupRunner(EchoEnv, group_size=3)
    runner.reset([0])
    runner.step(["say[hi]", "say[anything at all]", "shout[hi]"])
    assert [r.valid for r in runner.records] == [True, True, False]
    assert [runner.infos[i]["anchor"] for i in range(3)] == [("hi",), ("anything at all",), ()]


def test_user_env_without_a_verdict_falls_back_to_the_admissible_list():
    runner = envs.GroupRunner(lambda: EchoEnv(report=False), group_size=2)
    runner.reset([0])
    runner.step(["say[hi]", "say[anything at all]"])  # the env accepts both, but only one was listed
    assert [r.valid for r in runner.records] == [True, False]


def test_a_verdict_that_is_not_a_bool_is_rejected():
    runner = envs.GroupRunner(lambda: EchoEnv(verdict_type=int), group_size=1)
    runner.reset([0])
    with pytest.raises(ValueError, match=r"env 0 step: info\['action_valid'\] must be a bool, got 1"):
        runner.step(["say[hi]"])


def test_shop_free_text_search_and_other_spellings_are_valid():
    runner = envs.GroupRunner("shop", group_size=4)
    runner.reset([0])
    suggested = runner.infos[0]["admissible_actions"]
    assert "search[black]" not in suggested  # the page lists one suggested search, any search is accepted
    runner.step(["search[black]", suggested[0], "click[buy now]", "look around"])
    assert [r.valid for r in runner.records] == [True, True, False, False]
    pages = [runner.infos[i]["anchor"].page for i in range(4)]
    assert pages == ["results", "results", "search", "search"]
    assert runner.infos[0]["anchor"].query == "black"
    # on a results page: an ASIN in upper case (the list spells it lower case) is a click the page accepts
    asin = next(a for a in runner.infos[0]["admissible_actions"] if a[6:8] == "b0")[6:-1]
    runner.step([f"click[{asin.upper()}]", "click[next >]", "search[black]", "search[white]"])
    assert [r.valid for r in runner.records[4:]] == [True, True, True, True]
    assert f"click[{asin.upper()}]" not in runner.records[4].admissible_actions
    assert runner.infos[0]["anchor"].asin == asin.upper()
    runner.step(["click[search]", "click[< prev]", "search[white]", "click[back to search]"])  # searches need the
    assert [r.valid for r in runner.records[8:]] == [False, True, False, True]  # search page; no "search" button


# -- validity reaches the trainer: penalty and invalid_rate --------------------------------------------------------
class PlainTokenizer:
    """Just enough of a tokenizer for collect_rollouts (its chat template is the message itself)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return messages[-1]["content"]


class ScriptedFreeBackend:
    """Free-mode replies from a script, one list per step (aligned with runner.live)."""

    def __init__(self, script):
        self.tokenizer, self.script = PlainTokenizer(), list(script)

    def generate(self, prompts, **_):
        from gigpo.policy.replies import Generation

        replies = self.script.pop(0)
        assert len(replies) == len(prompts)
        return [Generation([1], [2], r) for r in replies]


def test_rollout_charges_only_what_the_env_refuses_or_the_format_breaks():
    from gigpo.training.rollouts.rollout import collect_rollouts

    good = "<think>look for it</think><action>{}</action>"
    step1 = [good.format("search[black]"),  # a real search the page does not list: valid, no penalty
             "<action>search[black]</action>",  # the env accepts it, but the reply has no <think>: invalid
             good.format("click[buy now]"),  # well formed, but the search page has no such button: invalid
             good.format("search[white]")]
    runner = envs.GroupRunner("shop", group_size=4, max_steps=1)
    batch, _ = collect_rollouts(ScriptedFreeBackend([step1]), runner, [0], mode="free", temperature=1.0,
                                max_new_tokens=8, history_length=2, invalid_penalty=0.1)
    assert batch.actions == ["search[black]", "search[black]", "click[buy now]", "search[white]"]
    assert batch.valid == [True, False, False, True]
    assert batch.rewards == pytest.approx([0.0, -0.1, -0.1, 0.0])
    assert batch.invalid_rate == pytest.approx(0.5)
