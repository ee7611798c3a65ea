"""``python -m gigpo lab`` end to end with tiny settings: the issue's flag shape, the files it writes, clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gigpo.__main__ import build_parser, main
from gigpo.lab import LabConfig
from gigpo.lab.cli import config_from_args
from tests.support import corridor  # noqa: F401  (registers the corridor env)

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {"estimator", "seed", "iteration", "success_rate", "mean_length", "adv_episode_abs", "adv_step_abs",
            "zero_spread_share"}


def test_the_issue_command_line_parses_into_a_lab_config():
    ns = build_parser().parse_args([
        "lab", "--env", "household", "--env-options", '{"num_receptacles": 6, "num_objects": 4}',
        "--task-pool", "16", "--num-groups", "8", "--group-size", "8", "--prior-success", "0.25",
        "--estimators", "gigpo", "grpo", "--seeds", "0", "1", "2", "--iterations", "100", "--lr", "0.3",
        "--output-dir", "runs/lab"])
    cfg = config_from_args(ns)
    assert cfg == LabConfig(env="household", env_options={"num_receptacles": 6, "num_objects": 4}, task_pool=16,
                            num_groups=8, group_size=8, prior_success=0.25, estimators=["gigpo", "grpo"],
                            seeds=[0, 1, 2], iterations=100, lr=0.3, output_dir="runs/lab")
    assert config_from_args(build_parser().parse_args(["lab", "--lr", "auto", "--prior-success", "none"])).lr == "auto"


def test_every_lab_config_field_is_a_flag():
    help_text = build_parser()._subparsers._group_actions[0].choices["lab"].format_help()
    for name in LabConfig.field_names():
        assert f"--{name.replace('_', '-')}" in help_text, name


def test_cli_end_to_end_writes_lab_jsonl_and_summary(tmp_path, capsys):
    out = tmp_path / "lab"
    code = main(["lab", "--env", "corridor", "--env-options", '{"cells": [0, 2]}', "--task-pool", "2",
                 "--num-groups", "2", "--group-size", "4", "--prior-success", "none", "--estimators", "gigpo", "grpo",
                 "--seeds", "0", "1", "--iterations", "6", "--lr", "0.5", "--output-dir", str(out)])
    assert code == 0
    rows = [json.loads(line) for line in (out / "lab.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 6 and all(ROW_KEYS <= set(r) for r in rows)
    assert [(r["estimator"], r["seed"], r["iteration"]) for r in rows][:7] == \
        [("gigpo", 0, i) for i in range(6)] + [("gigpo", 1, 0)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reference"] == "gigpo" and set(summary["estimators"]) == {"gigpo", "grpo"}
    assert set(summary["estimators"]["grpo"]["iterations_to"]) == {"0.5", "0.8", "0.9"}
    assert set(summary["paired"]) == {"grpo"} and len(summary["paired"]["grpo"]["0.9"]["differences"]) == 2
    assert summary["lr"] == {"gigpo": 0.5, "grpo": 0.5}
    assert LabConfig.from_dict(json.loads((out / "config.json").read_text())).env_options == {"cells": [0, 2]}
    assert "estimator=grpo" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--estimators", "gigpo", "nope"], "unknown estimator 'nope'"),
    (["--prior-success", "1.2"], r"prior_success must be in \(0, 1\)"),
])
def test_cli_bad_settings_exit_2_with_the_reason(args, message, capsys):
    assert main(["lab", "--env", "corridor", "--output-dir", "none", *args]) == 2
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)


def test_cli_rejects_bad_json_and_bad_lr():
    for args in (["--env-options", "{not json"], ["--lr", "fast"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["lab", *args])


def test_python_dash_m_runs_the_lab(tmp_path):
    code = ("import runpy, sys, envs; import tests.support.corridor; "
            "sys.argv = ['gigpo'] + sys.argv[1:]; runpy.run_module('gigpo', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, "lab", "--env", "corridor", "--task-pool", "1",
                           "--num-groups", "1", "--group-size", "2", "--prior-beta", "1.0", "--prior-success", "none",
                           "--estimators", "grpo", "--seeds", "3", "--iterations", "2", "--output-dir",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "lab.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("command", ["train", "lab", "demo", "run-notebook"])
def test_help_of_every_subcommand_prints(command, capsys):
    """argparse %-formats help texts: a field doc with a bare "%" (e.g. "~40% less") once crashed ``train --help``."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def test_every_lab_config_field_is_in_the_docs_table():
    import dataclasses
    from pathlib import Path

    from gigpo.lab import LabConfig

    doc = (Path(__file__).parents[2] / "docs" / "lab.md").read_text()
    missing = [f.name for f in dataclasses.fields(LabConfig) if f"`{f.name}`" not in doc]
    assert not missing, f"docs/lab.md's settings table lacks {missing}"
