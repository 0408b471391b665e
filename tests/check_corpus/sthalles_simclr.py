# Source: https://github.com/sthalles/SimCLR, simclr.py (method SimCLR.info_nce_loss). Licence: MIT.
# Our own re-implementation, nothing copied. Reproduced: a loss written as a method of a trainer class
#   (not an nn.Module), reading self.args.batch_size, self.args.n_views, self.args.temperature and
#   self.args.device; it takes the 2N stacked features (views of sample i at rows i and i + N) and RETURNS
#   (logits, labels): each row's positive logit first, its 2N-2 negatives after, and all-zero labels (the
#   "all targets are zero" that users ask about in its issue tracker is correct).
# Expected verdict: correct with --attr args.batch_size=8 args.n_views=2 args.temperature=0.5 args.device=cpu
#   --returns logits; without --returns logits a usage error that says it returned a tuple.
import torch
import torch.nn.functional as F


class SimCLR:
    def __init__(self, *args, **kwargs):
        self.args = kwargs["args"]

    def info_nce_loss(self, features):
        n, views = self.args.batch_size, self.args.n_views
        sample = torch.arange(n).repeat(views)
        same = (sample[:, None] == sample[None, :]).to(self.args.device)
        z = F.normalize(features, dim=1)
        sim = z @ z.T
        off_diagonal = ~torch.eye(n * views, dtype=torch.bool, device=sim.device)
        same = same[off_diagonal].view(n * views, -1)
        sim = sim[off_diagonal].view(n * views, -1)
        positives = sim[same].view(n * views, -1)
        negatives = sim[~same].view(n * views, -1)
        logits = torch.cat([positives, negatives], dim=1) / self.args.temperature
        labels = torch.zeros(len(logits), dtype=torch.long, device=sim.device)
        return logits, labels
