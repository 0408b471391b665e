# Source: https://github.com/Lightning-Universe/lightning-bolts, src/pl_bolts/models/self_supervised/simclr/
#   simclr_module.py (method SimCLR.nt_xent_loss; the same formula is copied into many projects). Licence: Apache-2.0.
# Our own re-implementation, nothing copied. Reproduced: a method nt_xent_loss(self, out_1, out_2, temperature,
#   eps=1e-6) that assumes normalized inputs, takes plain exp(cov / t), sums each row and then subtracts the
#   constant e^(1/t) to remove the self-similarity, clamps at eps, and averages -log(pos / neg).
# Expected verdicts: with --normalized-inputs it fails float64_reference (the subtraction cancels catastrophically in
#   float32 at batch 256, t <= 0.05) and finite_small_temperature (exp overflows at t = 0.01). Without the flag it
#   also fails scale_invariant and gradient_direction, diagnosed as a loss that depends on the norms (the
#   self-similarity subtracted as a constant), not as a sign flip.
import math

import torch
from torch import nn


class SimCLR(nn.Module):
    def nt_xent_loss(self, out_1, out_2, temperature, eps=1e-6):
        out = torch.cat([out_1, out_2])
        sim = torch.exp(out @ out.T / temperature)
        row_sums = sim.sum(dim=-1)
        self_term = torch.full_like(row_sums, math.e ** (1 / temperature))
        neg = torch.clamp(row_sums - self_term, min=eps)
        pos = torch.exp((out_1 * out_2).sum(dim=-1) / temperature).repeat(2)
        return -torch.log(pos / (neg + eps)).mean()
