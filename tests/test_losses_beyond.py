"""Tests for the "Beyond NT-Xent" losses: pairwise contrastive, triplet, SupCon, MoCo-style queue."""
import math

import pytest
import torch

from clhelpers.losses import (
    NegativeQueue,
    QueueNTXent,
    info_nce,
    momentum_update,
    nt_xent,
    pair_contrastive_loss,
    supcon,
    supcon_loss,
    triplet_in_batch,
    triplet_loss,
)


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def unit(v):
    norm = math.sqrt(sum(c * c for c in v))
    return [c / norm for c in v]


# --------------------------------------------------------------------------- pairwise contrastive
def test_pair_contrastive_matches_hand_loop():
    x1, x2 = rand(6, 4, seed=1), rand(6, 4, seed=2)
    same = torch.tensor([1, 0, 1, 0, 0, 1])
    margin = 1.3
    total = 0.0
    for a, b, y in zip(x1.tolist(), x2.tolist(), same.tolist()):
        a, b = unit(a), unit(b)
        d = math.sqrt(sum((p - q) ** 2 for p, q in zip(a, b)))
        total += 0.5 * d * d if y == 1 else 0.5 * max(0.0, margin - d) ** 2
    got = pair_contrastive_loss(x1, x2, same, margin=margin)
    assert got.item() == pytest.approx(total / 6, rel=1e-9)


def test_pair_contrastive_margin_behaviour():
    e = torch.eye(3, dtype=torch.float64)
    # dissimilar pair already farther apart than the margin costs nothing; at distance 0 it costs m^2/2
    assert pair_contrastive_loss(e[:1], -e[:1], torch.tensor([0]), margin=1.5).item() == 0.0
    assert pair_contrastive_loss(e[:1], e[:1], torch.tensor([0]), margin=1.5).item() == pytest.approx(0.5 * 1.5**2)
    # similar identical pair costs nothing; scale of the input does not matter
    assert pair_contrastive_loss(e[:1], 7 * e[:1], torch.tensor([1])).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(same=torch.tensor([1, 0])),  # wrong length
        dict(same=torch.tensor([1, 0, 2])),  # not 0/1
        dict(same=torch.tensor([1, 0, 1]), margin=0.0),
        dict(same=torch.tensor([1, 0, 1]), margin=float("nan")),
    ],
)
def test_pair_contrastive_bad_input(kwargs):
    with pytest.raises(ValueError):
        pair_contrastive_loss(rand(3, 4), rand(3, 4, seed=1), **kwargs)


def test_pair_contrastive_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        pair_contrastive_loss(rand(3, 4), rand(3, 5), torch.tensor([1, 0, 1]))


# --------------------------------------------------------------------------- triplet
def test_triplet_matches_hand_loop():
    a, p, n = rand(5, 3, seed=3), rand(5, 3, seed=4), rand(5, 3, seed=5)
    alpha = 0.7
    total = 0.0
    for ai, pi, ni in zip(a.tolist(), p.tolist(), n.tolist()):
        ai, pi, ni = unit(ai), unit(pi), unit(ni)
        dap = sum((x - y) ** 2 for x, y in zip(ai, pi))
        dan = sum((x - y) ** 2 for x, y in zip(ai, ni))
        total += max(0.0, dap - dan + alpha)
    assert triplet_loss(a, p, n, margin=alpha).item() == pytest.approx(total / 5, rel=1e-9)


def test_triplet_zero_when_negative_far_enough():
    e = torch.eye(2, dtype=torch.float64)
    # anchor == positive, negative opposite: d_ap = 0, d_an = 4 > margin
    assert triplet_loss(e[:1], e[:1], -e[:1], margin=1.0).item() == 0.0
    # negative == positive: loss is exactly the margin
    assert triplet_loss(e[:1], e[1:], e[1:], margin=0.3).item() == pytest.approx(0.3)


def test_triplet_in_batch_uses_hardest_negative():
    z1, z2 = rand(6, 4, seed=6), rand(6, 4, seed=7)
    u1, u2 = torch.nn.functional.normalize(z1, dim=1), torch.nn.functional.normalize(z2, dim=1)
    expected = 0.0
    for i in range(6):
        d = [((u1[i] - u2[j]) ** 2).sum().item() for j in range(6)]
        hardest = min((d[j], j) for j in range(6) if j != i)[1]
        expected += max(0.0, d[i] - d[hardest] + 0.2)
    assert triplet_in_batch(z1, z2, 0.2).item() == pytest.approx(expected / 6, rel=1e-9)


def test_triplet_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        triplet_loss(rand(3, 4), rand(3, 4), rand(2, 4))
    with pytest.raises(ValueError, match="margin"):
        triplet_loss(rand(3, 4), rand(3, 4), rand(3, 4), margin=-1)


# --------------------------------------------------------------------------- SupCon
@pytest.mark.parametrize("t", [0.05, 0.3, 1.0])
def test_supcon_with_unique_labels_equals_nt_xent(t):
    z1, z2 = rand(9, 5, seed=8), rand(9, 5, seed=9)
    got = supcon(z1, z2, torch.arange(9), t)
    assert got.item() == pytest.approx(nt_xent(z1, z2, t).item(), rel=1e-9)


def test_supcon_matches_loop_definition():
    z, labels, t = rand(8, 3, seed=10), torch.tensor([0, 1, 0, 2, 1, 0, 3, 2]), 0.4
    u = torch.nn.functional.normalize(z, dim=1).tolist()
    s = [[sum(a * b for a, b in zip(u[i], u[j])) / t for j in range(8)] for i in range(8)]
    per_anchor = []
    for i in range(8):
        pos = [p for p in range(8) if p != i and labels[p] == labels[i]]
        if not pos:  # label 3 occurs once: that anchor is skipped
            continue
        denom = sum(math.exp(s[i][a]) for a in range(8) if a != i)
        per_anchor.append(-sum(math.log(math.exp(s[i][p]) / denom) for p in pos) / len(pos))
    assert len(per_anchor) == 7
    assert supcon_loss(z, labels, t).item() == pytest.approx(sum(per_anchor) / 7, rel=1e-9)


def test_supcon_labels_change_the_loss():
    z1, z2 = rand(6, 4, seed=11), rand(6, 4, seed=12)
    assert supcon(z1, z2, torch.tensor([0, 0, 1, 1, 2, 2]), 0.5).item() != pytest.approx(
        supcon(z1, z2, torch.arange(6), 0.5).item()
    )


def test_supcon_bad_input():
    z = rand(4, 3)
    with pytest.raises(ValueError, match="labels must have shape"):
        supcon_loss(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        supcon_loss(z, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="no row"):
        supcon_loss(z, torch.arange(4))
    with pytest.raises(ValueError, match="temperature"):
        supcon_loss(z, torch.tensor([0, 0, 1, 1]), temperature=0)


# --------------------------------------------------------------------------- queue
def test_queue_is_fifo_and_bounded():
    q = NegativeQueue(dim=2, size=5)
    assert len(q) == 0
    q.enqueue(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    q.enqueue(torch.tensor([[-3.0, 0.0], [0.0, -4.0]]))
    assert len(q) == 4
    q.enqueue(torch.tensor([[5.0, 5.0], [6.0, -6.0]]))  # 6 keys > size 5: the oldest falls out
    assert len(q) == 5
    r = 1 / math.sqrt(2)
    expected = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [r, r], [r, -r]])
    assert torch.allclose(q.negatives(), expected)
    out = q.dequeue(2)
    assert torch.allclose(out, expected[:2]) and len(q) == 3
    assert torch.allclose(q.negatives(), expected[2:])


def test_queue_detaches_and_validates():
    q = NegativeQueue(dim=3, size=4)
    k = rand(2, 3).float().requires_grad_()
    q.enqueue(k)
    assert not q.negatives().requires_grad
    with pytest.raises(ValueError, match="dimension"):
        q.enqueue(rand(2, 4).float())
    with pytest.raises(ValueError, match="empty"):
        NegativeQueue(dim=3).negatives()
    with pytest.raises(ValueError):
        NegativeQueue(dim=0)
    with pytest.raises(ValueError):
        NegativeQueue(dim=3, size=0)


def test_info_nce_with_queue_matches_hand_computation():
    q = NegativeQueue(dim=4, size=10)
    q.enqueue(rand(7, 4, seed=13))
    query, key, t = rand(3, 4, seed=14), rand(3, 4, seed=15), 0.2
    negs = q.negatives().double()
    got = info_nce(query, key, negs, t).item()
    u = torch.nn.functional.normalize(query, dim=1)
    k = torch.nn.functional.normalize(key, dim=1)
    expected = 0.0
    for b in range(3):
        pos = math.exp((u[b] @ k[b]).item() / t)
        neg = sum(math.exp((u[b] @ negs[m]).item() / t) for m in range(7))
        expected += -math.log(pos / (pos + neg))
    assert got == pytest.approx(expected / 3, rel=1e-6)


def test_queue_nt_xent_equals_nt_xent_when_empty_and_grows_with_negatives():
    z1, z2 = rand(8, 6, seed=16).float(), rand(8, 6, seed=17).float()
    loss_fn = QueueNTXent(dim=6, size=20)
    first = loss_fn(z1, z2, 0.5)
    assert first.item() == pytest.approx(nt_xent(z1, z2, 0.5).item(), rel=1e-6)
    assert len(loss_fn.queue) == 8
    # more (random) negatives in the denominator: the loss can only go up
    second = loss_fn(z1, z2, 0.5)
    assert second.item() > first.item()
    loss_fn(z1, z2, 0.5)
    assert len(loss_fn.queue) == 20  # bounded by size


def test_momentum_update():
    online, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = target.weight.detach().clone()
    momentum_update(target, online, momentum=0.9)
    assert torch.allclose(target.weight, 0.9 * before + 0.1 * online.weight)
    momentum_update(target, online, momentum=0.0)
    assert torch.equal(target.weight, online.weight)
    with pytest.raises(ValueError):
        momentum_update(target, online, momentum=1.5)
    with pytest.raises(ValueError, match="architecture"):
        momentum_update(torch.nn.Linear(3, 3), online)


# --------------------------------------------------------------------------- gradients
LOSS_FNS = {
    "pair": lambda a, b: pair_contrastive_loss(a, b, torch.tensor([1, 0, 1, 0, 1, 0])),
    "triplet": lambda a, b: triplet_in_batch(a, b, 0.5),
    "supcon": lambda a, b: supcon(a, b, torch.tensor([0, 0, 1, 1, 2, 2]), 0.1),
    "queue": lambda a, b: QueueNTXent(dim=5, size=8)(a, b, 0.1),
}


@pytest.mark.parametrize("name", sorted(LOSS_FNS))
@pytest.mark.parametrize("scale", [1e-20, 1.0, 1e20])
def test_gradients_finite(name, scale):
    a = (rand(6, 5, seed=18).float() * scale).requires_grad_()
    b = (rand(6, 5, seed=19).float() * scale).requires_grad_()
    loss = LOSS_FNS[name](a, b)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad.abs().sum() > 0
