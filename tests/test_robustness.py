"""Robustness a reader will hit: a corrupted MNIST download, re-running a notebook in the same
kernel, and interrupting a training run then resuming it (the pattern notebook 09 demonstrates)."""
import os

import pytest

from clhelpers.data import MNISTFileError, load_mnist
from clhelpers.data import write_truncated_mnist


def write_idx(path, magic, dims, payload_bytes):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(header + bytes(payload_bytes))


@pytest.mark.parametrize("split", ["train", "test"])
def test_truncated_download_is_reported_with_the_fix(tmp_path, split):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    n = 60000 if split == "train" else 10000
    prefix = "train" if split == "train" else "t10k"
    # labels complete, images cut off after 1,000 digits: what an interrupted download leaves
    write_idx(raw / f"{prefix}-images-idx3-ubyte", 2051, (n, 28, 28), 1000 * 28 * 28)
    write_idx(raw / f"{prefix}-labels-idx1-ubyte", 2049, (n,), n)
    other = "t10k" if split == "train" else "train"
    other_n = 10000 if split == "train" else 60000
    write_idx(raw / f"{other}-images-idx3-ubyte", 2051, (other_n, 28, 28), 0)
    write_idx(raw / f"{other}-labels-idx1-ubyte", 2049, (other_n,), 0)
    with pytest.raises(MNISTFileError) as info:
        load_mnist(split, source="torchvision", root=tmp_path)
    message = str(info.value)
    assert f"{prefix}-images-idx3-ubyte" in message  # names the broken file
    assert "delete" in message and "re-download" in message  # and says what to do
    assert str(raw) in message  # and which folder to delete


def test_demo_helper_writes_a_truncated_download(tmp_path):
    raw = write_truncated_mnist(tmp_path, keep_images=10)
    assert (raw / "train-labels-idx1-ubyte").stat().st_size == 8 + 60000
    with pytest.raises(MNISTFileError, match="t10k-images-idx3-ubyte has 7856 bytes, expected 7840016"):
        load_mnist("test", source="torchvision", root=tmp_path)


def test_garbage_file_is_reported(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"<html>proxy error</html>")
    with pytest.raises(MNISTFileError, match="train-images-idx3-ubyte.*not the expected MNIST file"):
        load_mnist("train", source="torchvision", root=tmp_path)


# A small notebook with the parts of notebooks 07 and 09 that can break on a second run in the same
# kernel: an output folder that already exists, a simulated Ctrl-C, resuming, a stateful method (MoCo).
CELLS = [
    "import shutil\nfrom dataclasses import replace\nimport matplotlib\nmatplotlib.use('Agg')\n"
    "import matplotlib.pyplot as plt\nfrom clhelpers.config import preset\nfrom clhelpers.train import train",
    "cfg = replace(preset('cpu-sweep'), source='offline', epochs=3, train_size=256, batch_size=128,\n"
    "              widths=(4, 8, 8), proj_dim=8, hidden_dim=16, test_size=200, out_dir='runs/demo')\n"
    "shutil.rmtree(cfg.out_dir, ignore_errors=True)",
    "def stop_after_two(record):\n    if record['epoch'] == 2:\n        raise KeyboardInterrupt\n"
    "try:\n    train(cfg, progress=False, on_epoch_end=stop_after_two)\n    raise AssertionError('not interrupted')\n"
    "except KeyboardInterrupt:\n    pass",
    "resumed = train(replace(cfg, resume=True), progress=False)\n"
    "assert [h['epoch'] for h in resumed.history] == [1, 2, 3], resumed.history",
    "r = train(replace(cfg, out_dir=None, epochs=1, method='moco', queue_size=512), progress=False)\n"
    "assert r.history[0]['loss'] > 0 and len(r.method.queue) == 512",
    "fig, ax = plt.subplots()\nax.plot([h['loss'] for h in resumed.history]);\nplt.close(fig)",
]


@pytest.mark.slow
def test_small_notebook_runs_twice_in_one_kernel(tmp_path):
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, CLHELPERS_OFFLINE="1", MPLBACKEND="Agg")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        for attempt in (1, 2):
            for i, code in enumerate(CELLS):
                errors = []

                def hook(msg, errors=errors):
                    if msg["msg_type"] == "error":
                        errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

                reply = kc.execute_interactive(code, output_hook=hook, timeout=120)
                assert reply["content"]["status"] == "ok" and not errors, f"run {attempt}, cell {i}: {errors}"
        assert (tmp_path / "runs" / "demo" / "checkpoint.pt").is_file()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

