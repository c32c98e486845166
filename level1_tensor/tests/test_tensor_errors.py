"""Bad input gets a clear error that names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion.tensor import functional as F


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a**b,
    ht.maximum, ht.minimum, lambda a, b: a < b, lambda a, b: ht.where(a > 0, a, b),
])
def test_broadcast_mismatch_names_both_shapes(op):
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\).*\(4,\)"):
        op(ht.ones(2, 3), ht.ones(4))


def test_expand_and_broadcast_shapes_name_the_shapes():
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        ht.ones(2, 3).expand(2, 4)
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\) and \(3, 2\)"):
        ht.broadcast_shapes((2, 3), (3, 2))


@pytest.mark.parametrize("a, b", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 4, 2)), ((5,), (2, 3, 2))])
def test_matmul_mismatch_names_both_shapes(a, b):
    pattern = rf"{ht.zeros(*a).shape}.*{ht.zeros(*b).shape}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ht.ShapeError, match=pattern):
        ht.zeros(*a) @ ht.zeros(*b)


def test_matmul_of_a_scalar_is_refused():
    with pytest.raises(ht.ShapeError, match="at least one dimension"):
        ht.tensor(2.0) @ ht.ones(2)


@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a * b, ht.matmul, ht.maximum, lambda a, b: ht.cat([a, b]),
    lambda a, b: ht.where(a > 0, a, b),
])
def test_dtype_mismatch_names_both_dtypes(op):
    with pytest.raises(ht.DTypeError, match="float32.*float64"):
        op(ht.ones(2, 2), ht.ones(2, 2, dtype=ht.float64))


def test_float_only_ops_name_the_dtype():
    for fn in (ht.exp, ht.log, ht.sqrt, ht.sigmoid, ht.tanh, ht.mean):
        with pytest.raises(ht.DTypeError, match="floating-point.*int64"):
            fn(ht.tensor([1, 2]))


def _fake_cuda(x: ht.Tensor) -> ht.Tensor:
    """A CPU tensor that claims to live on "cuda" (only the device check runs before the mismatch)."""
    x.device = "cuda"
    return x


@pytest.mark.skipif(ht.cuda_is_available(), reason="a real GPU is present: test_cuda.py covers this")
@pytest.mark.parametrize("op", [
    lambda a, b: a + b, lambda a, b: a * b, ht.matmul, lambda a, b: ht.cat([a, b]), ht.maximum,
    lambda a, b: F.conv2d(a, b),
])
def test_device_mismatch_names_both_devices(op):
    a, b = ht.ones(1, 1, 2, 2), _fake_cuda(ht.ones(1, 1, 2, 2))
    with pytest.raises(ht.DeviceError, match="'cpu'.*'cuda'"):
        op(a, b)


def test_in_place_with_another_device_names_both_devices():
    with pytest.raises(ht.DeviceError, match="'cpu'.*'cuda'"):
        ht.ones(2).add_(_fake_cuda(ht.ones(2)))


@pytest.mark.skipif(ht.cuda_is_available(), reason="a GPU and CuPy are present")
def test_cuda_unavailable_raises_device_error_with_the_reason():
    with pytest.raises(ht.DeviceError, match=r"device 'cuda' is not available \(\w+"):
        ht.get_backend("cuda")
    with pytest.raises(ht.DeviceError, match="cuda"):
        ht.zeros(2, device="cuda")
    with pytest.raises(ht.DeviceError, match="cuda"):
        ht.ones(2).cuda()
    with pytest.raises(ht.DeviceError, match="unknown device 'tpu'"):
        ht.zeros(2, device="tpu")


def test_backward_on_non_scalar_without_gradient_says_so():
    y = ht.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(ht.AutogradError, match=r"non-scalar.*\(2, 3\).*gradient"):
        y.backward()
    with pytest.raises(ht.ShapeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(ht.ones(3))


def test_backward_on_a_tensor_without_grad_says_so():
    with pytest.raises(ht.AutogradError, match="does not require grad"):
        ht.ones(2).sum().backward()


@pytest.mark.parametrize("mutate", [
    lambda w: w.add_(1), lambda w: w.mul_(2), lambda w: w.sub_(1), lambda w: w.div_(2), lambda w: w.zero_(),
    lambda w: w.fill_(3), lambda w: w.copy_(ht.zeros(3)), lambda w: w.clamp_(0, 1), lambda w: w.normal_(),
    lambda w: w.uniform_(), lambda w: w.__setitem__(0, 5.0), lambda w: w.__iadd__(1),
])
def test_in_place_change_of_a_leaf_requiring_grad_is_refused_outside_no_grad(mutate):
    w = ht.ones(3, requires_grad=True)
    with pytest.raises(ht.AutogradError, match="in-place change of a leaf tensor that requires grad.*no_grad"):
        mutate(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.ones(3))  # unchanged
    with ht.no_grad():
        mutate(w)  # allowed, as optimizers do
    w.detach().add_(1)  # a detached view may always be changed


def test_index_out_of_range_names_index_and_size():
    x = ht.zeros(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of range for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="index -5 is out of range for dimension 1 with size 4"):
        x[0, -5]
    with pytest.raises(IndexError, match="index 7 is out of range for dimension 0 with size 3"):
        x[ht.tensor([0, 7])]
    with pytest.raises(IndexError, match="index -5 is out of range for dimension 1 with size 4"):
        x[:, ht.tensor([[1], [-5]])]
    with pytest.raises(IndexError, match="index 5 is out of range for dimension 0 with size 3"):
        x[5] = 1.0
    with pytest.raises(IndexError, match=r"too many indices.*\(3, 4\)"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"mask of shape \(2,\).*\(3,\)"):
        x[ht.tensor([True, False])]
    with pytest.raises(IndexError, match="out of range for a tensor with 2 dimensions"):
        x.sum(2)
    with pytest.raises(IndexError, match="int64 or bool"):
        x[ht.tensor([0.0])]
    with pytest.raises(ValueError, match="step must be positive"):
        x[::-1]


def test_embedding_index_out_of_range_names_it():
    with pytest.raises(IndexError, match="index 6 is out of range for dimension 0 with size 4"):
        F.embedding(ht.tensor([1, 6]), ht.zeros(4, 2))


def test_view_of_non_contiguous_tensor_explains_reshape():
    x = ht.zeros(3, 4).T
    with pytest.raises(ht.ShapeError, match=r"view: shape \(12,\).*\(4, 3\).*strides \(1, 4\).*reshape"):
        x.view(12)
    with pytest.raises(ht.ShapeError, match=r"shape \(5, 3\) is invalid for input of shape \(4, 3\)"):
        x.reshape(5, 3)
    with pytest.raises(ht.ShapeError, match="only one dimension can be -1"):
        x.reshape(-1, -1)


def test_cross_entropy_and_nll_target_errors():
    logits = ht.zeros(3, 4)
    with pytest.raises(IndexError, match="target 4 is out of range for 4 classes"):
        F.cross_entropy(logits, ht.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="target -1 is out of range for 4 classes"):
        F.cross_entropy(logits, ht.tensor([0, -1, 1]))
    with pytest.raises(IndexError, match="target 9 is out of range for 4 classes"):
        F.nll_loss(logits, ht.tensor([9, 0, 0]))
    with pytest.raises(ht.ShapeError, match=r"\(3, 4\).*target of shape \(3,\), got \(2,\)"):
        F.cross_entropy(logits, ht.tensor([0, 1]))
    with pytest.raises(ht.DTypeError, match="int64 tensor of class indices, got float32"):
        F.cross_entropy(logits, ht.zeros(3))
    F.cross_entropy(logits, ht.tensor([0, -100, 1]))  # ignore_index is not out of range


def test_shape_errors_of_cat_stack_split_and_nn_ops_name_the_shapes():
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\).*\(2, 4\).*dimension 0"):
        ht.cat([ht.zeros(2, 3), ht.zeros(2, 4)])
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        ht.stack([ht.zeros(2, 3), ht.zeros(3, 2)])
    with pytest.raises(ht.ShapeError, match=r"\[1, 1\] do not add up to 3"):
        ht.split(ht.zeros(3), [1, 1])
    with pytest.raises(ht.ShapeError, match=r"input has 2 channels.*\(4, 3, 3, 3\) expects 3"):
        F.conv2d(ht.zeros(1, 2, 5, 5), ht.zeros(4, 3, 3, 3))
    with pytest.raises(ht.ShapeError, match=r"does not fit"):
        F.conv2d(ht.zeros(1, 1, 2, 2), ht.zeros(1, 1, 3, 3))
    with pytest.raises(ht.ShapeError, match=r"normalized_shape \(5,\).*\(2, 4\)"):
        F.layer_norm(ht.zeros(2, 4), 5)
    with pytest.raises(ht.ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        F.mse_loss(ht.zeros(2, 3), ht.zeros(3, 2))
    with pytest.raises(ValueError, match=r"dims \(0, 0\)"):
        ht.zeros(2, 2).permute(0, 0)
