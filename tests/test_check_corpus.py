"""``python -m clhelpers check`` on real code: the corpus in tests/check_corpus (our re-implementations of losses
from public repositories, each file's header naming its source, licence and expected verdict) and losses of the
test-only PyPI dependencies (lightly, pytorch-metric-learning), checked as installed.

Each case: the target and flags, the exit status, the checks that must fail (exactly), and text the output must
contain (the diagnosis that fits, or the usage error's fix)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from clhelpers.cli import main
from clhelpers.checks import ALL_CHECKS

CORPUS = Path(__file__).parent / "check_corpus"
SPIJKERVET = f"{CORPUS}/simclr_pkg/modules/nt_xent.py:NT_Xent"
STHALLES = f"{CORPUS}/sthalles_simclr.py:SimCLR.info_nce_loss"
STHALLES_SELF = ["--attr", "args.batch_size=8", "args.n_views=2", "args.temperature=0.5", "args.device=cpu"]
SUPCON = f"{CORPUS}/supcontrast.py:SupConLoss"
CLIP = f"{CORPUS}/open_clip_loss.py:ClipLoss"
BOLTS = f"{CORPUS}/bolts_simclr.py:SimCLR.nt_xent_loss"

# name: (arguments, exit status, failed checks (exactly; None for exit 2), text the output contains)
CASES: dict[str, tuple[list[str], int, set[str] | None, list[str]]] = {
    # SimCLR family
    "spijkervet_class_in_a_package": ([SPIJKERVET, "--init", "batch_size=8", "temperature=0.5", "world_size=1"], 0, set(),
                                      ["inside package simclr_pkg", "batch: 8 pairs for every check", "PASSED"]),
    "spijkervet_class_without_init": ([SPIJKERVET], 2, None, ["--init batch_size=8 temperature=0.5 world_size=1"]),
    "spijkervet_instance_fixed_batch": ([f"{CORPUS}/spijkervet_instance.py:criterion"], 0, set(),
                                        ["instance of NT_Xent", "batch: 8 pairs for every check"]),
    "spijkervet_instance_other_batch": ([f"{CORPUS}/spijkervet_instance.py:criterion", "--batch-size", "16"], 2, None,
                                        ["built for batch 8"]),
    "sthalles_method_returning_logits": ([STHALLES, *STHALLES_SELF, "--returns", "logits"], 0, set(), ["stand-in self"]),
    "sthalles_without_returns_flag": ([STHALLES, *STHALLES_SELF], 2, None, ["returned a tuple", "--returns logits"]),
    "sthalles_without_self": ([STHALLES, "--returns", "logits"], 2, None, ["self.args", "--attr args"]),
    "bolts_subtracted_self_term": ([BOLTS, "--normalized-inputs"], 1, {"finite_small_temperature", "float64_reference"},
                                   ["cancellation", "float32 vs float64"]),
    "bolts_unnormalized_inputs": ([BOLTS], 1, {"scale_invariant", "finite_small_temperature", "gradient_direction",
                                               "float64_reference"}, ["changes the norms", "not a sign flip"]),
    "sthalles_v0_log_of_softmax": ([f"{CORPUS}/sthalles_ntxent_v0.py:NTXentLoss", "--init", "device='cpu'",
                                    "batch_size=8", "temperature=0.5", "use_cosine_similarity=True"], 1,
                                   {"finite_small_temperature"}, ["underflows to 0 before its log"]),
    "sthalles_v0_dot_products": ([f"{CORPUS}/sthalles_ntxent_v0.py:NTXentLoss", "--init", "device=cpu", "batch_size=8",
                                  "temperature=0.5", "use_cosine_similarity=False"], 1,
                                 {"scale_invariant", "finite_small_temperature"}, ["embeddings are not normalized"]),
    "sthalles_v0_bad_init_value": ([f"{CORPUS}/sthalles_ntxent_v0.py:NTXentLoss", "--init", "device=nowhere",
                                    "batch_size=8", "temperature=0.5", "use_cosine_similarity=True"], 2, None,
                                   ["building NTXentLoss", "sthalles_ntxent_v0.py:", "fix the --init values"]),
    "aisummer_plain_exp": ([f"{CORPUS}/aisummer_contrastive.py:ContrastiveLoss", "--init", "batch_size=8",
                            "temperature=0.5"], 1, {"finite_small_temperature"},
                           ["plain exp overflows", "not finite on a collapsed batch"]),
    "lightly_nt_xent": (["lightly.loss:NTXentLoss", "--init", "temperature=0.5"], 0, set(), ["13/13 checks passed"]),
    "lightly_dcl_as_nt_xent": (["lightly.loss:DCLLoss", "--init", "temperature=0.5"], 1,
                               {"collapse_value", "non_negative"}, ["positive is taken out of the denominator",
                                                                    "effective candidates exp(loss) = 14 vs 2N-1"]),
    "gallery_garbled_formula": (["clhelpers.flawed:nt_xent_garbled_formula"], 1, {"collapse_value", "temperature_direction"},
                                ["anchor itself stays in the denominator (2N candidates)", "temperature multiplies"]),
    # SupCon family
    "supcontrast_views_layout": ([SUPCON, "--init", "temperature=0.5", "base_temperature=0.5", "--layout", "views",
                                  "--normalized-inputs", "--family", "supcon"], 0, set(),
                                 ["layout views", "scale_invariant waived"]),
    "supcontrast_base_temperature": ([SUPCON, "--init", "temperature=0.1", "--layout", "views", "--normalized-inputs",
                                      "--family", "supcon"], 1, {"collapse_value"},
                                     ["factor follows t", "base_temperature = 0.07"]),
    "supcontrast_without_normalized_flag": ([SUPCON, "--init", "temperature=0.5", "base_temperature=0.5"], 1,
                                            {"scale_invariant"}, ["embeddings are not normalized", "--normalized-inputs"]),
    "pml_supcon": (["pytorch_metric_learning.losses:SupConLoss", "--init", "temperature=0.5", "--family", "supcon"], 0,
                   set(), ["convention labels"]),
    # metric-learning family
    # (float64_reference left out here: pytorch-metric-learning takes 6 s per call at batch 256 on two cores;
    # tests/test_check_third_party.py runs it on this loss at its fixed temperature)
    "pml_nt_xent": (["pytorch_metric_learning.losses:NTXentLoss", "--init", "temperature=0.5", "--checks",
                     *[c for c in ALL_CHECKS if c != "float64_reference"]], 0, set(),
                    ["convention labels", "temperature: 0.5\n", "12/12 checks passed"]),
    # MoCo family
    "moco_v3_distributed_gather": ([f"{CORPUS}/moco_v3.py:MoCo.contrastive_loss", "--attr", "T=0.2"], 2, None,
                                   ["Default process group has not been initialized", "moco_v3.py:", "torch.distributed"]),
    # CLIP family
    "open_clip_as_clip": ([CLIP, "--family", "clip", "--normalized-inputs"], 0, set(), ["convention pair-scale"]),
    "open_clip_checked_as_nt_xent": ([CLIP, "--normalized-inputs"], 1, {"collapse_value"},
                                     ["(N candidates), as CLIP", "--family clip"]),
}


def _check(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(["check", *argv])
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _failed(out: str) -> set[str]:
    found = re.search(r"checks passed -- (?:PASSED|FAILED: (.*))", out)
    assert found, out
    return set(found.group(1).split(", ")) if found.group(1) else set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name, capsys):
    argv, status, failed, texts = CASES[name]
    code, out = _check(argv, capsys)
    assert code == status, out
    if failed is not None:
        assert _failed(out) == failed, out
    else:
        assert "checks passed" not in out, "a loss that cannot run is a usage error, not a list of failed checks"
    for text in texts:
        assert text in out, f"{text!r} not in:\n{out}"


def test_corpus_has_the_five_families():
    families = {"spijkervet": "simclr", "supcon": "supcon", "moco": "moco", "clip": "clip", "pml": "metric"}
    assert len(CASES) >= 12 and all(any(key in name for name in CASES) for key in families)
    for source in CORPUS.glob("*.py"):
        head = source.read_text().splitlines()[:3]
        assert head[0].startswith("# Source: https://") and any("Licence" in line for line in head), source


def test_a_loss_built_for_another_batch_names_the_batch_size():
    """The real error of a class built for batch 256 called on 8 pairs, turned into what to try."""
    import sys

    import torch

    from clhelpers.lint_errors import error_hint

    sys.path.insert(0, str(CORPUS))
    from simclr_pkg.modules.nt_xent import NT_Xent

    with pytest.raises(Exception) as err:
        NT_Xent(256, 0.5, 1)(torch.randn(8, 16), torch.randn(8, 16))
    assert "--batch-size 256" in error_hint(err.value, 8)
