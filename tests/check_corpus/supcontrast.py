# Source: https://github.com/HobbitLong/SupContrast, losses.py (class SupConLoss; file version seen at commit
#   2728c6776476a6d7cfcd7dc956ed5d2637137543). Licence: BSD-2-Clause.
# Our own re-implementation, nothing copied. Reproduced: SupConLoss(temperature=0.07, contrast_mode='all',
#   base_temperature=0.07); forward(features, labels=None, mask=None) with features [batch, n_views, dim]; no
#   normalization inside (the model normalizes); the row maximum subtracted for stability; the mean log-probability
#   over positives; the loss multiplied by temperature / base_temperature; labels=None gives SimCLR's loss.
# Expected verdicts: correct with --layout views --normalized-inputs --family supcon and temperature equal to
#   base_temperature; with temperature 0.1 and the default base 0.07 the collapse value is off by the factor
#   t / 0.07, which the diagnosis names; without --normalized-inputs scale_invariant fails and the fix names the flag.
import torch
from torch import nn


class SupConLoss(nn.Module):
    def __init__(self, temperature=0.07, contrast_mode="all", base_temperature=0.07):
        super().__init__()
        self.temperature, self.contrast_mode, self.base_temperature = temperature, contrast_mode, base_temperature

    def forward(self, features, labels=None, mask=None):
        if features.dim() < 3:
            raise ValueError("features must be [bsz, n_views, ...]")
        features = features.flatten(2)
        bsz, views = features.shape[:2]
        if labels is not None and mask is not None:
            raise ValueError("give labels or mask, not both")
        if mask is None:
            if labels is None:
                mask = torch.eye(bsz, device=features.device)
            else:
                labels = labels.reshape(-1, 1)
                if len(labels) != bsz:
                    raise ValueError("labels and features disagree on the batch size")
                mask = (labels == labels.T).float()
        contrast = torch.cat(features.unbind(1))
        if self.contrast_mode == "one":
            anchors, anchor_views = features[:, 0], 1
        elif self.contrast_mode == "all":
            anchors, anchor_views = contrast, views
        else:
            raise ValueError(f"unknown contrast_mode {self.contrast_mode}")
        scores = anchors @ contrast.T / self.temperature
        scores = scores - scores.max(dim=1, keepdim=True).values.detach()
        mask = mask.float().repeat(anchor_views, views)
        not_self = torch.ones_like(mask)
        not_self[torch.arange(len(anchors)), torch.arange(len(anchors))] = 0
        mask = mask * not_self
        log_prob = scores - torch.log((scores.exp() * not_self).sum(1, keepdim=True))
        mean_pos = (mask * log_prob).sum(1) / mask.sum(1)
        loss = -(self.temperature / self.base_temperature) * mean_pos
        return loss.view(anchor_views, bsz).mean()
