"""Files that are never half-written and never unpickle code.

* ``atomic_write_json``, ``atomic_torch_save``: write to a temporary file in the same folder, then
  ``os.replace`` it, so an interruption never leaves a half-written file behind.
* ``load_checked``: ``torch.load(weights_only=True)`` whose every failure becomes one clear
  ``ValueError`` naming the file and the fix.
"""
from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch


def _atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file next to ``path``, then rename it to ``path``.

    The temporary file is removed if ``write`` fails, so no partial file is ever left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically (temporary file, then rename).

    ``obj`` must be plain Python data (dict, list, str, int, float, bool, None); anything else
    raises ``ValueError`` and leaves ``path`` untouched.
    """
    try:
        text = json.dumps(obj, indent=2) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"cannot write {path} as JSON ({err}); convert tensors and arrays to lists or floats first"
        ) from None

    def write(tmp: Path) -> None:
        """Write the text and flush it to disk before the rename."""
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return _atomic_write(path, write)


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save(obj, path)`` atomically (temporary file, then rename).

    Save only tensors and plain Python values, so that ``load_checked`` can read the file back
    with ``weights_only=True``.
    """
    return _atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _short_reason(path: Path, err: BaseException) -> str:
    """A one-line reason why ``torch.load(weights_only=True)`` failed on ``path``."""
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, IsADirectoryError) or path.is_dir():
        return "it is a folder"
    if path.is_file() and path.stat().st_size == 0:
        return "the file is empty"
    text = str(err)
    if "WeightsUnpickler error:" in text:  # torch's long weights_only message: keep only the cause
        cause = next((s.strip() for s in text.split("WeightsUnpickler error:", 1)[1].splitlines() if s.strip()), "")
        if cause.startswith("Unsupported global: GLOBAL "):
            name = cause.split()[3]
            return f"it holds a pickled Python object ({name}), not only tensors and plain values"
        return f"not a torch file: {cause[:100]}"
    first = next((s.strip() for s in text.splitlines() if s.strip()), "")[:100]
    return f"truncated, corrupted or not a torch file: {type(err).__name__} {first}".rstrip()


def load_checked(path: str | os.PathLike, kind: str, fix: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``, with every failure turned into one ``ValueError``.

    A missing file, an empty, truncated or garbage file, a text file, or a pickle that holds more
    than tensors and plain values all give, on one line,
    ``"{path} is not a readable {kind} ({short reason}); {fix}"``. ``kind`` names what was
    expected (e.g. ``"encoder file"``) and ``fix`` says what to do (e.g. how to write a new one).
    Never unpickles arbitrary objects (``weights_only=False`` is not used).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols before failing on garbage
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means "not readable"; the reason is kept
        raise ValueError(f"{path} is not a readable {kind} ({_short_reason(path, err)}); {fix}") from err
