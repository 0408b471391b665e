"""The flags of ``python -m clhelpers check`` on small losses written here, and the diagnoses that read the numbers:
errors are exit 2 (never a list of failed checks), --init is parsed without eval, --layout interleaved, --device,
and each new check catches its bug with the diagnosis that fits."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers.cli import main
from clhelpers.checks import ALL_CHECKS, EXTRA_CHECKS, check_contrastive_loss
from clhelpers.diagnoses import DIAGNOSES, diagnose
from clhelpers.loss_targets import parse_assignments

LOSSES = '''
import torch
import torch.nn.functional as F
from clhelpers.losses import nt_xent


def raises_inside(z1, z2, temperature=0.5):
    scores = z1 @ z2.T
    return scores[len(z1) + 5].sum()  # an index past the batch


def interleaved(features, temperature=0.5):
    return nt_xent(features[0::2], features[1::2], temperature=temperature)


def needs_cuda(z1, z2, temperature=0.5):
    return nt_xent(z1, z2, temperature=temperature) + torch.zeros(1).cuda().sum()
'''


@pytest.fixture
def losses(tmp_path):
    path = tmp_path / "my_losses.py"
    path.write_text(LOSSES)
    return path


def _run(argv, capsys):
    try:
        code = main(["check", *argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_loss_that_raises_is_exit_2_with_its_line_never_failed_checks(losses, capsys):
    for extra in ([], ["--convention", "pair-t"]):
        code, out = _run([f"{losses}:raises_inside", *extra], capsys)
        assert code == 2, out
        assert "IndexError" in out and "my_losses.py:" in out and "scores[len(z1) + 5]" in out and "Try:" in out
        assert "checks passed" not in out and "Likely bug" not in out


def test_a_loss_that_needs_cuda_says_so(losses, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the loss runs")
    code, out = _run([f"{losses}:needs_cuda"], capsys)
    assert code == 2 and "CUDA" in out and "z.device" in out, out
    code, out = _run([f"{losses}:needs_cuda", "--device", "cuda"], capsys)
    assert code == 2 and "no CUDA device" in out


def test_interleaved_layout_is_declared_and_then_passes(losses, capsys):
    code, out = _run([f"{losses}:interleaved"], capsys)  # read as halves: the pairs are wrong
    assert code == 1 and "aligned_pairs_lower_loss" in out
    code, out = _run([f"{losses}:interleaved", "--layout", "interleaved"], capsys)
    assert code == 0 and "layout interleaved" in out, out


@pytest.mark.parametrize("target", ["clhelpers.losses:NTXentLoss", "clhelpers.losses:SupConLoss", "clhelpers.losses:supcon"])
def test_the_series_own_loss_objects_and_supcon_are_checked_as_they_are(target, capsys):
    code, out = _run([target, *(["--family", "supcon"] if "upcon" in target else [])], capsys)
    assert code == 0, out
    assert "temperature checks left out" not in out


def test_assignments_are_literals_or_strings_never_code():
    parsed = parse_assignments(["batch_size=8", "temperature=0.5", "device=cpu", "x=__import__('os').getcwd()",
                                "sizes=(1, 2)", "args.T=0.2"], "--init")
    assert parsed == {"batch_size": 8, "temperature": 0.5, "device": "cpu", "x": "__import__('os').getcwd()",
                      "sizes": (1, 2), "args.T": 0.2}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["batch_size"], "--init")


def _normalized_pairs(z1, z2):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = len(z1)
    return z, (torch.arange(2 * n) + n) % (2 * n)


def temperature_multiplies(z1, z2, temperature=0.5):
    z, targets = _normalized_pairs(z1, z2)
    logits = (z @ z.T * temperature).fill_diagonal_(float("-inf"))
    return F.cross_entropy(logits, targets)


def pooled(z1, z2, temperature=0.5):
    z, targets = _normalized_pairs(z1, z2)
    logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    p = logits.softmax(dim=1)[torch.arange(len(z)), targets]
    return -torch.log(p.mean())


def anchor_in_denominator(z1, z2, temperature=0.5):
    z, targets = _normalized_pairs(z1, z2)
    return F.cross_entropy(z @ z.T / temperature, targets)


def summed_over_views(z1, z2, temperature=0.5):
    from clhelpers.losses import nt_xent
    return 2 * nt_xent(z1, z2, temperature=temperature)


def scaled_by_two_temperatures(z1, z2, temperature=0.5):
    from clhelpers.losses import nt_xent
    return nt_xent(z1, z2, temperature=temperature) * 2 * temperature


def scaled_by_temperature(z1, z2, temperature=0.5):
    from clhelpers.losses import nt_xent
    return nt_xent(z1, z2, temperature=temperature) * temperature / 0.07


@pytest.mark.parametrize("loss, check, bug", [
    (temperature_multiplies, "temperature_direction", "multiplies"),
    (pooled, "per_anchor_mean", "pooled probability"),
    (anchor_in_denominator, "collapse_value", "anchor itself stays in the denominator (2N candidates)"),
    (summed_over_views, "collapse_value", "constant factor 2"),
    (scaled_by_temperature, "collapse_value", "base_temperature = 0.07"),
])
def test_each_bug_gets_the_diagnosis_its_numbers_fit(loss, check, bug):
    report = check_contrastive_loss(loss, checks=list(ALL_CHECKS))
    assert check in report.failed_checks, str(report)
    found = {d.check: d for d in diagnose(report)}
    assert bug in found[check].bug, str(found[check])


def test_moco_v3s_factor_two_t_is_named_away_from_t_half():
    # at t = 0.5 the factor 2t is 1 and the collapse value is right; at t = 0.2 it is 0.4
    report = check_contrastive_loss(scaled_by_two_temperatures, temperature=0.2)
    assert "MoCo v3's factor 2t" in {d.check: d for d in diagnose(report)}["collapse_value"].bug


def test_the_new_checks_pass_the_reference_and_are_opt_in_for_the_library():
    from clhelpers.losses import nt_xent

    report = check_contrastive_loss(nt_xent, checks=list(EXTRA_CHECKS))
    assert report.passed, str(report)
    assert [r.name for r in check_contrastive_loss(nt_xent).results] == [c for c in ALL_CHECKS if c not in EXTRA_CHECKS]
    assert set(DIAGNOSES) == set(ALL_CHECKS)


def test_families_set_the_collapse_value_and_symmetry():
    def one_way(z1, z2, temperature=0.5):
        logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
        return F.cross_entropy(logits, torch.arange(len(z1)))

    report = check_contrastive_loss(one_way, family="infonce", checks=list(ALL_CHECKS))
    assert report.passed, str(report)
    assert any("symmetric left out" in note for note in report.notes)
    assert math.isclose(report.settings["expected_collapse"], math.log(8))
    assert "collapse_value" in check_contrastive_loss(one_way).failed_checks


def test_normalized_inputs_waive_scale_invariance_and_the_report_says_so():
    def model_normalizes(z1, z2, temperature=0.5):
        z = torch.cat([z1, z2])
        n = len(z1)
        logits = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
        return F.cross_entropy(logits, (torch.arange(2 * n) + n) % (2 * n))

    assert check_contrastive_loss(model_normalizes).failed_checks == ["scale_invariant"]
    report = check_contrastive_loss(model_normalizes, normalized_inputs=True)
    assert report.passed and "scale_invariant waived" in str(report)
