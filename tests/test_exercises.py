"""The exercise checkers: the starting point is "not attempted", the reference solution is "correct", and typical
wrong answers are "wrong" with a message that says what is wrong. The notebooks' hidden solutions pass too."""
import json
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clhelpers import exercises as ex
from clhelpers.exercises import (STATUSES, Verdict, batchwide_rotation_views, check_01_p_positive,
                                 check_01_temperature_for_half, check_02_collapse_value, check_02_nt_xent,
                                 check_04_garbled_collapse, check_04_logit_scale, check_05_per_sample_views,
                                 check_05_unsafe_augmentations, rotate)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def assert_verdict(verdict: Verdict, status: str, *fragments: str) -> None:
    assert isinstance(verdict, Verdict) and verdict.status in STATUSES
    assert verdict.status == status, str(verdict)
    text = str(verdict)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    if status == "wrong":
        assert verdict.hint, "a wrong answer gets a hint"
    if status == "not attempted":
        assert "not attempted yet" in text


# --------------------------------------------------------------------------- starting points and references
def unfinished(*args, **kwargs):
    raise NotImplementedError


def p_positive(similarities, temperature):
    """Softmax probability of candidate 0 (the positive) at this temperature."""
    return torch.softmax(similarities / temperature, dim=0)[0]


def my_nt_xent(z1, z2, temperature=0.5):
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)                  # 2N unit rows
    logits = z @ z.T / temperature                               # cosines / tau
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))        # a view is not its own candidate
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)   # i <-> i + N
    return F.cross_entropy(logits, targets)                      # log-sum-exp inside: stable


def my_rotation_views(images, generator=None, max_degrees=30.0):
    def angles():   # one angle PER IMAGE, in [-max_degrees, max_degrees]
        return (2 * torch.rand(len(images), generator=generator) - 1) * max_degrees
    return rotate(images, angles()), rotate(images, angles())


# --------------------------------------------------------------------------- the Verdict
def test_verdict_shows_status_message_and_hint_as_text_and_html():
    v = Verdict("Exercise 0", "wrong", "it is <wrong>", "try again")
    assert str(v) == repr(v) == "[Exercise 0] wrong: it is <wrong>\n  hint: try again"
    assert "&lt;wrong&gt;" in v._repr_html_() and "crimson" in v._repr_html_()


@pytest.mark.parametrize("checker", [check_01_p_positive, check_01_temperature_for_half, check_02_nt_xent,
                                     check_02_collapse_value, check_05_per_sample_views,
                                     check_05_unsafe_augmentations], ids=lambda c: c.__name__)
@pytest.mark.parametrize("start", [None, ...], ids=["None", "Ellipsis"])
def test_an_untouched_starting_point_is_not_attempted(checker, start):
    assert_verdict(checker(start), "not attempted")


# --------------------------------------------------------------------------- 01
def test_01_p_positive():
    assert_verdict(check_01_p_positive(unfinished), "not attempted", "p_positive")
    assert_verdict(check_01_p_positive(p_positive), "correct")
    assert_verdict(check_01_p_positive(lambda s, t: float(torch.softmax(s / t, 0)[0])), "correct")   # a float is fine
    assert_verdict(check_01_p_positive(lambda s, t: torch.softmax(s * t, 0)[0]), "wrong", "multiplies")
    assert_verdict(check_01_p_positive(lambda s, t: torch.softmax(s, 0)[0]), "wrong", "temperature is ignored")
    negatives_only = lambda s, t: torch.exp(s[0] / t) / torch.exp(s[1:] / t).sum()   # noqa: E731
    assert_verdict(check_01_p_positive(negatives_only), "wrong", "leaves out the positive")
    assert_verdict(check_01_p_positive(lambda s, t: torch.softmax(s / t, 0)), "wrong", "the whole softmax")
    assert_verdict(check_01_p_positive(lambda s, t: s.max()), "wrong", "expected")
    assert_verdict(check_01_p_positive(lambda s, t: 1 / 0), "wrong", "ZeroDivisionError")


def test_01_temperature_for_half():
    assert_verdict(check_01_temperature_for_half(0.3 / math.log(3)), "correct", "0.3 / ln 3")
    assert_verdict(check_01_temperature_for_half(torch.tensor(0.27)), "correct")       # rounded, as a tensor
    assert_verdict(check_01_temperature_for_half(0.3 / math.log(2)), "wrong", "ONE negative")
    assert_verdict(check_01_temperature_for_half(math.log(3) / 0.3), "wrong", "upside down")
    assert_verdict(check_01_temperature_for_half(0.3), "wrong", "too large")
    assert_verdict(check_01_temperature_for_half(0.1), "wrong", "too small")
    assert_verdict(check_01_temperature_for_half(-0.27), "wrong", "positive number")
    assert_verdict(check_01_temperature_for_half("0.27"), "wrong", "one number")


# --------------------------------------------------------------------------- 02
def no_mask(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    return F.cross_entropy(z @ z.T / temperature, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))


def plain_exp(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    e = torch.exp(z @ z.T / temperature) * (1 - torch.eye(2 * n))
    positives = e[torch.arange(2 * n), torch.cat([torch.arange(n, 2 * n), torch.arange(n)])]
    return -(positives / e.sum(dim=1)).log().mean()


def one_side(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(logits[:n], torch.arange(n, 2 * n))   # only the anchors of view 1


@pytest.mark.parametrize("wrong, fragments", [
    (no_mask, ("collapse_value", "anchor itself stays among the candidates")),
    (plain_exp, ("finite_small_temperature", "plain exp overflows")),
    (lambda z1, z2, t=0.5: my_nt_xent(z1, z2, 1 / t), ("multiplies",)),
    (lambda z1, z2, t=0.5: my_nt_xent(z1, z2, t) * 2 * len(z1), ("collapse_value", "summed, not averaged")),
    (one_side, ("symmetric", "only one view's anchors")),
    (lambda z1, z2, t=0.5: torch.ones(2 * len(z1)), ("not a scalar tensor",)),
    (lambda z1, z2, t=0.5: z1 @ z2, ("RuntimeError",)),
], ids=["no-mask", "plain-exp", "multiplied-t", "sum", "one-side", "vector", "crash"])
def test_02_nt_xent_rejects_typical_bugs_and_names_them(wrong, fragments):
    assert_verdict(check_02_nt_xent(wrong), "wrong", *fragments)


def test_02_nt_xent_accepts_the_reference():
    assert_verdict(check_02_nt_xent(unfinished), "not attempted", "my_nt_xent")
    assert_verdict(check_02_nt_xent(my_nt_xent), "correct", "9 checks")
    assert_verdict(check_02_nt_xent(42), "wrong", "should be a function")


def test_02_collapse_value():
    assert_verdict(check_02_collapse_value(math.log(2 * 32 - 1)), "correct", "log(63)")
    assert_verdict(check_02_collapse_value(4.143), "correct")
    assert_verdict(check_02_collapse_value(math.log(64)), "wrong", "counts the anchor itself")
    assert_verdict(check_02_collapse_value(math.log(62)), "wrong", "the positive is a candidate too")
    assert_verdict(check_02_collapse_value(math.log(32)), "wrong", "log(N)")
    assert_verdict(check_02_collapse_value(63), "wrong", "number of candidates")
    assert_verdict(check_02_collapse_value(4.0), "wrong", "not the collapse value for N = 32.")
    assert_verdict(check_02_collapse_value([4.14]), "wrong", "one number")


# --------------------------------------------------------------------------- 05
def test_rotate_turns_each_image_by_its_own_angle():
    img = ex.l_shape().expand(3, 1, 28, 28)
    out = rotate(img, torch.tensor([0.0, 90.0, -90.0]))
    assert out.shape == (3, 1, 28, 28) and torch.allclose(out[0], img[0], atol=1e-5)
    assert torch.allclose(out[1], rotate(img[:1], 90.0)[0]) and not torch.allclose(out[1], out[2])
    with pytest.raises(ValueError, match="one angle per image"):
        rotate(img, torch.zeros(2))


def same_angles_for_both_views(images, generator=None, max_degrees=30.0):
    a = (2 * torch.rand(len(images), generator=generator) - 1) * max_degrees
    return rotate(images, a), rotate(images, a)


def ignores_the_generator(images, generator=None, max_degrees=30.0):
    return my_rotation_views(images, None, max_degrees)


def one_direction_only(images, generator=None, max_degrees=30.0):
    def angles():
        return torch.rand(len(images), generator=generator) * max_degrees
    return rotate(images, angles()), rotate(images, angles())


def radians_not_degrees(images, generator=None, max_degrees=30.0):
    def angles():
        return torch.rad2deg((2 * torch.rand(len(images), generator=generator) - 1) * max_degrees)
    return rotate(images, angles()), rotate(images, angles())


@pytest.mark.parametrize("wrong, fragment", [
    (batchwide_rotation_views, "all 8 copies got the same rotation"),
    (same_angles_for_both_views, "view 1 and view 2 are identical"),
    (ignores_the_generator, "the generator is not used"),
    (one_direction_only, "turn the same way"),
    (radians_not_degrees, "beyond +-30"),
    (lambda images, generator=None, max_degrees=30.0: (images, images + 0), "same rotation"),
    (lambda images, generator=None, max_degrees=30.0: rotate(images, 10.0), "two tensors"),
    (lambda images: (images, images), "TypeError"),
], ids=["batch-wide", "same-angles", "no-generator", "one-direction", "radians", "identity", "one-tensor", "signature"])
def test_06_per_sample_views_rejects_typical_bugs(wrong, fragment):
    assert_verdict(check_05_per_sample_views(wrong), "wrong", fragment)


def test_06_per_sample_views_accepts_the_reference():
    assert_verdict(check_05_per_sample_views(unfinished), "not attempted", "my_rotation_views")
    assert_verdict(check_05_per_sample_views(my_rotation_views), "correct", "8 different views")


def test_06_unsafe_augmentations():
    for answer in ("bc", "C, B", ["b", "c"]):
        assert_verdict(check_05_unsafe_augmentations(answer), "correct", "6 turned upside down is a 9")
    assert_verdict(check_05_unsafe_augmentations("b"), "wrong", "1 unsafe option is missing")
    assert_verdict(check_05_unsafe_augmentations("bcd"), "wrong", "d is safe")
    assert_verdict(check_05_unsafe_augmentations("ae"), "wrong", "a is safe", "e is safe", "2 unsafe options are missing")
    assert_verdict(check_05_unsafe_augmentations("bz"), "wrong", "among a-e")
    assert_verdict(check_05_unsafe_augmentations(2), "wrong", "string of letters")


# --------------------------------------------------------------------------- the notebooks' hidden solutions
CHECKERS = {"p_positive": check_01_p_positive, "tau_half": check_01_temperature_for_half,
            "my_nt_xent": check_02_nt_xent, "collapse_32": check_02_collapse_value,
            "my_rotation_views": check_05_per_sample_views, "unsafe": check_05_unsafe_augmentations,
            "garbled_collapse_16": check_04_garbled_collapse, "logit_scale": check_04_logit_scale}
SOLUTION = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)


def solutions(name: str) -> list[str]:
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    return [code for c in cells if c["cell_type"] == "markdown" for code in SOLUTION.findall("".join(c["source"]))]


@pytest.mark.parametrize("name", ["01_similarity_and_temperature.ipynb", "02_deriving_nt_xent.ipynb",
                                  "04_a_gallery_of_flawed_losses.ipynb", "05_views_and_augmentations.ipynb"])
def test_the_notebooks_hidden_solutions_are_correct(name):
    found = solutions(name)
    assert len(found) == 2, f"{name}: expected two exercises with a <details> solution, found {len(found)}"
    for code in found:
        namespace = {"math": math, "torch": torch, "F": F, "rotate": rotate}
        exec(code, namespace)
        answered = [key for key in CHECKERS if key in namespace]
        assert len(answered) == 1, f"{name}: a solution should define one of {list(CHECKERS)}"
        assert_verdict(CHECKERS[answered[0]](namespace[answered[0]]), "correct")


def test_scalar_answer_gives_the_number_or_the_verdict_that_names_the_fix():
    from clhelpers.exercises._verdict import Verdict, _scalar_answer

    def unfinished(x):
        raise NotImplementedError

    def raises(x):
        raise KeyError("nope")

    args = ("Exercise X", "the body of f", "on batch 0", "the raise hint", "the number hint")
    assert _scalar_answer(lambda x: torch.tensor(x * 2.0), *args, 1.5) == 3.0
    verdicts = {name: _scalar_answer(fn, *args, 1.0) for name, fn in
                (("unfinished", unfinished), ("raises", raises), ("vector", lambda x: torch.ones(3)), ("text", lambda x: "1"))}
    assert all(isinstance(v, Verdict) for v in verdicts.values())
    assert verdicts["unfinished"].status == "not attempted" and "the body of f" in str(verdicts["unfinished"])
    assert verdicts["raises"].status == "wrong" and "on batch 0 it raised KeyError" in str(verdicts["raises"])
    assert "the raise hint" in str(verdicts["raises"])
    for name in ("vector", "text"):
        assert verdicts[name].status == "wrong" and "not one number" in str(verdicts[name])
        assert "the number hint" in str(verdicts[name])
