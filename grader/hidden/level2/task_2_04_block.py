"""Task 2.4: the pre-LayerNorm transformer block, x + attn(ln1(x)) then x + mlp(ln2(x)).

The block's attention is replaced by a small stand-in module (tanh(x W)) so that this task is graded
alone; it records whether the padding mask and the cache were passed through. The expected forward
is computed here with numpy (LayerNorm, tanh-approximate GELU); the input gradient is compared with the
reference's.
"""

import math

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.4"
TITLE = "Pre-LN transformer block"
POINTS = 10
TIMEOUT = 60

SHAPES = [(2, 3, 8, 2), (1, 5, 4, 1), (3, 2, 12, 3)]


@probe
def block():
    from hyperion import nn
    from hyperion.tensor import Tensor, manual_seed, no_grad, tanh
    from hyperion.transformer.blocks import Block

    class Mixer(nn.Module):
        def __init__(self, weight):
            super().__init__()
            self.weight = nn.Parameter(Tensor(weight))
            self.seen = []

        def forward(self, x, key_padding_mask=None, cache=None):
            self.seen.append([key_padding_mask is MASK, cache is CACHE])
            return tanh(x @ self.weight)

    MASK, CACHE = np.zeros((1, 1), bool), object()
    rng = np.random.default_rng(41)
    manual_seed(41)
    out = []
    for b, t, c, h in SHAPES:
        blk = Block(c, h, dtype="float64")
        blk.attn = Mixer(rng.standard_normal((c, c)) * 0.5)
        with no_grad():
            for _, p in blk.named_parameters():
                p.copy_(Tensor(rng.standard_normal(p.shape) * 0.5))
        x = rng.standard_normal((b, t, c))
        g = rng.standard_normal((b, t, c))
        xt = Tensor(x, requires_grad=True)
        y = blk(xt, key_padding_mask=MASK, cache=CACHE)
        y.backward(Tensor(g))
        params = {name: p.detach().numpy() for name, p in blk.named_parameters()}
        plain = blk(Tensor(x)).detach().numpy()
        out.append({"x": x, "g": g, "params": params, "y": y.detach().numpy(), "dx": xt.grad.numpy(),
                    "plain": plain, "seen": blk.attn.seen[0]})
    return out


def _layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


def _gelu(x):  # the tanh approximation, as the reference MLP uses (GPT-2's)
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def check_block(sub, ref):
    for shape, got, mine in zip(SHAPES, sub, ref, strict=True):
        what = f"Block (B, T, C, H) = {shape}"
        assert_close(got["x"], mine["x"], rtol=0, atol=0, name="the probe's input")
        p, x = mine["params"], mine["x"]
        h = x + np.tanh(_layer_norm(x, p["ln1.weight"], p["ln1.bias"]) @ p["attn.weight"])
        m = _layer_norm(h, p["ln2.weight"], p["ln2.bias"])
        m = _gelu(m @ p["mlp.fc.weight"].T + p["mlp.fc.bias"]) @ p["mlp.proj.weight"].T + p["mlp.proj.bias"]
        want = h + m
        assert_true(got["seen"] == [True, True], f"{what}: key_padding_mask and cache must be passed to self.attn "
                    f"(got mask passed={got['seen'][0]}, cache passed={got['seen'][1]})")
        assert_close(got["y"], want, rtol=1e-9, atol=1e-10,
                     name=f"{what}: forward (pre-LN: x + attn(ln1(x)), then + mlp(ln2(x)))")
        assert_close(got["plain"], want, rtol=1e-9, atol=1e-10, name=f"{what}: forward without mask/cache")
        assert_close(got["dx"], mine["dx"], rtol=1e-9, atol=1e-10, name=f"{what}: input gradient")
