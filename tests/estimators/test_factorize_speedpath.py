"""factorize's fast path for Python hashables gives the same codes as numbering each new key as it is met."""
from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gigpo.estimators.grouping import factorize


def dict_path(values):
    """The plain rule: the first key seen is 0, the next new one 1, ... (the former implementation)."""
    table: dict = {}
    return [table.setdefault(v, len(table)) for v in values], len(table)


UUIDS = [str(uuid.UUID(int=i * 7919)) for i in range(6)]
keys = st.one_of(
    st.sampled_from(UUIDS),
    st.text(max_size=4),
    st.tuples(st.integers(0, 3), st.sampled_from(["a", "b"])),
    st.integers(-3, 3),
    st.sampled_from([uuid.UUID(int=1), uuid.UUID(int=2), None, 2.5, True]),  # True == 1 hashes like 1
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(keys, min_size=1, max_size=60), container=st.sampled_from(["list", "tuple", "object array"]))
def test_same_codes_as_the_dict_path(values, container):
    data = {"list": list, "tuple": tuple, "object array": lambda v: np.array(v + [object()], dtype=object)[:-1]}
    codes, k = factorize(data[container](values), "ids")
    expected, k_expected = dict_path(values)
    assert codes.tolist() == expected and k == k_expected
    assert codes.dtype.is_floating_point is False


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.sampled_from(UUIDS), min_size=1, max_size=40))
def test_uuid_strings_and_a_generator(values):
    codes, k = factorize((v for v in values), "ids")
    assert (codes.tolist(), k) == dict_path(values)


def test_unhashable_raises_naming_the_column():
    with pytest.raises(ValueError, match="traj_ids must hold hashable"):
        factorize([["a"], ["b"]], "traj_ids")


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(UUIDS[:3] + [("t", 1), 7, "x"])), min_size=1,
                     max_size=40),
       container=st.sampled_from(["list", "tuple", "object array"]))
def test_group_codes_from_trajectories_match_the_general_path(rows, container):
    # group id = a key per trajectory (mixed kinds); prepare_batch may skip hashing every row's group id
    from gigpo.estimators.batch import prepare_batch

    names = {0: UUIDS[0], 1: ("g", 1), 2: 3, 3: UUIDS[4], 4: "g"}
    group_of = {t: names[(t + len(str(g))) % 5] for t, g in rows}
    traj = [t for t, _ in rows]
    groups = [group_of[t] for t in traj]
    data = {"list": list, "tuple": tuple, "object array": lambda v: np.fromiter(v, dtype=object, count=len(v))}
    b = prepare_batch(data[container](groups), traj, [0.0] * len(traj))
    expected, k = dict_path(groups)
    assert b.group_idx.tolist() == expected and b.num_groups == k
    assert b.traj_group[b.traj_idx].tolist() == expected


def test_a_trajectory_across_groups_still_raises():
    from gigpo.estimators.batch import prepare_batch

    with pytest.raises(ValueError, match="spans several group_ids"):
        prepare_batch([UUIDS[0], UUIDS[1]], ["t", "t"], [0.0, 0.0])
    with pytest.raises(ValueError, match="group_ids has 1 rows"):
        prepare_batch([UUIDS[0]], ["t", "t"], [0.0, 0.0])


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5)), min_size=1, max_size=40),
       kind=st.sampled_from(["str", "int tensor", "task-specific str"]))
def test_step_group_labels_follow_first_appearance_of_pairs(rows, kind):
    import torch

    from gigpo.estimators.anchor_groups import exact_step_groups

    groups = [g for g, _ in rows]
    if kind == "str":
        anchors = [f"s{a}" for _, a in rows]  # states shared across tasks: the general path
    elif kind == "int tensor":
        anchors = torch.tensor([50 - a for _, a in rows])  # keys numbered by value, not appearance
    else:
        anchors = [f"task{g} s{a}" for g, a in rows]  # each anchor in one task only: the shortcut
    labels, k = exact_step_groups(torch.tensor(groups), anchors)
    expected, k_expected = dict_path(list(zip(groups, [int(x) for x in anchors] if kind == "int tensor" else anchors)))
    assert labels.tolist() == expected and k == k_expected
