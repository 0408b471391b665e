"""Exercises with automatic feedback: one checker per exercise of the notebooks, one module per notebook.

An exercise in a notebook is a task, a code cell with the reader's starting point (``None``, ``...``,
or a function whose body is ``raise NotImplementedError``), a cell calling the checker, and a reference
solution hidden in a ``<details>`` block. A checker never raises on a wrong answer: it returns a
``Verdict`` whose ``status`` is "not attempted", "correct" or "wrong", with a message saying why and,
when wrong, a hint. The verdict shows itself when the checker call ends a cell (else ``print`` it)::

    from clhelpers.exercises import check_01_temperature_for_half
    check_01_temperature_for_half(0.27).status    # "correct"

Checkers are named ``check_<notebook>_<topic>`` and live in ``nb<notebook>.py`` (the data an exercise needs,
such as ``exercise_06_features``, next to its checker); ``_verdict.py`` holds the ``Verdict`` and the helpers
every checker shares. Import them from here: the modules are the layout, this is the interface.
"""
from ._verdict import STATUSES, Verdict
from .nb01 import HALF_ROW, P_POSITIVE_CASES, TAU_HALF, check_01_p_positive, check_01_temperature_for_half
from .nb02 import COLLAPSE_N, check_02_collapse_value, check_02_nt_xent
from .nb03 import ONE_WAY_REASONS, check_03_fixed_loss, check_03_predicted_failures, one_way_nt_xent
from .nb04 import GARBLED_N, MAX_LOGIT_SCALE, check_04_garbled_collapse, check_04_logit_scale
from .nb05 import (AUGMENTATION_OPTIONS, MAX_DEGREES, batchwide_rotation_views, check_05_per_sample_views,
                   check_05_unsafe_augmentations, l_shape, rotate)
from .nb06 import check_06_few_label_probe, check_06_knn_by_hand, exercise_06_features
from .nb06 import (ENCODER_LR_SCALE, FINE_TUNE_DRAWS, TSNE_STATEMENTS, check_06_map_agreement, check_06_paired_gain,
                   check_06_param_groups, check_06_tsne_statements, exercise_06_map)
from .nb07 import (HARD_CASES, HARD_ROW, check_07_hardest_share, check_07_paired_difference, exercise_07_runs,
                   hardest_share_reference, paired_reference)
from .nb07 import check_07_positive_rank, check_07_topk, exercise_07_rank_batch, exercise_07_ranks
from .nb07 import (FN_ROW, FN_SAME, check_07_false_negative_share, check_07_mask_same_class,
                   false_negative_share_reference, mask_same_class_reference)
from .nb08 import (EMA_MOMENTUM, check_08_embedding_std, check_08_momentum_update, exercise_08_batches,
                   exercise_08_networks)
from .nb08 import (BT_LAMBDA, VAR_STDS, check_08_barlow_twins, check_08_vicreg_variance, exercise_08_pairs,
                   exercise_08_spreads)

__all__ = [
    "STATUSES", "Verdict",
    "HALF_ROW", "P_POSITIVE_CASES", "TAU_HALF", "check_01_p_positive", "check_01_temperature_for_half",
    "COLLAPSE_N", "check_02_collapse_value", "check_02_nt_xent",
    "ONE_WAY_REASONS", "check_03_fixed_loss", "check_03_predicted_failures", "one_way_nt_xent",
    "GARBLED_N", "MAX_LOGIT_SCALE", "check_04_garbled_collapse", "check_04_logit_scale",
    "AUGMENTATION_OPTIONS", "MAX_DEGREES", "batchwide_rotation_views", "check_05_per_sample_views",
    "check_05_unsafe_augmentations", "l_shape", "rotate",
    "check_06_few_label_probe", "check_06_knn_by_hand", "exercise_06_features",
    "ENCODER_LR_SCALE", "FINE_TUNE_DRAWS", "TSNE_STATEMENTS", "check_06_map_agreement", "check_06_paired_gain",
    "check_06_param_groups", "check_06_tsne_statements", "exercise_06_map",
    "HARD_CASES", "HARD_ROW", "check_07_hardest_share", "check_07_paired_difference", "exercise_07_runs",
    "hardest_share_reference", "paired_reference",
    "check_07_positive_rank", "check_07_topk", "exercise_07_rank_batch", "exercise_07_ranks",
    "FN_ROW", "FN_SAME", "check_07_false_negative_share", "check_07_mask_same_class", "false_negative_share_reference",
    "mask_same_class_reference",
    "EMA_MOMENTUM", "check_08_embedding_std", "check_08_momentum_update", "exercise_08_batches", "exercise_08_networks",
    "BT_LAMBDA", "VAR_STDS", "check_08_barlow_twins", "check_08_vicreg_variance", "exercise_08_pairs",
    "exercise_08_spreads",
]
