"""Tests for clhelpers.sweeps: runs over settings and seeds, and their JSON records."""
import json
from dataclasses import replace

import pytest

from clhelpers.config import preset
from clhelpers.records import new_record, save_record
from clhelpers.sweeps import epochs_for_steps, load_sweeps, run_sweep, summarize_runs


def tiny_config():
    return replace(preset("cpu-sweep"), source="offline", epochs=1, train_size=256, batch_size=128,
                   widths=(4, 8, 8), proj_dim=8, hidden_dim=16, test_size=200)


@pytest.mark.slow
def test_run_sweep_runs_each_setting_and_seed_once():
    runs = run_sweep(tiny_config(), temperatures=[0.1, 1.0], batch_sizes=[64], seeds=[0, 1], progress=False)
    assert [(r["sweep"], r["temperature"], r["batch_size"], r["seed"]) for r in runs] == [
        ("temperature", 0.1, 128, 0), ("temperature", 0.1, 128, 1), ("temperature", 1.0, 128, 0),
        ("temperature", 1.0, 128, 1), ("batch_size", 0.2, 64, 0), ("batch_size", 0.2, 64, 1)]
    for r in runs:
        assert 0.0 <= r["knn_acc"] <= 1.0 and r["epochs"] == 1 and len(r["history"]) == 1 and r["train_s"] > 0
    assert runs[-1]["steps"] == 256 // 64 and runs[0]["steps"] == 256 // 128
    json.dumps(runs)  # JSON-friendly
    assert runs[0]["final_loss"] != runs[2]["final_loss"]  # the temperature really reached the loss
    assert runs[0]["final_loss"] != runs[1]["final_loss"]  # and the seed really changed the run


def test_run_sweep_bad_input():
    with pytest.raises(ValueError, match="nothing to sweep"):
        run_sweep(tiny_config())
    with pytest.raises(ValueError, match="TrainConfig"):
        run_sweep({"epochs": 1}, temperatures=[0.1])
    with pytest.raises(ValueError, match="temperature"):
        run_sweep(tiny_config(), temperatures=[-0.1])
    with pytest.raises(ValueError, match="seed"):
        run_sweep(tiny_config(), temperatures=[0.1], seeds=[])


def test_save_and_load_records(tmp_path):
    runs = [{"sweep": "temperature", "temperature": 0.1, "knn_acc": 0.5, "seed": 1}]
    path = save_record(tmp_path / "sweep-test.json", new_record(runs, None, "python -m clhelpers sweep", device="cpu"))
    assert [p.name for p in tmp_path.iterdir()] == ["sweep-test.json"]  # the atomic write left no temporary file
    (record,) = load_sweeps(tmp_path)
    assert record["file"] == path.name and record["runs"] == runs and record["seeds"] == [1]
    assert record["machine"]["cpu_count"] >= 1 and "created" in record and "git_commit" in record
    assert load_sweeps(tmp_path / "missing") == []
    (tmp_path / "sweep-bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="sweep-bad.json"):
        load_sweeps(tmp_path)
    (tmp_path / "sweep-bad.json").write_text('{"machine": {}}')
    with pytest.raises(ValueError, match="sweep-bad.json is not a sweep record"):
        load_sweeps(tmp_path)


@pytest.mark.slow
def test_fixed_steps_batch_sweep_holds_the_number_of_steps():
    base = tiny_config()  # 256 training images: 4 steps per epoch at batch 64, 2 at batch 128
    runs = run_sweep(base, batch_sizes=[64, 128], seeds=[0], progress=False, fixed_steps=8)
    assert {r["batch_size"]: (r["epochs"], r["steps"]) for r in runs} == {64: (2, 8), 128: (4, 8)}
    assert epochs_for_steps(replace(base, batch_size=64), 9) == 2 and epochs_for_steps(base, 1) == 1  # nearest, >= 1
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        run_sweep(base, batch_sizes=[64], fixed_steps=0)


def test_summarize_runs_mean_and_sample_sd_per_setting():
    runs = [{"sweep": "temperature", "temperature": t, "seed": s, "knn_acc": acc}
            for t, accs in ((0.1, (0.90, 0.91, 0.92)), (1.0, (0.80, 0.80, 0.86))) for s, acc in enumerate(accs)]
    runs.append({"sweep": "batch_size", "temperature": 0.1, "seed": 0, "knn_acc": 0.5})
    summary = summarize_runs(runs, by="temperature", sweep="temperature")
    assert list(summary) == [0.1, 1.0]
    assert summary[0.1]["mean"] == pytest.approx(0.91) and summary[0.1]["sd"] == pytest.approx(0.01)
    assert summary[1.0] == {"mean": pytest.approx(0.82), "sd": pytest.approx(0.034641, abs=1e-6), "n": 3}
    assert summarize_runs(runs, by="temperature")[0.1]["n"] == 4  # without sweep=, the batch-size run counts too
    assert summarize_runs(runs[:1], by="temperature")[0.1]["sd"] == 0.0
    with pytest.raises(ValueError, match="no 'kind'"):
        summarize_runs(runs, by="kind")
    with pytest.raises(ValueError, match="no runs with sweep = 'batch'"):
        summarize_runs(runs, by="temperature", sweep="batch")
