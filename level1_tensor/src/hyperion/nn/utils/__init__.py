"""``hyperion.nn.utils``: helpers around training, as ``torch.nn.utils``."""

from hyperion.nn.utils.clip_grad import clip_grad_norm_

__all__ = ["clip_grad_norm_"]
