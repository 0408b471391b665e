"""``python -m clhelpers check`` on losses we did not write: lightly's and pytorch-metric-learning's NT-Xent (test-only
dependencies in requirements.txt) pass in their own calling conventions, and a common misuse of one of them fails
with the diagnosis that names it."""
import pytest
import torch

from clhelpers.cli import main
from clhelpers.checks import check_contrastive_loss
from clhelpers.lint import CONVENTIONS, detect_convention, load_function

WRAPPERS = '''
import torch
from lightly.loss import NTXentLoss as LightlyNTXent
from pytorch_metric_learning.losses import NTXentLoss as PMLNTXent

_lightly = LightlyNTXent(temperature=0.5)
_pml = PMLNTXent(temperature=0.5)


def lightly_nt_xent(out0, out1):
    return _lightly(out0, out1)


def pml_nt_xent(embeddings, labels):
    return _pml(embeddings, labels)


def pml_every_row_its_own_label(embeddings, labels):
    return _pml(embeddings, torch.arange(len(embeddings)))  # the misuse: the two views of an image get different labels
'''


@pytest.fixture
def wrappers(tmp_path):
    path = tmp_path / "third_party_losses.py"
    path.write_text(WRAPPERS)
    return path


@pytest.mark.parametrize("name, convention", [("lightly_nt_xent", "pair"), ("pml_nt_xent", "labels")])
def test_third_party_nt_xent_passes_in_its_own_convention(wrappers, capsys, name, convention):
    fn = load_function(f"{wrappers}:{name}")
    assert detect_convention(fn) == convention
    assert main(["check", f"{wrappers}:{name}"]) == 0
    assert "PASSED" in capsys.readouterr().out


def test_third_party_losses_agree_with_each_other_on_a_batch(wrappers):
    lightly_fn, pml_fn = (load_function(f"{wrappers}:{n}") for n in ("lightly_nt_xent", "pml_nt_xent"))
    z1, z2 = torch.randn(2, 8, 16, generator=torch.Generator().manual_seed(0))
    a = CONVENTIONS["pair"](lightly_fn)(z1, z2, 0.5)
    b = CONVENTIONS["labels"](pml_fn)(z1, z2, 0.5)
    assert torch.allclose(a, b, atol=1e-5), "two independent implementations, one value"


def test_misused_metric_learning_loss_fails_with_its_diagnosis(wrappers, capsys):
    assert main(["check", f"{wrappers}:pml_every_row_its_own_label", "--convention", "labels"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "positives never enter the numerator" in out
    assert "found no positive pairs" in out and "no step: the gradient is zero" in out
    report = check_contrastive_loss(CONVENTIONS["labels"](load_function(f"{wrappers}:pml_every_row_its_own_label")))
    assert "aligned_pairs_lower_loss" in report.failed_checks
