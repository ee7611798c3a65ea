"""The ``outcome`` filter judges the environment's episode returns, as DAPO's and verl-agent's filters do: the
trainer's invalid-action penalty (part of the rewards the estimator sees) does not make an all-lost group pass."""
import pytest

import envs
from gigpo.policy.replies import Generation
from gigpo.training.config import TrainConfig
from gigpo.training.dynamic_sampling import refill_update_batch
from gigpo.training.rollouts.rollout import collect_rollouts
from gigpo.training.systems.distributed import Distributed
from gigpo.training.systems.models import load_model_and_tokenizer
from gigpo.training.systems.seeds import SamplingStreams
from gigpo.training.trainer import advantage_split
from tests.support.tiny_runs import TINY_RUN

GOOD = "<think>go</think><action>{}</action>"
MALFORMED = "right"  # no tags: the env gets an invalid action and the step is charged the penalty


class TurnScript:
    """Free-mode replies by turn, one per live env in order (every env of these tests lives to the last turn)."""

    def __init__(self, tokenizer, turns):
        self.tokenizer, self.turns, self.turn = tokenizer, turns, 0

    def generate(self, prompts, **_):
        replies = self.turns[self.turn]
        self.turn += 1
        assert len(replies) == len(prompts)
        return [Generation([1, 2], [3], r) for r in replies]


# corridor from cell 0 to cell 2 in at most 2 steps: "right, right" wins (return 1), anything else loses (0)
LOST = [[GOOD.format("left"), MALFORMED], [GOOD.format("left"), GOOD.format("right")]]  # both lose, one malformed
SPREAD = [[GOOD.format("right"), MALFORMED], [GOOD.format("right"), GOOD.format("right")]]  # one wins


@pytest.fixture(scope="module")
def tokenizer():
    return load_model_and_tokenizer("tiny")[1]


def config(**changes):
    return TrainConfig(**{**TINY_RUN, "env_options": {"cells": [0, 2]}, "max_steps": 2, "num_groups": 1,
                          "group_size": 2, "action_mode": "free", "filter_groups": "outcome", "max_gen_batches": 2,
                          "invalid_penalty": 0.1, **changes})


def sample(cfg, tokenizer, turns):
    def play(task_seeds, streams):
        runner = envs.GroupRunner(cfg.env, cfg.group_size, env_options=cfg.env_options, max_steps=cfg.max_steps)
        batch, seconds = collect_rollouts(TurnScript(tokenizer, turns), runner, task_seeds, mode="free",
                                          temperature=1.0, max_new_tokens=4, history_length=2,
                                          invalid_penalty=cfg.invalid_penalty, streams=streams)
        return batch, seconds, runner

    groups = range(cfg.num_groups)
    first = play(list(groups), SamplingStreams(cfg.seed, "rollout", 0, groups.start))
    return refill_update_batch(cfg, 0, Distributed.start("cpu"), groups, first, play,
                               lambda count: list(range(count)), lambda b: advantage_split(cfg, b))


def test_the_batch_carries_the_environments_rewards_beside_the_penalised_ones(tokenizer):
    runner = envs.GroupRunner("corridor", 2, env_options={"cells": [0, 2]}, max_steps=2)
    batch, _ = collect_rollouts(TurnScript(tokenizer, LOST), runner, [0], mode="free", temperature=1.0,
                                max_new_tokens=4, history_length=2, invalid_penalty=0.1)
    assert batch.traj_ids == [0, 1, 0, 1] and batch.valid == [True, False, True, True]
    assert batch.env_rewards == [0.0, 0.0, 0.0, 0.0]
    assert batch.rewards == pytest.approx([0.0, -0.1, 0.0, 0.0])


def test_an_all_lost_group_that_differs_only_in_malformed_replies_fails_the_outcome_filter(tokenizer):
    lost = sample(config(), tokenizer, LOST)
    # both generation batches played, nothing passed: the cap filled the update batch unfiltered
    assert (lost.metrics["gen_batches"], lost.metrics["groups_kept"], lost.metrics["filter_capped"]) == (2, 0, 1)
    assert lost.metrics["groups_with_spread"] == 0
    # GiGPO's advantages still see the penalty (the penalised rollout gets a negative A): that is what `advantage` keeps
    assert lost.metrics["groups_with_signal"] == 1
    assert sample(config(filter_groups="advantage"), tokenizer, LOST).metrics["groups_kept"] == 1


def test_a_group_with_a_win_passes_the_outcome_filter(tokenizer):
    spread = sample(config(), tokenizer, SPREAD)
    assert (spread.metrics["gen_batches"], spread.metrics["groups_kept"], spread.metrics["filter_capped"]) == (1, 1, 0)
    assert spread.metrics["groups_with_spread"] == 1 and spread.batch.episode["success_rate"] == 0.5
