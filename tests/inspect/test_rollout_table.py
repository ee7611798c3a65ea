"""The rollout table: round trips through JSONL and Parquet, and the loader's errors name the problem."""
import json

import numpy as np
import pytest

from gigpo.run_files.rollout_table import RolloutTable, RolloutTableError, read_rollout_table, write_rollout_table


def rows():
    return [
        {"group_id": 0, "traj_id": 0, "step": 0, "anchor": "s0", "observation": "o", "action": "a", "reward": 0.0},
        {"group_id": 0, "traj_id": 1, "step": 0, "anchor": "s0", "observation": "o", "action": "b", "reward": 0.0},
        {"group_id": 0, "traj_id": 0, "step": 1, "anchor": "s1", "observation": "p", "action": "a", "reward": 1.0},
        {"group_id": 1, "traj_id": 2, "step": 0, "anchor": "s0", "observation": "o", "action": "c", "reward": 0.5},
    ]


def write_jsonl(path, table_rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in table_rows))
    return path


def test_jsonl_round_trip_keeps_every_value(tmp_path):
    src = [dict(r, done=i == 2, info={"k": i} if i else None) for i, r in enumerate(rows())]
    table = RolloutTable.from_rows(src)
    back = read_rollout_table(write_rollout_table(table, tmp_path / "t.jsonl"))
    assert list(back.rows()) == src
    assert back.step.dtype == np.int64 and back.reward.dtype == np.float64 and back.done.tolist() == [0, 0, 1, 0]


def test_parquet_round_trip_keeps_every_value(tmp_path):
    pytest.importorskip("pyarrow")
    src = [dict(r, done=False, info={"valid": True, "n": i}) for i, r in enumerate(rows())]
    back = read_rollout_table(write_rollout_table(RolloutTable.from_rows(src), tmp_path / "t.parquet"))
    assert list(back.rows()) == src


def test_numpy_ids_become_python_ints():
    cols = {k: [r[k] for r in rows()] for k in rows()[0]}
    cols["traj_id"] = np.asarray(cols["traj_id"], dtype=np.int32)
    table = RolloutTable.from_columns(cols)
    assert [type(x) for x in table.traj_id] == [int] * 4 and table.traj_id == [0, 1, 0, 2]


@pytest.mark.parametrize("change, message", [
    (lambda rs: [{k: v for k, v in r.items() if k != "anchor"} for r in rs], r"missing column\(s\) \['anchor'\]"),
    (lambda rs: [dict(r, step=0) if i == 2 else r for i, r in enumerate(rs)],
     r"steps out of order within trajectory 0: step 0 at line 1, then step 0 at line 3"),
    (lambda rs: rs[2:3] + rs[:2] + rs[3:], r"steps out of order within trajectory 0: step 1 at line 1, then step 0 "),
    (lambda rs: [dict(r, group_id=1) if i == 2 else r for i, r in enumerate(rs)],
     r"trajectory 0 is split across groups: group_id 0 at line 1, 1 at line 3"),
    (lambda rs: [dict(r, traj_id="t1") if i == 1 else r for i, r in enumerate(rs)],
     r"column 'traj_id' mixes id types: int at line 1, str at line 2"),
    (lambda rs: [dict(r, group_id=1.0) if i == 3 else r for i, r in enumerate(rs)],
     r"column 'group_id' at line 4 is 1.0 \(float\); ids must be ints or strings"),
    (lambda rs: [dict(r, reward=float("nan")) if i == 0 else r for i, r in enumerate(rs)],
     r"column 'reward' at line 1 is nan"),
    (lambda rs: [dict(r, trajectory=0) for r in rs], r"unknown column\(s\) \['trajectory'\]"),
    (lambda rs: [dict(r, observation=None) if i == 1 else r for i, r in enumerate(rs)],
     r"column 'observation' at line 2 is NoneType"),
    (lambda rs: [dict(r, done=True) if i == 0 else r for i, r in enumerate(rs)],
     r"line 2 has different columns from the first row \(missing \['done'\]"),
])
def test_loader_names_the_problem(tmp_path, change, message):
    path = write_jsonl(tmp_path / "bad.jsonl", change(rows()))
    with pytest.raises(RolloutTableError, match=message):
        read_rollout_table(path)


def test_line_numbers_skip_blank_lines_and_bad_json_is_named(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(rows()[0]) + "\n\n" + "{not json\n")
    with pytest.raises(RolloutTableError, match="line 3 is not JSON"):
        read_rollout_table(path)
    path.write_text(json.dumps(rows()[0]) + "\n\n" + json.dumps(dict(rows()[1], traj_id="x")) + "\n")
    with pytest.raises(RolloutTableError, match="int at line 1, str at line 3"):
        read_rollout_table(path)


@pytest.mark.parametrize("name", ["batch.pkl", "batch.pt", "batch.npz", "batch"])
def test_other_file_kinds_are_refused_never_unpickled(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle of 1
    with pytest.raises(RolloutTableError, match="unsupported file kind .*nothing pickled is ever loaded"):
        read_rollout_table(path)


def test_an_empty_file_and_a_missing_file_are_errors(tmp_path):
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(RolloutTableError, match="no rows"):
        read_rollout_table(tmp_path / "e.jsonl")
    with pytest.raises(RolloutTableError, match="no such file"):
        read_rollout_table(tmp_path / "missing.jsonl")


def test_write_leaves_no_partial_file_on_error(tmp_path):
    table = RolloutTable.from_rows(rows())
    bad = RolloutTable(**{**table.__dict__, "info": [{"x": float("nan")}] * 4})  # not strict JSON
    with pytest.raises(ValueError):
        write_rollout_table(bad, tmp_path / "t.jsonl")
    assert list(tmp_path.iterdir()) == []
