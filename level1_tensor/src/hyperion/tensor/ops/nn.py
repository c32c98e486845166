"""Neural-network ops: the softmax family, losses, normalisation.

These are *fused* Functions with hand-written backward passes rather than compositions of
primitives: softmax composed from exp/sum/div would store three intermediates and, written
naively, overflow for logits of 1e4. Each docstring says how its backward is derived; every one is
tested against finite differences and against PyTorch.

Numerical stability rests on one identity: ``softmax(x) = softmax(x - c)`` for any constant ``c``.
Choosing ``c = max(x)`` makes every exponent ≤ 0, so ``exp`` never overflows and at least one
term is exactly 1, so the normaliser never underflows to 0.
"""

from __future__ import annotations

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array


class Softmax(Function):
    def forward(self, x: Array, dim: int) -> Array:
        """Task 1.9: ``exp(x - max) / sum(exp(x - max))`` along ``dim`` (stable for |x| ~ 1e4)."""
        # BEGIN SOLUTION
        b = self.backend
        e = b.exp(x - b.max(x, (dim,), True))
        self.out, self.dim = e / b.sum(e, (dim,), True), dim
        return self.out
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.9: with ``s = softmax(x)``: ``dx = s * (grad - sum(grad * s, dim))``.

        (The Jacobian is ``diag(s) - s sᵀ``; multiplying it by ``grad`` gives this without ever
        building the matrix.)
        """
        # BEGIN SOLUTION
        s = self.out
        return s * (grad - self.backend.sum(grad * s, (self.dim,), True))
        # END SOLUTION


class LogSoftmax(Function):
    def forward(self, x: Array, dim: int) -> Array:
        """Task 1.9: ``x - max - log(sum(exp(x - max)))`` along ``dim``: never exp of a positive."""
        # BEGIN SOLUTION
        b = self.backend
        shifted = x - b.max(x, (dim,), True)
        self.out = shifted - b.log(b.sum(b.exp(shifted), (dim,), True))
        self.dim = dim
        return self.out
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.9: ``dx = grad - softmax(x) * sum(grad, dim)``, with ``softmax = exp(out)``."""
        # BEGIN SOLUTION
        b = self.backend
        return grad - b.exp(self.out) * b.sum(grad, (self.dim,), True)
        # END SOLUTION


class LogSumExp(Function):
    def forward(self, x: Array, axis: tuple[int, ...], keepdim: bool = False) -> Array:
        """Task 1.9: ``m + log(sum(exp(x - m)))`` with ``m = max(x)`` over ``axis``.

        A row that is all ``-inf`` has ``m = -inf`` and ``x - m`` is NaN: use ``m = 0`` there so the
        answer is ``log(0) = -inf``, as it should be.
        """
        # BEGIN SOLUTION
        b = self.backend
        m = b.max(x, axis, True)
        m = b.where(b.abs(m) == float("inf"), 0, m).astype(x.dtype)
        out = m + b.log(b.sum(b.exp(x - m), axis, True))
        self.x, self.out, self.axis, self.keepdim = x, out, axis, keepdim
        return out if keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in axis])
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.9: d logsumexp / dx = softmax(x) = ``exp(x - out)``, times ``grad``."""
        # BEGIN SOLUTION
        if not self.keepdim:
            grad = grad.reshape(self.out.shape)
        return grad * self.backend.exp(self.x - self.out)
        # END SOLUTION


class CrossEntropy(Function):
    """Cross-entropy of logits ``(N, C)`` (or ``(N, C, d1, ...)``) against class indices.

    With label smoothing ``ε`` the target distribution is ``q = (1-ε)·onehot(y) + ε/C``, and the
    loss of a row is ``-Σ_c q_c log p_c``. Rows whose target is ``ignore_index`` contribute nothing
    and are not counted by the mean.
    """

    def forward(
        self,
        logits: Array,
        target: Array,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> Array:
        """Task 1.10: the loss, via a stable log-softmax over the class dimension 1.

        Move the class axis last and flatten to ``(rows, C)``. ``logp = log_softmax(rows)``; the
        per-row loss is ``-(1-ε)·logp[y] - (ε/C)·Σ_c logp[c]``, zero on ignored rows. ``reduction``:
        ``"mean"`` divides the sum by the number of non-ignored rows, ``"sum"`` sums, ``"none"``
        keeps the shape of ``target``. Save what backward needs.
        """
        # BEGIN SOLUTION
        b = self.backend
        classes = logits.shape[1]
        last = (0, *range(2, logits.ndim), 1)  # (N, C, d1, ...) -> (N, d1, ..., C): rows in target order
        rows = b.contiguous(logits.transpose(last)) if logits.ndim > 2 else logits
        rows = rows.reshape(-1, classes)
        flat_target = target.reshape(-1)
        keep = flat_target != ignore_index
        safe_target = b.where(keep, flat_target, 0)
        shifted = rows - b.max(rows, (1,), True)
        logp = shifted - b.log(b.sum(b.exp(shifted), (1,), True))
        index = b.arange(0, rows.shape[0], 1, flat_target.dtype)
        picked = logp[index, safe_target]
        eps = label_smoothing
        loss = -(1 - eps) * picked - (eps / classes) * b.sum(logp, (1,), False)
        loss = loss * keep
        self.logp, self.keep, self.target, self.index = logp, keep, safe_target, index
        self.eps, self.reduction, self.logits_shape = eps, reduction, logits.shape
        self.count = int(b.sum(keep, None, False))
        if reduction == "none":
            return loss.reshape(target.shape)
        total = b.sum(loss, None, False)
        if reduction == "sum":
            return total
        return total / self.count if self.count else total * float("nan")  # all ignored: NaN, as PyTorch
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.10: d loss / d logits of a row is ``softmax(row) - q`` (times the row's scale).

        ``q`` is the smoothed target distribution; ignored rows get zero. Scale by ``grad`` (a
        scalar for mean/sum, one value per row for "none") and by ``1/count`` for the mean, then
        restore the logits' original layout (class axis back at position 1).
        """
        # BEGIN SOLUTION
        b = self.backend
        classes = self.logp.shape[1]
        d = b.exp(self.logp) - self.eps / classes
        d[self.index, self.target] -= 1 - self.eps
        scale = grad.reshape(-1, 1) if self.reduction == "none" else grad
        if self.reduction == "mean":
            scale = scale / max(self.count, 1)
        d = d * (scale * self.keep.reshape(-1, 1))
        d = d.astype(self.logp.dtype, copy=False)
        if len(self.logits_shape) > 2:
            moved = (self.logits_shape[0],) + self.logits_shape[2:] + (classes,)
            return d.reshape(moved).transpose(0, len(moved) - 1, *range(1, len(moved) - 1))
        return d
        # END SOLUTION


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities ``(N, C)`` at class indices ``target``."""

    def forward(self, logp: Array, target: Array, ignore_index: int = -100, reduction: str = "mean") -> Array:
        b = self.backend
        keep = target != ignore_index
        safe = b.where(keep, target, 0)
        index = b.arange(0, logp.shape[0], 1, target.dtype)
        loss = -logp[index, safe] * keep
        self.shape, self.keep, self.safe, self.index, self.reduction = (
            logp.shape,
            keep,
            safe,
            index,
            reduction,
        )
        self.count = int(b.sum(keep, None, False))
        if reduction == "none":
            return loss
        total = b.sum(loss, None, False)
        if reduction == "sum":
            return total
        return total / self.count if self.count else total * float("nan")  # all ignored: NaN, as PyTorch

    def backward(self, grad: Array) -> Array:
        d = self.backend.zeros(self.shape, grad.dtype)
        scale = grad if self.reduction != "mean" else grad / max(self.count, 1)
        d[self.index, self.safe] = -scale * self.keep
        return d


class LayerNorm(Function):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last ``ndim`` dimensions.

    Backward, with ``x̂`` the normalised input, ``n`` the normalised size and ``dx̂ = grad·weight``:
    ``dx = (n·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂)) / (n·sqrt(var + eps))`` — the mean and variance depend on
    every element, which is where the two sums come from.
    """

    def forward(
        self,
        x: Array,
        weight: Array | None = None,
        bias: Array | None = None,
        ndim: int = 1,
        eps: float = 1e-5,
    ) -> Array:
        """Task 1.18: LayerNorm forward over the last ``ndim`` dimensions (biased variance, as PyTorch).

        Save for backward: ``self.xhat`` (the normalised input), ``self.rstd = 1/sqrt(var + eps)``
        (keepdim shape), ``self.weight``, ``self.axes`` (the normalised axes) and ``self.has_bias``.
        Then ``out = xhat * weight + bias`` (either may be ``None``). Normalising each token on its
        own makes a layer's scale independent of the batch: what the transformer blocks rely on.
        """
        # BEGIN SOLUTION
        b = self.backend
        axes = tuple(range(x.ndim - ndim, x.ndim))
        mean = b.sum(x, axes, True) / x.dtype.type(_size(x.shape[-ndim:]))
        centered = x - mean
        var = b.sum(centered * centered, axes, True) / x.dtype.type(_size(x.shape[-ndim:]))
        self.rstd = 1 / b.sqrt(var + x.dtype.type(eps))
        self.xhat, self.weight, self.axes = centered * self.rstd, weight, axes
        self.has_bias = bias is not None
        out = self.xhat if weight is None else self.xhat * weight
        return out if bias is None else out + bias
        # END SOLUTION

    def backward(self, grad: Array) -> tuple[Array | None, ...]:
        """Task 1.18: LayerNorm backward: ``(dx, dweight, dbias)``, leaving out the absent ones.

        ``dx̂ = grad·weight``; ``dx = (n·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂)) · rstd / n`` with the sums over the
        normalised axes (keepdim); ``dweight = Σ grad·x̂`` and ``dbias = Σ grad`` over the batch axes.
        """
        # BEGIN SOLUTION
        b, axes, xhat = self.backend, self.axes, self.xhat
        n = xhat.dtype.type(_size(xhat.shape[axes[0] :]))
        dxhat = grad if self.weight is None else grad * self.weight
        dx = (n * dxhat - b.sum(dxhat, axes, True) - xhat * b.sum(dxhat * xhat, axes, True)) * (self.rstd / n)
        batch = tuple(range(axes[0]))
        grads: list[Array | None] = [dx]
        if self.weight is not None:
            grads.append(b.sum(grad * xhat, batch, False))
        if self.has_bias:
            grads.append(b.sum(grad, batch, False))
        return tuple(grads)
        # END SOLUTION


def _size(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
