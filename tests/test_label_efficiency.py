"""benchmarks/label_efficiency.py: its label draws are few_label_probe's (metrics.label_draws), its supervised budget
is the SimCLR run's in optimizer steps, its summary pools seeds x draws, and a tiny end-to-end run writes a usable
record in the one schema."""
import importlib.util
import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from clhelpers.config import preset
from clhelpers.metrics import few_label_probe, linear_probe_accuracy
from clhelpers.records import REQUIRED, SCHEMA

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "label_efficiency.py"
spec = importlib.util.spec_from_file_location("label_efficiency", SCRIPT)
le = importlib.util.module_from_spec(spec)
spec.loader.exec_module(le)


def toy_split(seed=0):
    g = torch.Generator().manual_seed(seed)
    y_train, y_test = torch.arange(60) % 3, torch.arange(30) % 3
    centres = torch.randn(3, 5, generator=g) * 3
    x_train = centres[y_train] + torch.randn(60, 5, generator=g)
    x_test = centres[y_test] + torch.randn(30, 5, generator=g)
    return x_train, y_train, x_test, y_test


def test_the_scripts_label_draws_are_exactly_few_label_probes_draws():
    x_train, y_train, x_test, y_test = toy_split()
    draws = le.label_draws(y_train, y_test, per_class=2, draws=4, seed=7)
    assert len(draws) == 4 and all(len(d) == 6 for d in draws)
    assert all(sorted(y_train[d].tolist()) == [0, 0, 1, 1, 2, 2] for d in draws)  # per_class of every class
    assert len({tuple(sorted(d.tolist())) for d in draws}) > 1  # a different draw each time
    accs = [linear_probe_accuracy(x_train[d], y_train[d], x_test, y_test) for d in draws]
    assert accs == few_label_probe(x_train, y_train, x_test, y_test, 2, draws=4, seed=7)["accs"]
    with pytest.raises(ValueError, match="fewer training rows"):
        le.label_draws(y_train, y_test, per_class=21, draws=1, seed=0)


def test_supervised_budget_is_the_simclr_runs_optimizer_steps():
    cfg = replace(preset("cpu"), batch_size=256)   # a batch above n // 4 = 250 for 1,000 digits: the cap applies
    steps = cfg.epochs * (4000 // cfg.batch_size)
    for n, batch in ((10, 10), (100, 25), (1000, 250), (4000, cfg.batch_size)):
        run = le.supervised_config(cfg, n, steps, seed=3)
        assert run.method == "supervised" and run.seed == 3 and run.batch_size == batch
        assert run.epochs * (n // run.batch_size) == pytest.approx(steps, rel=0.01)
        assert run.warmup_epochs * (n // run.batch_size) == pytest.approx(cfg.warmup_epochs * steps / cfg.epochs)
        assert run.knn_k <= n and run.views == cfg.views and run.lr == cfg.lr and run.weight_decay == cfg.weight_decay


def test_summary_pools_every_seed_and_draw():
    runs = [{"kind": "simclr", "seed": s, "results": {"simclr_h": {"probe": {"1": [0.5 + s, 0.6 + s], "all": [0.9]}}}}
            for s in (0, 1)]
    runs += [{"kind": "supervised", "per_class": 1, "seed": d, "accuracy": 0.2 + d, "knn": 0.1} for d in (0, 1, 2)]
    summary = le.summary_by_kind(runs, [1])
    assert summary["simclr_h"]["probe"]["1"] == {"mean": 1.05, "sd": statistics.stdev([0.5, 0.6, 1.5, 1.6]), "n": 4}
    assert summary["simclr_h"]["probe"]["all"]["n"] == 2 and summary["supervised"]["probe"]["1"]["mean"] == pytest.approx(1.2)
    assert list(summary["simclr_h"]["probe"]) == ["1", "all"]  # ordered by labels per class


def test_a_tiny_run_writes_a_record_the_notebook_can_plot(tmp_path, monkeypatch):
    cfg = replace(preset("cpu"), epochs=1, widths=(4, 8, 8), depth=1, batch_size=128, eval_every=1)
    monkeypatch.setattr(le, "preset", lambda name: cfg)
    out = tmp_path / "le.json"
    assert le.main(["--data", "offline", "--seeds", "0", "--draws", "2", "--per-class", "1", "--device", "cpu", "--out",
                    str(out)]) == 0
    record = json.loads(out.read_text())
    assert set(REQUIRED) <= set(record) and record["schema"] == SCHEMA
    assert record["seeds"] == [0, 1]  # SimCLR seed 0; supervised draw d trains with seed d
    assert record["command"] == (f"python benchmarks/label_efficiency.py --data offline --seeds 0 --draws 2 --per-class 1 "
                                 f"--device cpu --out {out}")
    assert record["float32"] is True and record["config"]["cpu_amp"] is False   # the default precision
    assert record["finished"] and record["all_per_class"] == 400 and record["per_class"] == [1, "all"]
    assert set(record["summary"]) == set(le.KINDS)
    for kind in le.KINDS:
        assert set(record["summary"][kind]["probe"]) == {"1", "all"}
        assert 0.0 <= record["summary"][kind]["probe"]["1"]["mean"] <= 1.0
    assert record["summary"]["pixels"]["probe"]["1"]["n"] == 2 and record["supervised_steps"] == 31
    from clhelpers.plots import plot_label_efficiency

    fig = plot_label_efficiency({}, {**record, "file": out.name}, {"simclr_h": "SimCLR h", "supervised": "supervised"})
    assert len(fig.axes[0].containers) == 2
