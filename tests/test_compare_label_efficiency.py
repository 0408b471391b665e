"""benchmarks/compare_label_efficiency.py: two label-efficiency records, paired by training seed."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_label_efficiency.py"
spec = importlib.util.spec_from_file_location("compare_label_efficiency", SCRIPT)
cle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cle)


def record(shift: float, seeds=(0, 1, 2, 3, 4), label_seed=0, batch=128) -> dict:
    """A made-up record: simclr_h's probe with one label per class is 0.6 + 0.01 * seed + shift on both draws."""
    runs = [{"kind": "simclr", "seed": s, "results": {"simclr_h": {"probe": {"1": [0.6 + 0.01 * s + shift] * 2}}}}
            for s in seeds]
    runs.append({"kind": "pixels", "results": {"pixels": {"probe": {"1": [0.3, 0.3]}}}})   # no seed: not paired
    return {"seeds": list(seeds), "label_seed": label_seed, "draws": 2, "per_class": [1], "train_images": 100,
            "test_images": 50, "config": {"batch_size": batch, "epochs": 4}, "runs": runs,
            "summary": {"simclr_h": {"probe": {"1": {}}}, "pixels": {"probe": {"1": {}}}}}


def test_the_difference_is_paired_by_seed_and_resolved_only_outside_zero():
    verdicts = cle.compare(record(0.02 + 0.001), record(0.0))
    d = verdicts["probe", "1"]
    assert d.n == 5 and d.mean == pytest.approx(0.021) and d.resolved   # every seed moved by the same 0.021
    same = cle.compare(record(0.0), record(0.0))["probe", "1"]
    assert same.mean == pytest.approx(0.0) and not same.resolved


def test_records_of_another_design_are_refused_with_what_differs():
    with pytest.raises(ValueError, match=r"label_seed.*--label-seed"):
        cle.compare(record(0.0, label_seed=1), record(0.0))
    with pytest.raises(ValueError, match="seeds"):
        cle.compare(record(0.0, seeds=(0, 1, 2)), record(0.0))
    with pytest.raises(ValueError, match="not in both records"):
        cle.compare(record(0.0), record(0.0), kind="nohead_h")


def test_the_command_line_prints_the_config_change_and_each_verdict(tmp_path, capsys):
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    for path, shift, batch in ((new, 0.05, 128), (old, 0.0, 256)):
        path.write_text(json.dumps({"schema": "clhelpers-record-v1", "created": "2026-12-05T00:00:00Z", **record(shift, batch=batch)}))
    assert cle.main([str(new), str(old)]) == 0
    out = capsys.readouterr().out
    assert "batch_size 256 -> 128" in out and "simclr_h probe   1/class  new beats old by 0.050" in out
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "clhelpers-record-v1", **record(0.0, label_seed=3)}))
    with pytest.raises(SystemExit) as err:
        cle.main([str(new), str(other)])
    assert err.value.code == 2 and "--label-seed" in capsys.readouterr().err
