"""The GPT against its PyTorch twin (``torch_gpt.TorchGPT``) loaded with the same weights: logits,
every parameter's gradient, and the loss curve of 20 AdamW steps. Weight tying: one Parameter whose
gradient is the sum of both uses.

Tolerances are the issue's (logits ≤ 1e-5, gradients ≤ 1e-4). The main comparisons run in **float64**,
where the two frameworks agree to ~1e-12, so the margin is large and the 20-step loss curve can be
held to 1e-8; the issue's configuration is also checked in float32 at the issue's tolerances (at
initialisation they agree to ~1e-6 there; after many steps float32 rounding in two summation orders
would drift further).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_gpt import twin_of

from hyperion.optim import AdamW
from hyperion.tensor import Tensor
from hyperion.tensor.errors import ShapeError
from hyperion.transformer.gpt import GPT, GPTConfig

SMALL = dict(vocab_size=23, context_length=16, n_layer=2, n_head=4, n_embd=32)
CONFIGS = [
    GPTConfig(**SMALL),
    GPTConfig(**SMALL, positional="rope"),
    GPTConfig(**SMALL, tie_weights=False, bias=False),
    GPTConfig(vocab_size=65, context_length=128, n_layer=4, n_head=4, n_embd=128),  # the issue's
]


def _batch(cfg: GPTConfig, batch: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, cfg.vocab_size, (batch, length)), rng.integers(0, cfg.vocab_size, (batch, length)))


@pytest.mark.parametrize("cfg", CONFIGS, ids=["learned", "rope", "untied-nobias", "issue-config"])
def test_logits_and_gradients_match_torch(cfg):
    model = GPT(cfg, dtype="float64")
    twin = twin_of(model, torch.float64)
    length = min(cfg.context_length, 24)
    x, y = _batch(cfg, 2, length)
    logits, loss = model(x, y)
    loss.backward()
    ref_logits, ref_loss = twin(torch.tensor(x), torch.tensor(y))
    ref_loss.backward()
    assert logits.shape == (2, length, cfg.vocab_size)
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits.detach().numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-10)
    ref_params = dict(twin.named_parameters())
    names = [name for name, _ in model.named_parameters()]
    assert names == list(ref_params)  # same parameters, same order, the tied one once
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), ref_params[name].grad.numpy(), rtol=0, atol=1e-4,
                                   err_msg=name)
        np.testing.assert_allclose(param.grad.numpy(), ref_params[name].grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"{name} (tight)")


def test_float32_meets_the_tolerances_too():
    """At the issue's size in float32 (at initialisation): logits within 1e-5, gradients within 1e-4."""
    cfg = CONFIGS[-1]
    model = GPT(cfg)
    twin = twin_of(model, torch.float32)
    x, y = _batch(cfg, 2, 64)
    logits, loss = model(x, y)
    loss.backward()
    ref_logits, ref_loss = twin(torch.tensor(x), torch.tensor(y))
    ref_loss.backward()
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits.detach().numpy(), rtol=0, atol=1e-5)
    ref_params = dict(twin.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), ref_params[name].grad.numpy(), rtol=0, atol=1e-4,
                                   err_msg=name)


def test_key_padding_mask_matches_torch():
    cfg = CONFIGS[1]
    model = GPT(cfg, dtype="float64")
    twin = twin_of(model, torch.float64)
    x, _ = _batch(cfg, 2, 10)
    padding = np.zeros((2, 10), bool)
    padding[1, 6:] = True
    logits, _ = model(x, key_padding_mask=padding)
    ref, _ = twin(torch.tensor(x), key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(logits.detach().numpy(), ref.detach().numpy(), atol=1e-10)
    # right padding leaves the real tokens' logits unchanged (they never look right)
    plain, _ = model(x[1:, :6])
    np.testing.assert_allclose(logits.detach().numpy()[1, :6], plain.detach().numpy()[0], atol=1e-10)


@pytest.mark.parametrize("cfg", CONFIGS[:2], ids=["learned", "rope"])
def test_loss_curve_of_20_adamw_steps_matches_torch(cfg):
    model = GPT(cfg, dtype="float64")
    twin = twin_of(model, torch.float64)
    opt = AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    ref_opt = torch.optim.AdamW(twin.parameters(), lr=3e-3, weight_decay=0.1)
    ours, theirs = [], []
    x, y = _batch(cfg, 4, 12)  # one batch, memorised: the loss must fall
    for _ in range(20):
        opt.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        ref_opt.zero_grad()
        _, ref_loss = twin(torch.tensor(x), torch.tensor(y))
        ref_loss.backward()
        ref_opt.step()
        ours.append(loss.item())
        theirs.append(ref_loss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    assert ours[-1] < ours[0] - 0.5  # it learned something (the curves are not flat)
    final = dict(twin.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.detach().numpy(), final[name].detach().numpy(), atol=1e-8, err_msg=name)


def test_tied_weight_is_one_parameter_with_the_sum_of_both_gradients():
    cfg = CONFIGS[0]
    tied = GPT(cfg, dtype="float64")
    assert tied.lm_head.weight is tied.wte.weight
    untied = GPT(GPTConfig(**SMALL, tie_weights=False), dtype="float64")
    state = tied.state_dict()
    assert set(state) == set(untied.state_dict())  # both names, as in PyTorch
    untied.load_state_dict(state)  # lm_head.weight gets wte's values: same function, two Parameters
    assert tied.num_parameters() == untied.num_parameters() - cfg.vocab_size * cfg.n_embd
    x, y = _batch(cfg, 2, 8)
    for model in (tied, untied):
        _, loss = model(x, y)
        loss.backward()
    embedding_use, head_use = untied.wte.weight.grad.numpy(), untied.lm_head.weight.grad.numpy()
    assert np.abs(embedding_use).max() > 0 and np.abs(head_use).max() > 0
    np.testing.assert_allclose(tied.wte.weight.grad.numpy(), embedding_use + head_use, atol=1e-12)


def test_dropout_is_active_in_training_only():
    cfg = GPTConfig(**SMALL, dropout=0.3)
    model = GPT(cfg)
    x, _ = _batch(cfg, 2, 8)
    model.eval()
    a, b = model(x)[0].detach().numpy(), model(x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    model.train()
    c = model(x)[0].detach().numpy()
    assert not np.allclose(a, c)


def test_bad_inputs_are_named():
    model = GPT(CONFIGS[0])
    with pytest.raises(ShapeError, match="context_length"):
        model(np.zeros((1, 17), dtype=np.int64))
    with pytest.raises(ShapeError, match="targets"):
        model(np.zeros((1, 4), dtype=np.int64), np.zeros((1, 5), dtype=np.int64))
    with pytest.raises(Exception, match="int"):
        model(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=5, n_embd=30, n_head=4)
    assert isinstance(model(Tensor(np.zeros((1, 3), dtype=np.int64)))[0], Tensor)
