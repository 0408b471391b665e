# Source: https://github.com/mlfoundations/open_clip, src/open_clip/loss.py (class ClipLoss). Licence: MIT.
# Our own re-implementation, nothing copied (the multi-process gather is left out: world_size 1 only).
#   Reproduced: ClipLoss(local_loss=False, gather_with_grad=False, cache_labels=False, rank=0, world_size=1,
#   use_horovod=False); forward(image_features, text_features, logit_scale, output_dict=False) where logit_scale
#   is exp(learned scale) = 1 / temperature; no normalization inside (the model normalizes); image->text and
#   text->image cross-entropy averaged, so the collapse value is log(N).
# Expected verdicts: correct with --family clip --normalized-inputs (called as f(z1, z2, 1 / t)); checked as
#   NT-Xent (the default family) collapse_value fails and the diagnosis says N candidates, as CLIP: --family clip.
import torch
import torch.nn.functional as F
from torch import nn


class ClipLoss(nn.Module):
    def __init__(self, local_loss=False, gather_with_grad=False, cache_labels=False, rank=0, world_size=1,
                 use_horovod=False):
        super().__init__()
        if world_size != 1:
            raise NotImplementedError("this re-implementation covers one process")
        self.cache_labels, self.rank, self.world_size = cache_labels, rank, world_size
        self._labels = {}

    def targets(self, n, device):
        if not self.cache_labels or device not in self._labels:
            self._labels[device] = torch.arange(n, device=device) + n * self.rank
        return self._labels[device][:n]

    def forward(self, image_features, text_features, logit_scale, output_dict=False):
        per_image = logit_scale * image_features @ text_features.T
        per_text = logit_scale * text_features @ image_features.T
        labels = self.targets(len(per_image), per_image.device)
        total = (F.cross_entropy(per_image, labels) + F.cross_entropy(per_text, labels)) / 2
        return {"contrastive_loss": total} if output_dict else total
