"""Tokens/s of the level-2 GPT training on the GPU: CuPy built-ins vs level-3 kernels vs a PyTorch twin.

A training step here is forward + cross-entropy + backward (no optimizer: the same for all three), on
random tokens, fp32, naive attention in all (explicit QK^T, causal mask, softmax, @V), TF32 off in
PyTorch. The backend switch serves the model's 2-D products (the Linear layers) with our matmul kernel
and its softmax, LayerNorm and GELU with our kernels (a third variant keeps cuBLAS for the products, to
separate the two); attention's batched products and the other ops stay on CuPy, and the report says how
many calls took which path.
"""

from __future__ import annotations

import math

import numpy as np

CONFIG = dict(vocab_size=65, context_length=256, n_layer=6, n_head=6, n_embd=384)


def _torch_gpt(torch, c: dict):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            d = c["n_embd"]
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, d = x.shape
            h = c["n_head"]
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (t.view(B, T, h, d // h).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
            att = att.masked_fill(
                torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), 1), float("-inf")
            )
            y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, d)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
            self.wpe = nn.Embedding(c["context_length"], c["n_embd"])
            self.blocks = nn.ModuleList(Block() for _ in range(c["n_layer"]))
            self.ln_f = nn.LayerNorm(c["n_embd"])

        def forward(self, idx, targets):
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
            for block in self.blocks:
                x = block(x)
            logits = self.ln_f(x) @ self.wte.weight.T
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    model = GPT()
    for module in model.modules():  # GPT-2's initialisation, as the Hyperion model's
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
    return model.cuda()


def bench_gpt(quick: bool, timed) -> dict:
    """``timed(fn) -> {"median_ms": ...}``; returns tokens/s per variant and the kernel-call counts."""
    import hyperion.tensor as ht
    from hyperion.runtime.backend import use_kernels
    from hyperion.transformer.gpt import GPT, GPTConfig

    B, T = (8, 256) if quick else (32, 256)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, CONFIG["vocab_size"], (B, T)).astype(np.int64)
    tgt = rng.integers(0, CONFIG["vocab_size"], (B, T)).astype(np.int64)
    out: dict = {
        "config": dict(CONFIG, batch=B, tokens_per_step=B * T),
        "tokens_per_s": {},
        "step_ms": {},
        "loss": {},
    }
    variants = (
        ("hyperion on CuPy (cuBLAS)", False, {}),
        ("hyperion on level-3 kernels", True, {}),
        ("hyperion: level-3 softmax/LN/GELU, cuBLAS matmul", True, {"matmul_version": None}),
    )
    for name, enable, options in variants:
        backend = use_kernels(enable, **options)
        try:
            ht.manual_seed(0)
            model = GPT(GPTConfig(**CONFIG), device="cuda")
            x, y = ht.tensor(idx, device="cuda"), ht.tensor(tgt, device="cuda")

            def step(model=model, x=x, y=y):
                model.zero_grad()
                _, loss = model(x, y)
                loss.backward()
                return loss

            out["loss"][name] = float(step().item())
            ms = timed(step)["median_ms"]
            out["step_ms"][name], out["tokens_per_s"][name] = ms, B * T / (ms * 1e-3)
            if enable:
                out.setdefault("kernel_calls", {})[name] = dict(backend.calls)
        except Exception as exc:  # noqa: BLE001 - reported, the other variants still run
            out.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        finally:
            use_kernels(False)
    try:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.manual_seed(0)
        model = _torch_gpt(torch, CONFIG)
        tx, ty = torch.from_numpy(idx).cuda(), torch.from_numpy(tgt).cuda()

        def tstep():
            model.zero_grad(set_to_none=True)
            loss = model(tx, ty)
            loss.backward()
            return loss

        out["loss"]["pytorch twin"] = float(tstep().item())
        ms = timed(tstep)["median_ms"]
        out["step_ms"]["pytorch twin"], out["tokens_per_s"]["pytorch twin"] = ms, B * T / (ms * 1e-3)
    except Exception as exc:  # noqa: BLE001
        out.setdefault("errors", {})["pytorch twin"] = f"{type(exc).__name__}: {exc}"
    return out
