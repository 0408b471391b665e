"""Evaluation, one way: features, scores, baselines and representation quality (``python -m clhelpers evaluate``).

Features:

* ``embed(encoder, images)``: an encoder over many images in eval mode, without gradients
  (``batch_stats=True``: with each batch's BatchNorm statistics, as a training loss sees the outputs).
* ``features(method, images, space="h" | "z")``: the encoder features h (what kNN and the probes evaluate) or the
  projections z = head(h) (the space the loss acts in).

Scores (the maths lives in ``clhelpers.metrics``: tensors in, numbers out):

* ``knn_monitor(encoder, x_train, y_train, x_test, y_test, k)``: kNN accuracy of h, the monitor ``train`` runs.
* ``label_scores(f_train, y_train, f_test, y_test, per_class, draws, seed, k)``: linear probe and kNN with only a
  few labels per class, on the label draws of ``metrics.label_draws`` (the one way labels are drawn; the same
  seed gives every arm and every training seed the same digits: paired), and with all labels.
* ``split_scores(encoder, split, k, per_class)``: kNN and few-label probes (10 labels per class, or several counts) of an
  encoder on an in-memory split.
* ``evaluate_encoder(encoder, ...)``: kNN, probe and few-label probes of an encoder beside raw pixels (the CLI).

Baselines: ``untrained_encoder(cfg)`` (exactly where ``train(cfg)`` starts) and raw pixels (``pixel_baseline``,
``PIXELS``: an ``nn.Flatten`` that ``embed`` hands the images as floats in [0, 1]).

Maps and fine-tuning (notebook 06): ``tsne_map(features)`` (scikit-learn's t-SNE of a few thousand rows, seeded),
``fine_tune_accuracy`` (a copy of the encoder plus a linear head trained end to end on a few labelled images) and
``few_label_fine_tune`` (the same on ``metrics.label_draws``: paired draw for draw with ``metrics.few_label_probe``).

Representation quality: ``representation_quality`` (alignment and uniformity in z and h), ``positive_cosine``
(the mean cosine of two views, = 1 - alignment / 2) and ``collapse_stats`` (spread and effective rank).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from .augment import ViewParams, make_views, random_affine
from .config import TrainConfig
from .data import load_dataset, to_float_images
from .device import pick_device, set_seed
from .methods import Method
from .metrics import (alignment, effective_rank, embedding_std, few_label_probe, knn_accuracy, label_draws,
                      linear_probe_accuracy, pixel_knn_accuracy, uniformity)
from .models import Encoder

__all__ = ["embed", "features", "knn_monitor", "label_scores", "split_scores", "evaluate_encoder", "untrained_encoder",
           "pixel_baseline", "PIXELS", "representation_quality", "positive_cosine", "collapse_stats",
           "tsne_map", "fine_tune_accuracy", "few_label_fine_tune"]

PIXELS = nn.Flatten()  # the raw-pixel "encoder": embed() hands it the images as floats in [0, 1]


# ----------------------------------------------------------------------------- features
@torch.no_grad()
def embed(encoder: nn.Module, images: torch.Tensor, batch_size: int = 1024, device: str | torch.device | None = None,
          batch_stats: bool = False) -> torch.Tensor:
    """Features ``encoder(images)`` as float32 (N, D) on the CPU.

    ``images``: uint8 (N, H, W) or (N, C, H, W), or float in [0, 1]. Runs in eval mode (BatchNorm uses
    its running statistics) without gradients, ``batch_size`` images at a time on ``device`` (default:
    where the encoder's parameters are), and puts the encoder back in the mode it was in.
    ``batch_stats=True`` runs a copy of ``encoder`` in training mode instead: BatchNorm normalizes each batch
    of ``batch_size`` images with its own statistics, as a training loss sees the outputs, and the
    encoder's running statistics stay as they are.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4):
        raise ValueError(f"images must be a tensor of shape (N, H, W) or (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.shape[0] == 0:
        raise ValueError("images is empty: give at least one image")
    if device is None:
        param = next(encoder.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    if batch_stats:
        encoder = copy.deepcopy(encoder)
    was_training = encoder.training
    encoder.train(batch_stats)
    try:
        out = [encoder(to_float_images(images[i:i + batch_size].to(device))).float().cpu()
               for i in range(0, images.shape[0], batch_size)]
    finally:
        encoder.train(was_training)
    return torch.cat(out)


def features(method: Method, images: torch.Tensor, space: str = "h", batch_stats: bool = False) -> torch.Tensor:
    """``method``'s features of ``images`` (float32, CPU): ``space="h"`` the encoder's output, ``"z"`` the
    projection head's output z = head(h). Eval mode unless ``batch_stats`` (see ``embed``)."""
    if space not in ("h", "z"):
        raise ValueError(f"space must be 'h' (encoder features) or 'z' (projections), got {space!r}")
    if space == "h":
        return embed(method.encoder, images, batch_stats=batch_stats)
    modes = [(m, m.training) for m in method.modules()]  # embed restores the mode of the nn.Sequential it is given,
    try:                                                 # which would set encoder and head alike: restore each
        return embed(nn.Sequential(method.encoder, method.head), images, batch_stats=batch_stats)
    finally:
        for m, mode in modes:
            m.training = mode


# ----------------------------------------------------------------------------- scores
def knn_monitor(encoder: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                y_test: torch.Tensor, k: int) -> float:
    """kNN accuracy of ``encoder``'s features (h) on the test split, neighbours from the training split."""
    device = x_train.device
    f_train = embed(encoder, x_train, device=device).to(device)
    return knn_accuracy(f_train, y_train, embed(encoder, x_test, device=device).to(device), y_test, k=k)


def label_scores(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor,
                 per_class: Sequence[int] = (10,), draws: int = 5, seed: int = 0, k: int = 20) -> dict:
    """``{"probe": {n: [accs]}, "knn": {n: [accs]}}``: for each ``n`` in ``per_class`` (as a string key) one
    accuracy per label draw (``metrics.label_draws(y_train, y_test, n, draws, seed)``; the probe is
    ``metrics.few_label_probe`` on the same draws, kNN uses k = min(k, n)), and ``"all"`` (one value each)."""
    device = f_train.device
    out: dict = {"probe": {}, "knn": {}}
    for n in per_class:
        out["probe"][str(n)] = few_label_probe(f_train, y_train, f_test, y_test, n, draws, seed)["accs"]
        out["knn"][str(n)] = [knn_accuracy(f_train[rows.to(device)], y_train[rows.to(device)], f_test, y_test, k=min(k, n))
                              for rows in label_draws(y_train, y_test, n, draws, seed)]
    out["probe"]["all"] = [linear_probe_accuracy(f_train, y_train, f_test, y_test)]
    out["knn"]["all"] = [knn_accuracy(f_train, y_train, f_test, y_test, k=k)]
    return out


def split_scores(encoder: nn.Module, split: tuple[torch.Tensor, ...], k: int = 20,
                 per_class: int | Sequence[int] = 10, draws: int = 5, seed: int = 0) -> dict:
    """``{"knn_acc", "probe<n>" for each n in per_class}`` of ``encoder``'s features h on ``split = (x_train,
    y_train, x_test, y_test)``: kNN accuracy over the whole training bank and, for each ``n`` (one count or several),
    the few-label probe's mean over ``draws`` label draws of ``n`` labels per class (seeded by ``seed``)."""
    if len(split) != 4:
        raise ValueError(f"split must be (x_train, y_train, x_test, y_test), got {len(split)} items; use train.load_split(cfg, device)")
    counts = (per_class,) if isinstance(per_class, int) else tuple(per_class)
    if not counts or any(not isinstance(n, int) or n < 1 for n in counts):
        raise ValueError(f"per_class must be a label count >= 1 or a sequence of them, got {per_class!r}; e.g. 10 or (1, 10, 100)")
    x_train, y_train, x_test, y_test = split
    f_train, f_test, y_train, y_test = embed(encoder, x_train), embed(encoder, x_test), y_train.cpu(), y_test.cpu()
    probes = {f"probe{n}": few_label_probe(f_train, y_train, f_test, y_test, per_class=n, draws=draws, seed=seed)["mean"]
              for n in counts}
    return {"knn_acc": knn_accuracy(f_train, y_train, f_test, y_test, k=k), **probes}


def evaluate_encoder(encoder: nn.Module, dataset: str = "mnist", source: str = "auto", k: int = 20,
                     per_class: tuple[int, ...] = (1, 10), draws: int = 5, device: str | torch.device = "auto") -> dict:
    """kNN, linear-probe and few-label-probe accuracy of ``encoder`` (features h) and of raw pixels.

    Returns ``{"train_images", "test_images", "feature_dim", "encoder": {...}, "pixels": {...}}`` where
    each inner dict has ``knn``, ``probe`` and ``probe_<n>_per_class`` (mean over ``draws`` label draws)."""
    device = pick_device(device) if isinstance(device, str) else device
    x_train, y_train = load_dataset(dataset, "train", source=source)
    x_test, y_test = load_dataset(dataset, "test", source=source)
    report: dict = {"train_images": len(x_train), "test_images": len(x_test)}
    for name, module in (("encoder", encoder), ("pixels", PIXELS)):
        f_train, f_test = embed(module, x_train, device=device), embed(module, x_test, device=device)
        scores = label_scores(f_train, y_train, f_test, y_test, per_class, draws, seed=0, k=k)
        report[name] = {"knn": scores["knn"]["all"][0], "probe": scores["probe"]["all"][0],
                        **{f"probe_{n}_per_class": sum(scores["probe"][str(n)]) / draws for n in per_class}}
        report.setdefault("feature_dim", f_train.shape[1])
    return report


# ----------------------------------------------------------------------------- baselines
def untrained_encoder(cfg: TrainConfig, device: torch.device | str | None = None) -> Encoder:
    """The random-init baseline: exactly the encoder ``train(cfg)`` starts from (seeded from ``cfg.seed`` as
    ``train`` seeds it; ``tests/test_train.py`` checks the weights are equal), in eval mode, on ``device``."""
    set_seed(cfg.seed)
    encoder = Encoder(cfg.widths, cfg.depth).eval()
    return encoder.to(device) if device is not None else encoder


def pixel_baseline(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                   k: int) -> float | None:
    """Raw-pixel kNN on the same split; ``None`` (skipped) on a CPU where it would take more than a few seconds."""
    if x_train.device.type == "cpu" and len(x_train) * len(x_test) > 5e7:
        return None
    return pixel_knn_accuracy(x_train, y_train, x_test, y_test, k=k)


# ----------------------------------------------------------------------------- representation quality
@torch.no_grad()
def representation_quality(method: Method, images: torch.Tensor, views: ViewParams | None = None, seed: int = 0) -> dict:
    """Alignment and uniformity (Wang & Isola, 2020) of a trained method on two views of ``images``.

    Measured in the loss space (``z``, the projection head's output, where the temperature acts) and on
    the encoder features (``h``, what kNN evaluates; after a ReLU, so h lies in the non-negative orthant).
    Returns ``{"alignment", "uniformity", "alignment_h", "uniformity_h"}``.
    """
    device = next(method.parameters()).device
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(seed)
    v1, v2 = make_views(images.to(device), views, generator=gen)
    h1, h2 = embed(method.encoder, v1), embed(method.encoder, v2)
    was_training = method.training
    method.eval()
    z1, z2 = (method.head(h.to(device)).float().cpu() for h in (h1, h2))
    method.train(was_training)
    return {"alignment": alignment(z1, z2), "uniformity": uniformity(z1),
            "alignment_h": alignment(h1, h2), "uniformity_h": uniformity(h1)}


def positive_cosine(alignment_value: float) -> float:
    """The mean cosine of the positive pairs, from their alignment (exponent 2): for unit vectors
    ||a - b||^2 = 2 - 2 cos(a, b), so mean cos = 1 - alignment / 2. Pass ``representation_quality(...)
    ["alignment"]`` for z (the loss space) or ``["alignment_h"]`` for h."""
    if not 0.0 <= alignment_value <= 4.0 + 1e-6:
        raise ValueError(f"alignment (exponent 2) lies in [0, 4], got {alignment_value!r}; pass metrics.alignment(z1, z2)")
    return 1.0 - alignment_value / 2.0


@torch.no_grad()
def collapse_stats(method: Method, images: torch.Tensor, batch_size: int = 250) -> dict:
    """The collapse diagnostics of ``method`` on ``images``.

    ``embedding_std`` of z = head(encoder(x)) and of h = encoder(x) in eval mode (BatchNorm's running
    statistics, as kNN sees the features), of z in training mode (``"embedding_std_batch"``: BatchNorm
    normalizes with each batch of ``batch_size`` images, as the loss sees z; on a copy, so the running
    statistics stay), the 1/sqrt(d) references, and ``metrics.effective_rank`` of z (training mode) and of h:
    ``{"embedding_std", "embedding_std_h", "embedding_std_batch", "std_reference", "std_reference_h",
    "effective_rank", "effective_rank_h"}``.
    """
    h, z = features(method, images, "h"), features(method, images, "z")
    z_batch = embed(nn.Sequential(method.encoder, method.head), images, batch_size=batch_size, batch_stats=True)  # a copy
    return {"embedding_std": embedding_std(z), "embedding_std_h": embedding_std(h),
            "embedding_std_batch": embedding_std(z_batch), "std_reference": z.shape[1] ** -0.5,
            "std_reference_h": h.shape[1] ** -0.5, "effective_rank": effective_rank(z_batch), "effective_rank_h": effective_rank(h)}


# ----------------------------------------------------------------------------- maps and fine-tuning (notebook 06)
def tsne_map(feats: torch.Tensor, perplexity: float = 30.0, seed: int = 0, max_rows: int = 5000) -> torch.Tensor:
    """A 2-D t-SNE map of ``feats`` (N, D): float32 (N, 2) on the CPU, row i the point of feature row i.

    scikit-learn's ``TSNE`` (Barnes-Hut, PCA initialization, ``learning_rate="auto"``, ``random_state=seed``):
    the same inputs and seed give the same map. Rows are L2-normalized first, so the map reflects the cosine
    geometry that kNN and the loss use. ``perplexity`` is about the number of neighbours each point keeps close;
    it must be below N. A few seconds for 2,000 rows on one core; more than ``max_rows`` rows is refused.
    """
    from sklearn.manifold import TSNE

    if not isinstance(feats, torch.Tensor) or feats.dim() != 2 or feats.shape[1] < 2:
        raise ValueError(f"feats must be a (N, D) tensor with D >= 2, got {getattr(feats, 'shape', type(feats))}; "
                         "pass embed(encoder, images)")
    if not 3 < len(feats) <= max_rows:
        raise ValueError(f"tsne_map takes 4 to {max_rows} rows, got {len(feats)}; pass a fixed subset (e.g. 2,000 "
                         "test digits) or raise max_rows")
    if not torch.isfinite(feats).all():
        raise ValueError("feats has NaN or inf entries; check the encoder's output (a diverged run?)")
    if not (isinstance(perplexity, (int, float)) and 1 <= perplexity < len(feats)):
        raise ValueError(f"perplexity must be in [1, N) = [1, {len(feats)}), got {perplexity!r}; 5 to 50 is usual, 30 the default")
    x = torch.nn.functional.normalize(feats.detach().float().cpu(), dim=1).numpy()
    tsne = TSNE(n_components=2, perplexity=float(perplexity), init="pca", learning_rate="auto",
                random_state=int(seed), n_jobs=1)
    return torch.from_numpy(tsne.fit_transform(x)).float()


def _check_fine_tune_args(images: torch.Tensor, labels: torch.Tensor, steps: int, lr: float,
                          encoder_lr_scale: float) -> None:
    """The ValueErrors of ``fine_tune_accuracy``'s arguments."""
    if not isinstance(images, torch.Tensor) or images.dim() not in (3, 4) or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, H, W) or (N, C, H, W) tensor, got "
                         f"{getattr(images, 'shape', type(images))}; pass the labelled training images")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),) or labels.dtype.is_floating_point:
        raise ValueError(f"labels must be an integer tensor of shape ({len(images)},), one class per image, "
                         f"got {getattr(labels, 'shape', type(labels))}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}; 100 is plenty for 100 labelled images")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr!r}; 1e-2 for the head is a good start")
    if not (isinstance(encoder_lr_scale, (int, float)) and 0 <= encoder_lr_scale <= 1):
        raise ValueError(f"encoder_lr_scale must be in [0, 1], got {encoder_lr_scale!r}; 0.1 gives the pretrained "
                         "encoder a tenth of the head's learning rate (0 freezes it: a linear probe by SGD)")


def fine_tune_accuracy(encoder: nn.Module, images: torch.Tensor, labels: torch.Tensor, test_images: torch.Tensor,
                       test_labels: torch.Tensor, steps: int = 100, lr: float = 1e-2, encoder_lr_scale: float = 0.1,
                       views: ViewParams | None = None, batch_size: int = 256, seed: int = 0) -> float:
    """Test accuracy after fine-tuning a COPY of ``encoder`` plus a new linear head on the labelled ``images``.

    Adam with two parameter groups: the head at ``lr``, the pretrained encoder at ``lr * encoder_lr_scale`` (0:
    frozen). ``steps`` full-batch steps (minibatches of ``batch_size`` when there are more labelled images), each
    on one random view of every image when ``views`` is given (``augment.make_views``), cross-entropy loss.
    The head starts at zero (as the linear probe does), so the encoder's first gradient is 0 and the head moves
    first. BatchNorm keeps its running statistics (eval mode) throughout: a few labelled digits are too few to
    re-estimate them. Scored on all ``test_images`` with ``embed``. Seeded: same inputs, same accuracy;
    ``encoder`` itself is never changed.
    """
    _check_fine_tune_args(images, labels, steps, lr, encoder_lr_scale)
    device = next(encoder.parameters()).device
    gen = torch.Generator().manual_seed(int(seed))
    view_gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(int(seed))
    net = copy.deepcopy(encoder).eval()
    num_classes = int(max(labels.max(), test_labels.max())) + 1
    head = nn.utils.skip_init(nn.Linear, net(to_float_images(images[:1].to(device))).shape[1], num_classes,
                              device=device)   # no draw from the global RNG
    nn.init.zeros_(head.weight)   # zero, as the probe starts: the encoder's first gradient is 0, so the first
    nn.init.zeros_(head.bias)     # steps train the head before the encoder moves
    opt = torch.optim.Adam([{"params": net.parameters(), "lr": lr * encoder_lr_scale},
                            {"params": head.parameters(), "lr": lr}])
    x_all, y_all = images.to(device), labels.to(device)
    x_all = x_all.unsqueeze(1) if x_all.dim() == 3 else x_all
    with torch.enable_grad():
        for _ in range(int(steps)):
            idx = torch.randperm(len(x_all), generator=gen)[:batch_size].to(device)
            x = to_float_images(x_all[idx]) if views is None else random_affine(x_all[idx], views, generator=view_gen)
            loss = nn.functional.cross_entropy(head(net(x)), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    logits = head(embed(net, test_images, device=device).to(device))
    return float((logits.argmax(1).cpu() == test_labels.cpu()).float().mean())


def few_label_fine_tune(encoder: nn.Module, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                        y_test: torch.Tensor, per_class: int, draws: int = 5, seed: int = 0, **options: object) -> dict:
    """``fine_tune_accuracy`` on ``per_class`` labelled images of every class, for each of ``draws`` label draws.

    The draws are ``metrics.label_draws(y_train, y_test, per_class, draws, seed)``, the very rows that
    ``few_label_probe(..., per_class, draws, seed)`` fits on, so the two are paired draw for draw (pass both
    ``accs`` lists to ``records.paired_difference``). Draw d fine-tunes with seed ``seed + d``. ``options`` go to
    ``fine_tune_accuracy`` (steps, lr, encoder_lr_scale, views, batch_size). Returns ``{"mean", "sd", "accs",
    "per_class"}`` as ``few_label_probe`` does.
    """
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"images and labels must pair up: {len(x_train)} vs {len(y_train)} training, {len(x_test)} "
                         f"vs {len(y_test)} test; pass the split of train.load_split")
    accs = []
    for d, rows in enumerate(label_draws(y_train.cpu(), y_test.cpu(), per_class, draws, seed)):
        rows = rows.to(x_train.device)
        accs.append(fine_tune_accuracy(encoder, x_train[rows], y_train[rows], x_test, y_test, seed=seed + d, **options))
    mean = sum(accs) / len(accs)
    sd = (sum((a - mean) ** 2 for a in accs) / (len(accs) - 1)) ** 0.5 if len(accs) > 1 else 0.0
    return {"mean": mean, "sd": sd, "accs": accs, "per_class": int(per_class)}


if __name__ == "__main__":  # the older entry point, python -m clhelpers.evaluate; never imported
    import sys

    from clhelpers.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
