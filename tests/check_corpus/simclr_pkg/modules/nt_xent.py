# Source: https://github.com/Spijkervet/SimCLR, simclr/modules/nt_xent.py (class NT_Xent; file version seen at
#   commit 2738efae85b3ca1b70b7919c5d7a7837d9d75235). Licence: MIT.
# Our own re-implementation, nothing copied. Reproduced: an nn.Module whose constructor needs
#   (batch_size, temperature, world_size) and builds a boolean mask for exactly that batch size; forward(z_i, z_j);
#   cosine similarities / temperature; the positive logit first and the 2N-2 negatives after it, all-zero
#   targets, cross-entropy summed and divided by 2N; a relative import of the gather layer (a package).
# Expected verdict: correct. With --init batch_size=8 temperature=0.5 world_size=1 every check passes (the batch
#   size is taken from the constructor); without --init it is a usage error naming those three arguments.
import torch
import torch.nn.functional as F
from torch import nn

from .gather import GatherLayer


class NT_Xent(nn.Module):
    def __init__(self, batch_size, temperature, world_size):
        super().__init__()
        self.batch_size, self.temperature, self.world_size = batch_size, temperature, world_size
        rows = 2 * batch_size * world_size
        keep = ~torch.eye(rows, dtype=torch.bool)
        half = batch_size * world_size
        idx = torch.arange(half)
        keep[idx, idx + half] = False
        keep[idx + half, idx] = False
        self.mask = keep  # True where a negative sits

    def forward(self, z_i, z_j):
        rows = 2 * self.batch_size * self.world_size
        if self.world_size > 1:
            z_i, z_j = torch.cat(GatherLayer.apply(z_i)), torch.cat(GatherLayer.apply(z_j))
        z = torch.cat((z_i, z_j))
        sim = F.cosine_similarity(z[:, None, :], z[None, :, :], dim=2) / self.temperature
        half = rows // 2
        positives = torch.cat((sim.diagonal(half), sim.diagonal(-half))).view(rows, 1)
        negatives = sim[self.mask].view(rows, -1)
        logits = torch.cat((positives, negatives), dim=1)
        targets = torch.zeros(rows, dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, targets, reduction="sum") / rows
