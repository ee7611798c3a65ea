"""Five advantage bugs that RL frameworks shipped, each restated as a short function in the style of a trainer.

Unit 06 of the course (``course/06_bug_hunt.py``) shows each one to students, who find, explain and fix it; the
fixes are checked by ``gigpo.course.check`` against the library, and each function here is a known mistake that
check names. The property tests of the library (``tests/estimators/test_bug_properties.py``) show that each variant
breaks a property the package's estimators keep. Every bug is silent: the function runs, returns one finite value
per row, and training on it moves the policy.

1. ``outcome_advantages``: GRPO grouped by the trajectory's own id instead of its task (rLLM #605, fixed by #924):
   every group holds one rollout, and a group of one gets its raw return (verl's mean 0, std 1 branch).
2. ``step_token_advantages``: step-wise rows trained with the last step's masked advantage tensor (SkyRL #1492,
   fixed by #1507): each earlier step gets the advantage at the last step's token positions, 0 at its own.
3. ``multi_turn_gigpo``: step groups keyed on the turn index instead of the state (verl #7244): rows of different
   states are compared because they happened at the same turn.
4. ``stepwise_gigpo``: a step-wise trainer whose rows each carry their episode's score uses that column as the
   step reward: a sparse final reward enters every step's return once per remaining step (twice in a two-step
   episode), where the episode level already counts it once (Trinity-RFT's GiGPO keeps it on the last step only).
5. ``env_layout``: the environments of a batch are reset task-major while their group ids are written
   rollout-major (verl-agent #82): the members of a "group" start from different tasks.

``returns_to_go``, ``normalise_within`` and ``episode_advantages`` are correct helpers the trainer functions share
(the unit shows them too). ``BUGGY`` maps each exercise name (the function to fix) to its buggy version;
``BUG_OF`` gives its bug class.
"""
from __future__ import annotations

import statistics
from collections import defaultdict

import torch


def outcome_advantages(task_ids, traj_ids, rewards, eps=1e-6):
    """GRPO: each step row gets its trajectory's return, normalised over the rollouts of its task (Eq. 3)."""
    score = defaultdict(float)
    for traj, r in zip(traj_ids, rewards):
        score[traj] += r
    uid = list(traj_ids)  # the batch's "uid" column, filled from each trajectory's own uuid
    members = defaultdict(dict)
    for u, traj in zip(uid, traj_ids):
        members[u][traj] = score[traj]
    out = []
    for u, traj in zip(uid, traj_ids):
        xs = list(members[u].values())
        mean, std = (0.0, 1.0) if len(xs) == 1 else (statistics.mean(xs), statistics.stdev(xs))
        out.append((score[traj] - mean) / (std + eps))
    return out


def returns_to_go(traj_ids, rewards, gamma):
    """``R_t = r_t + gamma R_(t+1)`` within each trajectory (rows of a trajectory in time order, interleaved)."""
    out, running = [0.0] * len(rewards), {}
    for i in reversed(range(len(rewards))):
        running[traj_ids[i]] = rewards[i] + gamma * running.get(traj_ids[i], 0.0)
        out[i] = running[traj_ids[i]]
    return out


def normalise_within(values, keys, eps):
    """``(v - mean) / (std + eps)`` over the values of equal key (sample std); a key with one value gets 0."""
    members = defaultdict(list)
    for k, v in zip(keys, values):
        members[k].append(v)
    return [0.0 if len(members[k]) < 2 else (v - statistics.mean(members[k])) / (statistics.stdev(members[k]) + eps)
            for k, v in zip(keys, values)]


def episode_advantages(group_ids, traj_ids, rewards, eps):
    """A_E (Eq. 3) of every row: its trajectory's return normalised over the trajectories of its task group."""
    score, group_of = defaultdict(float), {}
    for g, t, r in zip(group_ids, traj_ids, rewards):
        score[t] += r
        group_of[t] = g
    trajs = list(score)
    per_traj = dict(zip(trajs, normalise_within([score[t] for t in trajs], [group_of[t] for t in trajs], eps)))
    return [per_traj[t] for t in traj_ids]


def step_token_advantages(group_ids, traj_ids, rewards, response_mask, eps=1e-6):
    """Step-wise training: one row per turn; the outcome advantage of its trajectory on each of its response
    tokens. ``response_mask`` is (rows, tokens), 1 on the row's own response tokens."""
    mask = torch.as_tensor(response_mask, dtype=torch.float64)
    adv = episode_advantages(group_ids, traj_ids, rewards, eps)  # one value per row, equal within a trajectory
    trajs = list(dict.fromkeys(traj_ids))
    traj_index = [trajs.index(t) for t in traj_ids]
    last_row = {t: i for i, t in enumerate(traj_ids)}  # rows of a trajectory are in time order
    last = [last_row[t] for t in trajs]
    # the estimator sees the last step of each trajectory: its scalar advantage times that step's response mask
    last_step_advantages = torch.tensor([adv[i] for i in last], dtype=torch.float64)[:, None] * mask[last]
    return last_step_advantages[traj_index]  # every step of the trajectory takes it over


def multi_turn_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    """GiGPO's A = A_E + A_S (Eq. 8) for a multi-turn batch; A_S compares the discounted returns of the rows of a
    task group that share a step group."""
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    turn, seen = [], defaultdict(int)
    for t in traj_ids:  # the turn index of each row inside its trajectory
        turn.append(seen[t])
        seen[t] += 1
    step_group = list(zip(group_ids, turn))  # the k-th turn of every rollout of a task is compared
    a_s = normalise_within(returns_to_go(traj_ids, rewards, gamma), step_group, eps)
    return [e + s for e, s in zip(a_e, a_s)]


def stepwise_gigpo(group_ids, traj_ids, rewards, anchors, gamma, eps=1e-6):
    """GiGPO's A = A_E + A_S (Eq. 8) in a step-wise trainer: each turn is a training row that carries its
    episode's score, the outcome every row is trained on."""
    score = defaultdict(float)
    for t, r in zip(traj_ids, rewards):
        score[t] += r
    row_reward = [score[t] for t in traj_ids]  # the rows' reward column: the episode's score on every row
    a_e = episode_advantages(group_ids, traj_ids, rewards, eps)
    a_s = normalise_within(returns_to_go(traj_ids, row_reward, gamma), list(zip(group_ids, anchors)), eps)
    return [e + s for e, s in zip(a_e, a_s)]


def env_layout(task_seeds, group_size):
    """The reset seed and the task-group id of each of the ``len(task_seeds) * group_size`` parallel envs."""
    n = len(task_seeds) * group_size
    seeds = [task_seeds[i % len(task_seeds)] for i in range(n)]  # np.tile(task_seeds, group_size)
    group_ids = [i // group_size for i in range(n)]  # np.repeat(np.arange(len(task_seeds)), group_size)
    return seeds, group_ids


BUGGY = {"outcome_advantages": outcome_advantages, "step_token_advantages": step_token_advantages,
         "multi_turn_gigpo": multi_turn_gigpo, "stepwise_gigpo": stepwise_gigpo, "env_layout": env_layout}
BUG_OF = {"outcome_advantages": "every group has one member",
          "step_token_advantages": "the broadcast uses the last step's mask",
          "multi_turn_gigpo": "steps grouped by turn index, not by state",
          "stepwise_gigpo": "a sparse final reward counted on every step",
          "env_layout": "group members do not start from the same state"}
