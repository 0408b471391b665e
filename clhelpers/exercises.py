"""Exercises with automatic feedback: one checker per exercise of the notebooks.

An exercise in a notebook is a task, a code cell with the reader's starting point (``None``, ``...``,
or a function whose body is ``raise NotImplementedError``), a cell calling the checker, and a reference
solution hidden in a ``<details>`` block. A checker never raises on a wrong answer: it returns a
``Verdict`` whose ``status`` is "not attempted", "correct" or "wrong", with a message saying why and,
when wrong, a hint. The verdict shows itself when the checker call ends a cell (else ``print`` it)::

    check_01_temperature_for_half(0.27).status    # "correct"

Checkers are named ``check_<notebook>_<topic>`` (01: p_positive, temperature_for_half; 02: nt_xent,
collapse_value; 04: per_sample_views, unsafe_augmentations); their docstrings say what they accept.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .augment import to_unit_float
from .checks import check_contrastive_loss, check_per_sample_augmentation
from .lint import DIAGNOSES
from .losses import nt_xent
from .similarity import softmax_with_temperature

STATUSES = ("not attempted", "correct", "wrong")
_HEADS = {"not attempted": "not attempted yet", "correct": "correct", "wrong": "wrong"}
_COLORS = {"not attempted": "gray", "correct": "green", "wrong": "crimson"}


@dataclass(frozen=True, repr=False)
class Verdict:
    """A checker's answer: the ``exercise`` title, ``status`` (one of ``STATUSES``), ``message``, ``hint``."""

    exercise: str
    status: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"[{self.exercise}] {_HEADS[self.status]}: {self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        hint = f"<br><i>hint:</i> {html.escape(self.hint)}" if self.hint else ""
        return (f"<div><b>{html.escape(self.exercise)}</b> &middot; <b style='color:{_COLORS[self.status]}'>"
                f"{_HEADS[self.status]}</b>: {html.escape(self.message)}{hint}</div>")


def _not_attempted(exercise: str, what: str) -> Verdict:
    return Verdict(exercise, "not attempted", f"fill in {what} in the cell above, run it, then run this cell again.")


def _wrong(exercise: str, message: str, hint: str) -> Verdict:
    return Verdict(exercise, "wrong", message, hint)


def _unanswered(answer: Any) -> bool:
    return answer is None or answer is Ellipsis


def _number(answer: Any) -> float | None:
    """``answer`` as a float if it is one real number (int, float, numpy or 1-element tensor), else None."""
    if isinstance(answer, (str, bytes, bool)) or (isinstance(answer, torch.Tensor) and answer.numel() != 1):
        return None
    try:
        return float(answer)
    except (TypeError, ValueError):
        return None


def _near(a: float, b: float, rel: float = 0.02) -> bool:
    return math.isfinite(a) and abs(a - b) <= rel * abs(b)


def _raised(err: Exception) -> str:
    return f"it raised {type(err).__name__}" + (f": {str(err).splitlines()[0][:120]}" if str(err) else "")


def _call_answer(fn: Callable, exercise: str, what: str, where: str, hint: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or the verdict: "not attempted" (fill in ``what``) or "wrong" (it raised, ``where``)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        return _not_attempted(exercise, what)
    except Exception as err:
        return _wrong(exercise, f"{where} {_raised(err)}.", hint)


# =========================================================================== notebook 01
EX_01_P, EX_01_TAU = "Exercise 01.1 · p(positive)", "Exercise 01.2 · the temperature for p = 1/2"
_ROW = (0.8, 0.6, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7)
#: (similarities, temperature) cases for p_positive: candidate 0 is the positive
P_POSITIVE_CASES = ((_ROW, 0.1), (_ROW, 1.0), ((0.2, 0.9, -0.3), 0.3), ((0.5, 0.4, 0.45, -0.2, 0.1), 0.05))
HALF_ROW = (0.8, 0.5, 0.5, 0.5)   # exercise 01.2: the positive at cosine 0.8, three negatives at 0.5
TAU_HALF = (HALF_ROW[0] - HALF_ROW[1]) / math.log(3)   # exp(0.3 / t) = 3


def _p_positive_bug(s: torch.Tensor, t: float, got: float) -> tuple[str, str] | None:
    """(likely bug, hint) when ``got`` equals a typical wrong formula's value, else None."""
    e = torch.exp(s / t)
    candidates = ((torch.softmax(s * t, 0)[0], "the temperature multiplies the similarities instead of dividing them",
                   "logits are s / temperature: a small temperature makes them larger"),
                  (torch.softmax(s, 0)[0], "the temperature is ignored (the value does not change with it)",
                   "divide every similarity by the temperature before the softmax"),
                  (e[0] / e[1:].sum(), "the denominator leaves out the positive (it sums over the negatives only)",
                   "the softmax sums exp(s_j / t) over ALL candidates, the positive included"),
                  (torch.softmax(-s / t, 0)[0], "the sign is flipped: exp(-s / t) favours the least similar candidate",
                   "use exp(+s / t): the most similar candidate gets the largest probability"))
    for value, bug, hint in candidates:
        if math.isclose(got, float(value), rel_tol=1e-3, abs_tol=1e-6):
            return bug, hint
    return None


def check_01_p_positive(fn: Callable | None) -> Verdict:
    """Check ``fn(similarities, temperature) -> p``, the softmax probability of candidate 0 of a 1-D row of cosines."""
    if _unanswered(fn):
        return _not_attempted(EX_01_P, "the body of p_positive")
    hint = "p = exp(s[0] / t) / sum_j exp(s[j] / t); torch.softmax(s / t, dim=0)[0] does it in one line"
    for row, t in P_POSITIVE_CASES:
        s = torch.tensor(row, dtype=torch.float64)
        out = _call_answer(fn, EX_01_P, "the body of p_positive", f"for similarities {list(row)} at t = {t}", hint,
                           s.clone(), t)
        if isinstance(out, Verdict):
            return out
        if isinstance(out, torch.Tensor) and out.numel() == len(row):
            return _wrong(EX_01_P, f"it returned {len(row)} numbers, the whole softmax.",
                          "return only the positive's probability, the entry at index 0")
        got, expected = _number(out), float(softmax_with_temperature(s, t)[0])
        if got is None:
            return _wrong(EX_01_P, f"it returned {type(out).__name__}, not one number.", hint)
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            what = f"for similarities {list(row)} at t = {t} it gives {got:.4g}, expected {expected:.4g}"
            bug = _p_positive_bug(s, t, got)
            return _wrong(EX_01_P, f"{what}: {bug[0]}.", bug[1]) if bug else _wrong(EX_01_P, f"{what}.", hint)
    return Verdict(EX_01_P, "correct", f"matches the softmax on {len(P_POSITIVE_CASES)} rows, temperatures from "
                   "0.05 to 1, also when the positive is not the most similar candidate.")


def check_01_temperature_for_half(tau: Any) -> Verdict:
    """Check ``tau``: the temperature at which the positive of ``HALF_ROW`` gets probability 1/2 (+- 0.005)."""
    if _unanswered(tau):
        return _not_attempted(EX_01_TAU, "tau_half")
    hint = ("p+ = 1 / (1 + 3 exp((0.5 - 0.8) / t)); set it to 1/2 and solve for t "
            "(or bisect with your p_positive: p+ falls as t grows)")
    t = _number(tau)
    if t is None:
        return _wrong(EX_01_TAU, f"tau_half should be one number, got {type(tau).__name__}.", hint)
    if not (t > 0 and math.isfinite(t)):
        return _wrong(EX_01_TAU, f"a temperature is a positive number, got {t}.", hint)
    p = float(softmax_with_temperature(torch.tensor(HALF_ROW, dtype=torch.float64), t)[0])
    if abs(p - 0.5) <= 0.005:
        return Verdict(EX_01_TAU, "correct", f"at t = {t:.4g} the positive gets p = {p:.3f}. Exactly: the positive's "
                       "weight exp(0.8 / t) must equal the three negatives' 3 exp(0.5 / t), so t = 0.3 / ln 3 = 0.273.")
    known = ((0.3 / math.log(2), "you solved for ONE negative (ln 2); there are three of them"),
             (0.3 / math.log(4), "ln 4 counts all four candidates; at p = 1/2 the positive's weight equals the "
              "negatives' summed weight, a ratio of 3"),
             (math.log(3) / 0.3, "the fraction is upside down: t = 0.3 / ln 3, not ln 3 / 0.3"))
    for value, why in known:
        if _near(t, value):
            return _wrong(EX_01_TAU, f"at t = {t:.4g} the positive gets p = {p:.3f}: {why}.", hint)
    direction = ("too large: the softmax is too flat; a smaller t sharpens it towards the positive" if p < 0.5
                 else "too small: the softmax is too sharp; a larger t flattens it")
    return _wrong(EX_01_TAU, f"at t = {t:.4g} the positive gets p = {p:.3f}, not 0.5: t is {direction}.", hint)


# =========================================================================== notebook 02
EX_02_LOSS, EX_02_COLLAPSE = "Exercise 02.1 · NT-Xent from scratch", "Exercise 02.2 · the collapse value"
COLLAPSE_N = 32


def _batch(seed: int, n: int = 8, dim: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, dim, generator=g)
    return z1, z1 + 0.8 * torch.randn(n, dim, generator=g)


def _collapse_bug(fn: Callable, n: int = 8) -> tuple[str, str] | None:
    """(likely bug, fix) read off the loss of a fully collapsed batch, when its value is a telling one."""
    try:
        value = float(fn(torch.ones(n, 16), torch.ones(n, 16), 0.5))
    except Exception:
        return None
    known = ((math.inf, "the targets point at the masked diagonal (loss = inf)",
              "the target of row i is its OTHER view, i + N (mod 2N), not i"),
             (math.log(2 * n), "the anchor itself stays among the candidates (collapsed loss log(2N))",
              "mask the diagonal: logits.masked_fill(torch.eye(2N, dtype=bool), -inf)"),
             (2 * n * math.log(2 * n - 1), "the 2N anchor losses are summed, not averaged",
              "take the mean over the 2N rows (F.cross_entropy averages by default)"),
             (math.log(n), "each anchor only sees the N views of the other side (collapsed loss log(N))",
              "use the full 2N x 2N matrix of torch.cat([z1, z2]): 2N - 1 candidates per anchor"))
    return next(((bug, fix) for target, bug, fix in known if math.isclose(value, target, rel_tol=1e-3)), None)


def _mismatch(fn: Callable) -> tuple[str, str] | None:
    """(what differs, hint) when ``fn`` differs from ``nt_xent`` on three random batches, else None."""
    try:
        for seed, t in ((1, 0.1), (2, 0.5), (3, 1.0)):
            z1, z2 = _batch(seed)
            with torch.no_grad():
                got, expected, inverse = (float(f(z1, z2, tt)) for f, tt in ((fn, t), (nt_xent, t), (nt_xent, 1 / t)))
            if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
                differs = f"at t = {t} it gives {got:.4f} where nt_xent gives {expected:.4f}"
                if math.isclose(got, inverse, rel_tol=1e-4):
                    return f"{differs}: the temperature multiplies the similarities", "logits = cosines / temperature"
                return f"passes the checks, but {differs}", "follow the formula: normalize, z @ z.T / t, mask, i + N"
    except Exception as err:
        return f"on a random batch {_raised(err)}", "it must work for any N, D and temperature"
    return None


def _first_call(fn: Callable) -> Verdict | None:
    """A verdict when ``fn`` is not a finished function returning a scalar tensor; else None."""
    if not callable(fn):
        return _wrong(EX_02_LOSS, f"my_nt_xent should be a function, got {type(fn).__name__}.",
                      "define it with def my_nt_xent(z1, z2, temperature=0.5): ...")
    out = _call_answer(fn, EX_02_LOSS, "the body of my_nt_xent", "on a batch of 8 pairs",
                       "z1 and z2 are (N, D); return one number, e.g. F.cross_entropy(logits, targets)", *_batch(0), 0.5)
    if isinstance(out, Verdict):
        return out
    if not isinstance(out, torch.Tensor) or out.dim() != 0:
        got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        return _wrong(EX_02_LOSS, f"it returned {got}, not a scalar tensor.",
                      "average the 2N per-anchor losses into one 0-dim tensor (.mean())")
    return None


def check_02_nt_xent(fn: Callable | None) -> Verdict:
    """Check ``fn(z1, z2, temperature)``: all checks of ``check_contrastive_loss`` (a failure named with its likely
    bug, ``clhelpers.lint.DIAGNOSES`` or the collapsed batch's value), then equality with ``nt_xent``."""
    early = _not_attempted(EX_02_LOSS, "the body of my_nt_xent") if _unanswered(fn) else _first_call(fn)
    if early is not None:
        return early
    report = check_contrastive_loss(fn, name="my_nt_xent")
    if report.failed_checks:
        first = report.failed_checks[0]
        bug, fix = _collapse_bug(fn) or DIAGNOSES[first]
        return _wrong(EX_02_LOSS, f"failed check(s) {', '.join(report.failed_checks)} ({first}: "
                      f"{report[first].detail}). Likely bug: {bug}.", fix)
    differs = _mismatch(fn)
    if differs:
        return _wrong(EX_02_LOSS, differs[0] + ".", differs[1])
    return Verdict(EX_02_LOSS, "correct", f"passes all {len(report.results)} checks of check_contrastive_loss "
                   "and equals nt_xent on three random batches (t = 0.1, 0.5, 1).")


def check_02_collapse_value(value: Any) -> Verdict:
    """Check ``value``: NT-Xent of a collapsed encoder for a batch of ``COLLAPSE_N`` = 32 pairs, log(63)."""
    if _unanswered(value):
        return _not_attempted(EX_02_COLLAPSE, "collapse_32")
    n, hint = COLLAPSE_N, "count the candidates of one anchor: all 2N views but itself; all get the same logit"
    x = _number(value)
    if x is None:
        return _wrong(EX_02_COLLAPSE, f"collapse_32 should be one number, got {type(value).__name__}.", hint)
    if abs(x - math.log(2 * n - 1)) <= 1e-3:
        return Verdict(EX_02_COLLAPSE, "correct", f"log(2N - 1) = log(63) = {math.log(63):.3f}: each of the 63 "
                       "candidates gets probability 1/63. A loss stuck at 4.14 means the run has learned nothing yet.")
    known = ((math.log(2 * n), "log(2N) counts the anchor itself, but the diagonal is masked"),
             (math.log(2 * n - 2), "log(2N - 2) counts the negatives only; the positive is a candidate too"),
             (math.log(n), "log(N) counts the views of one side only; an anchor sees both views of every other pair"),
             (2 * n - 1, "that is the number of candidates; the loss is the log of it"),
             (1 / (2 * n - 1), "that is each candidate's probability; the loss is -log of it"),
             (math.log10(2 * n - 1), "log10: the loss uses the natural log (math.log)"))
    why = next((": " + why for target, why in known if _near(x, target, rel=1e-3)), "")
    return _wrong(EX_02_COLLAPSE, f"{x:.4g} is not the collapse value for N = {n}{why}.", hint)


# =========================================================================== notebook 04
EX_04_VIEWS, EX_04_UNSAFE = "Exercise 04.1 · per-sample rotations", "Exercise 04.2 · augmentations that break digits"
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
    """THE BUG of exercise 04.1: two views, each rotating the WHOLE batch by one random angle."""
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
    hint = "keep the signature my_rotation_views(images, generator=None, max_degrees=30.0) -> (view1, view2)"
    out = _call_answer(fn, EX_04_VIEWS, "the body of my_rotation_views", "on 8 copies of one image", hint,
                       batch, generator=torch.Generator().manual_seed(0))
    if isinstance(out, Verdict):
        return out
    shape = (len(batch), 1, *batch.shape[-2:])
    if not (isinstance(out, (tuple, list)) and len(out) == 2
            and all(isinstance(v, torch.Tensor) and v.shape == shape for v in out)):
        return _wrong(EX_04_VIEWS, f"it should return two tensors (view1, view2) of shape {shape}.", hint)
    return out[0], out[1]


def check_04_per_sample_views(fn: Callable | None) -> Verdict:
    """Check ``fn(images, generator=None, max_degrees=30.0) -> (view1, view2)``: per image, a random rotation in
    [-30, 30] degrees (``check_per_sample_augmentation`` on 8 copies of ``l_shape()``); a seed repeats the views."""
    if _unanswered(fn):
        return _not_attempted(EX_04_VIEWS, "the body of my_rotation_views")
    image = l_shape()
    batch = image.expand(8, 1, *image.shape).contiguous()
    out = _views_or_verdict(fn, batch)
    if isinstance(out, Verdict):
        return out
    (v1, v2), result = out, check_per_sample_augmentation(fn, image)
    if not result.passed and torch.allclose(v1, v1[:1].expand_as(v1)):
        return _wrong(EX_04_VIEWS, f"all 8 copies got the same rotation ({result.detail}).",
                      "draw one angle per image: torch.rand(len(images), generator=generator)")
    if not result.passed:
        same = torch.allclose(v1, v2)
        return _wrong(EX_04_VIEWS, "view 1 and view 2 are identical: both use the same angles." if same else
                      f"views are not all different: {result.detail}.", "draw fresh angles for each view")
    if not all(torch.equal(a, b) for a, b in zip(out, fn(batch, generator=torch.Generator().manual_seed(0)))):
        return _wrong(EX_04_VIEWS, "the same seed gives different views: the generator is not used.",
                      "pass generator=generator to torch.rand, so a seeded run is repeatable")
    angles, residual = _estimated_angles(torch.cat([v1, v2]), image)
    if residual.max() > 0.35:
        return _wrong(EX_04_VIEWS, "some views are not rotations of the input.",
                      "make each view with rotate(images, angles), nothing else")
    if angles.abs().max() > MAX_DEGREES + 1.5:
        return _wrong(EX_04_VIEWS, f"a view is rotated by {angles.abs().max():.0f} degrees, beyond +-30.",
                      "map torch.rand's [0, 1) to [-max_degrees, max_degrees]: (2 * u - 1) * max_degrees")
    if angles.min() > -1.5 or angles.max() < 1.5:
        return _wrong(EX_04_VIEWS, "all rotations turn the same way.",
                      "angles should cover both directions: (2 * u - 1) * max_degrees, not u * max_degrees")
    return Verdict(EX_04_VIEWS, "correct", f"8 copies of one image give 8 different views, each view pair differs "
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
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        answer = "".join(answer)
    return {c for c in answer.lower() if c.isalnum()} if isinstance(answer, str) else None


def check_04_unsafe_augmentations(answer: Any) -> Verdict:
    """Check ``answer``: the letters of every option in ``AUGMENTATION_OPTIONS`` unsafe for digits ("bc")."""
    if _unanswered(answer):
        return _not_attempted(EX_04_UNSAFE, "unsafe")
    hint = "for each option ask: could two views of one digit look like two different digits, or like no digit?"
    chosen = _letters(answer)
    if chosen is None:
        return _wrong(EX_04_UNSAFE, f"answer with a string of letters such as 'ae', got {type(answer).__name__}.", hint)
    if not chosen or chosen - set(AUGMENTATION_OPTIONS):
        return _wrong(EX_04_UNSAFE, f"choose letters among a-e, got {answer!r}.", hint)
    unsafe = {k for k, (_, bad, _) in AUGMENTATION_OPTIONS.items() if bad}
    if chosen == unsafe:
        why = "; ".join(f"{k}, {AUGMENTATION_OPTIONS[k][0]}: {AUGMENTATION_OPTIONS[k][2]}" for k in sorted(unsafe))
        return Verdict(EX_04_UNSAFE, "correct", f"{why}. The others keep the label.")
    parts = [f"{k} is safe: {AUGMENTATION_OPTIONS[k][2]}" for k in sorted(chosen - unsafe)]
    missed = len(unsafe - chosen)
    parts += [f"{missed} unsafe option{'s are' if missed > 1 else ' is'} missing"] if missed else []
    return _wrong(EX_04_UNSAFE, "; ".join(parts) + ".", hint)
