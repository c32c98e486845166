"""Loss layers: the functional losses as Modules holding their options, as in PyTorch."""

from __future__ import annotations

from hyperion.nn.module import Module
from hyperion.tensor import Tensor
from hyperion.tensor import functional as TF


class CrossEntropyLoss(Module):
    """Cross-entropy of logits ``(N, C, ...)`` against int64 class indices (see ``F.cross_entropy``)."""

    def __init__(
        self, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return TF.cross_entropy(
            input,
            target,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
        )


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities ``(N, C)`` (pair it with ``log_softmax``)."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return TF.nll_loss(input, target, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(Module):
    """Mean squared error."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return TF.mse_loss(input, target, reduction=self.reduction)
