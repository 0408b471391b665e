"""Tests for clhelpers.bench: a tiny run of the benchmark writes a complete, consistent record."""
import json
from dataclasses import replace

import pytest
import torch

from clhelpers.cli import main
from clhelpers.bench import bench_model_step, markdown_table, step_gflop, tile
from clhelpers.config import preset


def test_tile_repeats_images_and_labels_to_exactly_n():
    x, y = torch.arange(12).reshape(3, 2, 2), torch.tensor([0, 1, 2])
    assert tile(x, 7).shape == (7, 2, 2) and torch.equal(tile(y, 7), torch.tensor([0, 1, 2, 0, 1, 2, 0]))


def test_step_gflop_grows_with_the_batch():
    small = step_gflop(replace(preset("cpu-sweep"), batch_size=8), torch.device("cpu"))
    big = step_gflop(replace(preset("cpu-sweep"), batch_size=16), torch.device("cpu"))
    assert big == pytest.approx(2 * small, rel=0.05)  # conv and matmul FLOPs are linear in the batch


@pytest.mark.slow
def test_tiny_bench_run_writes_its_record(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--device", "cpu", "--data", "offline", "--n-images", "600", "--workers", "0",
                 "--tutorial-steps", "1", "--no-amp", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["schema"] == "clhelpers-record-v1" and r["config"]["preset"] == "cpu" and r["matmul_precision"] == "float32"
    assert r["precision"] == "float32" and r["machine"]["device"] == "cpu" and not r["tiled"]
    for key in ("make_views_views_per_s", "torchvision_views_per_s", "engine_images_per_s", "tutorial_images_per_s",
                "step_gflops_per_s", "matmul_gflops_per_s", "step_alone_images_per_s"):
        assert r[key] > 0, key
    assert r["augment_speedup"] == pytest.approx(r["make_views_views_per_s"] / r["torchvision_views_per_s"])
    assert r["step_gflops_per_s"] == pytest.approx(r["step_gflop"] * r["engine_images_per_s"] / r["batch_size"])
    assert r["speedup_ceiling"] == pytest.approx(r["step_alone_images_per_s"] / r["tutorial_images_per_s"])
    assert "| training, images/s" in capsys.readouterr().out and "float32" in markdown_table(r)
    assert f"ceiling {r['speedup_ceiling']:.1f}x" in markdown_table(r)
    older = {k: v for k, v in r.items() if k not in ("step_alone_images_per_s", "speedup_ceiling")}
    assert "ceiling" not in markdown_table(older) and "| training, images/s" in markdown_table(older)  # records made before it


def test_the_step_alone_is_timed_at_the_configured_batch_and_refuses_zero_steps():
    cfg = replace(preset("cpu-sweep"), batch_size=8, device="cpu")
    assert bench_model_step(cfg, torch.device("cpu"), steps=1) > 0
    with pytest.raises(ValueError, match="steps must be >= 1"):
        bench_model_step(cfg, torch.device("cpu"), steps=0)


def test_too_few_images_is_a_usage_error_with_the_fix(capsys, tmp_path):
    two_batches = 2 * preset("cpu").batch_size   # the engine times whole batches: at least two of them
    with pytest.raises(SystemExit) as err:
        main(["bench", "--device", "cpu", "--source", "offline", "--n-images", str(two_batches - 1), "--out", str(tmp_path / "unused.json")])
    assert err.value.code == 2 and f"use --n-images {two_batches} or more" in capsys.readouterr().err
    assert not (tmp_path / "unused.json").exists()   # refused before anything was measured or written
