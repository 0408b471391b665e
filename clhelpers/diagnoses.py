"""What a failed check of ``clhelpers.checks`` means: the bug that fits the measured numbers, and its fix.

``DIAGNOSES`` maps each check to the bug a failure usually means and the fix (the short form notebook 03 and
the exercises print). ``diagnose(report)`` reads the numbers each failed check measured and names the bug
that fits them: the collapse value as an effective number of candidates (exp(value) vs 2N - 1), a constant
factor, a factor that follows the temperature, the radial share of a gradient step, and so on::

    for d in diagnose(report):
        print(d)     # "<check> failed. Likely bug: ...\n  Measured: ...\n  Fix: ..."
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .checks import CheckResult, LossCheckReport

# check -> (the bug a failure usually means, the fix)
DIAGNOSES: dict[str, tuple[str, str]] = {
    "finite": ("NaN or Inf in the loss or its gradient (an overflowing exp, a division by zero)",
               "compute with log-sum-exp (F.cross_entropy / torch.logsumexp) on normalized embeddings"),
    "collapse_value": ("the targets point at the masked diagonal (argmax over a two-hot label matrix), or the "
                       "anchor itself stays in the denominator", "mask the diagonal with -inf and use targets i <-> i + N"),
    "symmetric": ("only one view's anchors are used", "average the loss over all 2N anchors (both views)"),
    "pair_permutation_invariant": ("the loss depends on where pairs sit in the batch, not on which rows are pairs",
                                   "derive the positive of row i from the pairing (i + N), not from fixed positions"),
    "aligned_pairs_lower_loss": ("positives never enter the numerator: the loss cannot see which rows are pairs",
                                 "put exp(s(i, p(i)) / t) in the numerator, every other view in the denominator"),
    "scale_invariant": ("embeddings are not normalized", "L2-normalize the rows (F.normalize(z, dim=1)) before the dot products"),
    "uses_temperature": ("the temperature is ignored", "divide the cosine similarities by the temperature"),
    "finite_small_temperature": ("plain exp overflows at small temperatures",
                                 "use F.cross_entropy or logsumexp, never exp(s / t)"),
    "gradient_direction": ("a gradient step does not pull positives together: a sign flip (exp(-s)) or no positive term",
                           "minimize -log softmax of the positive's logit s / t (check the sign of the similarity)"),
    "temperature_direction": ("the temperature multiplies the similarities (s * t) instead of dividing them: a lower t "
                              "flattens the softmax", "divide: logits = similarity / t (a logit scale is 1 / t)"),
    "per_anchor_mean": ("the loss is -log of a pooled probability (-log(mean p), or one ratio of sums over the whole "
                        "batch), not the mean of -log p per anchor", "compute -log p for each anchor (F.cross_entropy, "
                        "reduction='mean'), then average"),
    "float64_reference": ("catastrophic cancellation in float32: e^(1/t) (the self-similarity) subtracted from a row "
                          "sum after the exp", "mask the diagonal with -inf before log-sum-exp (F.cross_entropy on "
                          "masked logits) instead of subtracting exp(1/t)"),
    "non_negative": ("a cross-entropy below 0: the positive is left out of its own denominator, or a term is subtracted",
                     "keep the positive in the denominator: -log(e^pos / (e^pos + sum of negatives))"),
}


@dataclass
class Diagnosis:
    """One failed check: what was measured, the bug that fits it and the fix."""

    check: str
    measured: str
    bug: str
    fix: str

    def __str__(self) -> str:
        return f"{self.check} failed. Likely bug: {self.bug}.\n  Measured: {self.measured}.\n  Fix: {self.fix}."


def _near(x: float, target: float, rtol: float = 2e-3) -> bool:
    return abs(x - target) <= rtol * abs(target)


def _candidate_bug(k: float, n: int, family: str) -> tuple[str, str] | None:
    """The bug a collapse value of log(k) means, for the counts k that have one."""
    known = {
        2 * n: ("the anchor itself stays in the denominator (2N candidates)",
                "mask the diagonal (self-similarity) with -inf before the softmax"),
        2 * n - 2: ("the positive is taken out of the denominator (2N-2 candidates: the decoupled loss, DCL, not "
                    "NT-Xent)", "keep the positive in the denominator, or do not call this NT-Xent"),
        n: ("each anchor sees only the other view's N rows (N candidates), as CLIP and MoCo v3 do",
            "if that is intended, declare it: --family clip (both directions) or --family infonce (one way)"),
        n - 1: ("the positive is taken out of a one-way denominator (N-1 candidates)", "keep the positive in the denominator"),
        2 * n - 1: ("NT-Xent's 2N-1 candidates (the other 2N-1 views), not this family's",
                    "declare --family nt-xent, or compare only against the other view's rows"),
    }
    for count, bug in known.items():
        if count >= 1 and _near(k, count) and not (family in ("nt-xent", "supcon") and count == 2 * n - 1):
            return bug
    return None


def _collapse(r: CheckResult, settings: dict) -> Diagnosis:
    m = r.measured
    v, e, n, t = m["value"], m["expected"], m["n"], m["temperature"]
    if not math.isfinite(v) or abs(v) > 1e3:
        bug = DIAGNOSES["collapse_value"][0].split(", or")[0] + "; a masked logit is a target"
        fix = DIAGNOSES["collapse_value"][1]
        return Diagnosis(r.name, f"collapsed batch: loss = {v:.4g}, expected {e:.4g}", bug, fix)
    c = v / e
    what = f"collapsed batch of {n} pairs: loss = {v:.4g} = {c:.4g} x the expected {e:.4g}"
    half = m.get("value_at_half_t")
    if half is not None and v > 1e-6 and _near(half / v, 0.5, 0.02):
        who = ("MoCo v3's factor 2t" if _near(c, 2 * t, 2e-3) else
               f"SupCon's temperature / base_temperature with base_temperature = {t / c:.3g} != t")
        return Diagnosis(r.name, f"{what}; at t/2 it is {half:.4g}, so the factor follows t (c = t / {t / c:.4g})",
                         f"the loss is multiplied by the temperature: {who}",
                         "set base_temperature = temperature (or divide the factor out); a constant factor "
                         "rescales the learning rate and hides the value's meaning in nats")
    k = math.exp(v) if v < 700 else math.inf
    what += f"; effective candidates exp(loss) = {k:.4g} vs {settings.get('candidates', '2N-1')}"
    fitted = _candidate_bug(k, n, settings.get("family", "nt-xent"))
    if fitted:
        return Diagnosis(r.name, what, *fitted)
    if _near(c, 2.0, 5e-3) or _near(c, 0.5, 5e-3):
        return Diagnosis(r.name, what, f"a constant factor {c:.3g}: the per-anchor losses are summed over the two views "
                         "(or divided by N where 2N anchors were summed), not averaged", "average over all anchors (.mean())")
    return Diagnosis(r.name, what, f"a constant factor {c:.3g} or a different candidate set; neither fits the usual bugs",
                     "compare the loss term by term with nt_xent on a batch of 2 pairs")


def _gradient(r: CheckResult, settings: dict) -> Diagnosis:
    rnd, ali = r.measured["random"], r.measured["aligned"]
    radial = max(rnd["radial_share"], ali["radial_share"])
    what = (f"mean positive cosine {rnd['before']:.3f} -> {rnd['after']:.3f} (random), {ali['before']:.3f} -> "
            f"{ali['after']:.3f} (aligned); {radial:.0%} of the gradient changes the norms")
    if radial > 0.5 and not settings.get("normalized_inputs"):
        return Diagnosis(r.name, what, "the gradient mostly changes the embeddings' norms, not their directions: the loss "
                         "depends on the norms (e.g. a self-similarity subtracted as the constant e^(1/t) instead of "
                         "masked, on unnormalized inputs); not a sign flip",
                         "normalize inside the loss, or declare --normalized-inputs if the model normalizes first")
    if not math.isfinite(rnd["after"]):
        return Diagnosis(r.name, what, "no gradient reaches the embeddings: the loss found no positive pairs or is constant",
                         "check that the two views of a sample are paired (same label, i <-> i + N)")
    if rnd["after"] < rnd["before"] or ali["after"] < ali["before"]:
        return Diagnosis(r.name, what, "a step pushes positives apart: a sign flip (exp(-s)) or a target on the wrong column",
                         DIAGNOSES[r.name][1])
    return Diagnosis(r.name, what, f"positives are barely pulled (gain {rnd['after'] - rnd['before']:.4f} < 0.01): no "
                     "positive term", "put the positive's logit in the numerator of each anchor's softmax")


def _simple(r: CheckResult, settings: dict) -> Diagnosis:
    bug, fix = DIAGNOSES[r.name]
    if r.name == "scale_invariant":
        fix += ("; if your model already normalizes its output before the loss, declare it with --normalized-inputs "
                "(check_contrastive_loss(..., normalized_inputs=True))")
    if r.name == "symmetric":
        fix += "; if the loss is one-way by design (MoCo's queries against keys), declare --family infonce"
    return Diagnosis(r.name, r.detail, bug, fix)


def _small_temperature(r: CheckResult, settings: dict) -> Diagnosis:
    collapsed = r.measured["collapsed"]
    if math.isfinite(collapsed):  # all logits equal: nothing overflows, and nothing underflows either
        return Diagnosis(r.name, f"{r.detail}; finite on a collapsed batch ({collapsed:.4g}), so nothing overflows",
                         "a probability underflows to 0 before its log at small temperatures (log(softmax(...)) in "
                         "two steps, or exp and then log), and 0 * log(0) = nan", "use log_softmax or F.cross_entropy")
    return Diagnosis(r.name, f"{r.detail}; not finite on a collapsed batch either (exp(1/t) overflows)", *DIAGNOSES[r.name])


_READERS = {"collapse_value": _collapse, "gradient_direction": _gradient, "finite_small_temperature": _small_temperature}


def diagnose(report: LossCheckReport) -> list[Diagnosis]:
    """One ``Diagnosis`` per failed check of ``report``, the bug chosen to fit the numbers it measured."""
    out = []
    for r in report.results:
        if not r.passed:
            reader = _READERS.get(r.name) if r.measured else None
            out.append((reader or _simple)(r, report.settings))
    return out
