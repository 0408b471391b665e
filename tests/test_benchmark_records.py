"""Every JSON file in benchmarks/ is a record in the one schema (``clhelpers.records``), with every schema key stored
in the file (not only filled in by the loader), and still holds the keys the notebooks and the README read."""
import json
from pathlib import Path

import pytest

from clhelpers.records import REQUIRED, SCHEMA, load_record

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
FILES = sorted(BENCHMARKS.rglob("*.json"))


def test_there_are_records_to_check():
    assert len(FILES) >= 15 and (BENCHMARKS / "archive" / "recipe_grids.json") in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(BENCHMARKS)))
def test_every_benchmark_json_is_a_record_with_every_schema_key_stored(path):
    stored = json.loads(path.read_text())
    missing = [k for k in REQUIRED if k not in stored]
    assert not missing, f"{path.name} lacks {missing}: record it again, or add them (None where unknown)"
    assert stored["schema"] == SCHEMA and isinstance(stored["runs"], list) and isinstance(stored["seeds"], list)
    assert stored["created"] is None or stored["created"][10] == "T"  # ISO 8601, as records.new_record writes it
    record = load_record(path)
    assert record["schema"] == SCHEMA and all(record[k] == stored[k] for k in REQUIRED)  # nothing upgraded on load


def read(name):
    return json.loads((BENCHMARKS / name).read_text())


def test_the_keys_the_notebooks_read_are_still_there():
    flawed = read("flawed-vs-fixed-cpu-2core.json")  # notebook 03: 5 paired seeds on the official test digits
    for metric in ("knn_acc", "probe10", "positive_cosine"):
        assert {"fixed", "flawed"} <= set(flawed["summary"][metric])
    assert {"random_init", "raw_pixels"} <= set(flawed["summary"]["knn_acc"]) and flawed["seeds"] == [0, 1, 2, 3, 4]
    assert {r["kind"] for r in flawed["runs"] if "history" in r} == {"fixed", "flawed"} and flawed["finished"]
    assert flawed["config"]["source"] == "auto" and flawed["config"]["holdout"] == "test"
    ablation = read("augment-ablation-cpu-2core.json")  # notebook 05
    assert {"raw_pixels", "random_init", "recipe"} <= set(ablation["summary"]["probe10"]) <= set(ablation["summary"]["knn_acc"])
    assert ablation["seeds"] == [0, 1, 2, 3, 4] and ablation["finished"] and ablation["config"]["source"] == "auto"
    label = read("label-efficiency-cpu-2core.json")  # notebook 06: the cpu preset on all 60,000 digits, 5 seeds x 5 draws
    assert label["summary"]["simclr_h"]["probe"]["1"]["mean"] > 0.6 and label["config"]["preset"] == "cpu" and label["finished"]
    assert (label["train_images"], label["test_images"]) == (60_000, 10_000) and label["config"]["holdout"] == "test"
    assert {r["seed"] for r in label["runs"] if r["kind"] in ("simclr", "nohead", "random")} == {0, 1, 2, 3, 4}
    assert {"simclr_h", "simclr_z", "nohead_h", "random_h", "pixels", "supervised"} <= set(label["summary"])
    supervised = [(str(r["per_class"]), r["seed"]) for r in label["runs"] if r["kind"] == "supervised"]
    assert sorted(supervised) == sorted((pc, s) for pc in ("1", "10", "100", "all") for s in range(5))  # draw d: seed d
    search = read("preset-search-cpu-2core.json")  # the README's preset search: chosen on the validation split
    assert search["config"]["holdout"] == "val" and search["seeds"] == [0, 1, 2, 3, 4] and search["finished"]
    assert {"recipe", "batch 128"} <= set(search["summary"]["knn_acc"]) and search["reference"] == "recipe"
    screen = read("preset-search-round2-screen-cpu-2core.json")  # round 2, at the preset's batch 128: every candidate
    assert screen["config"]["holdout"] == "val" and screen["config"]["batch_size"] == 128 and screen["seeds"] == [0]
    assert {"recipe", "5 epochs", "6 epochs", "batch 64", "lr 0.006", "tau 1.0"} <= set(screen["summary"]["knn_acc"])
    round2 = read("preset-search-round2-cpu-2core.json")  # the screen's leader within the budget vs the recipe, 5 seeds
    assert round2["config"]["holdout"] == "val" and round2["seeds"] == [0, 1, 2, 3, 4] and round2["finished"]
    assert {"recipe", "tau 1.0"} <= set(round2["summary"]["knn_acc"]) and round2["config"]["batch_size"] == 128
    round4 = read("preset-search-round4-cpu-2core.json")  # round 4: the cheaper encoder's leader vs the recipe, 5 seeds
    assert round4["config"]["holdout"] == "val" and round4["seeds"] == [0, 1, 2, 3, 4] and round4["finished"]
    assert {"recipe", "depth 1, 10 epochs"} <= set(round4["summary"]["knn_acc"])
    assert {r["changes"]["depth"] for r in round4["runs"] if r["kind"] == "depth 1, 10 epochs"} == {1}
    round5 = read("preset-search-round5-cpu-2core.json")  # round 5: batch 64 and lr 0.006 vs the recipe, 5 paired seeds
    assert round5["config"]["holdout"] == "val" and round5["seeds"] == [0, 1, 2, 3, 4] and round5["finished"]
    assert {"recipe", "batch 64", "lr 0.006"} <= set(round5["summary"]["knn_acc"]) and round5["config"]["temperature"] == 1.0
    methods = read("methods-cpu-2core.json")  # notebooks 07 and 08: summary[kind], the first run's pixel baseline
    assert {"nt_xent", "pair", "triplet", "moco", "supcon", "random_init"} <= set(methods["summary"]["knn_acc"])
    assert methods["runs"][1]["pixel_knn_acc"] > 0.9
    collapse = read("collapse-cpu-2core.json")  # notebook 08: negative-free kinds beside SimCLR, 5 paired seeds
    assert collapse["preset"] and collapse["seeds"] == [0, 1, 2, 3, 4] and collapse["reference"] == "simclr"
    assert collapse["finished"]
    moco = read("collapse-moco-cpu-2core.json")  # notebook 08: the long-queue MoCo momenta, SimSiam without stop-gradient
    same = set(moco["config"]) & set(collapse["config"])   # fields both know (a newer field sits at its default)
    assert moco["seeds"] == collapse["seeds"] and len(same) > 30 and all(moco["config"][k] == collapse["config"][k] for k in same)
    assert {"simclr", "simsiam_no_stopgrad", "moco_q48_m0", "moco_q48_m0.9", "moco_q48_m0.99", "moco_q48_m0.999"} <= set(
        moco["summary"]["knn_acc"])
    assert all(r["queue_steps"] == 48 for r in moco["runs"] if r["kind"].startswith("moco_q48"))
    kinds = {"random_init", "simclr", "simsiam", "simsiam_no_predictor", "byol"}
    for metric in ("knn_acc", "effective_rank", "effective_rank_h", "embedding_std_batch"):
        assert kinds <= set(collapse["summary"][metric]), metric
    assert collapse["runs"][1]["pixel_knn_acc"] > 0.8
    queue = read("queue-or-batch-cpu-2core.json")  # notebook 08, section 5: about 120 steps per arm, 5 paired seeds
    assert {"simclr_b128", "moco_b128_q256", "moco_b128_q2048", "simclr_b1024", "raw_pixels"} <= set(queue["summary"]["knn_acc"])
    assert queue["seeds"] == [0, 1, 2, 3, 4] and queue["finished"]
    assert {r["steps"] for r in queue["runs"] if r["kind"] not in ("random_init", "raw_pixels")} == {120}
    old = read("archive/collapse-cpu-2core-3seeds.json")  # the earlier 3-seed collapse table, kept for the README
    assert {"simsiam_no_stopgrad", "moco_m0", "moco_m0.99", "simclr_b128", "moco_b128_q2048", "simclr_b1024"} <= set(
        old["summary"]["knn_acc"])
    for name in ("sweep-cpu-2core.json", "sweep-cpu-2core-fixed-steps.json"):  # notebook 07, through load_sweeps
        assert {"sweep", "temperature", "batch_size", "knn_acc", "alignment", "uniformity"} <= set(read(name)["runs"][0])
        assert read(name)["seeds"] == [0, 1, 2, 3, 4], name
    assert methods["seeds"] == [0, 1, 2, 3, 4] and "raw_pixels" in methods["summary"]["knn_acc"]


def test_the_redundancy_record_has_what_notebook_08_section_8_reads():
    rr = read("redundancy-cpu-2core.json")  # notebook 08, section 8
    kinds = {"simclr", "barlow_twins", "vicreg", "random_init", "raw_pixels"}
    for metric in ("knn_acc", "probe10"):
        assert kinds <= set(rr["summary"][metric]) and {"barlow_twins", "vicreg"} <= set(rr["paired"][metric])
        assert all("verdict" in d for d in rr["paired"][metric].values())
    assert {"barlow_twins", "vicreg", "simclr"} <= set(rr["summary"]["effective_rank_h"]) and rr["reference"] == "simclr"
    assert rr["preset"] == "cpu-sweep" and rr["seeds"] == [0, 1, 2, 3, 4] and rr["finished"]


def test_exercise_07_runs_are_the_archived_three_seed_batch_sweep():
    from clhelpers.exercises import exercise_07_runs

    archived = read("archive/sweep-cpu-2core-3seeds.json")
    recorded = {(r["batch_size"], r["seed"]): r["knn_acc"] for r in archived["runs"] if r["sweep"] == "batch_size"}
    given = {(r["batch_size"], r["seed"]): r["knn_acc"] for r in exercise_07_runs()}
    assert archived["seeds"] == [0, 1, 2] and given.keys() == recorded.keys()
    assert all(abs(given[k] - recorded[k]) < 5e-4 for k in given)   # the exercise keeps 3 decimals
