# Source: https://github.com/facebookresearch/moco-v3, moco/builder.py (MoCo.contrastive_loss; file version seen at
#   commit 337f3c967d91e16a2ffdb874dd55a9b35f386c07). Licence: CC-BY-NC 4.0.
# Our own re-implementation, nothing copied. Reproduced: a method contrastive_loss(self, q, k) reading self.T that
#   normalizes, gathers the keys from every process with torch.distributed, takes one-way logits q k^T / T with
#   targets offset by the process rank, moves them to CUDA, and multiplies the cross-entropy by 2T.
# Expected verdict: exit 2, not a list of failed checks: the loss raises because no torch.distributed process
#   group exists in a single process; the message gives the line and says what to try.
import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def gather_from_all(tensor):
    parts = [torch.empty_like(tensor) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, tensor)
    return torch.cat(parts)


class MoCo(nn.Module):
    def __init__(self, base_encoder, dim=256, mlp_dim=4096, T=1.0):
        super().__init__()
        self.T = T

    def contrastive_loss(self, q, k):
        q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
        k = gather_from_all(k)
        logits = q @ k.T / self.T
        n = len(logits)
        targets = (torch.arange(n) + n * torch.distributed.get_rank()).cuda()
        return F.cross_entropy(logits, targets) * (2 * self.T)
