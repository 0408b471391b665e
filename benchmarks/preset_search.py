"""The `cpu` preset on the full training set: candidate recipes, chosen on the validation split, never on the test set.

The protocol of issue 17: every run trains on the first 50,000 official training digits and is scored on the **last
10,000 (the validation split, ``holdout="val"``)**; the official test digits are not read. Scores of the features h:
kNN (k = 20, the 50,000 training digits as the bank) and the linear probe with 1, 10 and 100 labels per class (mean of
5 label draws seeded by the training seed, so every arm of a seed sees the same draws). ``train_s`` is each run's
training time on the machine that recorded it.

A successive-halving search: first every candidate on one seed (a screen: one seed separates nothing, it only ranks),
then the reference and the leader (the best validation kNN of the screen, a rule fixed before it ran) on 5 paired
seeds, where ``records.paired_difference`` decides.

Round 1 (commit c562b07, when the preset ran batch 256): the subset's recipe (temperature 0.7, batch 256, lr 0.003,
the ``CPU_VIEWS``, 4 epochs) against temperatures 0.5 / 0.3 / 0.2, batch 128, and batch 128 with 0.3. Batch 128 led
the screen and won every score on 5 seeds, so the preset now runs batch 128. Its records::

    python benchmarks/preset_search.py --preset cpu --seeds 0 --quiet --out benchmarks/preset-search-screen-cpu-2core.json
    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "batch 128" --quiet --out benchmarks/preset-search-cpu-2core.json

Round 2 (``CANDIDATES``: the fields each changes; everything else is the preset of that day, batch 128): more of the steps that
won round 1 (5 and 6 epochs; batch 64 at 4 epochs), a higher peak learning rate, and a temperature above the recipe's
(round 1 found every lower one behind). A candidate counts only if its training fits issue 17's budget, 300 s on the
AVX2-only kind in float32 on all 60,000 digits: under the AVX2 approximation the preset's 4 epochs took 204 s of
training (51 s per epoch, ``python -m clhelpers train``, 2026-12-05), so 5 epochs (about 255 s) fit and 6 (about
306 s) do not; 6 runs anyway, to show what the budget leaves out, but cannot lead. The screen, then the leader (the
best validation kNN among the candidates within the budget) against the recipe::

    python benchmarks/preset_search.py --preset cpu --seeds 0 --quiet --out benchmarks/preset-search-round2-screen-cpu-2core.json
    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe LEADER --quiet --out benchmarks/preset-search-round2-cpu-2core.json

Round 2's stage 2 (commit 3bcb9a8): temperature 1.0 led the screen (6 epochs scored higher but does not fit) and beat
the recipe on validation kNN (+0.002, 95% CI [+0.001, +0.003]) and the 1-label probe (+0.031 [+0.011, +0.050]), 10
and 100 labels not resolved, so the preset now runs temperature 1.0 and that candidate is gone (it is the recipe).

Round 3: the candidate of round 2's screen that fits the budget and was not yet paired, 5 epochs, on top of the new
recipe (temperature 1.0), on the same 5 seeds (the recipe arm re-runs those of round 2's ``tau 1.0`` arm)::

    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "5 epochs" --quiet --out benchmarks/preset-search-round3-cpu-2core.json

The rule, written down while it ran (after its first seed, before any paired interval): the preset takes 5 epochs
if they beat the recipe on validation kNN (the interval above 0) and lose none of the three probes (no interval
below 0). Result (record ``preset-search-round3-cpu-2core.json``; its recipe arm reproduces round 2's ``tau 1.0`` arm
exactly): kNN not resolved (+0.001, 95% CI [-0.000, +0.001]), the 1-label probe not resolved, 10 and 100 labels ahead
by 0.002 and 0.001; so the preset stays at 4 epochs.

Round 4: a cheaper encoder, more epochs in the same time. One conv per stage (``depth 1``) makes the step (forward,
backward and AdamW on a batch of 128 pairs) about half the recipe's under the AVX2 approximation in float32 (a first
throwaway timing: 47.8 vs 89.1 ms; recorded afterwards by ``step_cost.py``: 0.40), so 7 to 10 epochs fit the 300 s
where the recipe runs 4; widths 24 / 48 / 96 at depth 1 cost less than the recipe (0.78) at its 4 epochs. The screen runs these three on seed 0 (the recipe's seed-0 scores
are those of round 3's recipe arm, which re-runs exactly), then the leader (best validation kNN) against the recipe on
5 paired seeds, with round 3's rule (switch if kNN is ahead and no probe behind)::

    python benchmarks/preset_search.py --preset cpu --seeds 0 --kinds "depth 1, 7 epochs" "depth 1, 10 epochs" "24-48-96 depth 1" --quiet --out benchmarks/preset-search-round4-screen-cpu-2core.json
    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "depth 1, 10 epochs" --quiet --out benchmarks/preset-search-round4-cpu-2core.json

Result: the screen's kNN at seed 0 was 0.9773 / 0.9821 / 0.9755 for depth 1 at 7 and 10 epochs and widths 24 / 48 / 96,
against the recipe's 0.9859, so the leader was depth 1 at 10 epochs; on 5 paired seeds the recipe beats it on kNN
(+0.003, 95% CI [+0.001, +0.005]), the 1-label probe (+0.119 [+0.070, +0.168]) and 10 labels (+0.012 [+0.007,
+0.017]); 100 labels not resolved. The preset keeps its encoder: the second conv of each stage is worth more than
two and a half times the epochs.

Round 5: round 2's screen ran batch 64 and lr 0.006 at temperature 0.7; on top of today's recipe (temperature 1.0)
they are screened again, with a temperature above 1.0 (round 2 found 1.0 ahead of 0.7). All three cost about what
the recipe costs (batch 64: 103 vs 99 s in round 2's screen). Same rules: the leader by validation kNN, then 5 paired
seeds, switch only if kNN is ahead and no probe behind; a switch re-makes every record that measures the preset::

    python benchmarks/preset_search.py --preset cpu --seeds 0 --kinds "batch 64" "lr 0.006" "tau 1.5" --quiet --out benchmarks/preset-search-round5-screen-cpu-2core.json

The screen (seed 0; the recipe's seed 0 from round 3: kNN 0.9859, probes 0.784 / 0.949 / 0.980): batch 64 0.9870 /
0.779 / 0.955 / 0.981, lr 0.006 0.9867 / 0.819 / 0.959 / 0.983, temperature 1.5 0.9858 / 0.814 / 0.954 / 0.982. The
leader by the rule is batch 64 (its kNN is 0.0003 above lr 0.006's, which one seed cannot separate). It alone can
switch the preset; lr 0.006 runs beside it on the same seeds (written down before the paired run) because it led
every probe, so that the next round starts from paired numbers::

    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "batch 64" "lr 0.006" --quiet --out benchmarks/preset-search-round5-cpu-2core.json

Result (``preset-search-round5-cpu-2core.json``, its recipe arm again re-running round 3's): batch 64 beats the recipe
on kNN (+0.001, 95% CI [+0.000, +0.002]) and 10 labels (+0.003), 1 and 100 labels not resolved, so by the rule it
qualifies; lr 0.006 beats the recipe on kNN (+0.001 [+0.000, +0.002]) and all three probes (+0.032 / +0.005 / +0.002).
The switch (which re-makes the label-efficiency record and notebook 06) is left to the next round, which pairs batch
64, lr 0.006 and both together. The timing of batch 64 under the AVX2 approximation, float32::

    CLHELPERS_BF16=0 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python benchmarks/preset_search.py --preset cpu --seeds 0 --kinds recipe "batch 64" --quiet --out benchmarks/preset-search-round5-avx2-float32-cpu-2core.json

Round 6 was to pair batch 64, lr 0.006 and both together, and to compare the pair with batch 64 across records by
seed, which needs a recipe arm that re-runs round 5's run for run. The session that started it ran on another machine
(an Intel Xeon with AMX, where rounds 1-5 ran on an AMD EPYC): its recipe arm at seed 0 gave kNN 0.9858 and probes
0.783 / 0.946 / 0.980 against round 5's 0.9859 / 0.784 / 0.949 / 0.980, so runs do not pair across the two machines,
and the round was stopped after that one run. The preset then switched by round 5's own rule, to batch 64 (commit
83d4022), and batch 64 is the recipe here. The next round pairs ``lr 0.006`` (now: batch 64 with lr 0.006, the
pair round 6 meant to test) against it, on one machine.

Round 7 (the Intel Xeon with AMX, bf16 autocast, both arms run in the same session): ``lr 0.006`` against the recipe
(batch 64, lr 0.003) on 5 paired seeds. The rule, written down and committed before the first run: the preset takes lr
0.006 if it beats the recipe on validation kNN (the interval above 0) and loses none of the three probes (no interval
below 0), round 3's rule; the learning rate does not change a step's cost, so the 300 s budget is not in question. A
switch re-makes every record that measures the preset::

    python benchmarks/preset_search.py --preset cpu --seeds 0 1 2 3 4 --kinds recipe "lr 0.006" --quiet --out benchmarks/preset-search-round7-cpu-2core.json

Result (``preset-search-round7-cpu-2core.json``, 22 min): kNN not resolved (+0.001, 95% CI [-0.000, +0.002]; ahead
on 4 of the 5 seeds), the 1-label probe not resolved (+0.014 [-0.006, +0.035]), 10 and 100 labels ahead (+0.005
[+0.003, +0.006] and +0.001 [+0.001, +0.002]). The rule's kNN condition is not met, so the preset stays at lr 0.003.

Round 8, a replication on fresh seeds (5 to 9, none of round 7's), with round 7's rule unchanged and judged on these
5 seeds alone (never pooled with round 7's, which would let the data choose when to stop), written down and committed
before its first run. Two tries at one rule raise the chance of a false switch (at most about 2 x 2.5% for a kNN
interval above 0 by chance), which the README says beside the result::

    python benchmarks/preset_search.py --preset cpu --seeds 5 6 7 8 9 --kinds recipe "lr 0.006" --quiet --out benchmarks/preset-search-round8-cpu-2core.json

Result (``preset-search-round8-cpu-2core.json``, 32 min): kNN not resolved again (+0.000, 95% CI [-0.001, +0.002];
ahead on 3 of the 5 seeds); all three probes ahead, by 0.018 [+0.001, +0.035], 0.003 [+0.000, +0.006] and 0.001
[+0.000, +0.002]. The rule's kNN condition is not met, so the preset stays at lr 0.003: on two sets of 5 seeds, lr
0.006 lifts the label-efficiency probes a little but not the kNN score the rule puts first.

Precision: the preset's own (bf16 autocast on a CPU with native bf16, float32 elsewhere); the record says which.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from torch import nn  # noqa: E402

from _driver import Experiment, main  # noqa: E402
from clhelpers.config import TrainConfig  # noqa: E402
from clhelpers.evaluate import split_scores  # noqa: E402
from clhelpers.train import train  # noqa: E402

# Each candidate: the fields it changes on TODAY's preset (batch 64 since commit 83d4022); a name recorded in an older round
# meant the same change on the preset of that round (its record's config says which).
CANDIDATES: dict[str, dict] = {
    "recipe": {},
    "5 epochs": {"epochs": 5},
    "batch 128": {"batch_size": 128},
    "6 epochs": {"epochs": 6},
    "lr 0.006": {"lr": 6e-3},
    "depth 1, 7 epochs": {"depth": 1, "epochs": 7},
    "depth 1, 10 epochs": {"depth": 1, "epochs": 10},
    "24-48-96 depth 1": {"widths": (24, 48, 96), "depth": 1},
    "tau 1.5": {"temperature": 1.5},
}
PER_CLASS = (1, 10, 100)
METRICS = ("knn_acc", "probe1", "probe10", "probe100")


def target_scores(encoder: nn.Module, split: tuple, cfg: TrainConfig) -> dict:
    """``{"knn_acc", "probe1", "probe10", "probe100"}`` of ``encoder``'s h on ``split``: the numbers issue 17's
    targets name (kNN over the whole training bank; each probe the mean of 5 draws seeded by ``cfg.seed``)."""
    return split_scores(encoder, split, k=cfg.knn_k, per_class=PER_CLASS, draws=5, seed=cfg.seed)


def run_candidate(name: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train the preset with candidate ``name``'s changes on ``split`` (the validation split) and score it."""
    run_cfg = replace(cfg, **CANDIDATES[name])
    if run_cfg.holdout != "val":
        raise ValueError(f"a preset search is scored on the validation split, got holdout={run_cfg.holdout!r}; "
                         "run it through this script (its Experiment fixes holdout='val')")
    result = train(run_cfg, progress=progress, data=split)
    return {"changes": CANDIDATES[name], **target_scores(result.method.encoder, split, run_cfg),
            "epochs": run_cfg.epochs, "steps": run_cfg.epochs * (len(split[0]) // run_cfg.batch_size),
            "train_s": sum(h["epoch_s"] for h in result.history)}


EXPERIMENT = Experiment("preset_search.py", {name: partial(run_candidate, name) for name in CANDIDATES},
                        metrics=METRICS, score=target_scores, reference="recipe", preset="cpu",
                        fixed={"holdout": "val"}, extra={"split": "fit 50,000 / validation 10,000 of the official training set"})

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
