"""Elementwise ops: the output's element ``i`` depends only on the inputs' element ``i``.

So each backward is the local derivative times the incoming gradient, elementwise (the chain
rule with a diagonal Jacobian). Inputs may broadcast: ``backward`` returns gradients in the
output's shape and the engine sums them back to each input's shape with
:func:`hyperion.tensor.strides.unbroadcast`.
"""

from __future__ import annotations

import math

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array


# ---- arithmetic --------------------------------------------------------------------------------
class Add(Function):
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
        return a + b

    def backward(self, grad: Array) -> tuple[Array, Array]:
        return grad, grad


class Sub(Function):
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
        return a - b

    def backward(self, grad: Array) -> tuple[Array, Array]:
        return grad, -grad


class Neg(Function):
    saves_inputs = False

    def forward(self, a: Array) -> Array:
        return -a

    def backward(self, grad: Array) -> Array:
        return -grad


class Mul(Function):
    def forward(self, a: Array, b: Array) -> Array:
        self.a, self.b = a, b
        return a * b

    def backward(self, grad: Array) -> tuple[Array, Array]:
        """Task 1.5: d(a*b)/da = b and d(a*b)/db = a, each times ``grad``."""
        # BEGIN SOLUTION
        return grad * self.b, grad * self.a
        # END SOLUTION


class Div(Function):
    def forward(self, a: Array, b: Array) -> Array:
        self.a, self.b = a, b
        return a / b

    def backward(self, grad: Array) -> tuple[Array, Array]:
        """Task 1.5: d(a/b)/da = 1/b and d(a/b)/db = -a/b², each times ``grad``."""
        # BEGIN SOLUTION
        grad_a = grad / self.b
        return grad_a, -grad_a * self.a / self.b
        # END SOLUTION


class PowScalar(Function):
    """``x ** p`` for a constant exponent ``p``."""

    def forward(self, x: Array, exponent: float) -> Array:
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, grad: Array) -> Array:
        """Task 1.5: d(x^p)/dx = p·x^(p-1), times ``grad``."""
        # BEGIN SOLUTION
        p = self.exponent
        return grad * (p * self.x ** (p - 1)) if p != 0 else grad * 0
        # END SOLUTION


class Pow(Function):
    """``a ** b`` with both sides tensors: d/da = b·a^(b-1), d/db = a^b·log(a)."""

    def forward(self, a: Array, b: Array) -> Array:
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad: Array) -> tuple[Array, Array]:
        grad_a = grad * self.b * self.a ** (self.b - 1)
        log_a = self.backend.log(self.backend.where(self.a > 0, self.a, 1))
        grad_b = grad * self.out * self.backend.where(self.a > 0, log_a, float("nan"))
        grad_b = self.backend.where((self.a == 0) & (self.b >= 0), 0, grad_b)
        return grad_a, grad_b


class Exp(Function):
    def forward(self, x: Array) -> Array:
        self.out = self.backend.exp(x)
        return self.out

    def backward(self, grad: Array) -> Array:
        """Task 1.5: d(e^x)/dx = e^x — reuse the saved output rather than recomputing it."""
        # BEGIN SOLUTION
        return grad * self.out
        # END SOLUTION


class Log(Function):
    def forward(self, x: Array) -> Array:
        self.x = x
        return self.backend.log(x)

    def backward(self, grad: Array) -> Array:
        """Task 1.5: d(log x)/dx = 1/x."""
        # BEGIN SOLUTION
        return grad / self.x
        # END SOLUTION


class Sqrt(Function):
    def forward(self, x: Array) -> Array:
        self.out = self.backend.sqrt(x)
        return self.out

    def backward(self, grad: Array) -> Array:
        """Task 1.5: d(√x)/dx = 1/(2√x), using the saved output √x."""
        # BEGIN SOLUTION
        return grad / (2 * self.out)
        # END SOLUTION


class Abs(Function):
    def forward(self, x: Array) -> Array:
        self.x = x
        return self.backend.abs(x)

    def backward(self, grad: Array) -> Array:
        return grad * self.backend.sign(self.x)


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly (as PyTorch does)."""

    def forward(self, a: Array, b: Array) -> Array:
        self.a, self.b = a, b
        return self.backend.maximum(a, b)

    def backward(self, grad: Array) -> tuple[Array, Array]:
        share = (self.a > self.b) + grad.dtype.type(0.5) * (self.a == self.b)
        return grad * share, grad * (1 - share)


class Minimum(Function):
    """Elementwise min; at ties the gradient is split evenly (as PyTorch does)."""

    def forward(self, a: Array, b: Array) -> Array:
        self.a, self.b = a, b
        return self.backend.minimum(a, b)

    def backward(self, grad: Array) -> tuple[Array, Array]:
        share = (self.a < self.b) + grad.dtype.type(0.5) * (self.a == self.b)
        return grad * share, grad * (1 - share)


class Where(Function):
    """``where(cond, a, b)``: gradient flows to ``a`` where cond holds, to ``b`` elsewhere."""

    def forward(self, cond: Array, a: Array, b: Array) -> Array:
        self.cond = cond
        return self.backend.where(cond, a, b)

    def backward(self, grad: Array) -> tuple[None, Array, Array]:
        zero = grad.dtype.type(0)
        return None, self.backend.where(self.cond, grad, zero), self.backend.where(self.cond, zero, grad)


class Clamp(Function):
    """Clip to ``[low, high]``; the gradient passes where the input was inside (bounds included)."""

    def forward(self, x: Array, low: float | None, high: float | None) -> Array:
        self.x, self.low, self.high = x, low, high
        return self.backend.clip(x, low, high)

    def backward(self, grad: Array) -> Array:
        inside = True
        if self.low is not None:
            inside = inside & (self.x >= self.low)
        if self.high is not None:
            inside = inside & (self.x <= self.high)
        return grad * inside


# ---- activations -------------------------------------------------------------------------------
class ReLU(Function):
    def forward(self, x: Array) -> Array:
        out = self.backend.maximum(x, 0)  # not x · [x > 0]: -inf · 0 is NaN; a NaN stays NaN
        self.positive = out != 0  # x > 0, or NaN: a NaN passes its gradient on, as in PyTorch
        return out

    def backward(self, grad: Array) -> Array:
        """Task 1.5: relu passes the gradient where the input was positive, zero elsewhere."""
        # BEGIN SOLUTION
        return grad * self.positive
        # END SOLUTION


class Sigmoid(Function):
    def forward(self, x: Array) -> Array:
        # 1/(1+e^-x) overflows e^-x for very negative x; split by sign so exp never sees > 0.
        e = self.backend.exp(-self.backend.abs(x))
        self.out = self.backend.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, grad: Array) -> Array:
        """Task 1.5: σ'(x) = σ(x)(1 − σ(x)), from the saved output."""
        # BEGIN SOLUTION
        return grad * self.out * (1 - self.out)
        # END SOLUTION


class Tanh(Function):
    def forward(self, x: Array) -> Array:
        self.out = self.backend.tanh(x)
        return self.out

    def backward(self, grad: Array) -> Array:
        """Task 1.5: tanh'(x) = 1 − tanh²(x), from the saved output."""
        # BEGIN SOLUTION
        return grad * (1 - self.out * self.out)
        # END SOLUTION


class GELU(Function):
    """GELU(x) = x·Φ(x). ``approximate="none"`` uses erf; ``"tanh"`` the tanh approximation.

    A fused Function with a hand-written backward (composing it from primitives would save five
    intermediate arrays instead of one).
    """

    def forward(self, x: Array, approximate: str = "none") -> Array:
        """Task 1.19: GELU forward, ``x·Φ(x)``: exact with ``erf``, or the tanh approximation.

        ``"none"``: ``Φ(x) = (1 + erf(x/√2))/2``; save it as ``self.cdf``. ``"tanh"``:
        ``t = tanh(√(2/π)(x + 0.044715x³))``, out ``0.5·x·(1 + t)``; save ``self.t``. Save ``self.x``
        and ``self.approximate`` too. GELU is ReLU's smooth cousin used by GPT and BERT: it weighs an
        input by how likely it is to be positive instead of gating it hard at 0.
        """
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        # BEGIN SOLUTION
        self.x, self.approximate = x, approximate
        b = self.backend
        if approximate == "tanh":
            self.t = b.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x)))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + b.erf(x * (1 / math.sqrt(2))))
        return x * self.cdf
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.19: GELU backward.

        Exact: ``d/dx x·Φ(x) = Φ(x) + x·φ(x)`` with ``φ(x) = exp(-x²/2)/√(2π)``. Tanh: with
        ``k = √(2/π)``, ``dt/dx = (1 - t²)·k·(1 + 3·0.044715x²)`` and the derivative is
        ``0.5(1 + t) + 0.5·x·dt/dx``. Multiply by ``grad``.
        """
        # BEGIN SOLUTION
        x = self.x
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            dt = (1 - self.t * self.t) * k * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + self.t) + 0.5 * x * dt)
        pdf = self.backend.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (self.cdf + x * pdf)
        # END SOLUTION


# ---- dtype ---------------------------------------------------------------------------------------
class Cast(Function):
    """Change dtype; the gradient is cast back (and none flows into integer inputs)."""

    saves_inputs = False

    def forward(self, x: Array, dtype) -> Array:
        self.source = x.dtype
        return x.astype(dtype)

    def backward(self, grad: Array) -> Array | None:
        return grad.astype(self.source) if self.source.kind == "f" else None


# ---- comparisons and logic (no gradient) ---------------------------------------------------------
class _Compare(Function):
    differentiable = False
    symbol = ""

    def forward(self, a: Array, b: Array | None = None) -> Array:
        return self.compare(a, b)


class Eq(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a == b


class Ne(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a != b


class Lt(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a < b


class Le(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a <= b


class Gt(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a > b


class Ge(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a >= b


class LogicalAnd(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a.astype(bool) & b.astype(bool)


class LogicalOr(_Compare):
    def compare(self, a: Array, b: Array) -> Array:
        return a.astype(bool) | b.astype(bool)


class LogicalNot(_Compare):
    def compare(self, a: Array, b: None = None) -> Array:
        return ~a.astype(bool)
