"""Stand-in for the repository's all-gather autograd function (our code; only called when world_size > 1)."""
import torch
import torch.distributed as dist


class GatherLayer(torch.autograd.Function):
    """All-gather with gradients, the role the original module plays (not exercised by the corpus)."""

    @staticmethod
    def forward(ctx, x):
        parts = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x)
        return tuple(parts)

    @staticmethod
    def backward(ctx, *grads):
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]
