"""Tests of the ALFWorld-style ``household`` env: hand-worked tiny scenes, a plain-Python reference model of the
rules, the expert on seeded tasks and from random states, and the env contract."""
import random

import pytest

import envs
from envs.household import HouseholdEnv
from envs.household_world import CLEAN, TASK_TYPES, Goal, Layout, generate_layout

WELCOME = "-= Welcome to TextWorld, ALFRED! =-\n\n"


def clean_mug_layout():
    """cabinet 1 (closed, holds mug 1), countertop 1 (apple 1), sinkbasin 1; goal: a clean mug on the countertop."""
    return Layout(
        seed=7, room="kitchen",
        receptacles=("cabinet 1", "countertop 1", "sinkbasin 1"), openable=(True, False, False),
        objects=("apple 1", "mug 1"), start_location=(1, 0), start_open=(False, True, True), lamp=None,
        goal=Goal(kind="pick_clean_then_place", obj_type="mug", recep_type="countertop", prop=CLEAN, count=1,
                  text="put a clean mug in countertop."))


def play(env, actions):
    out = []
    for a in actions:
        out.append(env.step(a))
    return out


# -- hand-worked scenes ------------------------------------------------------------------------------------------
def test_first_observation_and_admissible_in_the_middle_of_the_room():
    env = HouseholdEnv(layout=clean_mug_layout())
    obs, info = env.reset(seed=7)
    assert obs == (WELCOME + "You are in the middle of a room. Looking quickly around you, you see a cabinet 1, "
                   "a countertop 1, and a sinkbasin 1.\n\nYour task is to: put a clean mug in countertop.")
    assert info["task"] == "put a clean mug in countertop."
    assert sorted(info["admissible_actions"]) == sorted(
        ["go to cabinet 1", "go to countertop 1", "go to sinkbasin 1", "inventory", "look"])
    assert info["won"] is False


def test_closed_receptacle_hides_contents_until_opened():
    env = HouseholdEnv(layout=clean_mug_layout())
    env.reset(seed=7)
    obs, _, _, _, info = env.step("go to cabinet 1")
    assert obs == "You arrive at cabinet 1. The cabinet 1 is closed."
    assert "open cabinet 1" in info["admissible_actions"]
    assert not any(a.startswith("take") for a in info["admissible_actions"])
    before = info
    obs, reward, term, trunc, info = env.step("take mug 1 from cabinet 1")
    assert (obs, reward, term, trunc) == ("Nothing happens.", 0.0, False, False)
    assert info["anchor"] == before["anchor"] and info["admissible_actions"] == before["admissible_actions"]
    obs, *_ , info = env.step("open cabinet 1")
    assert obs == "You open the cabinet 1. The cabinet 1 is open. In it, you see a mug 1."
    assert "take mug 1 from cabinet 1" in info["admissible_actions"]
    assert "close cabinet 1" in info["admissible_actions"]
    obs, *_ = env.step("close cabinet 1")
    assert obs == "You close the cabinet 1."
    obs, *_ = env.step("examine cabinet 1")
    assert obs == "The cabinet 1 is closed."


def test_take_then_put_back_restores_the_anchor_and_moves_the_object():
    env = HouseholdEnv(layout=clean_mug_layout())
    env.reset(seed=7)
    *_, at_counter = env.step("go to countertop 1")
    assert "take apple 1 from countertop 1" in at_counter["admissible_actions"]
    obs, *_, holding = env.step("take apple 1 from countertop 1")
    assert obs == "You pick up the apple 1 from the countertop 1."
    assert holding["anchor"] != at_counter["anchor"]
    assert "put apple 1 in/on countertop 1" in holding["admissible_actions"]
    assert not any(a.startswith("take") for a in holding["admissible_actions"])  # one object at a time
    assert env.step("inventory")[0] == "You are carrying: a apple 1."
    obs, *_, info = env.step("go to sinkbasin 1")
    assert obs == "You arrive at sinkbasin 1. On the sinkbasin 1, you see nothing."
    obs, *_, info = env.step("put apple 1 in/on sinkbasin 1")
    assert obs == "You put the apple 1 in/on the sinkbasin 1."
    assert env.step("examine sinkbasin 1")[0] == "On the sinkbasin 1, you see a apple 1."
    assert env.step("inventory")[0] == "You are not carrying anything."
    # Carry it back: the state (and so the anchor) is the one we had before taking it.
    play(env, ["take apple 1 from sinkbasin 1", "go to countertop 1"])
    *_, back = env.step("put apple 1 in/on countertop 1")
    assert back["anchor"] == at_counter["anchor"]
    assert back["admissible_actions"] == at_counter["admissible_actions"]
    assert env.step("look")[0] == "You are facing the countertop 1. Next to it, you see nothing."


def test_clean_then_place_rewards_success_once_and_terminates():
    env = HouseholdEnv(layout=clean_mug_layout(), success_reward=10.0)
    env.reset(seed=7)
    steps = play(env, ["go to cabinet 1", "open cabinet 1", "take mug 1 from cabinet 1", "go to countertop 1",
                       "put mug 1 in/on countertop 1"])
    assert [s[1] for s in steps] == [0.0] * 5 and not any(s[2] for s in steps)  # a dirty mug does not count
    assert steps[-1][4]["expert_action"] == "take mug 1 from countertop 1"
    steps = play(env, ["take mug 1 from countertop 1", "go to sinkbasin 1", "clean mug 1 with sinkbasin 1",
                       "examine mug 1", "go to countertop 1"])
    assert steps[2][0] == "You clean the mug 1 using the sinkbasin 1."
    assert steps[3][0] == "This is a clean mug 1."
    obs, reward, term, trunc, info = env.step("put mug 1 in/on countertop 1")
    assert (reward, term, trunc, info["won"], info["expert_action"]) == (10.0, True, False, True, None)


def test_expert_plan_on_the_tiny_scene():
    env = HouseholdEnv(layout=clean_mug_layout())
    _, info = env.reset(seed=7)
    taken = []
    while info["expert_action"] is not None:
        taken.append(info["expert_action"])
        *_, info = env.step(taken[-1])
    assert taken == ["go to cabinet 1", "open cabinet 1", "take mug 1 from cabinet 1", "go to sinkbasin 1",
                     "clean mug 1 with sinkbasin 1", "go to countertop 1", "put mug 1 in/on countertop 1"]
    assert info["won"]


def test_look_task_needs_the_object_in_hand_at_the_lit_lamp():
    layout = Layout(
        seed=1, room="bedroom", receptacles=("desk 1", "drawer 1"), openable=(False, True),
        objects=("book 1",), start_location=(1,), start_open=(True, True), lamp=0,
        goal=Goal(kind="look_at_obj_in_light", obj_type="book", recep_type=None, prop=0, count=1,
                  text="look at book under the desklamp."))
    env = HouseholdEnv(layout=layout)
    env.reset(seed=1)
    obs, *_, info = env.step("go to desk 1")
    assert obs == "You arrive at desk 1. On the desk 1, you see a desklamp 1."
    assert "use desklamp 1" in info["admissible_actions"]
    obs, reward, term, *_ = env.step("use desklamp 1")  # lamp on, but the book is not in hand
    assert (obs, reward, term) == ("You turn on the desklamp 1.", 0.0, False)
    steps = play(env, ["go to drawer 1", "take book 1 from drawer 1"])
    assert not steps[-1][2]  # holding the book away from the lamp is not enough
    obs, reward, term, _, info = env.step("go to desk 1")  # the lamp is still on
    assert (reward, term, info["won"]) == (10.0, True, True)


def test_pick_two_needs_both_in_one_receptacle():
    layout = Layout(
        seed=2, room="bedroom", receptacles=("bed 1", "shelf 1", "shelf 2"), openable=(False, False, False),
        objects=("cd 1", "cd 2"), start_location=(0, 0), start_open=(True, True, True), lamp=None,
        goal=Goal(kind="pick_two_obj", obj_type="cd", recep_type="shelf", prop=0, count=2,
                  text="put two cd in shelf."))
    env = HouseholdEnv(layout=layout)
    env.reset(seed=2)
    steps = play(env, ["go to bed 1", "take cd 1 from bed 1", "go to shelf 1", "put cd 1 in/on shelf 1",
                       "go to bed 1", "take cd 2 from bed 1", "go to shelf 2", "put cd 2 in/on shelf 2"])
    assert not any(s[2] for s in steps)  # one cd on each shelf: not done
    *_, info = steps[-1]
    assert info["expert_action"] == "take cd 2 from shelf 2"  # shelf 1 (first with most cds) is the target
    steps = play(env, ["take cd 2 from shelf 2", "go to shelf 1", "put cd 2 in/on shelf 1"])
    assert steps[-1][1:3] == (10.0, True)


# -- reference model of the rules --------------------------------------------------------------------------------
class Reference:
    """A plain restatement of ALFWorld's rules on a Layout, to check the env's admissible set and success."""

    def __init__(self, lay):
        self.lay, self.loc, self.held, self.lamp_on = lay, None, None, False
        self.where = {o: lay.receptacles[r] for o, r in zip(lay.objects, lay.start_location)}
        self.is_open = {r: o for r, o in zip(lay.receptacles, lay.start_open)}
        self.props = {o: set() for o in lay.objects}

    def admissible(self):
        lay, acts = self.lay, {"inventory", "look"}
        acts |= {"go to " + r for r in lay.receptacles if r != self.loc}
        if self.held:
            acts.add("examine " + self.held)
        if self.loc is None:
            return acts
        acts.add("examine " + self.loc)
        kind = self.loc.split()[0]
        if lay.openable[lay.receptacles.index(self.loc)]:
            acts.add(("close " if self.is_open[self.loc] else "open ") + self.loc)
        if self.held is None and self.is_open[self.loc]:
            acts |= {f"take {o} from {self.loc}" for o, r in self.where.items() if r == self.loc}
        if self.held is not None:
            if self.is_open[self.loc]:
                acts.add(f"put {self.held} in/on {self.loc}")
            verb = {"sinkbasin": "clean", "microwave": "heat", "fridge": "cool"}.get(kind)
            if verb:
                acts.add(f"{verb} {self.held} with {self.loc}")
        if lay.lamp is not None and lay.receptacles[lay.lamp] == self.loc:
            acts.add("use desklamp 1")
        return acts

    def apply(self, a):
        w = a.split()
        if a.startswith("go to "):
            self.loc = a[6:]
        elif w[0] in ("open", "close"):
            self.is_open[self.loc] = w[0] == "open"
        elif w[0] == "take":
            self.held = " ".join(w[1:3])
            del self.where[self.held]
        elif w[0] == "put":
            self.where[self.held], self.held = self.loc, None
        elif w[0] in ("clean", "heat", "cool"):
            self.props[self.held].add({"clean": "clean", "heat": "hot", "cool": "cool"}[w[0]])
        elif w[0] == "use":
            self.lamp_on = True

    def won(self):
        g = self.lay.goal
        otype = lambda o: o.split()[0]  # noqa: E731
        if g.kind == "look_at_obj_in_light":
            return (self.lamp_on and self.held is not None and otype(self.held) == g.obj_type
                    and self.loc == self.lay.receptacles[self.lay.lamp])
        need = {"pick_clean_then_place": "clean", "pick_heat_then_place": "hot",
                "pick_cool_then_place": "cool"}.get(g.kind)
        per = {}
        for o, r in self.where.items():
            if otype(o) == g.obj_type and otype(r) == g.recep_type and (need is None or need in self.props[o]):
                per[r] = per.get(r, 0) + 1
        return any(n >= g.count for n in per.values())


def test_env_matches_the_reference_rules_under_random_play():
    rng = random.Random(0)
    env = HouseholdEnv(max_steps=80)
    for seed in range(60):
        _, info = env.reset(seed=seed)
        ref = Reference(env.layout)
        for _ in range(80):
            assert set(info["admissible_actions"]) == ref.admissible()
            assert len(info["admissible_actions"]) == len(set(info["admissible_actions"]))
            # Mostly admissible actions, sometimes an invalid one (which must change nothing).
            a = rng.choice(info["admissible_actions"]) if rng.random() < 0.9 else "take moon 1 from sky 1"
            before = info
            obs, reward, term, trunc, info = env.step(a)
            if a in before["admissible_actions"]:
                assert obs != "Nothing happens."
                ref.apply(a)
            else:
                assert obs == "Nothing happens."
                assert info["anchor"] == before["anchor"]
                assert info["admissible_actions"] == before["admissible_actions"]
            assert info["won"] == term == ref.won()
            assert reward == (10.0 if term else 0.0)
            if term or trunc:
                break


def test_anchor_equal_iff_reference_state_equal():
    """Two anchors of one task match exactly when the reference model's states match."""
    rng = random.Random(1)
    env = HouseholdEnv()
    for seed in range(10):
        seen = {}
        for _ in range(8):
            _, info = env.reset(seed=seed)
            ref = Reference(env.layout)
            for _ in range(15):
                key = (ref.loc, ref.held, tuple(sorted(ref.where.items())), tuple(sorted(ref.is_open.items())),
                       tuple(sorted((o, tuple(sorted(p))) for o, p in ref.props.items())), ref.lamp_on)
                assert seen.setdefault(info["anchor"], key) == key
                a = rng.choice(info["admissible_actions"])
                ref.apply(a)
                *_, term, trunc, info = env.step(a)
                if term or trunc:
                    break
        assert len(set(seen.values())) == len(seen)  # distinct anchors <-> distinct states


# -- expert --------------------------------------------------------------------------------------------------------
def run_expert(env, info, limit):
    n = 0
    while info["expert_action"] is not None:
        assert info["expert_action"] in info["admissible_actions"]
        *_, info = env.step(info["expert_action"])
        n += 1
        assert n <= limit
    return info


def test_expert_wins_200_seeded_tasks_of_all_six_types():
    env = HouseholdEnv()
    kinds = set()
    for seed in range(200):
        _, info = env.reset(seed=seed)
        kinds.add(env.layout.goal.kind)
        assert run_expert(env, info, limit=env.max_steps)["won"], seed
    assert kinds == set(TASK_TYPES)


def test_expert_wins_from_states_reached_by_random_actions():
    rng = random.Random(2)
    env = HouseholdEnv(max_steps=300, closed_share=1.0)
    for seed in range(100):
        _, info = env.reset(seed=seed)
        for _ in range(rng.randrange(80)):
            if info["won"]:
                break
            *_, info = env.step(rng.choice(info["admissible_actions"]))
        assert info["won"] or run_expert(env, info, limit=40)["won"], seed


# -- contract, options, determinism ----------------------------------------------------------------------------------
def test_same_seed_same_trajectory_and_shared_first_anchor():
    def rollout(seed, action_seed):
        env = envs.make("household")
        obs, info = env.reset(seed=seed)
        rng, out = random.Random(action_seed), [(obs, info["anchor"])]
        for _ in range(30):
            obs, _, term, trunc, info = env.step(rng.choice(info["admissible_actions"]))
            out.append((obs, info["anchor"]))
            if term or trunc:
                break
        return out

    assert rollout(5, 0) == rollout(5, 0)
    a, b = rollout(5, 0), rollout(5, 1)
    assert a[0] == b[0] and a != b
    assert rollout(5, 0)[0] != rollout(6, 0)[0]


def test_step_limit_truncates():
    env = HouseholdEnv(max_steps=3)
    env.reset(seed=0)
    flags = [env.step("look")[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_make_and_contract_keys():
    assert "household" in envs.names()
    env = envs.make("household", num_receptacles=8, num_objects=6)
    obs, info = env.reset(seed=None)
    envs.check_info(info, "reset")
    assert obs.startswith(WELCOME) and "Your task is to: " + info["task"] in obs
    *_, info = env.step(info["admissible_actions"][0])
    envs.check_info(info, "step")


def test_options_shape_the_scenes():
    env = HouseholdEnv(num_receptacles=5, num_objects=4, closed_share=1.0, task_types=["pick_two_obj"])
    for seed in range(20):
        env.reset(seed=seed)
        lay = env.layout
        assert len(lay.receptacles) == 5 and len(lay.objects) == 4
        assert lay.goal.kind == "pick_two_obj" and lay.goal.text.startswith(("put two", "find two"))
        assert all(not o for o, op in zip(lay.start_open, lay.openable) if op)
        # The goal's objects exist (two of them) and none starts in a goal receptacle.
        goal_objs = [r for o, r in zip(lay.objects, lay.start_location) if o.split()[0] == lay.goal.obj_type]
        assert len(goal_objs) >= 2
        assert all(lay.receptacles[r].split()[0] != lay.goal.recep_type for r in goal_objs)


def test_generator_is_pure():
    args = (11, 12, 12, 0.5, TASK_TYPES)
    assert generate_layout(*args) == generate_layout(*args)


@pytest.mark.parametrize("options", [dict(num_receptacles=2), dict(num_objects=0), dict(closed_share=1.5),
                                     dict(task_types=["cook"]), dict(task_types=[]), dict(max_steps=0)])
def test_bad_options_raise_value_error(options):
    with pytest.raises(ValueError):
        HouseholdEnv(**options)


def test_random_rollouts_of_one_task_revisit_states():
    """GiGPO's step groups need repeats: 8 random rollouts x 15 steps share anchors (mean group size > 1.5)."""
    rng = random.Random(3)
    env = HouseholdEnv()
    sizes = []
    for seed in range(30):
        anchors = []
        for _ in range(8):
            _, info = env.reset(seed=seed)
            for _ in range(15):
                anchors.append(info["anchor"])
                *_, term, trunc, info = env.step(rng.choice(info["admissible_actions"]))
                if term or trunc:
                    break
        sizes.append(len(anchors) / len(set(anchors)))
    assert sum(sizes) / len(sizes) > 1.5
