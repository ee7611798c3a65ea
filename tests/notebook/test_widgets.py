"""The explorers only wire controls to figures: changing a control must change what is shown."""
import json
import sys
from pathlib import Path

import pytest
import torch

from gigpo.notebook.scripted_rollouts import collect_group, records_details
from gigpo.notebook.widgets import AdvantageExplorer, LiveCurves, RolloutExplorer


@pytest.fixture(scope="module")
def household():
    return collect_group("household", 0, group_size=4, epsilon=0.3, seed=0, env_options={"max_steps": 8})


def test_rollout_explorer_follows_the_step_slider(household):
    explorer = RolloutExplorer(household, step=0, name="demo")
    assert explorer.step.description == "step" and "gigpo-step-slider" in explorer.step._dom_classes
    assert "gigpo-rollout-explorer-demo" in explorer.widget._dom_classes
    explorer.step.value = 3
    assert "step t = 3" in explorer.status.value
    assert "step t = 3" in explorer.figure.layout.title.text
    assert "step t = 3" in explorer.table.value
    outlined = [w for w in explorer.figure.data if w.name == "step groups"][0].marker.line.width
    groups_at_3 = {g for r, g in zip(household, explorer.labels()) if r.step == 3}
    assert sum(1 for w in outlined if w == 3) == len(groups_at_3)


def test_rollout_explorer_anchor_and_similarity(household):
    explorer = RolloutExplorer(household)
    assert explorer.similarity.disabled
    state_labels = explorer.labels()
    explorer.anchor.value = "observation"
    assert not explorer.similarity.disabled
    assert explorer.labels() == records_details(household, anchor="observation").step_group.tolist()
    explorer.similarity.value = 0.5
    assert "similarity >= 0.50" in explorer.status.value
    assert len(set(explorer.labels())) <= len(set(records_details(household, anchor="observation").step_group.tolist()))
    assert state_labels == records_details(household).step_group.tolist()


def test_advantage_explorer_recomputes_with_the_controls(household):
    explorer = AdvantageExplorer(household)
    assert [c.description for c in (explorer.gamma, explorer.step_weight, explorer.norm, explorer.similarity)] == \
        ["gamma", "step_weight", "norm", "similarity"]
    assert "gigpo-gamma" in explorer.gamma._dom_classes and "gigpo-step-weight" in explorer.step_weight._dom_classes
    explorer.gamma.value = 0.5
    explorer.step_weight.value = 0.0
    title = explorer.figures["heatmaps"].layout.title.text
    assert "gamma=0.5" in title and "step_weight=0.0" in title
    assert "gamma = 0.5, step_weight = 0.0" in explorer.status.value
    expected = records_details(household, gamma=0.5, step_weight=0.0)
    torch.testing.assert_close(explorer.details.advantage, expected.advantage)
    torch.testing.assert_close(explorer.details.advantage, expected.episode_adv)  # w = 0 is GRPO
    explorer.norm.value = "none"
    torch.testing.assert_close(explorer.details.advantage,
                               records_details(household, gamma=0.5, step_weight=0.0, norm="none").advantage)


def test_live_curves_follow_a_training_process_and_report_its_failure(tmp_path):
    writer = ("import json, sys, time\n"
              "for i in range(3):\n"
              "    open(sys.argv[1], 'a').write(json.dumps({'iteration': i, 'success_rate': i / 2}) + '\\n')\n"
              "    time.sleep(0.05)\n")
    live = LiveCurves(tmp_path, ["success_rate"], poll_seconds=0.01)
    records = live.follow_process([sys.executable, "-c", writer, str(tmp_path / "metrics.jsonl")])
    assert [r["iteration"] for r in records] == [0, 1, 2] and "iteration 2 done" in live.status.value
    assert list(live.figure.data[0].y) == [0.0, 0.5, 1.0]
    assert (tmp_path / "train.log").exists()

    failing = LiveCurves(tmp_path / "other", ["success_rate"], poll_seconds=0.01)
    with pytest.raises(RuntimeError, match="exit code 3|code 3") as info:
        failing.follow_process([sys.executable, "-c", "import sys; print('out of memory'); sys.exit(3)"])
    assert "out of memory" in str(info.value) and "run failed" in failing.status.value


def test_training_command_writes_the_request_and_imports_setup_modules(tmp_path):
    from gigpo.training.config import TrainConfig
    from gigpo.training.train_process import training_command

    config = TrainConfig(output_dir=str(tmp_path / "run"), iterations=3, estimator="grpo")
    command = training_command(config, setup_modules=["my_envs"])
    assert command[:3] == [sys.executable, "-m", "gigpo.training.train_process"]
    assert command[-2:] == ["--import", "my_envs"]
    assert TrainConfig.from_dict(json.loads(Path(command[3]).read_text())) == config
