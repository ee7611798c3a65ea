"""Experiment tracking (``report_to``): the trackers hold what ``metrics.jsonl`` / ``lab.jsonl`` hold, read back
with each backend's own reader (TensorBoard's event accumulator, the MLflow client, W&B's record protobuf from its
offline run files); a resumed run continues the same
tracker run without a duplicated step; nothing is imported when no tracker is asked for; a missing backend names
its extra."""
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gigpo.__main__ import build_parser, config_from_args
from gigpo.lab.cli import config_from_args as lab_config_from_args
from gigpo.lab.config import LabConfig
from gigpo.run_files.metrics import read_metrics, without_measurements
from gigpo.tracking import check_report_to, flat_params, scalar_metrics
from gigpo.tracking.rows import lab_step_metrics
from gigpo.training.checkpoints.checkpoint import list_checkpoints
from gigpo.training.config import TrainConfig
from gigpo.training.trainer import train
from tests.support.tiny_training import TINY

ROOT = Path(__file__).resolve().parents[2]


# --- readers: each backend's own API ----------------------------------------------------------------------------------
def tensorboard_accumulator(run_dir: Path):
    """What the TensorBoard server reads (its plugin event accumulator, which applies the purge of restarted steps)."""
    from tensorboard.backend.event_processing.plugin_event_accumulator import TENSORS, EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={TENSORS: 0})
    acc.Reload()
    return acc


def tensorboard_values(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of the scalars TensorBoard shows."""
    from tensorboard.util import tensor_util

    acc = tensorboard_accumulator(run_dir)
    return {tag: [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in acc.Tensors(tag)]
            for tag in acc.PluginTagToContent("scalars")}


def tensorboard_extras(run_dir: Path) -> tuple[dict, list[str]]:
    """(the config text as JSON, the image tags)."""
    from tensorboard.util import tensor_util

    acc = tensorboard_accumulator(run_dir)
    text = tensor_util.make_ndarray(acc.Tensors("config/text_summary")[-1].tensor_proto).item().decode()
    return json.loads(text), sorted(acc.PluginTagToContent("images"))


def mlflow_run(run_dir: Path):
    from mlflow import MlflowClient

    state = json.loads((run_dir / "tracking.json").read_text())["mlflow"]
    return MlflowClient(state["tracking_uri"]), state["run_id"]


def mlflow_values(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    client, run_id = mlflow_run(run_dir)
    keys = client.get_run(run_id).data.metrics
    return {k: sorted((m.step, m.value) for m in client.get_metric_history(run_id, k)) for k in keys}


def wandb_values(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """key -> [(step, value)] of the history records in the offline run files (every try of the run id that
    ``tracking.json`` holds), read with W&B's own record protobuf from the LevelDB-style log of ``run-<id>.wandb``."""
    from wandb.proto import wandb_internal_pb2

    run_id = json.loads((run_dir / "tracking.json").read_text())["wandb"]["run_id"]
    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(run_dir.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb")):
        for record in leveldb_records(path.read_bytes()):
            entry = wandb_internal_pb2.Record()
            entry.ParseFromString(record)
            if entry.WhichOneof("record_type") == "history":
                for item in entry.history.item:
                    key = item.key or "/".join(item.nested_key)
                    if not key.startswith("_"):  # W&B's own _step, _runtime, _timestamp
                        out.setdefault(key, []).append((entry.history.step.num, float(json.loads(item.value_json))))
    return {k: sorted(v) for k, v in out.items()}


def leveldb_records(data: bytes, block: int = 32768) -> list[bytes]:
    """The records of a LevelDB log (W&B's format after its 7-byte header): 32 KiB blocks, each chunk a 7-byte
    header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last) and its bytes; a block's tail under 7 bytes is
    padding."""
    pos, records, pending = 7, [], b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        if kind == 0:  # zero fill to the block's end
            pos += left
            continue
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            records.append(pending)
            pending = b""
    return records


def expected(rows) -> dict[str, list[tuple[int, float]]]:
    """The file's values by the tracker's names, worked out from the rows without the package's flattening."""
    out: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            items = [(f"{key}/{i}", v) for i, v in enumerate(value)] if isinstance(value, list) else [(key, value)]
            for name, v in items:
                if isinstance(v, (int, float)) and v is not None and math.isfinite(v):
                    out.setdefault(name, []).append((row["iteration"], float(v)))
    return out


def no_duplicated_steps(values: dict[str, list[tuple[int, float]]]) -> None:
    for key, points in values.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), f"{key}: steps {steps}"


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")


# --- pure parts ------------------------------------------------------------------------------------------------------
def test_scalar_metrics_flattens_and_drops_what_is_not_a_finite_number():
    row = {"iteration": 3, "a": 0.5, "ok": True, "name": "gigpo", "gone": None, "nan": float("nan"),
           "per_rank": [2, 3], "nested": {"x": 1.5, "y": [4]}}
    assert scalar_metrics(row) == {"iteration": 3.0, "a": 0.5, "ok": 1.0, "per_rank/0": 2.0, "per_rank/1": 3.0,
                                   "nested/x": 1.5, "nested/y/0": 4.0}
    assert scalar_metrics(row, skip=("iteration", "nested", "per_rank", "ok"), suffix="/g/seed0") == {"a/g/seed0": 0.5}
    assert flat_params({"a": None, "b": [1, 2], "c": {"k": 1}, "d": "x", "e": 2.5}) == {
        "a": "None", "b": "[1, 2]", "c": '{"k": 1}', "d": "x", "e": 2.5}


def test_lab_rows_merge_per_iteration():
    rows = [{"estimator": "gigpo", "seed": 0, "iteration": 0, "success_rate": 0.25, "auc": None},
            {"estimator": "grpo", "seed": 0, "iteration": 0, "success_rate": 0.5, "auc": 0.7},
            {"estimator": "gigpo", "seed": 0, "iteration": 1, "success_rate": 0.75, "auc": 0.6}]
    assert lab_step_metrics(rows) == [
        (0, {"success_rate/gigpo/seed0": 0.25, "success_rate/grpo/seed0": 0.5, "auc/grpo/seed0": 0.7}),
        (1, {"success_rate/gigpo/seed0": 0.75, "auc/gigpo/seed0": 0.6})]


def test_report_to_errors_name_the_problem(monkeypatch):
    assert check_report_to([]) == [] and check_report_to(["none"]) == []
    with pytest.raises(ValueError, match="unknown tracker.*'tensorbord'"):
        TrainConfig(report_to=["tensorbord"])
    with pytest.raises(ValueError, match="list of tracker names"):
        TrainConfig(report_to="tensorboard")
    with pytest.raises(ValueError, match="'none' cannot be combined"):
        LabConfig(report_to=["none", "mlflow"])
    with pytest.raises(ValueError, match="twice"):
        TrainConfig(report_to=["mlflow", "mlflow"])
    with pytest.raises(ValueError, match="needs an output_dir"):
        LabConfig(report_to=["tensorboard"], output_dir=None)
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ValueError, match=r"needs the wandb package.*pip install 'gigpo\[wandb\]'"):
        TrainConfig(report_to=["wandb"])


def test_no_tracker_asked_for_imports_and_writes_nothing(tmp_path):
    code = f"""
import sys
from gigpo.training.config import TrainConfig
from gigpo.lab.config import LabConfig
import gigpo.training.trainer, gigpo.lab.loop
from gigpo.tracking import open_tracking
TrainConfig(); LabConfig(); TrainConfig(report_to=["none"])
session = open_tracking([], {str(tmp_path)!r}, project="p", run_name=None, config={{}})
session.log_row({{"iteration": 0, "x": 1.0}}); session.finish()
loaded = [m for m in ("tensorboard", "torch.utils.tensorboard", "mlflow", "trackio", "wandb") if m in sys.modules]
print(loaded)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert list(tmp_path.iterdir()) == []


def test_cli_flags_reach_the_configs():
    ns = build_parser().parse_args(["train", "--report-to", "tensorboard", "mlflow", "--run-name", "r1",
                                    "--project", "proj"])
    cfg = config_from_args(ns)
    assert (cfg.report_to, cfg.run_name, cfg.project) == (["tensorboard", "mlflow"], "r1", "proj")
    assert config_from_args(build_parser().parse_args(["train"])).report_to == []
    # a config's empty list written back as flags (`--report-to` with no value) parses to the same empty list
    assert config_from_args(build_parser().parse_args(["train", "--report-to"])).report_to == []
    lab = lab_config_from_args(build_parser().parse_args(["lab", "--report-to", "none"]))
    assert lab.report_to == ["none"] and lab.project == "gigpo-lab"


# --- training: 2 iterations, then an extension and a resume after a lost checkpoint ----------------------------------
def test_training_in_tensorboard_mlflow_and_wandb_equals_metrics_jsonl_and_resumes_once(tmp_path, offline):
    out = tmp_path / "run"
    cfg = TrainConfig(**TINY, iterations=2, checkpoint_every=1, keep_checkpoints=5, output_dir=str(out),
                      report_to=["tensorboard", "mlflow", "wandb"])
    train(cfg)
    rows = read_metrics(out)
    assert [r["iteration"] for r in rows] == [0, 1]
    want = expected(rows)
    assert "params_per_rank/0" in want and "success_rate" in want  # a list key and a plain one
    assert tensorboard_values(out) == want
    assert mlflow_values(out) == want
    assert wandb_values(out) == want
    # the config as the run's parameters, the curves as artifacts
    client, run_id = mlflow_run(out)
    run = client.get_run(run_id)
    assert run.data.params == {k: str(v) for k, v in flat_params(cfg.to_dict()).items()}
    assert run.info.run_name == "run" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "gigpo"
    assert [a.path for a in client.list_artifacts(run_id)] == ["learning_curves.png"]
    config_text, images = tensorboard_extras(out)
    assert config_text == json.loads(cfg.to_json()) and images == ["learning_curves"]

    # extend to 3 iterations: the same tracker runs continue at step 2
    train(cfg.replace(iterations=3), resume=True)
    rows = read_metrics(out)
    assert [r["iteration"] for r in rows] == [0, 1, 2]
    assert tensorboard_values(out) == expected(rows)
    assert mlflow_values(out) == expected(rows)
    assert wandb_values(out) == expected(rows)  # two offline files of one run id
    assert mlflow_run(out)[1] == run_id

    # a try that logged iteration 2 but lost its checkpoint (a crash between the two): resume from checkpoint 2
    shutil.rmtree(list_checkpoints(out)[-1])
    train(cfg.replace(iterations=3), resume=True)
    rows = read_metrics(out)
    assert [r["iteration"] for r in rows] == [0, 1, 2]
    tb = tensorboard_values(out)
    assert tb == expected(rows)  # TensorBoard purges the earlier step 2: every value is the new try's
    ml = mlflow_values(out)
    no_duplicated_steps(ml)  # MLflow keeps the step it holds: the measured keys (times, memory) are the first try's
    assert ml.keys() == expected(rows).keys()
    assert {k: v for k, v in ml.items() if k in expected(without_measurements(rows))} == \
        expected(without_measurements(rows))
    wb = wandb_values(out)  # W&B continues after the last step tracking.json records: the same as MLflow
    no_duplicated_steps(wb)
    assert {k: v for k, v in wb.items() if k in expected(without_measurements(rows))} == \
        expected(without_measurements(rows))
    assert mlflow_run(out)[1] == run_id


# --- the credit lab --------------------------------------------------------------------------------------------------
def test_lab_in_tensorboard_mlflow_and_wandb_equals_lab_jsonl(tmp_path, offline):
    from gigpo.lab.loop import read_lab, run_lab

    out = tmp_path / "lab"
    cfg = LabConfig(env="sokoban", task_pool=4, num_groups=2, group_size=4, prior_success=None, iterations=3,
                    seeds=[0, 1], output_dir=str(out), report_to=["tensorboard", "mlflow", "wandb"], run_name="lab-a")
    run_lab(cfg)
    rows, _ = read_lab(out)
    want: dict[str, list[tuple[int, float]]] = {}
    for row in rows:  # by hand: every number of a row under <key>/<estimator>/seed<seed>
        for key, value in row.items():
            if key not in ("estimator", "seed", "iteration") and value is not None:
                want.setdefault(f"{key}/{row['estimator']}/seed{row['seed']}", []).append(
                    (row["iteration"], float(value)))
    want = {k: sorted(v) for k, v in want.items()}
    assert len(want) > 10 and "success_rate/grpo/seed1" in want
    assert {k: sorted(v) for k, v in tensorboard_values(out).items()} == want
    assert mlflow_values(out) == want
    assert wandb_values(out) == want
    client, run_id = mlflow_run(out)
    run = client.get_run(run_id)
    assert run.info.run_name == "lab-a" and run.data.params["estimators"] == '["gigpo", "grpo"]'
    assert [a.path for a in client.list_artifacts(run_id)] == ["lab_curves.png"]
    # a second lab in the same folder replaces the first in TensorBoard (purge) and is a new MLflow run
    run_lab(cfg)
    assert {k: sorted(v) for k, v in tensorboard_values(out).items()} == want
    assert mlflow_run(out)[1] != run_id


# --- trackio (in the dev extra) ---------------------------------------------------------------------------------
def trackio_values(project: str, run: str) -> dict[str, list[tuple[int, float]]]:
    """key -> [(step, value)] as Trackio's local store returns them."""
    from trackio.sqlite_storage import SQLiteStorage

    out: dict[str, list[tuple[int, float]]] = {}
    for log in SQLiteStorage.get_logs(project, run):
        for key, value in log.items():
            if key not in ("step", "timestamp"):
                out.setdefault(key, []).append((log["step"], float(value)))
    return {k: sorted(v) for k, v in out.items()}


def trackio_runs(project: str) -> list[str]:
    from trackio.sqlite_storage import SQLiteStorage

    return SQLiteStorage.get_runs(project)


def test_trackio_training_and_lab_equal_their_jsonl_and_a_resume_continues_the_run(tmp_path, offline):
    import importlib.util

    if importlib.util.find_spec("trackio") is None:  # not imported here: TRACKIO_DIR is read at its import
        pytest.skip("trackio is not installed (the trackio extra; dev includes it)")
    import trackio.utils

    # tests/conftest.py points TRACKIO_DIR at a fresh folder before trackio's first import (it reads it once)
    assert Path(trackio.utils.TRACKIO_DIR) == Path(os.environ["TRACKIO_DIR"])
    assert not trackio_runs("gigpo-test"), "the project is new in this test process's trackio folder"
    out = tmp_path / "run"
    cfg = TrainConfig(**TINY, iterations=2, checkpoint_every=1, output_dir=str(out), report_to=["trackio"],
                      run_name="tiny", project="gigpo-test")
    train(cfg)
    assert trackio_values("gigpo-test", "tiny") == expected(read_metrics(out))
    train(cfg.replace(iterations=3), resume=True)
    rows = read_metrics(out)
    assert [r["iteration"] for r in rows] == [0, 1, 2]
    assert trackio_values("gigpo-test", "tiny") == expected(rows)  # the same run, step 2 once
    assert trackio_runs("gigpo-test") == ["tiny"]

    from gigpo.lab.loop import read_lab, run_lab

    lab = LabConfig(env="sokoban", task_pool=4, num_groups=2, group_size=4, prior_success=None, iterations=2,
                    seeds=[0], output_dir=str(tmp_path / "lab"), report_to=["trackio"])
    run_lab(lab)
    want = dict(lab_step_metrics(read_lab(tmp_path / "lab")[0]))
    got = trackio_values("gigpo-lab", "lab")
    assert {k: v for k, v in got.items()} == {k: [(s, want[s][k]) for s in sorted(want) if k in want[s]]
                                              for k in set().union(*want.values())}
