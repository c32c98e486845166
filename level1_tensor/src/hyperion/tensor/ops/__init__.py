"""Differentiable ops, one module per family; each op is a Function with forward and backward.

Where everything about an op lives — its PyTorch-oracle tests under ``level1_tensor/tests/``, its
page under ``site/docs/level1/`` (every op is also gradient-checked in ``test_ops_gradcheck.py``,
and its tensor-level entry point, with argument checks and dtype rules, is in ``functional.py``):

elementwise  add sub mul div neg pow exp log sqrt abs maximum minimum where clamp, relu sigmoid
             tanh gelu, casts, comparisons        test_ops_elementwise.py  autograd.md, broadcasting.md
reduce       sum mean max min (values)            test_ops_reduce.py       reductions-matmul.md
movement     permute expand view/reshape, basic indexing, clone cat to(device)
                                                  test_ops_movement.py, test_tensor_views.py  strides.md
indexing     integer/boolean indexing: gather forward, scatter-add backward
                                                  test_ops_movement.py     strides.md
matmul       matmul (1-D, 2-D, batched), linear   test_ops_matmul.py       reductions-matmul.md
nn           softmax log_softmax logsumexp cross_entropy nll layer_norm
                                                  test_ops_nn.py, test_ops_stability.py  softmax.md
conv         conv2d (naive and im2col), max_pool2d avg_pool2d
                                                  test_ops_conv.py         conv.md
fft          rfftn irfftn (complex values as real pairs; hyperion.tensor.fft: rfft irfft rfft2 irfft2)
                                                  test_ops_fft.py          level4/fno.md
"""
