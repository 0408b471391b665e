"""Notebook 05's exercises: 05.1 ``check_05_per_sample_views`` (one random rotation per image, with
``rotate``, ``l_shape`` and the bug ``batchwide_rotation_views``) and 05.2 ``check_05_unsafe_augmentations``."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..augment import to_unit_float
from ..checks import check_per_sample_augmentation
from ._verdict import Verdict, _call_answer, _not_attempted, _unanswered, _wrong

EX_05_VIEWS, EX_05_UNSAFE = "Exercise 05.1 · per-sample rotations", "Exercise 05.2 · augmentations that break digits"
MAX_DEGREES = 30.0


def rotate(images: torch.Tensor, degrees: float | torch.Tensor) -> torch.Tensor:
    """Rotate every image about its centre by ``degrees``: one number for all, or a tensor of one angle per image.

    ``images``: uint8 or float in [0, 1], (B, H, W) or (B, 1, H, W) -> float32 (B, 1, H, W) (bilinear, black outside).
    """
    x = to_unit_float(images)
    angles = torch.as_tensor(degrees, dtype=torch.float32, device=x.device).reshape(-1)
    angles = angles.expand(x.shape[0]) if angles.numel() == 1 else angles
    if angles.numel() != x.shape[0]:
        raise ValueError(f"degrees must be one number or one angle per image ({x.shape[0]}), got {angles.numel()}")
    rad = torch.deg2rad(angles)
    cos, sin, zero = rad.cos(), rad.sin(), torch.zeros_like(rad)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp_(0.0, 1.0)


def batchwide_rotation_views(images: torch.Tensor, generator: torch.Generator | None = None,
                             max_degrees: float = MAX_DEGREES) -> tuple[torch.Tensor, torch.Tensor]:
    """THE BUG of exercise 05.1: two views, each rotating the WHOLE batch by one random angle."""
    u1, u2 = torch.rand(2, 1, generator=generator)   # ONE number per view, shared by every image
    return rotate(images, (2 * u1 - 1) * max_degrees), rotate(images, (2 * u2 - 1) * max_degrees)


def l_shape(size: int = 28) -> torch.Tensor:
    """An "L" stroke off the centre, (size, size) float: no rotation maps it onto itself."""
    img = torch.zeros(size, size)
    img[6:22, 9:12], img[19:22, 9:20] = 1.0, 1.0
    return img


def _estimated_angles(views: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(best-matching whole-degree angle, relative residual) of every view against rotations of ``image``."""
    grid = torch.arange(-180, 180, dtype=torch.float32)
    templates = rotate(image.expand(len(grid), *image.shape), grid).flatten(1)
    best, idx = torch.cdist(views.float().flatten(1), templates).min(dim=1)
    return grid[idx], best / templates[0].norm()


def _views_or_verdict(fn: Callable, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | Verdict:
    """``fn``'s two views of ``batch`` (seed 0), or the verdict when it is unfinished, raises or returns
    something else."""
    hint = "keep the signature my_rotation_views(images, generator=None, max_degrees=30.0) -> (view1, view2)"
    out = _call_answer(fn, EX_05_VIEWS, "the body of my_rotation_views", "on 8 copies of one image", hint,
                       batch, generator=torch.Generator().manual_seed(0))
    if isinstance(out, Verdict):
        return out
    shape = (len(batch), 1, *batch.shape[-2:])
    if not (isinstance(out, (tuple, list)) and len(out) == 2
            and all(isinstance(v, torch.Tensor) and v.shape == shape for v in out)):
        return _wrong(EX_05_VIEWS, f"it should return two tensors (view1, view2) of shape {shape}.", hint)
    return out[0], out[1]


def check_05_per_sample_views(fn: Callable | None) -> Verdict:
    """Check ``fn(images, generator=None, max_degrees=30.0) -> (view1, view2)``: per image, a random rotation in
    [-30, 30] degrees (``check_per_sample_augmentation`` on 8 copies of ``l_shape()``); a seed repeats the views."""
    if _unanswered(fn):
        return _not_attempted(EX_05_VIEWS, "the body of my_rotation_views")
    image = l_shape()
    batch = image.expand(8, 1, *image.shape).contiguous()
    out = _views_or_verdict(fn, batch)
    if isinstance(out, Verdict):
        return out
    (v1, v2), result = out, check_per_sample_augmentation(fn, image)
    if not result.passed and torch.allclose(v1, v1[:1].expand_as(v1)):
        return _wrong(EX_05_VIEWS, f"all 8 copies got the same rotation ({result.detail}).",
                      "draw one angle per image: torch.rand(len(images), generator=generator)")
    if not result.passed:
        same = torch.allclose(v1, v2)
        return _wrong(EX_05_VIEWS, "view 1 and view 2 are identical: both use the same angles." if same else
                      f"views are not all different: {result.detail}.", "draw fresh angles for each view")
    if not all(torch.equal(a, b) for a, b in zip(out, fn(batch, generator=torch.Generator().manual_seed(0)))):
        return _wrong(EX_05_VIEWS, "the same seed gives different views: the generator is not used.",
                      "pass generator=generator to torch.rand, so a seeded run is repeatable")
    angles, residual = _estimated_angles(torch.cat([v1, v2]), image)
    if residual.max() > 0.35:
        return _wrong(EX_05_VIEWS, "some views are not rotations of the input.",
                      "make each view with rotate(images, angles), nothing else")
    if angles.abs().max() > MAX_DEGREES + 1.5:
        return _wrong(EX_05_VIEWS, f"a view is rotated by {angles.abs().max():.0f} degrees, beyond +-30.",
                      "map torch.rand's [0, 1) to [-max_degrees, max_degrees]: (2 * u - 1) * max_degrees")
    if angles.min() > -1.5 or angles.max() < 1.5:
        return _wrong(EX_05_VIEWS, "all rotations turn the same way.",
                      "angles should cover both directions: (2 * u - 1) * max_degrees, not u * max_degrees")
    return Verdict(EX_05_VIEWS, "correct", f"8 copies of one image give 8 different views, each view pair differs "
                   f"(rotations from {angles.min():.0f} to {angles.max():.0f} degrees), and a seed repeats them.")


#: option -> (augmentation, unsafe for digits?, why)
AUGMENTATION_OPTIONS = {
    "a": ("rotation by up to +-15 degrees", False, "a slightly tilted digit is the same digit"),
    "b": ("horizontal flip", True, "a mirrored 3, 4 or 7 is no digit at all; handwriting has no mirror invariance"),
    "c": ("rotation by up to +-180 degrees", True, "a 6 turned upside down is a 9, so views of a 6 are pulled to 9s"),
    "d": ("random crop keeping 60-100% of the area", False, "the crop keeps most of the stroke (as ViewParams() does)"),
    "e": ("gaussian pixel noise, std 0.1", False, "noise changes pixels, not the shape (the cpu recipe uses 0.15)"),
}


def _letters(answer: Any) -> set[str] | None:
    """The lower-case letters and digits of ``answer`` (a string or a collection of strings), else None."""
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        answer = "".join(answer)
    return {c for c in answer.lower() if c.isalnum()} if isinstance(answer, str) else None


def check_05_unsafe_augmentations(answer: Any) -> Verdict:
    """Check ``answer``: the letters of every option in ``AUGMENTATION_OPTIONS`` unsafe for digits ("bc")."""
    if _unanswered(answer):
        return _not_attempted(EX_05_UNSAFE, "unsafe")
    hint = "for each option ask: could two views of one digit look like two different digits, or like no digit?"
    chosen = _letters(answer)
    if chosen is None:
        return _wrong(EX_05_UNSAFE, f"answer with a string of letters such as 'ae', got {type(answer).__name__}.", hint)
    if not chosen or chosen - set(AUGMENTATION_OPTIONS):
        return _wrong(EX_05_UNSAFE, f"choose letters among a-e, got {answer!r}.", hint)
    unsafe = {k for k, (_, bad, _) in AUGMENTATION_OPTIONS.items() if bad}
    if chosen == unsafe:
        why = "; ".join(f"{k}, {AUGMENTATION_OPTIONS[k][0]}: {AUGMENTATION_OPTIONS[k][2]}" for k in sorted(unsafe))
        return Verdict(EX_05_UNSAFE, "correct", f"{why}. The others keep the label.")
    parts = [f"{k} is safe: {AUGMENTATION_OPTIONS[k][2]}" for k in sorted(chosen - unsafe)]
    missed = len(unsafe - chosen)
    parts += [f"{missed} unsafe option{'s are' if missed > 1 else ' is'} missing"] if missed else []
    return _wrong(EX_05_UNSAFE, "; ".join(parts) + ".", hint)
