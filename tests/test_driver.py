"""benchmarks/_driver.py: the shared seed loop of the recording scripts. Every arm runs on the same seeds (a paired
design) and the same split, the baselines come once per seed, the record (one schema) is saved after every seed so a
run killed in the middle keeps the seeds it finished, and its summary and paired differences are records' own."""
import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from clhelpers.config import preset
from clhelpers.records import REQUIRED, SCHEMA, load_record, paired_difference, summarize
from clhelpers.train import load_split

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # as when a script runs: python benchmarks/<script>.py imports _driver
import _driver as driver  # noqa: E402


def tiny_base():
    """200 training and 100 test digits, a tiny encoder: the baselines take a fraction of a second."""
    return replace(preset("cpu-tiny"), source="offline", device="cpu", train_size=200, test_size=100, batch_size=50,
                   widths=(4, 8, 8), depth=1, proj_dim=8, hidden_dim=16)


def fake_arms(calls, fail_at=None):
    """Two arms that record what they were called with and report a number that depends on the seed (no training)."""
    def arm(name, offset):
        def run(cfg, split, progress):
            calls.append((name, cfg.seed, id(split)))
            if (name, cfg.seed) == fail_at:
                raise RuntimeError("killed")
            return {"knn_acc": 0.5 + offset + 0.01 * cfg.seed, "seed": -1}  # the driver's seed replaces this one
        return run
    return {"a": arm("a", 0.1), "b": arm("b", 0.0)}


def test_every_arm_runs_on_the_same_seeds_and_split_with_the_baselines_once_per_seed(tmp_path):
    calls = []
    exp = driver.Experiment("x.py", fake_arms(calls), reference="b")
    record = driver.record_seeds(exp, tiny_base(), [3, 5, 8], ["a", "b"], tmp_path / "r.json", command="python x", progress=False)
    assert [(n, s) for n, s, _ in calls] == [("a", 3), ("b", 3), ("a", 5), ("b", 5), ("a", 8), ("b", 8)]
    assert calls[0][2] == calls[1][2] != calls[2][2]  # one split per seed, shared by the arms of that seed
    assert [(r["kind"], r["seed"]) for r in record["runs"][:4]] == [("random_init", 3), ("a", 3), ("b", 3), ("raw_pixels", 3)]
    assert [r["kind"] for r in record["runs"]].count("random_init") == 3 and record["seeds"] == [3, 5, 8]
    assert record["runs"][1]["seed"] == 3  # the driver's seed wins over an arm's
    pixels = [r["knn_acc"] for r in record["runs"] if r["kind"] == "raw_pixels"]
    assert 0.5 < pixels[0] <= 1.0  # raw-pixel kNN of 100 MNIST test digits: far above chance
    a, b = ([0.5 + offset + 0.01 * s for s in (3, 5, 8)] for offset in (0.1, 0.0))  # what the fake arms report
    assert record["summary"]["knn_acc"]["a"] == summarize(a) and list(record["summary"]["knn_acc"]) == [
        "random_init", "a", "b", "raw_pixels"]
    d = paired_difference(a, b)
    assert record["reference"] == "b" and record["paired"]["knn_acc"]["a"] == {
        "mean": d.mean, "lo": d.lo, "hi": d.hi, "n": 3, "verdict": d.verdict("a", "b")}
    assert record["paired"]["knn_acc"]["a"]["verdict"].startswith("a beats b by 0.100")  # the same 0.1 on every seed
    assert "b" not in record["paired"]["knn_acc"] and record["finished"] is True


def test_the_record_is_saved_after_every_seed_so_a_killed_run_keeps_the_finished_seeds(tmp_path):
    calls, out = [], tmp_path / "r.json"
    exp = driver.Experiment("x.py", fake_arms(calls, fail_at=("b", 1)), reference="b")
    with pytest.raises(RuntimeError, match="killed"):
        driver.record_seeds(exp, tiny_base(), [0, 1, 2], ["a", "b"], out, command="python x", progress=False)
    on_disk = load_record(out)
    assert on_disk["finished"] is False and on_disk["seeds"] == [0]
    assert [(r["kind"], r["seed"]) for r in on_disk["runs"]] == [("random_init", 0), ("a", 0), ("b", 0), ("raw_pixels", 0)]
    assert "paired" not in on_disk  # one seed: no interval yet
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # atomic: no temporary file left


def test_main_records_the_command_as_typed_in_the_one_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(driver, "preset", lambda name: tiny_base())
    out = tmp_path / "r r.json"
    exp = driver.Experiment("x.py", fake_arms([]), fixed={"epochs": 2})
    argv = ["--seeds", "0", "1", "--kinds", "a", "--quiet", "--out", str(out)]
    assert driver.main(exp, "d", argv) == 0
    stored = json.loads(out.read_text())
    assert all(key in stored for key in REQUIRED) and stored["schema"] == SCHEMA  # stored, not filled in on load
    assert stored["command"] == f"python benchmarks/x.py --seeds 0 1 --kinds a --quiet --out '{out}'"
    assert stored["config"]["epochs"] == 2 and stored["preset"] == "cpu-tiny" and stored["seeds"] == [0, 1]
    assert {r["kind"] for r in stored["runs"]} == {"random_init", "a", "raw_pixels"}  # only the kinds asked for
    assert stored["code_hash"] and stored["machine"]["device"] == "cpu"


def test_recording_args_share_the_flags_and_give_the_overrides():
    args, overrides = driver.recording_args("d", ["a", "b"], ["--out", "x.json", "--kinds", "b", "--epochs", "2"])
    assert (args.preset, args.seeds, args.kinds, args.out, args.quiet) == ("cpu-sweep", [0, 1, 2], ["b"], "x.json", False)
    assert overrides == {"epochs": 2}
    assert driver.recording_args("d", ["a"], ["--out", "x", "--device", "cpu"], "cpu")[0].preset == "cpu"
    for bad in (["--kinds", "c"], ["--seeds", "0", "0"], []):  # not a kind; a repeated seed; no --out
        with pytest.raises(SystemExit):
            driver.recording_args("d", ["a"], (["--out", "x.json"] if bad else []) + bad)


def test_paired_differences_use_only_the_seeds_both_arms_ran():
    runs = [{"kind": k, "seed": s, "m": v} for k, s, v in
            (("ref", 0, 1.0), ("ref", 1, 2.0), ("ref", 2, 3.0), ("x", 0, 1.5), ("x", 2, 3.1), ("x", 9, 0.0),
             ("lone", 0, 9.0), ("none", 0, None), ("none", 1, None))]
    paired = driver.paired_of(runs, ["m"], "ref")["m"]
    d = paired_difference([1.5, 3.1], [1.0, 3.0])
    assert set(paired) == {"x"} and paired["x"]["mean"] == pytest.approx(d.mean) and paired["x"]["n"] == 2
    summary = driver.summary_of(runs, ["m"])["m"]
    assert summary["x"]["n"] == 3 and "none" not in summary  # a None value is not a measurement


def test_experiment_and_record_seeds_reject_what_cannot_run(tmp_path):
    with pytest.raises(ValueError, match="at least one arm"):
        driver.Experiment("x.py", {})
    with pytest.raises(ValueError, match="reference 'c' is not an arm"):
        driver.Experiment("x.py", fake_arms([]), reference="c")
    exp = driver.Experiment("x.py", fake_arms([]))
    with pytest.raises(ValueError, match="unknown kinds \\['c'\\]"):
        driver.record_seeds(exp, tiny_base(), [0], ["c"], tmp_path / "r.json")
    with pytest.raises(ValueError, match="give seeds"):
        driver.record_seeds(exp, tiny_base(), [], ["a"], tmp_path / "r.json")


def test_the_baselines_are_the_untrained_encoder_and_raw_pixels_scored_like_the_arms():
    from clhelpers.evaluate import knn_monitor, untrained_encoder
    from clhelpers.metrics import pixel_knn_accuracy

    cfg = replace(tiny_base(), seed=4)
    split = load_split(cfg, torch.device("cpu"))
    extra = lambda cfg, split: {"extra": cfg.seed}  # noqa: E731
    exp = driver.Experiment("x.py", fake_arms([]), untrained_extra=extra)
    untrained, pixels = driver.baseline_rows(exp, cfg, split)
    assert untrained == {"kind": "random_init", "seed": 4, "knn_acc": knn_monitor(untrained_encoder(cfg), *split, k=cfg.knn_k),
                         "extra": 4}
    assert pixels == {"kind": "raw_pixels", "seed": 4, "knn_acc": pixel_knn_accuracy(*split, k=cfg.knn_k)}
    probe = driver.probe_score(untrained_encoder(cfg), split, cfg)
    assert set(probe) == {"knn_acc", "probe10"} and probe["knn_acc"] == untrained["knn_acc"]


@pytest.mark.parametrize("script", ["collapse_table", "methods_table", "augment_ablation", "flawed_vs_fixed", "preset_search"])
def test_each_recording_script_is_an_experiment_of_the_driver(script):
    spec = importlib.util.spec_from_file_location(script, BENCHMARKS / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exp = module.EXPERIMENT
    assert exp.script == f"{script}.py" and exp.reference in exp.arms and "knn_acc" in exp.metrics
    assert module.__doc__.count(f"benchmarks/{script}.py") >= 1  # the docstring shows how it was recorded


def test_cuda_preset_records_its_own_flags_and_the_driver_records_the_whole_command(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("cuda_preset", BENCHMARKS / "cuda_preset.py")
    cp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cp)
    seen = {}

    def fake_record(exp, description, argv, command):
        seen.update(exp=exp, argv=argv, command=command)
        return 0

    monkeypatch.setattr(cp, "record", fake_record)
    assert cp.main(["--tile", "8000", "--device", "cpu", "--out", str(tmp_path / "c.json")]) == 0
    assert seen["argv"] == ["--seeds", "0", "--device", "cpu", "--out", str(tmp_path / "c.json")]  # one seed by default
    assert seen["command"] == f"python benchmarks/cuda_preset.py --tile 8000 --device cpu --out {tmp_path / 'c.json'}"
    assert seen["exp"].extra["tile"] == 8000 and seen["exp"].fixed["train_size"] is None and list(seen["exp"].arms) == ["cuda"]


@pytest.mark.parametrize("script,kind,train_size", [  # preset_search's probe takes 100 labels of every class
    ("collapse_table", "simsiam_no_stopgrad", 256), ("methods_table", "triplet", 256),
    ("augment_ablation", "recipe, batch-wide", 256), ("flawed_vs_fixed", "flawed", 256), ("preset_search", "lr 0.006", 1500)])
def test_one_real_arm_of_each_script_trains_and_reports_its_metrics(script, kind, train_size):
    spec = importlib.util.spec_from_file_location(script, BENCHMARKS / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exp = module.EXPERIMENT
    cfg = replace(tiny_base(), train_size=train_size, test_size=200, batch_size=128, epochs=1, seed=1, **{
        k: v for k, v in exp.fixed.items() if k in ("amp", "cpu_amp", "holdout")})
    split = load_split(cfg, torch.device("cpu"))
    row = exp.arms[kind](cfg, split, False)
    for metric in exp.metrics:
        low, high = {"positive_cosine": (-1.0, 1.0)}.get(metric, (0.0, 8.0 if "rank" in metric else 1.0))  # rank <= d = 8
        assert low <= row[metric] <= high, (metric, row[metric])
    assert "kind" not in row or row["kind"] == kind


def test_the_preset_search_chooses_on_the_validation_split_and_changes_only_what_each_candidate_names(monkeypatch):
    spec = importlib.util.spec_from_file_location("preset_search", BENCHMARKS / "preset_search.py")
    ps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ps)
    exp = ps.EXPERIMENT
    assert exp.fixed["holdout"] == "val" and exp.preset == "cpu" and exp.reference == "recipe" and ps.CANDIDATES["recipe"] == {}
    assert set(exp.metrics) == {"knn_acc", "probe1", "probe10", "probe100"}   # the numbers issue 17's targets name
    seen = []

    class Trained(Exception):
        """Raised by the fake train: the config it was given is all this test needs."""

    def fake_train(cfg, progress, data):
        seen.append(cfg)
        raise Trained

    monkeypatch.setattr(ps, "train", fake_train)
    base = replace(preset("cpu"), holdout="val")
    for name, changes in ps.CANDIDATES.items():
        with pytest.raises(Trained):
            ps.run_candidate(name, base, None, False)
        differs = {f for f in base.to_dict() if seen[-1].to_dict()[f] != base.to_dict()[f]}
        assert differs == {k for k, v in changes.items() if getattr(base, k) != v}, name
    with pytest.raises(ValueError, match="validation split"):
        ps.run_candidate("recipe", preset("cpu"), None, False)   # scored on the test set: refused
