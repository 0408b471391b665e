# Source: https://github.com/sthalles/SimCLR, loss/nt_xent.py (class NTXentLoss of the first releases; file version
#   seen at commit 45e3b3b7ef22ebeadc6089d1c743c85e1d39e6dd; the maintainer later replaced it by
#   SimCLR.info_nce_loss, see sthalles_simclr.py). Licence: MIT.
# Our own re-implementation, nothing copied. Reproduced: NTXentLoss(device, batch_size, temperature,
#   use_cosine_similarity) with the mask and a two-hot target matrix built for exactly that batch size in the
#   constructor; forward(zis, zjs) stacks [zjs; zis], drops the diagonal, divides by t and takes log(softmax(...))
#   in two steps, then the mean over rows of -sum(targets * log p). (The original also used numpy's removed
#   np.int alias; that incompatibility with current numpy is not reproduced.)
# Expected verdict: right at ordinary temperatures, but log(softmax) underflows to log(0) = -inf at t = 0.01 and
#   0 * -inf = nan: finite_small_temperature fails. With use_cosine_similarity=False (dot products) it also
#   fails scale_invariant.
import numpy as np
import torch


class NTXentLoss(torch.nn.Module):
    def __init__(self, device, batch_size, temperature, use_cosine_similarity):
        super().__init__()
        self.device, self.batch_size, self.temperature = device, batch_size, temperature
        rows = 2 * batch_size
        self.keep = ~torch.eye(rows, dtype=torch.bool)
        two_hot = np.eye(rows, rows - 1, k=-batch_size) + np.eye(rows, rows - 1, k=batch_size - 1)
        self.targets = torch.from_numpy(two_hot.astype(np.int64)).to(device)
        self.cosine = use_cosine_similarity

    def similarity(self, x, y):
        if self.cosine:
            return torch.nn.functional.cosine_similarity(x[:, None, :], y[None, :, :], dim=-1)
        return x @ y.T

    def forward(self, zis, zjs):
        z = torch.cat([zjs, zis])
        rows = 2 * self.batch_size
        logits = self.similarity(z, z)[self.keep].view(rows, rows - 1) / self.temperature
        probs = torch.softmax(logits, dim=-1)
        return (-(self.targets * torch.log(probs)).sum(dim=-1)).mean()
