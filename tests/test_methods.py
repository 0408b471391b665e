"""clhelpers.methods: the Method interface (SimCLR, SupCon, MoCo, SimSiam, BYOL, Supervised), the registry, and
the stateful pieces (NegativeQueue, momentum_update).

Tiny encoders (widths (4, 8, 8)), batches of 8 random 28x28 images: every test runs in well under a second.
"""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from clhelpers import methods
from clhelpers.checks import CHECKS, check_contrastive_loss
from clhelpers.losses import info_nce, nt_xent
from clhelpers.methods import (
    BYOL, METHODS, MoCo, NegativeQueue, SimCLR, SimCLRNoHead, SimSiam, SupCon, Supervised, build_method,
    method_options, momentum_update,
)
from clhelpers.models import Encoder

B, QUEUE = 8, 20


def make(name, **options):
    torch.manual_seed(0)
    options = {"proj_dim": 16, "hidden_dim": 32, "queue_size": QUEUE, **options}
    return build_method(name, Encoder(widths=(4, 8, 8), depth=1), **options)


def views(seed=0, batch=B):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 28, 28, generator=g), torch.rand(batch, 1, 28, 28, generator=g)


LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])


def sgd_step(method, seed=0):
    """One full training step; returns the loss."""
    opt = torch.optim.SGD(method.trainable_parameters(), lr=0.5)
    loss = method(*views(seed), LABELS)
    opt.zero_grad()
    loss.backward()
    opt.step()
    method.after_step()
    return loss


# --------------------------------------------------------------------------- every method
@pytest.mark.parametrize("name", sorted(METHODS))
def test_loss_is_finite_float32_scalar_and_trains_the_encoder(name):
    method = make(name)
    loss = method(*views(), LABELS)
    assert loss.shape == () and loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    for pname, p in method.encoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    assert sum(p.grad.abs().sum() for p in method.encoder.parameters()) > 0
    assert method.needs_labels == (name in ("supcon", "supervised", "simclr-masked"))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_bf16_autocast_and_channels_last(name):
    method = make(name)
    v1, v2 = (v.to(memory_format=torch.channels_last) for v in views())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = method(v1, v2, LABELS)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)  # the losses upcast
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in method.encoder.parameters())
    # same weights, float32, contiguous: bf16 rounding moves the loss only a little
    reference = make(name)(*views(), LABELS)
    assert loss.item() == pytest.approx(reference.item(), abs=0.05)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_training_step_changes_the_loss_and_keeps_it_finite(name):
    method = make(name)
    first = sgd_step(method).item()
    second = method(*views(), LABELS).item()
    assert math.isfinite(second) and second != first


def test_bad_construction_and_input():
    enc = Encoder(widths=(4, 8, 8), depth=1)
    with pytest.raises(ValueError, match="feature_dim"):
        SimCLR(torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(enc, temperature=0)
    with pytest.raises(ValueError, match="momentum"):
        MoCo(enc, momentum=1.5)
    with pytest.raises(ValueError, match="size"):
        MoCo(enc, queue_size=0)
    v1, _ = views()
    with pytest.raises(ValueError, match="same shape|one shape"):
        SimCLR(enc)(v1, v1[:4])
    with pytest.raises(NotImplementedError):
        methods.Method(enc)(v1, v1)


# --------------------------------------------------------------------------- SupCon
def test_supcon_needs_labels_and_equals_simclr_with_unique_labels():
    method = make("supcon", temperature=0.3)
    with pytest.raises(ValueError, match="labels"):
        method(*views())
    simclr = make("simclr", temperature=0.3)  # same seed: same weights
    unique = method(*views(), torch.arange(B))
    assert unique.item() == pytest.approx(simclr(*views()).item(), rel=1e-5)
    assert method(*views(), LABELS).item() != pytest.approx(unique.item(), rel=1e-3)


# --------------------------------------------------------------------------- no projection head, supervised baseline
def test_proj_dim_0_means_no_head_and_the_loss_on_h():
    v1, v2 = views()
    torch.manual_seed(0)
    method = build_method("simclr", Encoder(widths=(4, 8, 8), depth=1), proj_dim=0, hidden_dim=32, temperature=0.3)
    assert isinstance(method.head, torch.nn.Identity) and method.out_dim == method.encoder.feature_dim == 8
    assert not any(True for _ in method.head.parameters())
    h = method.encoder(torch.cat([v1, v2]))
    assert torch.equal(method.project(v1, v2), h)  # z = h
    assert method(v1, v2).item() == pytest.approx(nt_xent(*h.chunk(2), 0.3).item(), rel=1e-6)
    torch.manual_seed(0)
    nohead = build_method("simclr-nohead", Encoder(widths=(4, 8, 8), depth=1), proj_dim=16, temperature=0.3)
    assert isinstance(nohead, SimCLRNoHead) and isinstance(nohead.head, torch.nn.Identity)  # proj_dim ignored
    assert nohead(v1, v2).item() == pytest.approx(method(v1, v2).item(), rel=1e-6)  # same weights, same loss
    assert method_options("simclr-nohead") == ["temperature"]
    assert make("moco", proj_dim=0).queue.dim == 8  # the queue holds h-sized keys
    with pytest.raises(ValueError, match="proj_dim must be an int >= 0"):
        SimCLR(Encoder(widths=(4, 8, 8), depth=1), proj_dim=-1)


def test_with_a_head_z_is_not_h():
    method = make("simclr")
    v1, v2 = views()
    assert method.out_dim == 16 and method.project(v1, v2).shape == (2 * B, 16)


def test_supervised_needs_labels_and_valid_num_classes():
    method = make("supervised")
    assert isinstance(method, Supervised) and method.needs_labels
    assert isinstance(method.head, torch.nn.Identity) and method.classifier.in_features == 8
    with pytest.raises(ValueError, match="needs the class labels"):
        method(*views())
    with pytest.raises(ValueError, match="num_classes"):
        Supervised(Encoder(widths=(4, 8, 8), depth=1), num_classes=1)
    assert method_options("supervised") == ["num_classes"]


def test_supervised_loss_is_cross_entropy_of_both_views():
    method = make("supervised").eval()
    v1, v2 = views()
    logits = method.classifier(method.encoder(torch.cat([v1, v2])))
    expected = (F.cross_entropy(logits[:B], LABELS) + F.cross_entropy(logits[B:], LABELS)) / 2
    assert method(v1, v2, LABELS).item() == pytest.approx(expected.item(), rel=1e-6)


def toy_digits(n, seed):
    """Class 0: a bright bar in the left half; class 1: in the right half; plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 * torch.rand(n, 1, 28, 28, generator=g)
    rows = torch.randint(4, 20, (n,), generator=g)
    for i in range(n):
        col = 3 if y[i] == 0 else 18
        x[i, 0, rows[i]:rows[i] + 6, col:col + 6] = 1.0
    return x, y


@pytest.mark.slow
def test_supervised_learns_separable_toy_data():
    torch.manual_seed(0)
    method = Supervised(Encoder(widths=(4, 8, 8), depth=1), num_classes=2)
    x, y = toy_digits(64, seed=0)
    x_test, y_test = toy_digits(64, seed=1)
    opt = torch.optim.Adam(method.trainable_parameters(), lr=0.02)
    first = None
    for _ in range(40):
        loss = method(x, x, y)  # two identical views: plain supervised training
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    method.eval()
    with torch.no_grad():
        accuracy = (method.classifier(method.encoder(x_test)).argmax(1) == y_test).float().mean().item()
    assert loss.item() < 0.5 * first and accuracy > 0.95


# --------------------------------------------------------------------------- momentum methods
@pytest.mark.parametrize("name", ["moco", "byol"])
def test_momentum_branch_gets_no_gradient_and_follows_the_ema(name):
    m = 0.9
    method = make(name, momentum=m)
    key_params = {id(p) for p in list(method.key_encoder.parameters()) + list(method.key_head.parameters())}
    assert not key_params & {id(p) for p in method.trainable_parameters()}
    opt = torch.optim.SGD(method.trainable_parameters(), lr=0.5)
    method(*views(), LABELS).backward()
    assert all(p.grad is None for p in method.key_encoder.parameters())
    assert all(p.grad is None for p in method.key_head.parameters())
    opt.step()
    old_key = method.key_encoder.net[0].weight.detach().clone()
    query = method.encoder.net[0].weight.detach().clone()
    assert not torch.equal(old_key, query)  # the step moved the query encoder away from the key encoder
    method.after_step()
    assert torch.equal(method.key_encoder.net[0].weight, old_key.mul(m).add(query, alpha=1 - m))
    head_old, head_new = method.key_head.net[0].weight, method.head.net[0].weight
    assert not torch.equal(head_old, head_new)  # the head moves too, by EMA, not by a copy


def test_moco_momentum_zero_takes_keys_from_the_query_encoder():
    method = make("moco", momentum=0.0)
    sgd_step(method)
    for pk, pq in zip(method.key_encoder.parameters(), method.encoder.parameters()):
        assert torch.equal(pk, pq)
    for bk, bq in zip(method.key_encoder.buffers(), method.encoder.buffers()):
        assert torch.equal(bk, bq)


def test_moco_queue_is_fifo_bounded_and_never_holds_the_current_keys(monkeypatch):
    method = make("moco")
    seen = []

    def spy(query, positive, negatives, temperature):
        seen.append((positive.detach().clone(), negatives.detach().clone()))
        return info_nce(query, positive, negatives, temperature)

    monkeypatch.setattr(methods, "info_nce", spy)
    before = method.queue.negatives()
    assert before.shape == (QUEUE, 16)  # starts full of random unit keys
    assert torch.allclose(before.norm(dim=1), torch.ones(QUEUE))
    for step in range(3):  # 2B = 16 keys per step into a queue of 20: wraps around
        sgd_step(method, seed=step)
        (k2, negatives_1), (k1, negatives_2) = seen[-2:]
        assert torch.equal(negatives_1, before) and torch.equal(negatives_2, before)  # the queue as it was
        after = method.queue.negatives()
        assert len(method.queue) == QUEUE and after.shape == (QUEUE, 16)
        assert torch.allclose(after[-2 * B:], F.normalize(torch.cat([k1, k2])), atol=1e-6)  # newest last
        assert torch.equal(after[: QUEUE - 2 * B], before[2 * B:])  # the oldest fell out
        before = after


def test_moco_state_dict_round_trip_restores_queue_and_next_loss():
    trained = make("moco")
    for step in range(2):
        sgd_step(trained, seed=step)
    state = trained.state_dict()
    assert "queue.keys" in state and "queue.count" in state and "key_encoder.net.0.weight" in state
    fresh = make("moco")
    torch.manual_seed(123)
    fresh.queue.keys.copy_(F.normalize(torch.randn(QUEUE, 16)))  # a different queue
    fresh.load_state_dict(state)
    assert torch.equal(fresh.queue.negatives(), trained.queue.negatives())
    assert fresh(*views(5)).item() == trained(*views(5)).item()


@pytest.mark.slow
def test_moco_survives_compile_of_its_modules():
    eager = make("moco")
    compiled = copy.deepcopy(eager)
    compiled.encoder.compile(backend="eager")
    compiled.head.compile(backend="eager")
    for step in range(2):
        a, b = sgd_step(eager, seed=step), sgd_step(compiled, seed=step)
        assert a.item() == pytest.approx(b.item(), rel=1e-5)
    assert set(compiled.state_dict()) == set(eager.state_dict())  # in-place compile: same keys
    assert torch.allclose(compiled.queue.keys, eager.queue.keys, atol=1e-5)


# --------------------------------------------------------------------------- SimSiam / BYOL
@pytest.mark.parametrize("stop_gradient", [True, False])
def test_simsiam_stop_gradient_cuts_the_target_branch(stop_gradient):
    method = make("simsiam", stop_gradient=stop_gradient)
    last = method.predictor.net[-1]
    with torch.no_grad():  # constant predictions: the only path to the encoder is the target branch
        last.weight.zero_()
        last.bias.normal_()
    method(*views()).backward()
    total = sum(p.grad.abs().sum() for p in method.encoder.parameters() if p.grad is not None)
    assert (total == 0) if stop_gradient else (total > 0)


def test_simsiam_and_byol_losses_are_negative_cosines():
    v1, v2 = views()
    for method in (make("simsiam"), make("byol")):
        loss = method(v1, v2).item()
        assert -1.0 <= loss <= 1.0
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert methods.negative_cosine(p, p * 3).item() == pytest.approx(-1.0)
    assert methods.negative_cosine(p, -p).item() == pytest.approx(1.0)
    assert SimSiam(Encoder(widths=(4, 8, 8), depth=1), proj_dim=16, pred_hidden=5).predictor.net[0].out_features == 5


def test_byol_target_starts_as_a_copy_of_the_online_network():
    method = make("byol")
    assert isinstance(method, BYOL)
    for pk, pq in zip(method.key_encoder.parameters(), method.encoder.parameters()):
        assert torch.equal(pk, pq) and pk is not pq


# --------------------------------------------------------------------------- registry
def test_build_method_passes_only_accepted_options():
    enc = Encoder(widths=(4, 8, 8), depth=1)
    moco = build_method("MoCo", enc, proj_dim=16, queue_size=12, momentum=0.5, temperature=0.3, stop_gradient=False)
    assert isinstance(moco, MoCo) and moco.queue.size == 12 and moco.momentum == 0.5 and moco.temperature == 0.3
    siam = build_method("simsiam", enc, temperature=0.3, queue_size=12, stop_gradient=False, pred_hidden=None)
    assert isinstance(siam, SimSiam) and siam.stop_gradient is False
    assert isinstance(build_method("supcon", enc), SupCon) and build_method("supcon", enc).temperature == 0.1
    assert set(method_options("moco")) == {"proj_dim", "hidden_dim", "temperature", "momentum", "queue_size"}


def test_build_method_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="unknown method 'swav'.*byol, .*moco, simclr, .*simsiam, supcon, supervised"):
        build_method("swav", Encoder(widths=(4, 8, 8), depth=1))


# --------------------------------------------------------------------------- NegativeQueue (moved from losses)
def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


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
    q.enqueue(torch.tensor([[0.0, -7.0]]))
    assert torch.allclose(q.negatives(), torch.cat([expected[1:], torch.tensor([[0.0, -1.0]])]))


def test_queue_detaches_validates_and_lives_in_the_state_dict():
    q = NegativeQueue(dim=3, size=4)
    k = rand(2, 3).float().requires_grad_()
    q.enqueue(k)
    assert not q.negatives().requires_grad and q.negatives().dtype == torch.float32
    assert set(q.state_dict()) == {"keys", "count"}
    copy_ = NegativeQueue(dim=3, size=4)
    copy_.load_state_dict(q.state_dict())
    assert len(copy_) == 2 and torch.equal(copy_.negatives(), q.negatives())
    with pytest.raises(ValueError, match="dimension"):
        q.enqueue(rand(2, 4).float())
    with pytest.raises(ValueError, match="empty"):
        NegativeQueue(dim=3).negatives()
    with pytest.raises(ValueError, match="dim"):
        NegativeQueue(dim=0)
    with pytest.raises(ValueError, match="size"):
        NegativeQueue(dim=3, size=0)


def test_info_nce_with_queue_matches_hand_computation():
    q = NegativeQueue(dim=4, size=10)
    q.enqueue(rand(7, 4, seed=13))
    query, key, t = rand(3, 4, seed=14), rand(3, 4, seed=15), 0.2
    negs = q.negatives().double()
    got = info_nce(query, key, negs, t).item()
    u = F.normalize(query, dim=1)
    k = F.normalize(key, dim=1)
    expected = 0.0
    for b in range(3):
        pos = math.exp((u[b] @ k[b]).item() / t)
        neg = sum(math.exp((u[b] @ negs[m]).item() / t) for m in range(7))
        expected += -math.log(pos / (pos + neg))
    assert got == pytest.approx(expected / 3, rel=1e-6)


def test_momentum_update():
    online, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = target.weight.detach().clone()
    momentum_update(target, online, momentum=0.9)
    assert torch.allclose(target.weight, 0.9 * before + 0.1 * online.weight)
    momentum_update(target, online, momentum=0.0)
    assert torch.equal(target.weight, online.weight)
    with pytest.raises(ValueError, match="momentum"):
        momentum_update(target, online, momentum=1.5)
    with pytest.raises(ValueError, match="architecture"):
        momentum_update(torch.nn.Linear(3, 3), online)
