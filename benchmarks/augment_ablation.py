"""Notebook 05's augmentation ablation: which parts of the views matter, over seeds.

Every arm (``SETTINGS``) trains the same preset (default ``cpu-sweep``: a declared 4,000-digit subset of the official
60,000 training digits, small encoder, 5 epochs) with other views and is scored on the official 10,000 test digits by kNN and by a 10-labels-per-class linear probe (mean of 5
label draws, ``benchmarks/_driver.probe_score``), the number where short runs separate best. The settings: no
augmentation, crops only, the ``cpu`` recipe's views (``clhelpers.config.CPU_VIEWS``), the recipe with random
erasing added, the recipe at twice its strength, the recipe with one part left out at a time (crop, rotation,
shear, shift, noise), and the recipe's views made batch-wide (``TrainConfig.batchwide_views``: one
crop/rotation/shear/shift per view for the whole batch, the bug notebook 05 shows). Baselines (untrained encoder,
raw pixels), summary, paired differences against ``recipe`` and saving after every seed: ``benchmarks/_driver.py``.
Choose settings with ``--kinds`` (names with spaces quoted)::

    CLHELPERS_OFFLINE=1 CLHELPERS_BF16=0 python benchmarks/augment_ablation.py --seeds 0 1 2 3 4 --quiet --out benchmarks/augment-ablation-cpu-2core.json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _driver import Experiment, main, probe_score  # noqa: E402
from clhelpers.augment import ViewParams  # noqa: E402
from clhelpers.config import CPU_VIEWS, TrainConfig  # noqa: E402
from clhelpers.train import train  # noqa: E402

SETTINGS: dict[str, ViewParams] = {
    "none": ViewParams.identity(),
    "crop only": replace(ViewParams.identity(), crop_scale=CPU_VIEWS.crop_scale, aspect_ratio=CPU_VIEWS.aspect_ratio),
    "recipe": CPU_VIEWS,
    "recipe + erasing": replace(CPU_VIEWS, erase_prob=0.5),
    "recipe x2 (too strong)": replace(CPU_VIEWS, crop_scale=(0.2, 1.3), rotation=40.0, shear=20.0, translate=0.2,
                                      noise_std=0.3),  # every strength doubled; crops down to 20 % of the area
    "recipe - crop": replace(CPU_VIEWS, crop_scale=(1.0, 1.0), aspect_ratio=(1.0, 1.0)),
    "recipe - rotation": replace(CPU_VIEWS, rotation=0.0),
    "recipe - shear": replace(CPU_VIEWS, shear=0.0),
    "recipe - shift": replace(CPU_VIEWS, translate=0.0),
    "recipe - noise": replace(CPU_VIEWS, noise_std=0.0),
    "recipe, batch-wide": CPU_VIEWS,  # the recipe's views, one geometry per view for the whole batch (noise per image)
}
BATCH_WIDE = {"recipe, batch-wide"}  # settings trained with TrainConfig.batchwide_views (notebook 05's bug, measured)




def run_setting(name: str, cfg: TrainConfig, split: tuple, progress: bool) -> dict:
    """Train ``cfg`` with the views of setting ``name`` on ``split``; kNN and the 10-labels probe of h."""
    batchwide = name in BATCH_WIDE
    result = train(replace(cfg, views=SETTINGS[name], batchwide_views=batchwide), progress=progress, data=split)
    return {"views": SETTINGS[name].as_dict(), "batchwide_views": batchwide, **probe_score(result.method.encoder, split, cfg),
            "epochs": cfg.epochs, "train_s": sum(h["epoch_s"] for h in result.history)}


EXPERIMENT = Experiment("augment_ablation.py", {name: partial(run_setting, name) for name in SETTINGS},
                        metrics=("knn_acc", "probe10"), score=probe_score, reference="recipe")

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT, __doc__.split("\n\n")[0]))
