"""Two random "views" of every digit, made for a whole batch at once on any device.

A contrastive model learns to give two views of the same image similar embeddings, so the
augmentations decide what it learns to *ignore*: small rotations, shears, shifts, zooms and
(optionally) pixel noise or a missing patch. For digits there are no flips: a mirrored 2 is not a 2.

How a view is made (``random_affine``): for every image ``i`` draw its own

* crop area ``a_i ~ U(crop_scale)`` (fraction of the image) and aspect ratio ``r_i`` log-uniform in
  ``aspect_ratio``; the crop is ``w_i = sqrt(a_i r_i)`` wide and ``h_i = sqrt(a_i / r_i)`` high,
  as fractions of the image side (``RandomResizedCrop``'s convention);
* a crop centre that keeps the crop inside the image, plus a shift ``U(-translate, translate)``
  of the image side;
* a rotation ``U(-rotation, rotation)`` and an x-shear ``U(-shear, shear)`` in degrees.

These become one 2x3 matrix per image in ``F.affine_grid``'s normalised coordinates
(-1 = left/top edge, +1 = right/bottom edge), mapping each output pixel to where it reads from::

    input_xy = diag(w_i, h_i) @ R(angle_i) @ [[1, tan(shear_i)], [0, 1]] @ output_xy + centre_i

and ``F.grid_sample`` (bilinear, zeros outside: MNIST's background is black) resamples the whole
batch in one call. Noise and random erasing, when switched on, are drawn per image too.
The random numbers are drawn on the generator's device and then moved to the images (without a
generator: torch's global RNG on the images' device), so a seeded ``torch.Generator`` gives
identical views on every run.

``batchwide_views`` reproduces a common bug for comparison: a torchvision transform applied to a
batched tensor draws ONE set of parameters for the whole batch. ``torchvision_views_transform`` and
``TwoViewDataset`` are the usual per-image torchvision pipeline, used as the speed baseline.
Pictures of views (``plot_views``, the slider callback ``preview_views``) are in ``clhelpers.plots``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "ViewParams",
    "to_unit_float",
    "affine_matrices",
    "random_affine",
    "make_views",
    "batchwide_views",
    "torchvision_views_transform",
    "TwoViewDataset",
]


@dataclass(frozen=True)
class ViewParams:
    """Strengths of the random augmentations that make one view. Defaults are chosen for MNIST.

    All ranges are sampled uniformly and independently for every image (aspect ratio log-uniformly).
    ``ViewParams.identity()`` switches everything off; ``params.scaled(s)`` scales every strength.
    """

    crop_scale: tuple[float, float] = (0.6, 1.0)
    """Range of the crop's area as a fraction of the image (as in ``RandomResizedCrop``). After
    resizing back to 28x28 the digit is zoomed in by ``1/sqrt(area)``: 0.6 means up to ~1.3x,
    which keeps most of a centred digit. Values above 1 zoom out (black border). Must be in (0, 4]."""

    aspect_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    """Range of the crop's width/height ratio; (1, 1) keeps it square. Must be positive."""

    rotation: float = 20.0
    """Maximum rotation in degrees, either direction. Beyond ~45 a 6 starts looking like a 9."""

    shear: float = 10.0
    """Maximum horizontal shear in degrees, either direction (slanted handwriting). Below 60."""

    translate: float = 0.1
    """Maximum extra shift as a fraction of the image side, either direction (0.1 = 2.8 pixels)."""

    noise_std: float = 0.0
    """Standard deviation of gaussian pixel noise added after the affine (pixels in [0, 1],
    result clipped back to [0, 1]). 0 = off."""

    erase_prob: float = 0.0
    """Probability that a view gets a random black rectangle (random erasing). 0 = off."""

    erase_scale: tuple[float, float] = (0.02, 0.15)
    """Range of the erased rectangle's area as a fraction of the image, when erasing happens."""

    def __post_init__(self) -> None:
        def check_range(name: str, lo_bound: float, hi_bound: float) -> None:
            value = getattr(self, name)
            if not (isinstance(value, (tuple, list)) and len(value) == 2):
                raise ValueError(f"ViewParams.{name} must be a (low, high) pair, got {value!r}")
            lo, hi = float(value[0]), float(value[1])
            if not (lo_bound < lo <= hi <= hi_bound):
                raise ValueError(
                    f"ViewParams.{name} must satisfy {lo_bound} < low <= high <= {hi_bound}, got {value!r}"
                )
            object.__setattr__(self, name, (lo, hi))

        def check_number(name: str, lo_bound: float, hi_bound: float, closed_hi: bool = True) -> None:
            value = float(getattr(self, name))
            ok = lo_bound <= value <= hi_bound if closed_hi else lo_bound <= value < hi_bound
            if not (ok and math.isfinite(value)):
                bracket = "]" if closed_hi else ")"
                raise ValueError(f"ViewParams.{name} must be in [{lo_bound}, {hi_bound}{bracket}, got {value!r}")
            object.__setattr__(self, name, value)

        check_range("crop_scale", 0.0, 4.0)
        check_range("aspect_ratio", 0.0, math.inf)
        check_range("erase_scale", 0.0, 1.0)
        check_number("rotation", 0.0, 180.0)
        check_number("shear", 0.0, 60.0, closed_hi=False)
        check_number("translate", 0.0, 1.0)
        check_number("noise_std", 0.0, 1.0)
        check_number("erase_prob", 0.0, 1.0)

    @classmethod
    def identity(cls) -> "ViewParams":
        """All strengths zero: every view equals its input (up to float rounding)."""
        return cls(crop_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0), rotation=0.0, shear=0.0,
                   translate=0.0, noise_std=0.0, erase_prob=0.0)

    def scaled(self, strength: float) -> "ViewParams":
        """The same augmentations, ``strength`` times as strong (0 = identity, 1 = self, <= 2).

        Rotation, shear, translate, noise and erase probability are multiplied by ``strength``;
        the crop area's distance from 1 and the log of the aspect ratio too.
        """
        s = float(strength)
        if not (0.0 <= s <= 2.0):
            raise ValueError(f"strength must be in [0, 2], got {strength!r}")
        lo, hi = self.crop_scale
        rlo, rhi = self.aspect_ratio
        return replace(
            self,
            crop_scale=(1.0 - s * (1.0 - lo), 1.0 - s * (1.0 - hi)) if lo <= 1.0 else (lo, hi),
            aspect_ratio=(rlo ** s, rhi ** s),
            rotation=self.rotation * s,
            shear=min(self.shear * s, 59.0),
            translate=min(self.translate * s, 1.0),
            noise_std=min(self.noise_std * s, 1.0),
            erase_prob=min(self.erase_prob * s, 1.0),
        )

    def as_dict(self) -> dict:
        """Field name -> value, e.g. for logging a training run's configuration."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---------------------------------------------------------------------------------------------
# Per-image views, batched
# ---------------------------------------------------------------------------------------------

def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float 0..1 images, (B, H, W) or (B, C, H, W) -> float32 (B, C, H, W) in [0, 1].

    Raises ValueError for other shapes, non-square images, other dtypes, or float values outside
    [0, 1] (usually 0..255 floats: divide by 255 or pass the uint8 tensor).
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[-1] != images.shape[-2] or images.shape[-1] < 2:
        raise ValueError(
            f"images must have shape (B, 28, 28) or (B, 1, 28, 28) (any square size works), got {tuple(images.shape)}"
        )
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 (0..255) or float (0..1), got dtype {images.dtype}")
    images = images.float()
    if images.numel() and (images.amin() < 0.0 or images.amax() > 1.0):
        raise ValueError(
            f"float images must lie in [0, 1], got values in [{images.amin().item():.3g}, {images.amax().item():.3g}]; "
            "divide by 255 or pass the uint8 tensor"
        )
    return images


def _draw_device(generator: torch.Generator | None, default: torch.device | str | None = None) -> torch.device:
    """Where random numbers are drawn: on the generator's device, else on ``default`` (else the CPU)."""
    if generator is not None:
        return generator.device
    return torch.device(default) if default is not None else torch.device("cpu")


def _check_params(params: ViewParams | None) -> ViewParams:
    if params is None:
        return ViewParams()
    if not isinstance(params, ViewParams):
        raise ValueError(f"params must be a ViewParams (or None for the defaults), got {type(params).__name__}")
    return params


def affine_matrices(n: int, params: ViewParams | None = None, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """``n`` random 2x3 matrices (n, 2, 3) for ``F.affine_grid``, each with its own crop/rotation/shear/shift.

    See the module docstring for the formula. Drawn on the generator's device, returned on ``device``.
    """
    p = _check_params(params)
    u = torch.rand(n, 8, generator=generator, device=_draw_device(generator, device))
    sym = 2.0 * u - 1.0  # uniform in [-1, 1]

    area = p.crop_scale[0] + (p.crop_scale[1] - p.crop_scale[0]) * u[:, 0]
    log_lo, log_hi = math.log(p.aspect_ratio[0]), math.log(p.aspect_ratio[1])
    ratio = torch.exp(log_lo + (log_hi - log_lo) * u[:, 1])
    w, h = torch.sqrt(area * ratio), torch.sqrt(area / ratio)  # crop size, fraction of the side
    # crop centre inside the image (normalised coords span 2), plus the extra shift
    cx = sym[:, 2] * (1.0 - w).clamp(min=0.0) + sym[:, 4] * 2.0 * p.translate
    cy = sym[:, 3] * (1.0 - h).clamp(min=0.0) + sym[:, 5] * 2.0 * p.translate
    angle = sym[:, 6] * math.radians(p.rotation)
    shear = torch.tan(sym[:, 7] * math.radians(p.shear))

    cos, sin = torch.cos(angle), torch.sin(angle)
    # diag(w, h) @ [[cos, -sin], [sin, cos]] @ [[1, shear], [0, 1]]
    theta = torch.stack([
        torch.stack([w * cos, w * (cos * shear - sin), cx], dim=1),
        torch.stack([h * sin, h * (sin * shear + cos), cy], dim=1),
    ], dim=1)
    return theta.to(device) if device is not None else theta


def _add_noise(x: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    noise = torch.randn(x.shape, generator=generator, device=_draw_device(generator, x.device)).to(x.device)
    return (x + std * noise).clamp_(0.0, 1.0)


def _erase(x: torch.Tensor, p: ViewParams, generator: torch.Generator | None) -> torch.Tensor:
    """Black out one random rectangle in each image with probability ``p.erase_prob``."""
    b, _, size, _ = x.shape
    u = torch.rand(b, 5, generator=generator, device=_draw_device(generator, x.device)).to(x.device)
    area = p.erase_scale[0] + (p.erase_scale[1] - p.erase_scale[0]) * u[:, 0]
    ratio = torch.exp(math.log(0.3) + (math.log(3.3) - math.log(0.3)) * u[:, 1])  # torchvision's range
    w, h = torch.sqrt(area * ratio).clamp(max=1.0), torch.sqrt(area / ratio).clamp(max=1.0)
    x0, y0 = u[:, 2] * (1.0 - w), u[:, 3] * (1.0 - h)
    centres = (torch.arange(size, device=x.device) + 0.5) / size  # pixel centres in (0, 1)
    in_x = (centres >= x0[:, None]) & (centres < (x0 + w)[:, None])  # (B, W)
    in_y = (centres >= y0[:, None]) & (centres < (y0 + h)[:, None])  # (B, H)
    hit = (u[:, 4] < p.erase_prob)[:, None, None]
    mask = (in_y[:, :, None] & in_x[:, None, :] & hit)[:, None]  # (B, 1, H, W)
    return x.masked_fill(mask, 0.0)


def random_affine(images: torch.Tensor, params: ViewParams | None = None,
                  generator: torch.Generator | None = None, shared: bool = False) -> torch.Tensor:
    """One random view of every image, each with its own parameters: float32 (B, C, H, W) in [0, 1].

    ``images``: uint8 (0..255) or float (0..1), (B, H, W) or (B, C, H, W), on any device; the
    result is on the same device. Crop/rotation/shear/shift via one ``affine_grid`` + ``grid_sample``,
    then optional noise and random erasing. ``shared=True`` draws ONE crop/rotation/shear/shift for
    the whole batch (noise and erasing stay per image): the batch-wide bug of ``batchwide_views`` in
    our own pipeline, so that training can measure what it costs.
    """
    p = _check_params(params)
    x = to_unit_float(images)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    theta = affine_matrices(1 if shared else x.shape[0], p, generator, device=x.device).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    views = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    views = views.clamp_(0.0, 1.0)  # bilinear weights are convex; this only removes float rounding
    if p.noise_std > 0:
        views = _add_noise(views, p.noise_std, generator)
    if p.erase_prob > 0:
        views = _erase(views, p, generator)
    return views


def make_views(images: torch.Tensor, params: ViewParams | None = None,
               generator: torch.Generator | None = None, shared: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views ``(view1, view2)`` of every image, float32 (B, C, H, W) in [0, 1].

    Every image gets its own random parameters for each view; both views of the whole batch are
    made in one batched pass (the batch is stacked twice). Same device as ``images``; pass a seeded
    ``torch.Generator`` for reproducible views. Accepts what ``random_affine`` accepts.
    ``shared=True`` is the batch-wide bug (one geometry per view for the whole batch), for measuring it.
    """
    x = to_unit_float(images)
    if shared:
        return random_affine(x, params, generator, shared=True), random_affine(x, params, generator, shared=True)
    both = random_affine(torch.cat([x, x]), params, generator)
    return both[: x.shape[0]], both[x.shape[0]:]


# ---------------------------------------------------------------------------------------------
# torchvision: the batch-wide bug, and the usual per-image pipeline (speed baseline)
# ---------------------------------------------------------------------------------------------

def _torchvision_geometry(p: ViewParams, size: int) -> list:
    from torchvision.transforms import v2

    return [
        v2.RandomResizedCrop(size, scale=p.crop_scale, ratio=p.aspect_ratio, antialias=True),
        v2.RandomAffine(degrees=p.rotation, translate=(p.translate, p.translate) if p.translate > 0 else None,
                        shear=p.shear if p.shear > 0 else None, interpolation=v2.InterpolationMode.BILINEAR),
    ]


def batchwide_views(images: torch.Tensor, params: ViewParams | None = None,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """THE BUG, on purpose: torchvision's random transforms applied to a whole batched tensor.

    ``v2.RandomResizedCrop`` and ``v2.RandomAffine`` treat a (B, C, H, W) tensor as B images to be
    transformed *identically*: they draw one crop/angle/shear/shift per call. So every image in
    the batch gets the same view-1 transform and the same view-2 transform, and two different
    images are never augmented differently. Compare ``make_views``. Only the geometric part of
    ``params`` is used. torchvision draws from torch's global RNG; with a ``generator`` we seed a
    forked copy of it from the generator, so the result is repeatable and global state untouched.
    """
    from torchvision.transforms import v2

    p = _check_params(params)
    x = to_unit_float(images)
    transform = v2.Compose(_torchvision_geometry(p, x.shape[-1]))
    if generator is None:
        return transform(x), transform(x)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=_draw_device(generator)))
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return transform(x), transform(x)


def torchvision_views_transform(params: ViewParams | None = None, size: int = 28) -> Callable[[object], torch.Tensor]:
    """The usual per-image torchvision pipeline for one view: PIL digit -> float (1, size, size).

    ``RandomResizedCrop`` + ``RandomAffine`` (same strengths as ``params``), then to a float tensor
    in [0, 1], then optional ``GaussianNoise`` and ``RandomErasing``. Used with ``TwoViewDataset``
    and a ``DataLoader``; it is called twice per image per epoch, one image at a time.
    """
    from torchvision.transforms import v2

    p = _check_params(params)
    steps = _torchvision_geometry(p, size) + [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if p.noise_std > 0:
        steps.append(v2.GaussianNoise(sigma=p.noise_std, clip=True))
    if p.erase_prob > 0:
        steps.append(v2.RandomErasing(p=p.erase_prob, scale=p.erase_scale, value=0))
    return v2.Compose(steps)


class TwoViewDataset(torch.utils.data.Dataset):
    """Per-image two-view dataset: ``ds[i] == (transform(img_i), transform(img_i))``.

    ``images``: uint8 (N, 28, 28). Each digit is handed to ``transform`` as a PIL image, the way
    ``torchvision.datasets.MNIST`` does, so ``torchvision_views_transform()`` plugs in directly.
    """

    def __init__(self, images: torch.Tensor, transform: Callable[[object], torch.Tensor]) -> None:
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() != 3:
            got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a uint8 tensor (N, H, W) as load_mnist returns, got {got}")
        if not callable(transform):
            raise ValueError("transform must be callable, e.g. torchvision_views_transform()")
        self.images = images.cpu().numpy()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        img = Image.fromarray(self.images[index])  # uint8 (H, W) -> 8-bit grayscale ("L")
        return self.transform(img), self.transform(img)
