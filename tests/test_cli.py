"""The one command line: python -m clhelpers {train,evaluate,sweep,bench,check}."""
import subprocess
import sys

import pytest
import torch

from clhelpers.cli import COMMANDS, main
from clhelpers.methods import METHODS
from clhelpers.models import load_encoder


@pytest.mark.slow
def test_help_lists_the_six_commands():
    out = subprocess.run([sys.executable, "-m", "clhelpers", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    for command in ("data", "train", "evaluate", "sweep", "bench", "check"):
        assert command in out.stdout
    assert set(COMMANDS) == {"data", "train", "evaluate", "sweep", "bench", "check"}


def test_train_flags_come_from_the_config_fields(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--method", "--temperature", "--queue-size", "--momentum", "--widths", "--out", "--resume", "--no-amp"):
        assert flag in text


TINY = ["--data", "offline", "--device", "cpu", "--epochs", "1", "--train-size", "512", "--quiet",
        "--widths", "4", "8", "8", "--depth", "1", "--batch-size", "128", "--eval-every", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_writes_a_readable_encoder_and_resumes(method, tmp_path, capsys):
    out = str(tmp_path / method)
    assert main(["train", "--method", method, *TINY, "--out", out]) == 0
    encoder = load_encoder(tmp_path / method / "encoder.pt")
    assert encoder(torch.rand(2, 1, 28, 28)).shape == (2, 8)
    first = torch.load(tmp_path / method / "checkpoint.pt", weights_only=True)
    assert first["epoch"] == 1 and first["config"]["method"] == method
    # a finished run resumes to "nothing left to do" with the same history
    assert main(["train", "--method", method, *TINY, "--out", out, "--resume"]) == 0
    assert "resuming" in capsys.readouterr().err
    again = torch.load(tmp_path / method / "checkpoint.pt", weights_only=True)
    assert again["history"] == first["history"]


@pytest.mark.slow
def test_the_default_method_and_preset_run_at_the_issue_size(tmp_path):
    assert main(["train", "--epochs", "1", "--train-size", "512", "--data", "offline", "--device", "cpu",
                 "--quiet", "--out", str(tmp_path)]) == 0
    assert load_encoder(tmp_path / "encoder.pt").config["widths"] == [16, 32, 64]


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", b"PK\x03\x04garbage-zip"])
def test_garbage_encoder_file_is_a_one_line_usage_error(content, tmp_path, capsys):
    bad = tmp_path / "encoder.pt"
    bad.write_bytes(content)
    with pytest.raises(SystemExit) as err:
        main(["evaluate", "--encoder", str(bad), "--data", "offline", "--device", "cpu"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(bad) in message and "weights_only=False" not in message


def test_garbage_checkpoint_is_a_one_line_usage_error(tmp_path, capsys):
    (tmp_path / "checkpoint.pt").write_bytes(b"\x80\x04garbage")
    with pytest.raises(SystemExit) as err:
        main(["train", *TINY, "--out", str(tmp_path), "--resume"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "checkpoint.pt" in message and "weights_only=False" not in message


def test_check_passes_a_correct_loss_and_fails_a_flawed_one(tmp_path, capsys):
    assert main(["check", "clhelpers.losses:nt_xent"]) == 0
    assert main(["check", "clhelpers.flawed:nt_xent_flawed_targets"]) == 1
    out = capsys.readouterr().out
    assert "collapse_value failed. Likely bug: the targets point at the masked diagonal" in out and "Fix:" in out
    mine = tmp_path / "mine.py"
    mine.write_text("import torch.nn.functional as F\n"
                    "def two_args(z1, z2):\n"
                    "    from clhelpers.losses import nt_xent\n"
                    "    return nt_xent(z1, z2, 0.5)\n")
    assert main(["check", f"{mine}:two_args"]) == 0
    for bad in (f"{mine}:missing", f"{tmp_path}/nope.py:f", "no_colon"):
        with pytest.raises(SystemExit) as err:
            main(["check", bad])
        assert err.value.code == 2


def test_check_understands_the_common_calling_conventions(tmp_path, capsys):
    from clhelpers.lint import CONVENTIONS, detect_convention, load_function

    mine = tmp_path / "conventions.py"
    mine.write_text(
        "import torch\n"
        "from clhelpers.losses import nt_xent, supcon_loss\n"
        "def stacked(features, temperature=0.5):\n"
        "    n = len(features) // 2\n"
        "    return nt_xent(features[:n], features[n:], temperature)\n"
        "def metric_learning(embeddings, labels):\n"
        "    return supcon_loss(embeddings, labels, 0.5)\n"
        "def unnormalized(z1, z2, t):\n"
        "    import torch.nn.functional as F\n"
        "    logits = (torch.cat([z1, z2]) @ torch.cat([z1, z2]).T / t).fill_diagonal_(float('-inf'))\n"
        "    n = len(z1)\n"
        "    return F.cross_entropy(logits, (torch.arange(2 * n) + n) % (2 * n))\n")
    assert detect_convention(load_function(f"{mine}:stacked")) == "stacked-t"
    assert detect_convention(load_function(f"{mine}:metric_learning")) == "labels"
    assert set(CONVENTIONS) == {"pair-t", "pair-scale", "pair", "stacked-t", "stacked", "labels", "pair-labels"}
    assert main(["check", f"{mine}:stacked"]) == 0
    assert main(["check", f"{mine}:metric_learning"]) == 0
    capsys.readouterr()
    assert main(["check", f"{mine}:unnormalized"]) == 1
    assert "scale_invariant failed. Likely bug: embeddings are not normalized" in capsys.readouterr().out


@pytest.mark.parametrize("module, command", [("clhelpers.train", "train"), ("clhelpers.evaluate", "evaluate"),
                                             ("clhelpers.bench", "bench")])
@pytest.mark.slow
def test_the_older_entry_points_still_run_their_command(module, command):
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and f"usage: python -m clhelpers {command}" in out.stdout


@pytest.mark.slow
def test_a_record_keeps_the_command_exactly_as_typed_from_either_entry_point(tmp_path):
    """The bug the import cycle caused: python -m clhelpers.bench --device cpu was recorded without --device."""
    import json

    for entry in (["-m", "clhelpers.bench"], ["-m", "clhelpers", "bench"]):
        out = tmp_path / "r.json"
        flags = ["--device", "cpu", "--source", "offline", "--n-images", "600", "--workers", "0", "--tutorial-steps",
                 "1", "--no-amp", "--out", str(out)]
        done = subprocess.run([sys.executable, *entry, *flags], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(out.read_text())["command"] == " ".join(["python", *entry, *flags])


def test_data_command_reports_verified_files_and_exit_status(tmp_path, monkeypatch, capsys):
    from mnist_fakes import SmallMNIST, fresh_session

    fresh_session(monkeypatch)
    fakes = SmallMNIST()
    fakes.install(monkeypatch)
    assert main(["data", "--root", str(tmp_path)]) == 1 and "NO verified files" in capsys.readouterr().out
    fakes.write(tmp_path / "MNIST" / "raw")
    assert main(["data", "--root", str(tmp_path)]) == 0 and "source: files already on disk" in capsys.readouterr().out
