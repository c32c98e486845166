"""``hyperion.nn.functional``: the stateless forms of the layers, as in ``torch.nn.functional``.

Layers hold parameters and call these; the functions themselves (forward and backward) live in
``hyperion.tensor.functional`` and ``hyperion.tensor.ops``. This module only gathers them under
PyTorch's names, so ``import hyperion.nn.functional as F`` reads like PyTorch code.
"""

from hyperion.tensor.functional import (
    avg_pool2d,
    conv2d,
    cross_entropy,
    dropout,
    embedding,
    flatten,
    gelu,
    layer_norm,
    linear,
    log_softmax,
    logsumexp,
    max_pool2d,
    mse_loss,
    nll_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
)

__all__ = [
    "avg_pool2d", "conv2d", "cross_entropy", "dropout", "embedding", "flatten", "gelu", "layer_norm",
    "linear", "log_softmax", "logsumexp", "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid",
    "softmax", "tanh",
]
