"""Reading metrics.jsonl back and summarizing runs across seeds."""
import csv
import json
import statistics

import pytest

from gigpo.notebook.metrics_io import (
    final_value,
    metrics_path,
    numeric_keys,
    read_metrics,
    series,
    summarize_runs,
    to_markdown,
    write_csv,
)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))


def test_read_metrics_from_a_run_directory_skips_a_half_written_last_line(tmp_path):
    assert read_metrics(tmp_path) == []  # no file yet: a live reader just waits
    write_lines(tmp_path / "metrics.jsonl", [json.dumps({"iteration": 0, "success_rate": 0.5}),
                                             json.dumps({"iteration": 1, "success_rate": 1.0}), '{"iteration": 2, "su'])
    assert read_metrics(tmp_path) == [{"iteration": 0, "success_rate": 0.5}, {"iteration": 1, "success_rate": 1.0}]
    assert read_metrics(tmp_path / "metrics.jsonl") == read_metrics(tmp_path)
    assert metrics_path(tmp_path / "run") == tmp_path / "run" / "metrics.jsonl"


def test_a_broken_line_in_the_middle_is_an_error(tmp_path):
    write_lines(tmp_path / "metrics.jsonl", ['{"iteration": 0}', "not json", '{"iteration": 2}'])
    with pytest.raises(ValueError, match="line 2"):
        read_metrics(tmp_path)


def test_series_final_value_and_numeric_keys():
    records = [{"iteration": 0, "a": 1.0, "name": "x"}, {"iteration": 1, "a": 3}, {"iteration": 2, "b": True},
               {"iteration": 3, "a": float("nan")}, {"iteration": 4, "a": 5.0}]
    assert series(records, "a") == [1.0, 3.0, 5.0]
    assert final_value(records, "a") == 5.0 and final_value(records, "a", last=2) == 4.0
    assert final_value(records, "missing") is None
    assert numeric_keys(records) == ["iteration", "a"]  # strings, bools and NaN are not metrics
    with pytest.raises(ValueError):
        final_value(records, "a", last=0)


def test_summarize_runs_mean_and_std_over_seeds():
    runs = {"gigpo": [[{"s": 0.0}, {"s": 0.6}], [{"s": 0.2}, {"s": 1.0}], [{"s": 0.8}]],
            "grpo": [[{"s": 0.4}]]}
    rows = summarize_runs(runs, ["s"])
    assert rows[0]["run"] == "gigpo" and rows[0]["seeds"] == 3
    assert rows[0]["s mean"] == pytest.approx(statistics.mean([0.6, 1.0, 0.8]))
    assert rows[0]["s std"] == pytest.approx(statistics.stdev([0.6, 1.0, 0.8]))
    assert rows[1] == {"run": "grpo", "seeds": 1, "s mean": 0.4, "s std": None}
    assert summarize_runs(runs, ["s"], last=2)[0]["s mean"] == pytest.approx(statistics.mean([0.3, 0.6, 0.8]))


def test_markdown_and_csv_tables(tmp_path):
    rows = [{"run": "gigpo", "seeds": 2, "s mean": 0.123456, "s std": None}]
    assert to_markdown(rows) == "| run | seeds | s mean | s std |\n|---|---|---|---|\n| gigpo | 2 | 0.1235 |  |\n"
    path = write_csv(rows, tmp_path / "out" / "results.csv")
    assert list(csv.DictReader(path.open())) == [{"run": "gigpo", "seeds": "2", "s mean": "0.123456", "s std": ""}]
    with pytest.raises(ValueError):
        to_markdown([])
