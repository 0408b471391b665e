"""benchmarks/step_cost.py: the training step's cost for the preset and its variants, recorded."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "step_cost.py"


def _module():
    spec = importlib.util.spec_from_file_location("step_cost", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_tiny_run_records_every_repeat_and_the_ratio_to_the_recipe(tmp_path):
    out = tmp_path / "cost.json"
    assert _module().main(["--kinds", "recipe", "depth 1", "--batch-size", "8", "--steps", "1", "--repeats", "2",
                           "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["schema"] == "clhelpers-record-v1" and r["batch_size"] == 8 and r["config"]["batch_size"] == 8
    assert sorted((x["kind"], x["repeat"]) for x in r["runs"]) == [("depth 1", 0), ("depth 1", 1), ("recipe", 0), ("recipe", 1)]
    assert r["summary"]["recipe"]["ratio_to_recipe"] == 1.0 and r["summary"]["depth 1"]["changes"] == {"depth": 1}
    ms = sorted(x["ms_per_step"] for x in r["runs"] if x["kind"] == "depth 1")
    assert r["summary"]["depth 1"]["median_ms_per_step"] == pytest.approx(sum(ms) / 2)  # median of two
    assert r["command"].startswith("python benchmarks/step_cost.py --kinds recipe")


@pytest.mark.parametrize("kinds", [["depth 1"], ["recipe", "depth 9"]])
def test_kinds_without_the_recipe_or_unknown_are_refused_with_the_names(kinds, tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        _module().main(["--kinds", *kinds, "--out", str(tmp_path / "x.json")])
    message = capsys.readouterr().err
    assert err.value.code == 2 and "--kinds must include recipe" in message and "'24-48-96 depth 1'" in message
    assert not (tmp_path / "x.json").exists()
