"""Differentiable ops, one module per family; each op is a Function with forward and backward.

| module          | ops                                                                   |
|-----------------|-----------------------------------------------------------------------|
| elementwise     | add sub mul div neg pow exp log sqrt abs maximum minimum where clamp, |
|                 | relu sigmoid tanh gelu, casts, comparisons                            |
| reduce          | sum mean max min (values), argmax argmin                              |
| movement        | permute expand view/reshape basic indexing contiguous cat             |
| indexing        | advanced (integer/boolean) indexing: gather forward, scatter-add back |
| matmul          | matmul (1-D, 2-D, batched) and linear                                 |
| nn              | softmax log_softmax logsumexp cross_entropy nll layer_norm dropout    |
| conv            | conv2d (naive loops and im2col), max_pool2d, avg_pool2d               |
"""
