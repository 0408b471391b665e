"""The one record format and the paired interval every claim uses."""
import json
import math
import statistics

import pytest

from clhelpers import records
from clhelpers.records import (
    PairedDifference, code_hash, command_as_typed, load_record, new_record, paired_difference, save_record, seed_means,
    summarize,
)


def test_command_as_typed_keeps_the_entry_point_and_quotes():
    assert command_as_typed(["/opt/venv/bin/python3", "-m", "clhelpers.bench", "--device", "cuda"]) == \
        "python -m clhelpers.bench --device cuda"
    assert command_as_typed(["python", "benchmarks/x.py", "--note", "a b"]) == "python benchmarks/x.py --note 'a b'"


def test_new_record_has_every_schema_key_and_round_trips(tmp_path):
    rec = new_record([{"seed": 3, "knn_acc": 0.9}, {"seed": 1, "knn_acc": 0.8}], {"epochs": 5}, command="python x.py",
                     device="cpu", summary={"a": 1})
    assert set(records.REQUIRED) <= set(rec) and rec["schema"] == records.SCHEMA
    assert rec["seeds"] == [1, 3] and rec["config"] == {"epochs": 5} and rec["summary"] == {"a": 1}
    assert rec["machine"]["device"] == "cpu" and len(rec["code_hash"]) == 16
    path = save_record(tmp_path / "r.json", rec)
    assert load_record(path) == rec


def test_save_record_refuses_a_dict_that_is_not_a_record(tmp_path):
    with pytest.raises(ValueError, match=r"not a record: \[.*'schema'.*new_record"):
        save_record(tmp_path / "r.json", {"runs": []})
    assert not (tmp_path / "r.json").exists()


def test_load_record_upgrades_an_old_record_and_names_a_bad_file(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"date": "2026-11-24 10:00 UTC", "machine": {"cpu": "x"}, "engine_images_per_s": 5}))
    rec = load_record(old)
    assert rec["created"] == "2026-11-24 10:00 UTC" and rec["command"] is None and rec["runs"] == []
    assert rec["schema"].endswith("(upgraded on load)") and rec["engine_images_per_s"] == 5
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not a readable record"):
        load_record(bad)


def test_code_hash_changes_with_the_code(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    first = code_hash(tmp_path)
    assert code_hash(tmp_path) == first
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_hash(tmp_path) != first


def test_summarize_is_mean_sample_sd_and_n():
    assert summarize([1.0, 2.0, 4.0]) == {"mean": statistics.fmean([1, 2, 4]), "sd": statistics.stdev([1, 2, 4]), "n": 3}
    assert summarize([0.5]) == {"mean": 0.5, "sd": 0.0, "n": 1}
    with pytest.raises(ValueError, match="no values"):
        summarize([])


def test_paired_difference_matches_the_t_interval_by_hand():
    a, b = [0.91, 0.93, 0.92, 0.95, 0.94], [0.90, 0.91, 0.915, 0.93, 0.925]
    d = [x - y for x, y in zip(a, b)]
    got = paired_difference(a, b)
    half = 2.7764451051977987 * statistics.stdev(d) / 5 ** 0.5  # t_{0.975, 4}
    assert got.mean == pytest.approx(statistics.fmean(d)) and got.n == 5
    assert (got.lo, got.hi) == (pytest.approx(got.mean - half), pytest.approx(got.mean + half))
    assert got.resolved and got.verdict("SimCLR", "pixels") == "SimCLR beats pixels by 0.014 (95% CI [+0.006, +0.022], 5 seeds)"


def test_pairing_resolves_what_overlapping_bands_cannot():
    """Seeds move both arms together: the unpaired sd bands overlap, the paired differences are all positive."""
    base = [0.80, 0.85, 0.90, 0.83, 0.88]
    a, b = [x + 0.01 for x in base], base
    assert statistics.fmean(a) - statistics.stdev(a) < statistics.fmean(b) + statistics.stdev(b)
    assert paired_difference(a, b).resolved


def test_an_interval_that_contains_zero_is_not_resolved_either_way():
    diff = paired_difference([0.90, 0.92, 0.91], [0.91, 0.90, 0.91])
    assert not diff.resolved and diff.lo < 0 < diff.hi
    assert diff.verdict("a", "b").startswith("a vs b: not resolved with 3 seeds (95% CI [")
    loses = PairedDifference(mean=-0.02, lo=-0.03, hi=-0.01, n=5)
    assert loses.resolved and loses.verdict("a", "b").startswith("b beats a by 0.020 (95% CI [+")   # the interval of b - a
    assert loses.lo < loses.hi < 0                                                                # the stored one is a - b


def test_paired_difference_refuses_unpaired_or_too_few():
    with pytest.raises(ValueError, match="one value per seed"):
        paired_difference([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        paired_difference([1], [2])


def test_seed_means_averages_the_draws_of_each_seed_and_keys_a_seedless_run_none():
    record = {"runs": [{"seed": 0, "results": {"h": {"probe": {"1": [0.5, 0.7]}}}},
                       {"seed": 1, "results": {"h": {"probe": {"1": [0.9, 0.8, 0.7]}}}},
                       {"seed": None, "results": {"pixels": {"probe": {"1": [0.2, 0.4]}}}},
                       {"seed": 2, "kind": "supervised", "accuracy": 0.5}]}
    means = seed_means(record, "h", "probe", "1")
    assert means.keys() == {0, 1} and math.isclose(means[0], 0.6) and math.isclose(means[1], 0.8)
    assert seed_means(record, "pixels", "probe", "1") == pytest.approx({None: 0.3})
    with pytest.raises(ValueError, match=r"kinds it holds: \['h', 'pixels'\]"):
        seed_means(record, "h", "knn", "1")
