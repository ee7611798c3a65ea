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
