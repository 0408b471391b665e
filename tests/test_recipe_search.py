"""benchmarks/archive/recipe_search.py (the finished search, archived): balanced, repeatable label draws; epochs from
a CPU time budget; a summary that pools seeds, estimates CPU time and ranks only what fits the budget (the parts
that decide the recorded recipe); its grids, stored as data, still make valid configurations."""
import importlib.util
import json
import statistics
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "archive" / "recipe_search.py"
spec = importlib.util.spec_from_file_location("recipe_search", SCRIPT)
rs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rs)


def test_label_draws_take_shots_of_every_class_and_repeat_exactly():
    labels = torch.arange(200) % 10
    first, again = rs.label_draws(labels, shots=3, draws=4), rs.label_draws(labels, shots=3, draws=4)
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # same digits for every run and baseline
    assert all(torch.bincount(labels[d], minlength=10).tolist() == [3] * 10 for d in first)
    assert len({tuple(sorted(d.tolist())) for d in first}) == 4  # four different draws


def test_epochs_come_from_the_budget_and_the_measured_seconds_per_epoch(tmp_path):
    cfg = rs.make_config({}, 0, "cpu", 1)
    key = rs.arch_key(cfg.widths, cfg.depth, cfg.batch_size, cfg.channels_last)
    timing_file = tmp_path / "timing.json"
    timing_file.write_text(json.dumps({"runs": [{"key": key, "s_per_epoch": 4.0, "s_per_epoch_median": 5.0}]}))
    timing = rs.load_timing(str(timing_file))
    assert rs.resolve_epochs({"budget_s": 100}, timing) == 25
    assert rs.resolve_epochs({"epochs": 7}, timing) == 7
    with pytest.raises(SystemExit, match="no CPU timing"):
        rs.resolve_epochs({"budget_s": 100, "widths": [3, 5, 7]}, timing)
    assert rs.make_config({"views": {"noise_std": 0.0}}, 3, "cpu", 2).views.noise_std == 0.0


def fake_run(name, seed, epochs, knn, cfg):
    probe = {"mean": knn - 0.2, "sd": 0.01, "values": [knn - 0.2]}
    return {"name": name, "seed": seed, "epochs": epochs, "kind": "ssl", "ok": True, "knn": knn, "probe_1": probe,
            "probe_10": probe, "probe_all": knn, "history": [], "config": cfg.to_dict() | {"seed": seed}}


def test_summary_pools_seeds_and_ranks_only_what_fits_the_budget(tmp_path):
    slow, fast = rs.make_config({}, 0, "cpu", 100), rs.make_config({}, 0, "cpu", 40)
    key = rs.arch_key(fast.widths, fast.depth, fast.batch_size, fast.channels_last)
    (tmp_path / "timing.json").write_text(json.dumps({"runs": [{"key": key, "s_per_epoch": 4.0, "s_per_epoch_median": 5.0}]}))
    knns = {"fast": [0.95, 0.96, 0.94], "slow": [0.99, 0.98, 0.99]}
    runs = [fake_run(n, s, c.epochs, knns[n][s], c) for n, c in (("fast", fast), ("slow", slow)) for s in range(3)]
    runs.append({"name": "broken", "seed": 0, "ok": False, "error": "ValueError: boom"})
    pixels = {"knn": 0.9, "probe_1": {"mean": 0.4}, "probe_10": {"mean": 0.7}, "probe_all": 0.89}
    (tmp_path / "search.json").write_text(json.dumps({"runs": runs, "pixels": pixels, "label_draws": 1}))
    out = tmp_path / "summary.json"
    rs.main(["summarize", str(tmp_path / "search.json"), "--cpu-timing", str(tmp_path / "timing.json"),
             "--budget-s", "300", "--show", "0", "--out", str(out)])
    record = json.loads(out.read_text())
    by_name = {c["name"]: c for c in record["configs"]}
    assert [c["name"] for c in record["configs"]] == ["slow", "fast"]  # ranked by kNN, best first
    assert by_name["fast"]["knn"]["mean"] == pytest.approx(0.95) and by_name["fast"]["knn"]["n"] == 3
    assert by_name["fast"]["knn"]["sd"] == pytest.approx(statistics.stdev(knns["fast"]), abs=1e-5)
    assert by_name["fast"]["est_cpu_train_s"] == 200 and by_name["slow"]["est_cpu_train_s"] == 500  # median s/epoch
    assert by_name["slow"]["meets"]["time"] is False and by_name["fast"]["meets"]["time"] is True
    assert record["best_within_budget"]["name"] == "fast"  # the better one does not fit in 300 s
    assert [r["name"] for r in record["ranking_within_budget"]] == ["fast"]


def test_the_grids_are_data_and_every_candidate_makes_a_valid_config():
    assert {name: len(c) for name, c in rs.GRIDS.items()} == {"round1": 62, "round2": 23, "round3": 5, "smoke": 2}
    for grid in rs.GRIDS.values():
        for name, overrides in grid:
            cfg = rs.make_config(overrides, 0, "cpu", overrides.get("epochs", 1))  # TrainConfig validates every field
            assert cfg.amp is False and cfg.cpu_amp is False, name                   # the search ran in float32
    d_t07 = dict(rs.GRIDS["round2"])["D_t0.7"]
    cfg = rs.make_config(d_t07, 0, "cpu", 60)  # round 2's winner: the cpu preset's recipe
    assert (cfg.temperature, cfg.weight_decay, cfg.views.crop_scale, cfg.views.erase_prob) == (0.7, 0.1, (0.5, 1.3), 0.0)
